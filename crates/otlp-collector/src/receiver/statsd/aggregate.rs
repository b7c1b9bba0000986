//! The lines of an interval, aggregated per client as otelcol's receiver does, and turned into metrics when the
//! interval ends: counters summed into delta sums, gauges kept at their last value, and timings, histograms and
//! distributions observed as their `timer_histogram_mapping` says (each sample a gauge point, a summary, or an
//! exponential histogram).

use super::parse::{Kind, Line};
use crate::histogram::Exponential;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, Gauge, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, Summary, SummaryDataPoint, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::BTreeMap;

/// How the samples of a timing, histogram or distribution become metrics.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Observer {
    /// Each sample its own gauge point.
    Gauge,
    /// A summary of the interval's samples at these percentiles (0–100).
    Summary(Vec<f64>),
    /// A base-2 exponential histogram of at most this many buckets per sign.
    Histogram(usize),
    /// Dropped.
    Disabled,
}

/// The receiver's aggregation settings.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) monotonic_counter: bool,
    pub(super) timing: Observer,
    pub(super) histogram: Observer,
    pub(super) distribution: Observer,
}

impl Settings {
    fn observer(&self, kind: Kind) -> &Observer {
        match kind {
            Kind::Timing => &self.timing,
            Kind::Histogram => &self.histogram,
            _ => &self.distribution,
        }
    }
}

/// A series: name, type and tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    name: String,
    kind: Kind,
    tags: Vec<(String, String)>,
}

/// What a series holds over an interval.
enum State {
    Counter(i64),
    Gauge {
        value: f64,
        at: u64,
    },
    /// Samples, each with when it came (the `gauge` observer).
    Samples(Vec<(f64, u64)>),
    /// Samples with their weights (the `summary` observer).
    Weighted(Vec<(f64, f64)>),
    Histogram(Box<Exponential>),
}

/// Every client's series of the current interval.
pub(super) struct Aggregator {
    settings: Settings,
    clients: BTreeMap<String, BTreeMap<Key, State>>,
    /// When the interval began: the start of its delta sums.
    since: u64,
}

impl Aggregator {
    pub(super) fn new(settings: Settings, now: u64) -> Self {
        Aggregator {
            settings,
            clients: BTreeMap::new(),
            since: now,
        }
    }

    /// Adds a line from `client`, read at `now` (its own timestamp, if it has one, for a gauge's time).
    pub(super) fn add(&mut self, line: Line, client: &str, now: u64) {
        let measured = line.timestamp.unwrap_or(now);
        let observer = match line.kind {
            Kind::Counter | Kind::Gauge => None,
            kind => Some(self.settings.observer(kind)),
        };
        if observer == Some(&Observer::Disabled) {
            return;
        }
        let series = self.clients.entry(client.to_owned()).or_default();
        let weight = line.weight();
        let key = Key {
            name: line.name,
            kind: line.kind,
            tags: line.tags,
        };
        match (line.kind, observer) {
            (Kind::Counter, _) => {
                // Counters are integers; a rate that is not a reciprocal of one rounds down, as otelcol's.
                let add = (line.value * weight) as i64;
                // A key holds one kind of state: its type is part of it.
                if let State::Counter(total) = series.entry(key).or_insert(State::Counter(0)) {
                    *total = total.saturating_add(add);
                }
            }
            (Kind::Gauge, _) => match series.get_mut(&key) {
                Some(State::Gauge { value, at }) if line.signed => {
                    *value += line.value;
                    *at = measured;
                }
                _ => {
                    series.insert(
                        key,
                        State::Gauge {
                            value: line.value,
                            at: measured,
                        },
                    );
                }
            },
            (_, Some(&Observer::Gauge)) => {
                if let State::Samples(samples) =
                    series.entry(key).or_insert(State::Samples(Vec::new()))
                {
                    samples.push((line.value, measured));
                }
            }
            (_, Some(&Observer::Summary(_))) => {
                if let State::Weighted(samples) =
                    series.entry(key).or_insert(State::Weighted(Vec::new()))
                {
                    samples.push((line.value, weight));
                }
            }
            (_, Some(&Observer::Histogram(max_size))) => {
                let state = series.entry(key).or_insert_with(|| {
                    State::Histogram(Box::new(Exponential::with_max_size(max_size)))
                });
                if let State::Histogram(histogram) = state {
                    // The count of a sampled value is rounded down, as otelcol's.
                    histogram.record_count(line.value, weight as u64);
                }
            }
            (_, Some(&Observer::Disabled) | None) => {}
        }
    }

