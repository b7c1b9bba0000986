//! The `interval` processor (otelcol-contrib's): cumulative metrics and gauges held for `interval`, and only the
//! latest point of each stream sent on, so that a backend billed per point gets one per stream per interval
//! however often the sources report.
//!
//! ```yaml
//! processors:
//!   interval:
//!     interval: 60s
//!     pass_through: { gauge: false, summary: false }
//! ```
//!
//! Held: monotonic cumulative sums, cumulative histograms and exponential histograms, and gauges and summaries
//! unless `pass_through` says otherwise. Passed on at once, unchanged: delta metrics, non-monotonic sums (and sums
//! or histograms whose temporality is unset). A stream is a metric's resource, scope, name, unit, kind,
//! temporality and monotonicity with a point's attributes; a point no newer than the one held for its stream is
//! dropped. What is held is sent every `interval` and then forgotten, so an interval without points sends nothing;
//! what is held when the collector stops is sent before it does (otelcol drops it). The points a newer one
//! replaced are counted as dropped with reason `aggregated`.

mod held;

use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::de;
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::DropCounter;
use crate::wait::{Deadline, Driver};
use crate::{AnyRequest, Batch, Signal};
use held::Held;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, ResourceMetrics, ScopeMetrics, metric::Data,
};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The `interval` processor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntervalConfig {
    /// How often the latest points are sent on.
    #[serde(deserialize_with = "de::duration")]
    pub interval: Duration,
    /// Kinds passed on at once instead of held.
    pub pass_through: PassThrough,
}

/// `pass_through`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PassThrough {
    /// Gauges pass on as they come.
    pub gauge: bool,
    /// Summaries pass on as they come.
    pub summary: bool,
}

impl Default for IntervalConfig {
    fn default() -> Self {
        IntervalConfig {
            interval: Duration::from_secs(60),
            pass_through: PassThrough::default(),
        }
    }
}

/// The `interval` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = IntervalConfig;
    const TYPE: &'static str = "interval";

    fn validate(&self, config: &IntervalConfig) -> Result<(), Invalid> {
        if config.interval.is_zero() {
            return Err(Invalid::at("interval", "must be more than 0s"));
        }
        Ok(())
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &IntervalConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let shared = Arc::new(Shared {
            id: context.id.to_owned(),
            interval: config.interval,
            pass_through: config.pass_through,
            held: parking_lot::Mutex::new(Held::default()),
            replaced: AtomicUsize::new(0),
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            deadline: Deadline::new(),
            dropped: DropCounter::new(
                context.telemetry,
                "otelcol_processor_dropped",
                "processor",
                context.id,
            ),
            next,
        });
        Ok(Arc::new(Interval {
            sender: Driver::spawn(send_loop(shared.clone())),
            shared,
        }))
    }
}

struct Shared {
    id: String,
    interval: Duration,
    pass_through: PassThrough,
    held: parking_lot::Mutex<Held>,
    /// Points taken in since the last send, less the streams they made: those a newer point replaced.
    replaced: AtomicUsize,
    wake: Notify,
    closing: AtomicBool,
    deadline: Deadline,
    dropped: DropCounter,
    next: Arc<dyn Consumer>,
}

impl Shared {
    /// Whether `metric` is held rather than passed on.
    fn holds(&self, metric: &Metric) -> bool {
        let cumulative = AggregationTemporality::Cumulative as i32;
        match &metric.data {
            Some(Data::Gauge(_)) => !self.pass_through.gauge,
            Some(Data::Summary(_)) => !self.pass_through.summary,
            Some(Data::Sum(sum)) => sum.is_monotonic && sum.aggregation_temporality == cumulative,
            Some(Data::Histogram(h)) => h.aggregation_temporality == cumulative,
            Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality == cumulative,
            None => false,
        }
    }

