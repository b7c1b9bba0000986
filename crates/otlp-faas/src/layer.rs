//! The `lambda_runtime` tower layer: one span per invocation, cold starts, trigger context, cost
//! estimate, and a flush with a deadline before the response goes back to Lambda.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    FutureExt as _, Link, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    BatchConfig, BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanExporter, Tracer,
};
use tower::{Layer, Service};

use crate::detect::LambdaArn;
use crate::propagation::default_propagator;
use crate::trigger::{InvocationEvent, TriggerKind};

/// Attribute keys this layer writes that the semantic conventions do not define.
pub mod keys {
    /// Milliseconds from [`FaasLayerBuilder::init_started`](super::FaasLayerBuilder::init_started)
    /// to the first invocation (cold starts only).
    pub const INIT_DURATION_MS: &str = "otlp_faas.init_duration_ms";
    /// The invocation's duration rounded up to whole milliseconds, as Lambda bills it.
    pub const BILLED_DURATION_MS: &str = "otlp_faas.billed_duration_ms";
    /// Estimated cost of the invocation in US dollars: memory × billed duration × price per
    /// GB-second, plus the per-request price.
    pub const COST_ESTIMATE_USD: &str = "otlp_faas.cost_estimate_usd";
    /// `true` when the parent came from `_X_AMZN_TRACE_ID` / `Lambda-Runtime-Trace-Id` because the
    /// payload carried no valid context.
    pub const PARENT_FROM_LAMBDA_TRACE_ID: &str = "otlp_faas.parent_from_lambda_trace_id";
}

/// Lambda's x86 price per GB-second in us-east-1 (arm64 is 20% lower); set yours with
/// [`FaasLayerBuilder::price_per_gb_second`].
pub const DEFAULT_PRICE_PER_GB_SECOND: f64 = 0.000_016_666_7;
/// Lambda's price per request in us-east-1.
pub const DEFAULT_PRICE_PER_REQUEST: f64 = 0.000_000_2;
/// How long a flush may take at most unless the invocation's deadline is nearer.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Time kept back before the invocation deadline so the response still reaches Lambda.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(50);

/// Batch processor settings for a process that may be frozen at any moment: a small queue
/// (512 spans) and a short delay (500 ms), since each invocation ends with a forced flush anyway.
pub fn short_lived_batch_config() -> BatchConfig {
    BatchConfigBuilder::default()
        .with_max_queue_size(512)
        .with_max_export_batch_size(512)
        .with_scheduled_delay(Duration::from_millis(500))
        .build()
}

/// A [`BatchSpanProcessor`] with [`short_lived_batch_config`].
pub fn short_lived_batch_processor<E: SpanExporter + 'static>(exporter: E) -> BatchSpanProcessor {
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(short_lived_batch_config())
        .build()
}

/// Counters of what the layer did, for health checks and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerStats {
    /// Invocations seen.
    pub invocations: u64,
    /// Flushes that completed in time.
    pub flushes: u64,
    /// Flushes the provider reported as failed.
    pub flush_errors: u64,
    /// Flushes abandoned at their deadline (the export goes on in the background if it can).
    pub flush_timeouts: u64,
}

#[derive(Default)]
struct Counters {
    invocations: AtomicU64,
    flushes: AtomicU64,
    flush_errors: AtomicU64,
    flush_timeouts: AtomicU64,
}

struct Shared {
    tracer: Tracer,
    provider: SdkTracerProvider,
    propagator: Box<dyn TextMapPropagator + Send + Sync>,
    flush_timeout: Duration,
    deadline_margin: Duration,
    price_per_gb_second: f64,
    price_per_request: f64,
    init_started: Instant,
    cold: AtomicBool,
    counters: Counters,
}

