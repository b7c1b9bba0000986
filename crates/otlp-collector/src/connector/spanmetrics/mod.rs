//! The `spanmetrics` connector: otelcol-contrib's, turning the spans a traces pipeline exports into request,
//! error and duration (R.E.D.) metrics for metrics pipelines.
//!
//! Every span is counted in a `calls` sum and its duration recorded in a `duration` histogram (explicit buckets
//! by default, exponential ones on request), per series of `service.name`, `span.name`, `span.kind`,
//! `status.code` and the configured dimensions, under the span's resource; span events can be counted too
//! (`events`). The series are kept between flushes and sent every `metrics_flush_interval` (60s), cumulative by
//! default, and once more when the feeding pipeline flushes or shuts down. Metric names are prefixed with
//! `namespace` (`traces.span.metrics`), as in otelcol.

mod aggregate;
mod config;
pub(super) mod encoded;
pub(super) mod facts;
mod key;

pub use config::{
    DimensionConfig, EventsConfig, ExemplarsConfig, ExplicitConfig, ExponentialConfig,
    HistogramConfig, SpanMetricsConfig,
};

use super::{Handoff, Targets};
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::DropCounter;
use crate::wait::{Deadline, Driver};
use crate::{Batch, Signal};
use aggregate::Aggregator;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How many requests of a batch are counted before the task lets others run.
const REQUESTS_BETWEEN_YIELDS: usize = 8;

/// The `spanmetrics` connector type.
pub struct Factory;

impl Component for Factory {
    type Config = SpanMetricsConfig;
    const TYPE: &'static str = "spanmetrics";

    fn validate(&self, config: &SpanMetricsConfig) -> Result<(), Invalid> {
        match config.compile() {
            Ok(_) => Ok(()),
            Err(problems) => Invalid::all(problems),
        }
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = &[(Signal::Traces, Signal::Metrics)];

    fn build(
        &self,
        config: &SpanMetricsConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let settings = config.compile().map_err(super::settings_error)?;
        let interval = settings.flush_interval;
        let shared = Arc::new(Shared {
            id: context.id.to_string(),
            aggregator: parking_lot::Mutex::new(Aggregator::new(settings)),
            targets: Handoff(targets),
            dropped: DropCounter::new(
                context.telemetry,
                "otelcol_connector_dropped",
                "connector",
                context.id,
            ),
            stopping: Notify::new(),
            warned_unnamed: AtomicBool::new(false),
        });
        Ok(Arc::new(SpanMetrics {
            ticker: Driver::spawn(tick(shared.clone(), interval)),
            shared,
        }))
    }
}

struct Shared {
    id: String,
    aggregator: parking_lot::Mutex<Aggregator>,
    targets: Handoff,
    dropped: DropCounter,
    /// Told once when shutdown begins: the ticker stops.
    stopping: Notify,
    /// Spans without `service.name` are logged once.
    warned_unnamed: AtomicBool,
}

impl Shared {
    /// Counts an encoded request, read in place before taking the aggregator (which the pipeline's other tasks
    /// share); returns how many spans had no `service.name`.
    fn count_encoded(&self, bytes: &[u8], now: u64) -> usize {
        match encoded::parse(bytes) {
            Ok(request) => self.aggregator.lock().aggregate_encoded(&request, now),
            // Not for a request the receiver accepted; prost decides, and names what is wrong.
            Err(_) => match ExportTraceServiceRequest::decode(bytes) {
                Ok(request) => self.aggregator.lock().aggregate(&request, now),
                Err(error) => {
                    tracing::warn!(connector = %self.id, %error,
                        "a request that does not decode was not counted");
                    0
                }
            },
        }
    }

    /// Sends the metrics of every series to the metrics pipelines, waiting while they are full until
    /// `deadline`, then counting them as dropped.
    async fn send(&self, deadline: Instant) {
        let Some(request) = self.aggregator.lock().take_metrics(now()) else {
            return;
        };
        let until = Deadline::new();
        until.set(deadline);
        deliver(
            &self.targets,
            Batch::new(request),
            &until,
            &self.dropped,
            &self.id,
        )
        .await;
    }
}

/// Sends the metrics every `interval` until shutdown begins; a send still waiting on full pipelines when the next
/// one is due gives up.
async fn tick(shared: Arc<Shared>, interval: Duration) {
    let mut next = Instant::now() + interval;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = shared.stopping.notified() => return,
        }
        next = Instant::now() + interval;
        shared.send(next).await;
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

struct SpanMetrics {
    shared: Arc<Shared>,
    ticker: Driver,
}

impl Consumer for SpanMetrics {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        if batch.signal() != Signal::Traces {
            let refusal = Refusal::permanent(format!(
                "{}: {} data sent to a traces connector",
                shared.id,
                batch.signal()
            ));
            return Box::pin(async move { Err(Refused::returning(refusal, batch)) });
        }
        Box::pin(async move {
            let now = now();
            let mut unnamed = 0;
            match batch.encoded() {
                // As received: read in place, a request at a time.
                Some(requests) => {
                    for (i, bytes) in requests.enumerate() {
                        // A batch processor hands over thousands of spans at once: other tasks of this worker (the
                        // receivers' requests) get their turn between requests, not after the whole batch.
                        if i > 0 && i % REQUESTS_BETWEEN_YIELDS == 0 {
                            tokio::task::yield_now().await;
                        }
                        unnamed += shared.count_encoded(bytes, now);
                    }
                }
                None => {
                    if let Some(request) = batch.get::<ExportTraceServiceRequest>() {
                        unnamed += shared.aggregator.lock().aggregate(request, now);
                    }
                }
            }
            if unnamed > 0 && !shared.warned_unnamed.swap(true, Ordering::Relaxed) {
                tracing::warn!(connector = %shared.id, spans = unnamed,
                    "spans whose resource has no service.name are not counted, as in otelcol (logged once)");
            }
            Ok(())
        })
    }

    fn ready(&self, _items: usize) -> BoxFuture<'_, ()> {
        // Counting never refuses.
        Box::pin(async {})
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(self.shared.send(deadline))
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        // Every pipeline feeding the connector shuts it down, each before the metrics pipelines: each sends what
        // was counted since, so spans a later feeder drains are not lost.
        Box::pin(async move {
            self.shared.stopping.notify_one();
            self.ticker.stop(deadline).await;
            self.shared.send(deadline).await;
        })
    }
}
