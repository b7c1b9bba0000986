//! The `deltatocumulative` processor (otelcol-contrib's, metrics only): delta sums, histograms and exponential
//! histograms turned into cumulative ones, for backends that take only cumulative data (Prometheus remote write).
//! It keeps the running total of every stream (`streams.rs`), so a stream must keep reaching the same collector.

pub(crate) mod streams;

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::de;
use crate::pipeline::Consumer;
use crate::processor::stream_key;
use crate::telemetry::Counter;
use crate::{AnyRequest, Batch, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, metric::Data, number_data_point,
};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use streams::{Outcome, Streams};
use tokio::time::Instant;

/// The `deltatocumulative` processor's settings, with otelcol's keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeltaToCumulativeConfig {
    /// Forget a stream after this long without a point (0: never).
    #[serde(deserialize_with = "de::duration")]
    pub max_stale: Duration,
    /// The most streams held; points of new streams past it are dropped (0: no limit).
    pub max_streams: usize,
}

impl Default for DeltaToCumulativeConfig {
    fn default() -> Self {
        DeltaToCumulativeConfig {
            max_stale: Duration::from_secs(5 * 60),
            max_streams: 0,
        }
    }
}

/// The `deltatocumulative` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = DeltaToCumulativeConfig;
    const TYPE: &'static str = "deltatocumulative";

    fn warnings(&self, config: &Self::Config) -> Vec<(String, String)> {
        if config.max_stale.is_zero() && config.max_streams == 0 {
            return vec![(
                "max_stale".to_owned(),
                "with neither max_stale nor max_streams, every stream ever seen is held for as long as the \
                 collector runs"
                    .to_owned(),
            )];
        }
        Vec::new()
    }

    fn validate(&self, _config: &Self::Config) -> Result<(), Invalid> {
        Ok(())
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
        let max_stale = (!config.max_stale.is_zero()).then_some(config.max_stale);
        let streams = Arc::new(parking_lot::Mutex::new(Streams::new(
            max_stale,
            config.max_streams,
        )));
        let telemetry = context.telemetry;
        let held = Arc::downgrade(&streams);
        telemetry.gauge(
            "otelcol_deltatocumulative_streams_tracked",
            "Delta streams whose running total the processor holds.",
            &[("processor", context.id)],
            move || held.upgrade().map_or(0, |s| s.lock().len() as u64),
        );
        let limit = config.max_streams as u64;
        telemetry.gauge(
            "otelcol_deltatocumulative_streams_limit",
            "The most streams held (0: no limit).",
            &[("processor", context.id)],
            move || limit,
        );
        let points = Outcome::ALL.map(|outcome| {
            telemetry.counter(
                "otelcol_deltatocumulative_datapoints",
                "Delta points by what became of them: accumulated, or dropped (older_start, out_of_order, limit, \
                 no_value).",
                &[("processor", context.id), ("outcome", outcome.label())],
            )
        });
        Ok(in_place_stage(DeltaToCumulative { streams, points }, next))
    }
}

struct DeltaToCumulative {
    streams: Arc<parking_lot::Mutex<Streams>>,
    /// By [`Outcome::ALL`]'s order.
    points: [Counter; 5],
}

/// Converts every delta metric of `request` to its running total, dropping what becomes empty; the count of each
/// outcome, by [`Outcome::ALL`]'s order. The `prometheus` exporter serves deltas through it too.
pub(crate) fn convert(
    request: &mut ExportMetricsServiceRequest,
    streams: &mut Streams,
    now: Instant,
) -> [u64; 5] {
    let mut counts = [0u64; 5];
    let mut tally = |outcome: Outcome| {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome) {
            counts[i] += 1;
        }
        outcome == Outcome::Accumulated
    };
    let mut key = Vec::new();
    let delta = AggregationTemporality::Delta as i32;
    let cumulative = AggregationTemporality::Cumulative as i32;
    stream_key::retain_metrics(request, |scope_key, metric| {
        let mut point_key = |kind: u8, integer: bool, attributes: &[_]| {
            key.clear();
            key.extend_from_slice(scope_key);
            stream_key::metric(&mut key, &metric.name, &metric.unit, kind);
            key.push(u8::from(integer));
            stream_key::attributes(&mut key, attributes);
            key.clone()
        };
        match &mut metric.data {
            Some(Data::Sum(sum)) if sum.aggregation_temporality == delta => {
                let kind = if sum.is_monotonic { b'm' } else { b's' };
                sum.data_points.retain_mut(|point| {
                    let integer = matches!(point.value, Some(number_data_point::Value::AsInt(_)));
                    let key = point_key(kind, integer, &point.attributes);
                    tally(streams.sum(&key, point, now))
                });
                sum.aggregation_temporality = cumulative;
                !sum.data_points.is_empty()
            }
            Some(Data::Histogram(histogram)) if histogram.aggregation_temporality == delta => {
                histogram.data_points.retain_mut(|point| {
                    let key = point_key(b'h', false, &point.attributes);
                    tally(streams.histogram(&key, point, now))
                });
                histogram.aggregation_temporality = cumulative;
                !histogram.data_points.is_empty()
            }
            Some(Data::ExponentialHistogram(histogram))
                if histogram.aggregation_temporality == delta =>
            {
                histogram.data_points.retain_mut(|point| {
                    let key = point_key(b'e', false, &point.attributes);
                    tally(streams.exponential(&key, point, now))
                });
                histogram.aggregation_temporality = cumulative;
                !histogram.data_points.is_empty()
            }
            _ => true,
        }
    });
    counts
}

impl InPlace for DeltaToCumulative {
    fn apply(&self, batch: &mut Batch) {
        let now = Instant::now();
        let counts = batch.edit(|request| {
            let AnyRequest::Metrics(metrics) = request else {
                return [0; 5];
            };
            let mut streams = self.streams.lock();
            streams.sweep(now);
            convert(metrics, &mut streams, now)
        });
        for (counter, n) in self.points.iter().zip(counts) {
            counter.add(n);
        }
    }
}

#[cfg(test)]
mod tests;