    /// Takes the metrics to hold out of `request`, leaving what passes on.
    fn split(&self, request: &mut ExportMetricsServiceRequest) -> ExportMetricsServiceRequest {
        let mut taken = ExportMetricsServiceRequest::default();
        for rm in &mut request.resource_metrics {
            let mut scopes = Vec::new();
            for sm in &mut rm.scope_metrics {
                let (hold, keep): (Vec<Metric>, Vec<Metric>) = std::mem::take(&mut sm.metrics)
                    .into_iter()
                    .partition(|m| self.holds(m));
                sm.metrics = keep;
                if !hold.is_empty() {
                    scopes.push(ScopeMetrics {
                        scope: sm.scope.clone(),
                        metrics: hold,
                        schema_url: sm.schema_url.clone(),
                    });
                }
            }
            rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
            if !scopes.is_empty() {
                taken.resource_metrics.push(ResourceMetrics {
                    resource: rm.resource.clone(),
                    scope_metrics: scopes,
                    schema_url: rm.schema_url.clone(),
                });
            }
        }
        request
            .resource_metrics
            .retain(|rm| !rm.scope_metrics.is_empty());
        taken
    }

    /// Holds the metrics of `request`.
    fn hold(&self, request: ExportMetricsServiceRequest) {
        let mut held = self.held.lock();
        let mut taken = 0;
        for mut rm in request.resource_metrics {
            for mut sm in std::mem::take(&mut rm.scope_metrics) {
                for metric in std::mem::take(&mut sm.metrics) {
                    taken += points(&metric);
                    held.add(&rm, &sm, metric);
                }
            }
        }
        self.replaced.fetch_add(taken, Ordering::Relaxed);
    }

    /// Sends on the latest point of every stream held.
    async fn send_held(&self) {
        let (request, streams) = {
            let mut held = self.held.lock();
            let streams = held.streams();
            (held.take(), streams)
        };
        let taken = self.replaced.swap(0, Ordering::Relaxed);
        self.dropped
            .add(Signal::Metrics, taken.saturating_sub(streams), "aggregated");
        if request.resource_metrics.is_empty() {
            return;
        }
        deliver(
            self.next.as_ref(),
            Batch::new(request),
            &self.deadline,
            &self.dropped,
            &self.id,
        )
        .await;
    }
}

fn points(metric: &Metric) -> usize {
    match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

async fn send_loop(shared: Arc<Shared>) {
    let mut due = Instant::now() + shared.interval;
    loop {
        tokio::select! {
            () = shared.wake.notified() => {}
            () = tokio::time::sleep_until(due) => {}
        }
        let closing = shared.closing.load(Ordering::SeqCst);
        if Instant::now() >= due || closing {
            shared.send_held().await;
            due += shared.interval;
            if due < Instant::now() {
                due = Instant::now() + shared.interval;
            }
        }
        if closing {
            return;
        }
    }
}

struct Interval {
    shared: Arc<Shared>,
    sender: Driver,
}

impl Consumer for Interval {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        if shared.closing.load(Ordering::SeqCst) {
            let refused = Refused::returning(Refusal::shutting_down(&shared.id), batch);
            return Box::pin(async { Err(refused) });
        }
        // Kept to hand back untouched should the next stage refuse what passes on: nothing is held then either.
        let original = batch.share();
        let mut rest = match batch.into_request() {
            AnyRequest::Metrics(request) => request,
            other => return shared.next.consume(Batch::from(other)),
        };
        let taken = shared.split(&mut rest);
        Box::pin(async move {
            if !rest.resource_metrics.is_empty() {
                match shared.next.consume(Batch::new(rest)).await {
                    Ok(()) => {}
                    Err(Refused {
                        refusal,
                        batch: Some(_),
                    }) => return Err(Refused::returning(refusal, original)),
                    Err(refused) => {
                        shared.hold(taken);
                        return Err(refused);
                    }
                }
            }
            shared.hold(taken);
            Ok(())
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        self.shared.next.ready(items)
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.shared.send_held().await;
            self.shared.next.flush(deadline).await;
        })
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            shared.deadline.set(deadline);
            shared.closing.store(true, Ordering::SeqCst);
            shared.wake.notify_one();
            self.sender.stop(deadline).await;
            shared.next.shutdown(deadline).await;
        })
    }
}

#[cfg(test)]
mod tests;