/// Tower layer for `lambda_runtime` handlers (`Service<LambdaEvent<E>>`).
///
/// Wrap the handler before handing it to `lambda_runtime::run` so the flush happens after the
/// handler and before the runtime posts the response: once the response is posted Lambda may
/// freeze the process, and spans still in a queue would wait for the next invocation, or be lost.
///
/// The flush runs on tokio's blocking pool under a `tokio::time` timeout, so the handler must run
/// on a tokio runtime with the time driver enabled (`#[tokio::main]` enables it).
#[derive(Clone)]
pub struct FaasLayer {
    shared: Arc<Shared>,
}

impl Debug for FaasLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaasLayer")
            .field("flush_timeout", &self.shared.flush_timeout)
            .field("price_per_gb_second", &self.shared.price_per_gb_second)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Builds a [`FaasLayer`].
pub struct FaasLayerBuilder {
    provider: SdkTracerProvider,
    propagator: Box<dyn TextMapPropagator + Send + Sync>,
    flush_timeout: Duration,
    deadline_margin: Duration,
    price_per_gb_second: f64,
    price_per_request: f64,
    init_started: Instant,
}

impl FaasLayer {
    /// Starts a builder; spans go to `provider`, which is also what gets flushed.
    pub fn builder(provider: SdkTracerProvider) -> FaasLayerBuilder {
        FaasLayerBuilder {
            provider,
            propagator: Box::new(default_propagator()),
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            deadline_margin: DEFAULT_DEADLINE_MARGIN,
            price_per_gb_second: DEFAULT_PRICE_PER_GB_SECOND,
            price_per_request: DEFAULT_PRICE_PER_REQUEST,
            init_started: Instant::now(),
        }
    }

    /// A layer with every default.
    pub fn new(provider: SdkTracerProvider) -> Self {
        Self::builder(provider).build()
    }

    /// What the layer has done so far.
    pub fn stats(&self) -> LayerStats {
        let counters = &self.shared.counters;
        LayerStats {
            invocations: counters.invocations.load(Ordering::Relaxed),
            flushes: counters.flushes.load(Ordering::Relaxed),
            flush_errors: counters.flush_errors.load(Ordering::Relaxed),
            flush_timeouts: counters.flush_timeouts.load(Ordering::Relaxed),
        }
    }
}

impl FaasLayerBuilder {
    /// The propagator that reads payload carriers (default: [`default_propagator`]).
    pub fn propagator(
        mut self,
        propagator: impl TextMapPropagator + Send + Sync + 'static,
    ) -> Self {
        self.propagator = Box::new(propagator);
        self
    }

    /// The longest a flush may take (default [`DEFAULT_FLUSH_TIMEOUT`]); the invocation deadline
    /// minus [`FaasLayerBuilder::deadline_margin`] shortens it further.
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Time kept back before the invocation deadline (default [`DEFAULT_DEADLINE_MARGIN`]).
    pub fn deadline_margin(mut self, margin: Duration) -> Self {
        self.deadline_margin = margin;
        self
    }

    /// Price per GB-second for the cost estimate (default [`DEFAULT_PRICE_PER_GB_SECOND`]).
    /// Negative or non-finite prices are ignored.
    pub fn price_per_gb_second(mut self, price: f64) -> Self {
        if price.is_finite() && price >= 0.0 {
            self.price_per_gb_second = price;
        }
        self
    }

    /// Price per request for the cost estimate (default [`DEFAULT_PRICE_PER_REQUEST`]).
    /// Negative or non-finite prices are ignored.
    pub fn price_per_request(mut self, price: f64) -> Self {
        if price.is_finite() && price >= 0.0 {
            self.price_per_request = price;
        }
        self
    }

    /// When the function's initialisation began (default: when the builder was created); the
    /// cold-start span records the time from here to the first invocation.
    pub fn init_started(mut self, started: Instant) -> Self {
        self.init_started = started;
        self
    }

