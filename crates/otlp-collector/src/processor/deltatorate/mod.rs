//! The `deltatorate` processor (otelcol-contrib's): the delta sums it names become gauges of their rate, each
//! point's value divided by the time it covers (its start to its time), in `time_unit`s (per second by default).
//!
//! ```yaml
//! processors:
//!   deltatorate:
//!     metrics: [http.server.requests, system.network.io]
//! ```
//!
//! A point covering no time (its start at or after its time) has rate 0, as otelcol's. A named metric that is not
//! a delta sum is left as it is, and logged once.

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Gauge, Metric};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The `deltatorate` processor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeltaToRateConfig {
    /// The delta sums to turn into rates, by name; required.
    pub metrics: Vec<String>,
    /// The rate's time unit: `ns`, `us`, `ms`, `s` (the default), `m` or `h`.
    pub time_unit: String,
}

impl Default for DeltaToRateConfig {
    fn default() -> Self {
        DeltaToRateConfig {
            metrics: Vec::new(),
            time_unit: "s".to_owned(),
        }
    }
}

/// The time units, as Go's durations name them, in nanoseconds.
const UNITS: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
];

/// The `deltatorate` processor type (metrics).
pub struct Factory;

impl Component for Factory {
    type Config = DeltaToRateConfig;
    const TYPE: &'static str = "deltatorate";

    fn validate(&self, config: &DeltaToRateConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if config.metrics.is_empty() {
            problems.push(Invalid::at("metrics", "must name at least one delta sum"));
        }
        if !UNITS.iter().any(|(unit, _)| *unit == config.time_unit) {
            problems.push(Invalid::at(
                "time_unit",
                format!("`{}` is not ns, us, ms, s, m or h", config.time_unit),
            ));
        }
        Invalid::all(problems)
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let unit_nanos = UNITS
            .iter()
            .find(|(unit, _)| *unit == config.time_unit)
            .map(|(_, nanos)| *nanos)
            .ok_or_else(|| format!("time_unit `{}` is unknown", config.time_unit))?;
        let stage = DeltaToRate {
            metrics: config.metrics.iter().cloned().collect(),
            unit_nanos,
            warned: Mutex::new(BTreeSet::new()),
            id: context.id.to_owned(),
        };
        Ok(in_place_stage(stage, next))
    }
}

struct DeltaToRate {
    metrics: BTreeSet<String>,
    /// Nanoseconds in the rate's time unit.
    unit_nanos: f64,
    /// The named metrics already logged as no delta sums.
    warned: Mutex<BTreeSet<String>>,
    id: String,
}

impl DeltaToRate {
    /// `metric` as a gauge of its rate, if it is a delta sum; otherwise `false`, and it is left as it is.
    fn convert(&self, metric: &mut Metric) -> bool {
        let Some(Data::Sum(sum)) = &mut metric.data else {
            return false;
        };
        if sum.aggregation_temporality != AggregationTemporality::Delta as i32 {
            return false;
        }
        let mut points = std::mem::take(&mut sum.data_points);
        for point in &mut points {
            let value = match point.value {
                Some(Value::AsDouble(value)) => value,
                Some(Value::AsInt(value)) => value as f64,
                None => continue,
            };
            let covered = point
                .time_unix_nano
                .saturating_sub(point.start_time_unix_nano);
            let rate = if covered > 0 {
                value / (covered as f64 / self.unit_nanos)
            } else {
                0.0
            };
            point.value = Some(Value::AsDouble(rate));
        }
        metric.data = Some(Data::Gauge(Gauge {
            data_points: points,
        }));
        true
    }
}

impl InPlace for DeltaToRate {
    fn apply(&self, batch: &mut Batch) {
        let wanted = batch
            .get::<ExportMetricsServiceRequest>()
            .is_some_and(|request| {
                request
                    .resource_metrics
                    .iter()
                    .flat_map(|rm| &rm.scope_metrics)
                    .flat_map(|sm| &sm.metrics)
                    .any(|m| self.metrics.contains(&m.name))
            });
        // Batches without a named metric are only read: their received bytes go on as they came, not re-encoded.
        if !wanted {
            return;
        }
        let mut not_delta = Vec::new();
        batch.edit(|request| {
            let AnyRequest::Metrics(request) = request else {
                return;
            };
            for metric in request
                .resource_metrics
                .iter_mut()
                .flat_map(|rm| &mut rm.scope_metrics)
                .flat_map(|sm| &mut sm.metrics)
                .filter(|m| self.metrics.contains(&m.name))
            {
                if !self.convert(metric) {
                    not_delta.push(metric.name.clone());
                }
            }
        });
        if not_delta.is_empty() {
            return;
        }
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        for name in not_delta {
            if warned.insert(name.clone()) {
                tracing::warn!(processor = %self.id, metric = %name,
                    "a metric named for rate calculation is not a delta sum; it is left as it is");
            }
        }
    }
}

#[cfg(test)]
mod tests;
