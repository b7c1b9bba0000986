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

use super::holding::{Hold, holding_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::de;
use crate::pipeline::Consumer;
use crate::telemetry::DropCounter;
use crate::{AnyRequest, Batch, Signal};
use held::Held;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, ResourceMetrics, ScopeMetrics, metric::Data,
};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
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
        let dropped = DropCounter::new(
            context.telemetry,
            "otelcol_processor_dropped",
            "processor",
            context.id,
        );
        let hold = IntervalHold {
            interval: config.interval,
            pass_through: config.pass_through,
            state: parking_lot::Mutex::new(State {
                held: Held::default(),
                taken: 0,
                due: Instant::now() + config.interval,
            }),
            dropped: dropped.clone(),
        };
        Ok(holding_stage(hold, context.id, dropped, next))
    }
}

struct IntervalHold {
    interval: Duration,
    pass_through: PassThrough,
    state: parking_lot::Mutex<State>,
    dropped: DropCounter,
}

struct State {
    held: Held,
    /// Points taken in since the last send: those beyond the streams held were replaced by newer ones.
    taken: usize,
    /// When the held points go on.
    due: Instant,
}

impl IntervalHold {
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
}

impl Hold for IntervalHold {
    type Taken = ExportMetricsServiceRequest;

    fn split(&self, batch: Batch) -> Result<(Batch, ExportMetricsServiceRequest), Batch> {
        let mut request = match batch.into_request() {
            AnyRequest::Metrics(request) => request,
            other => return Err(Batch::from(other)),
        };
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
        Ok((Batch::new(request), taken))
    }

    fn hold(&self, taken: ExportMetricsServiceRequest) -> Vec<Batch> {
        let mut state = self.state.lock();
        for mut rm in taken.resource_metrics {
            for mut sm in std::mem::take(&mut rm.scope_metrics) {
                for metric in std::mem::take(&mut sm.metrics) {
                    state.taken += points(&metric);
                    state.held.add(&rm, &sm, metric);
                }
            }
        }
        Vec::new()
    }

    fn due(&self, now: Option<Instant>) -> Option<Batch> {
        let (request, replaced) = {
            let mut state = self.state.lock();
            if let Some(now) = now {
                if now < state.due {
                    return None;
                }
                // Keep to the schedule; after a stall, start it again from now.
                state.due += self.interval;
                if state.due <= now {
                    state.due = now + self.interval;
                }
            }
            let streams = state.held.streams();
            let replaced = std::mem::take(&mut state.taken).saturating_sub(streams);
            (state.held.take(), replaced)
        };
        self.dropped.add(Signal::Metrics, replaced, "aggregated");
        (!request.resource_metrics.is_empty()).then(|| Batch::new(request))
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.state.lock().due)
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

#[cfg(test)]
mod tests;