    /// Builds the layer.
    pub fn build(self) -> FaasLayer {
        FaasLayer {
            shared: Arc::new(Shared {
                tracer: self.provider.tracer("otlp-faas"),
                provider: self.provider,
                propagator: self.propagator,
                flush_timeout: self.flush_timeout,
                deadline_margin: self.deadline_margin,
                price_per_gb_second: self.price_per_gb_second,
                price_per_request: self.price_per_request,
                init_started: self.init_started,
                cold: AtomicBool::new(true),
                counters: Counters::default(),
            }),
        }
    }
}

impl<S> Layer<S> for FaasLayer {
    type Service = FaasService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaasService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`FaasLayer`] wraps a handler in.
#[derive(Clone)]
pub struct FaasService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: Debug> Debug for FaasService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaasService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Whole milliseconds, rounded up and at least 1, as Lambda bills.
fn billed_millis(elapsed: Duration) -> u64 {
    let millis = elapsed.as_nanos().div_ceil(1_000_000).max(1);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

/// The cost estimate for one invocation; `None` when the memory size is unknown.
pub fn estimate_cost(
    memory_mb: i64,
    billed_ms: u64,
    price_per_gb_second: f64,
    price_per_request: f64,
) -> Option<f64> {
    if memory_mb <= 0 {
        return None;
    }
    // Lambda bills memory in GB of 1024 MB.
    let gb_seconds = (memory_mb as f64 / 1024.0) * (billed_ms as f64 / 1000.0);
    Some(gb_seconds * price_per_gb_second + price_per_request)
}

impl Shared {
    /// The parent context and links for an invocation: the payload's carrier first, the Lambda
    /// trace header (runtime's `Lambda-Runtime-Trace-Id`, else `_X_AMZN_TRACE_ID`) only when the
    /// payload has no valid parent.
    fn resolve(
        &self,
        parent: Option<&crate::trigger::Carrier>,
        records: &[crate::trigger::Carrier],
        lambda_trace_id: Option<&str>,
    ) -> (Context, Vec<Link>, bool) {
        let empty = Context::new();
        let mut cx = parent
            .map(|carrier| self.propagator.extract_with_context(&empty, carrier))
            .filter(|cx| cx.span().span_context().is_valid())
            .unwrap_or_default();
        let mut from_lambda = false;
        if !cx.span().span_context().is_valid() {
            let header = lambda_trace_id
                .map(str::to_owned)
                .or_else(|| std::env::var("_X_AMZN_TRACE_ID").ok());
            if let Some(header) = header {
                let carrier: crate::trigger::Carrier = [("x-amzn-trace-id".to_owned(), header)]
                    .into_iter()
                    .collect();
                let extracted = self.propagator.extract_with_context(&empty, &carrier);
                if extracted.span().span_context().is_valid() {
                    cx = extracted;
                    from_lambda = true;
                }
            }
        }
        let links = records
            .iter()
            .filter_map(|carrier| {
                let extracted = self.propagator.extract_with_context(&empty, carrier);
                let span_context = extracted.span().span_context().clone();
                span_context
                    .is_valid()
                    .then(|| Link::with_context(span_context))
            })
            .collect();
        (cx, links, from_lambda)
    }

    /// Flushes the provider on a blocking thread, giving up at the earlier of the flush timeout
    /// and the invocation deadline minus the margin.
    async fn flush(&self, deadline_epoch_ms: u64) {
        let mut budget = self.flush_timeout;
        if deadline_epoch_ms > 0 {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            let left = Duration::from_millis(
                u64::try_from(u128::from(deadline_epoch_ms).saturating_sub(now_ms))
                    .unwrap_or(u64::MAX),
            );
            budget = budget.min(left.saturating_sub(self.deadline_margin));
        }
        let provider = self.provider.clone();
        let flushing = tokio::task::spawn_blocking(move || provider.force_flush());
        let counter = match tokio::time::timeout(budget, flushing).await {
            Ok(Ok(Ok(()))) => &self.counters.flushes,
            Ok(Ok(Err(_)) | Err(_)) => &self.counters.flush_errors,
            Err(_) => &self.counters.flush_timeouts,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl<S, E> Service<LambdaEvent<E>> for FaasService<S>
where
    S: Service<LambdaEvent<E>>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Debug + Send + 'static,
    E: InvocationEvent,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<E>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let started = Instant::now();
        let coldstart = shared.cold.swap(false, Ordering::AcqRel);
        shared.counters.invocations.fetch_add(1, Ordering::Relaxed);

        let trigger = event.payload.trigger_context();
        let lambda_context = &event.context;
        let (parent_cx, links, from_lambda) = shared.resolve(
            trigger.parent.as_ref(),
            &trigger.records,
            lambda_context.xray_trace_id.as_deref(),
        );

        let config = &lambda_context.env_config;
        let mut attributes = trigger.attributes;
        attributes.extend([
            KeyValue::new("faas.trigger", trigger.kind.as_str()),
            KeyValue::new("faas.invocation_id", lambda_context.request_id.clone()),
            KeyValue::new("faas.coldstart", coldstart),
        ]);
        // Function name, version, region and memory are the same for every invocation: they are
        // resource attributes (see `LambdaResourceDetector`), not repeated on each span.
        let invoked_arn = lambda_context.invoked_function_arn.as_str();
        if let Some(arn) = LambdaArn::parse(invoked_arn) {
            attributes.push(KeyValue::new(
                "aws.lambda.invoked_arn",
                invoked_arn.to_owned(),
            ));
            attributes.push(KeyValue::new("cloud.account.id", arn.account_id.to_owned()));
            // The resource is the function version that ran, not the alias the caller named.
            let function = arn.unqualified(invoked_arn);
            let resource_id = match config.version.as_str() {
                "" | "$LATEST" => function.to_owned(),
                version => format!("{function}:{version}"),
            };
            attributes.push(KeyValue::new("cloud.resource_id", resource_id));
        }
        if coldstart {
            let init = started.saturating_duration_since(shared.init_started);
            attributes.push(KeyValue::new(
                keys::INIT_DURATION_MS,
                init.as_secs_f64() * 1000.0,
            ));
        }
        if from_lambda {
            attributes.push(KeyValue::new(keys::PARENT_FROM_LAMBDA_TRACE_ID, true));
        }

        let name = trigger.span_name.unwrap_or_else(|| {
            if config.function_name.is_empty() {
                "lambda.invoke".to_owned()
            } else {
                config.function_name.clone()
            }
        });
        let kind = match trigger.kind {
            TriggerKind::PubSub => SpanKind::Consumer,
            _ => SpanKind::Server,
        };
        let span = shared
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_start_time(SystemTime::now())
            .with_attributes(attributes)
            .with_links(links)
            .start_with_context(&shared.tracer, &parent_cx);
        let cx = parent_cx.with_span(span);
        let memory_mb = i64::from(config.memory);
        let deadline_ms = lambda_context.deadline;

        // Current while the inner service builds its future too, so spans a handler starts
        // before its first `.await` (or synchronously in `call`) nest under the invocation.
        let handling = {
            let _current = cx.clone().attach();
            self.inner.call(event)
        }
        .with_context(cx.clone());
        Box::pin(async move {
            let result = handling.await;
            let span = cx.span();
            if let Err(error) = &result {
                span.set_status(Status::error(format!("{error:?}")));
            }
            let billed = billed_millis(started.elapsed());
            span.set_attribute(KeyValue::new(
                keys::BILLED_DURATION_MS,
                i64::try_from(billed).unwrap_or(i64::MAX),
            ));
            if let Some(cost) = estimate_cost(
                memory_mb,
                billed,
                shared.price_per_gb_second,
                shared.price_per_request,
            ) {
                span.set_attribute(KeyValue::new(keys::COST_ESTIMATE_USD, cost));
            }
            span.end();
            drop(cx);
            shared.flush(deadline_ms).await;
            result
        })
    }
}