    /// The interval's metrics, one resource per client, and a new interval begun at `now`; `None` when nothing
    /// came.
    pub(super) fn flush(&mut self, now: u64) -> Option<ExportMetricsServiceRequest> {
        let since = std::mem::replace(&mut self.since, now);
        let clients = std::mem::take(&mut self.clients);
        let resource_metrics: Vec<ResourceMetrics> = clients
            .into_values()
            .map(|series| ResourceMetrics {
                resource: Some(Resource::default()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "otelcol/statsdreceiver".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics: series
                        .into_iter()
                        .filter_map(|(key, state)| self.metric(key, state, (since, now)))
                        .collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .filter(|rm| !rm.scope_metrics[0].metrics.is_empty())
            .collect();
        (!resource_metrics.is_empty()).then_some(ExportMetricsServiceRequest { resource_metrics })
    }

    fn metric(&self, key: Key, state: State, (since, now): (u64, u64)) -> Option<Metric> {
        let attributes: Vec<KeyValue> = key
            .tags
            .iter()
            .map(|(k, v)| otlp_ottl::key_value(k.as_str(), otlp_ottl::string_value(v.as_str())))
            .collect();
        let data = match state {
            State::Counter(total) => Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    attributes,
                    start_time_unix_nano: since,
                    time_unix_nano: now,
                    value: Some(number_data_point::Value::AsInt(total)),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
                is_monotonic: self.settings.monotonic_counter,
            }),
            State::Gauge { value, at } => Data::Gauge(Gauge {
                data_points: vec![gauge_point(attributes, value, at)],
            }),
            State::Samples(samples) => Data::Gauge(Gauge {
                data_points: samples
                    .into_iter()
                    .map(|(value, at)| gauge_point(attributes.clone(), value, at))
                    .collect(),
            }),
            State::Weighted(samples) => {
                let Observer::Summary(percentiles) = self.settings.observer(key.kind) else {
                    return None;
                };
                Data::Summary(Summary {
                    data_points: vec![summary_point(
                        samples,
                        percentiles,
                        attributes,
                        (since, now),
                    )],
                })
            }
            State::Histogram(histogram) => Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![histogram.point((since, now), attributes)],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        };
        Some(Metric {
            name: key.name,
            data: Some(data),
            ..Default::default()
        })
    }
}

fn gauge_point(attributes: Vec<KeyValue>, value: f64, at: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: at,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

/// Count (rounded down), sum and the percentiles of weighted samples, each the smallest sample at which the
/// running weight reaches the percentile's share of the total (gonum's empirical quantile, which otelcol uses).
pub(super) fn summary_point(
    mut samples: Vec<(f64, f64)>,
    percentiles: &[f64],
    attributes: Vec<KeyValue>,
    (since, now): (u64, u64),
) -> SummaryDataPoint {
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = samples.iter().map(|(_, w)| w).sum();
    let sum: f64 = samples.iter().map(|(v, w)| v * w).sum();
    let quantile_values = percentiles
        .iter()
        .map(|percentile| {
            let target = percentile / 100.0 * total;
            let mut running = 0.0;
            let value = samples
                .iter()
                .find(|(_, weight)| {
                    running += weight;
                    running >= target
                })
                .or(samples.last())
                .map_or(0.0, |(value, _)| *value);
            ValueAtQuantile {
                quantile: percentile / 100.0,
                value,
            }
        })
        .collect();
    SummaryDataPoint {
        attributes,
        start_time_unix_nano: since,
        time_unix_nano: now,
        count: total as u64,
        sum,
        quantile_values,
        flags: 0,
    }
}

#[cfg(test)]
mod tests;
