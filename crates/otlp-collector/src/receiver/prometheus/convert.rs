//! Parsed families as OTLP metrics, as otelcol's prometheus receiver makes them: counters are cumulative
//! monotonic sums, gauges and untyped samples gauges, histograms and summaries their OTLP kinds, each point with
//! its sample's labels and the target's. A cumulative series starts when this receiver first saw it, and again
//! after a scrape where it went down (the target restarted), so that rates stay right across restarts.

use super::text::{Family, Kind, Sample};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum,
    Summary, SummaryDataPoint, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use std::collections::{BTreeMap, HashMap};

/// Labels, sorted by name.
type Labels = Vec<(String, String)>;

/// When each cumulative series started, and its last value, across the scrapes of one target.
#[derive(Debug, Default)]
pub(super) struct Starts {
    series: HashMap<(String, Labels), (u64, f64)>,
    last_scrape: u64,
}

impl Starts {
    /// The start of series `key` whose value is now `value`: when first seen, kept while it does not go down.
    fn start(&mut self, key: (String, Labels), value: f64, now: u64) -> u64 {
        let restarted_after = self.last_scrape;
        let entry = self.series.entry(key).or_insert((now, value));
        if value < entry.1 {
            // Reset between the last scrape and this one: counted since some time after the last scrape.
            entry.0 = restarted_after.max(1);
        }
        entry.1 = value;
        entry.0
    }
}

/// How the target's labels meet a sample's (Prometheus's `honor_labels`).
#[derive(Debug, Clone)]
pub(super) struct TargetLabels {
    /// Labels every point gets (`static_configs[].labels`).
    pub(super) labels: Labels,
    /// On a clash, keep the sample's label (else it is renamed `exported_<name>` and the target's kept).
    pub(super) honor: bool,
}

/// The metrics of one scrape at `now` (ns since the epoch).
pub(super) fn convert(
    families: &[Family],
    target: &TargetLabels,
    starts: &mut Starts,
    now: u64,
) -> Vec<Metric> {
    let metrics = families
        .iter()
        .map(|family| {
            let data = match family.kind {
                Kind::Counter => counter(family, target, starts, now),
                Kind::Gauge | Kind::Untyped => Data::Gauge(Gauge {
                    data_points: family
                        .samples
                        .iter()
                        .map(|s| number(s, target, 0, now))
                        .collect(),
                }),
                Kind::Histogram => histogram(family, target, starts, now),
                Kind::Summary => summary(family, target, starts, now),
            };
            Metric {
                name: family.name.clone(),
                description: family.help.clone(),
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    starts.last_scrape = now;
    metrics
}

/// A point's attributes: the sample's labels (but `job` and `instance`, which are the resource's) with the
/// target's, clashes settled by `honor_labels`.
fn attributes(labels: &[(String, String)], target: &TargetLabels) -> Vec<KeyValue> {
    merged(labels, target)
        .into_iter()
        .filter(|(name, _)| name != "job" && name != "instance")
        .map(|(key, value)| otlp_ottl::key_value(key, otlp_ottl::string_value(value)))
        .collect()
}

/// The sample's labels with the target's, clashes settled by `honor_labels`: without it, a sample's label that
/// the target has too, or `job` or `instance`, is renamed `exported_<name>`.
pub(super) fn merged(
    labels: &[(String, String)],
    target: &TargetLabels,
) -> BTreeMap<String, String> {
    let mut merged: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in labels {
        let clashes =
            target.labels.iter().any(|(n, _)| n == name) || name == "job" || name == "instance";
        if clashes && !target.honor {
            merged.insert(format!("exported_{name}"), value.clone());
        } else {
            merged.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in &target.labels {
        merged.entry(name.clone()).or_insert_with(|| value.clone());
    }
    merged
}

fn time_of(sample: &Sample, now: u64) -> u64 {
    sample
        .timestamp_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map_or(now, |ms| ms * 1_000_000)
}

fn number(sample: &Sample, target: &TargetLabels, start: u64, now: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(&sample.labels, target),
        start_time_unix_nano: start,
        time_unix_nano: time_of(sample, now),
        value: Some(number_data_point::Value::AsDouble(sample.value)),
        ..Default::default()
    }
}

fn sorted(labels: &[(String, String)]) -> Labels {
    let mut labels = labels.to_vec();
    labels.sort();
    labels
}

fn counter(family: &Family, target: &TargetLabels, starts: &mut Starts, now: u64) -> Data {
    let data_points = family
        .samples
        .iter()
        .map(|s| {
            let start = starts.start((family.name.clone(), sorted(&s.labels)), s.value, now);
            number(s, target, start, now)
        })
        .collect();
    Data::Sum(Sum {
        data_points,
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
        is_monotonic: true,
    })
}

/// A family's samples grouped by their labels without `without` (`le`, `quantile`), in the order they came.
fn groups<'a>(family: &'a Family, without: &str) -> Vec<(Labels, Vec<&'a Sample>)> {
    let mut groups: Vec<(Labels, Vec<&Sample>)> = Vec::new();
    for sample in &family.samples {
        let key: Labels = sorted(&sample.labels)
            .into_iter()
            .filter(|(name, _)| name != without)
            .collect();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, samples)) => samples.push(sample),
            None => groups.push((key, vec![sample])),
        }
    }
    groups
}

fn suffixed<'a>(samples: &[&'a Sample], family: &str, suffix: &str) -> Option<&'a Sample> {
    samples
        .iter()
        .find(|s| s.name.len() == family.len() + suffix.len() && s.name.ends_with(suffix))
        .copied()
}

fn histogram(family: &Family, target: &TargetLabels, starts: &mut Starts, now: u64) -> Data {
    let mut data_points = Vec::new();
    for (labels, samples) in groups(family, "le") {
        let mut buckets: Vec<(f64, f64)> = samples
            .iter()
            .filter(|s| s.name.ends_with("_bucket"))
            .filter_map(|s| {
                let le = s.labels.iter().find(|(n, _)| n == "le")?;
                let bound = if le.1 == "+Inf" {
                    f64::INFINITY
                } else {
                    le.1.parse().ok()?
                };
                Some((bound, s.value))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let count = suffixed(&samples, &family.name, "_count")
            .map(|s| s.value)
            .or_else(|| buckets.last().map(|b| b.1))
            .unwrap_or(0.0);
        let sum = suffixed(&samples, &family.name, "_sum").map(|s| s.value);
        let explicit_bounds: Vec<f64> = buckets
            .iter()
            .map(|b| b.0)
            .filter(|b| b.is_finite())
            .collect();
        // Prometheus's buckets are cumulative; OTLP's each count their own range, the last one up to +Inf.
        let mut bucket_counts = Vec::with_capacity(explicit_bounds.len() + 1);
        let mut below = 0.0;
        for (bound, cumulative) in &buckets {
            if bound.is_finite() {
                bucket_counts.push((cumulative - below).max(0.0) as u64);
                below = *cumulative;
            }
        }
        bucket_counts.push((count - below).max(0.0) as u64);
        let start = starts.start((family.name.clone(), labels.clone()), count, now);
        data_points.push(HistogramDataPoint {
            attributes: attributes(&labels, target),
            start_time_unix_nano: start,
            time_unix_nano: samples.first().map_or(now, |s| time_of(s, now)),
            count: count as u64,
            sum,
            bucket_counts,
            explicit_bounds,
            ..Default::default()
        });
    }
    Data::Histogram(Histogram {
        data_points,
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
    })
}

fn summary(family: &Family, target: &TargetLabels, starts: &mut Starts, now: u64) -> Data {
    let mut data_points = Vec::new();
    for (labels, samples) in groups(family, "quantile") {
        let quantile_values = samples
            .iter()
            .filter(|s| s.name == family.name)
            .filter_map(|s| {
                let quantile = s
                    .labels
                    .iter()
                    .find(|(n, _)| n == "quantile")?
                    .1
                    .parse()
                    .ok()?;
                Some(ValueAtQuantile {
                    quantile,
                    value: s.value,
                })
            })
            .collect();
        let count = suffixed(&samples, &family.name, "_count").map_or(0.0, |s| s.value);
        let start = starts.start((family.name.clone(), labels.clone()), count, now);
        data_points.push(SummaryDataPoint {
            attributes: attributes(&labels, target),
            start_time_unix_nano: start,
            time_unix_nano: samples.first().map_or(now, |s| time_of(s, now)),
            count: count as u64,
            sum: suffixed(&samples, &family.name, "_sum").map_or(0.0, |s| s.value),
            quantile_values,
            ..Default::default()
        });
    }
    Data::Summary(Summary { data_points })
}

#[cfg(test)]
mod tests;
