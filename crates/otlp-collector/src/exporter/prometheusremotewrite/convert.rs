//! OTLP metrics as remote write series, by the rules of otelcol's `prometheusremotewrite` translator, with the
//! names and labels the `prometheus` exporter serves (`naming.rs`, `labels.rs`), so that a series is the same
//! whether Prometheus scrapes it or is sent it.
//!
//! Gauges and sums are one series each; a monotonic sum is a counter (`_total`), with the point's exemplars.
//! Explicit-bounds histograms are classic ones (`_bucket{le}`, cumulative, `+Inf`, `_count`, `_sum`), each
//! exemplar on its bucket's series; exponential histograms are native histograms, coarsened to scale 8 where
//! finer (the finest native histograms have); summaries are `{quantile}` series with `_count` and `_sum`. A point
//! flagged as having no recorded value is a staleness marker, which ends its series at once in Prometheus.
//!
//! Deltas are summed into running totals first (the `deltatocumulative` processor's streams, kept for 5 minutes
//! after a stream's last point), where otelcol drops them: Prometheus stores totals, and SDKs that export deltas
//! (.NET's and JavaScript's, by choice) would otherwise have their counters vanish.

use super::config::RemoteWriteExporterConfig;
use super::wire::{
    BucketSpan, Exemplar, Histogram, Label, MetricMetadata, MetricType, Sample, TimeSeries,
};
use crate::exporter::prometheus::labels::{Labeler, Labels, merge};
use crate::exporter::prometheus::naming::{Namer, Strategy};
use crate::exporter::prometheus::series::{
    self, NO_RECORDED_VALUE, Refused, Sample as Value, Type, data_points, exemplar_of, explicit,
    family_type, has_delta,
};
use crate::processor::deltatocumulative::{
    self,
    streams::{Streams, downscale},
};
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, Metric, exponential_histogram_data_point::Buckets, metric::Data,
};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::hash::BuildHasher as _;
use std::time::Duration;
use tokio::time::Instant;

/// Prometheus's staleness marker: the NaN that ends a series.
pub(super) const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// The finest native histogram schema.
const FINEST_SCHEMA: i32 = 8;
/// The coarsest: each bucket 2^16 times as wide as the one before.
const COARSEST_SCHEMA: i32 = -4;

/// How long a delta stream's running total is kept after its last point.
const DELTA_STREAM_EXPIRATION: Duration = Duration::from_secs(5 * 60);

/// One batch's series, ready to be cut into requests.
#[derive(Debug, Default)]
pub(super) struct Converted {
    /// Each series once, its samples in time order.
    pub(super) series: Vec<TimeSeries>,
    /// Each family's metadata (with `send_metadata`).
    pub(super) metadata: Vec<MetricMetadata>,
    /// The points that could not be sent, and why.
    pub(super) refused: Refused,
}

/// Turns OTLP metrics into series under one exporter's settings.
pub(super) struct Converter {
    labeler: Labeler,
    external: Labels,
    target_info: bool,
    metadata: bool,
    deltas: Mutex<Streams>,
}

impl Converter {
    pub(super) fn new(config: &RemoteWriteExporterConfig) -> Self {
        let strategy = if config.add_metric_suffixes {
            Strategy::UnderscoreEscapingWithSuffixes
        } else {
            Strategy::UnderscoreEscapingWithoutSuffixes
        };
        Converter {
            labeler: Labeler {
                namer: Namer::new(strategy, &config.namespace),
                scope_info: true,
                resource_constant_labels: None,
                resource_to_telemetry: config.resource_to_telemetry_conversion.clone(),
            },
            external: config
                .external_labels
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            target_info: config.target_info.enabled,
            metadata: config.send_metadata,
            deltas: Mutex::new(Streams::new(Some(DELTA_STREAM_EXPIRATION), 0)),
        }
    }

    /// The series of every point of `request`.
    pub(super) fn convert(&self, request: &ExportMetricsServiceRequest) -> Converted {
        let mut refused = Refused::default();
        let converted;
        let request = if has_delta(request) {
            let now = Instant::now();
            let mut cumulative = request.clone();
            let mut streams = self.deltas.lock();
            streams.sweep(now);
            let [_, older_start, out_of_order, _, no_value] =
                deltatocumulative::convert(&mut cumulative, &mut streams, now);
            refused.add(
                "delta points that do not continue their stream (out of order, or from an older start)",
                (older_start + out_of_order) as usize,
            );
            refused.add("points without a value", no_value as usize);
            converted = cumulative;
            &converted
        } else {
            request
        };
        let mut out = Builder::default();
        for rm in &request.resource_metrics {
            let resource = rm.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
            let service = self.labeler.service(resource);
            let resource_labels = self.labeler.resource(resource);
            let mut latest = 0u64;
            for sm in &rm.scope_metrics {
                let mut later = self.labeler.scope(sm);
                later.extend(service.iter().cloned());
                later.extend(resource_labels.iter().cloned());
                later.extend(self.external.iter().cloned());
                for metric in &sm.metrics {
                    latest = latest.max(latest_time(metric));
                    self.metric(metric, &later, &mut out, &mut refused);
                }
            }
            if self.target_info {
                self.target(resource, &service, latest, &mut out);
            }
        }
        Converted {
            series: out.finish(),
            metadata: out.metadata.into_values().collect(),
            refused,
        }
    }

    /// `target_info` for a resource with attributes besides `service.*` and a `job` or `instance`, as otelcol: one
    /// sample of 1 at its latest point's time.
    fn target(&self, resource: &[KeyValue], service: &Labels, latest: u64, out: &mut Builder) {
        let described = resource.iter().any(|kv| {
            !crate::exporter::prometheus::labels::SERVICE_KEYS.contains(&kv.key.as_str())
        });
        if !described || service.is_empty() || latest == 0 {
            return;
        }
        let mut labels = self.labeler.target(resource, service);
        merge(&mut labels, self.external.iter().cloned());
        labels.retain(|(_, value)| !value.is_empty());
        let name = self.labeler.namer.target_info();
        out.series(named(&labels, &name, None))
            .samples
            .push(sample(1.0, latest));
        if self.metadata {
            out.describe(&name, MetricType::Info, "Target metadata", "");
        }
    }

    fn metric(&self, metric: &Metric, later: &Labels, out: &mut Builder, refused: &mut Refused) {
        let Some(data) = &metric.data else {
            return;
        };
        let Some((family, name_kind)) = family_type(data) else {
            refused.add(
                "points without an aggregation temporality",
                data_points(data),
            );
            return;
        };
        let kind = match family {
            Type::Gauge => MetricType::Gauge,
            Type::Counter => MetricType::Counter,
            Type::Histogram => MetricType::Histogram,
            Type::Summary => MetricType::Summary,
        };
        let Some(name) = self
            .labeler
            .namer
            .metric(&metric.name, &metric.unit, name_kind)
        else {
            refused.add(
                "points of a metric whose name has no valid character",
                data_points(data),
            );
            return;
        };
        if self.metadata {
            out.describe(&name, kind, &metric.description, &metric.unit);
        }
        let labels = |attributes: &[KeyValue]| {
            let mut labels = self.labeler.attributes(attributes);
            merge(&mut labels, later.iter().cloned());
            labels.retain(|(_, value)| !value.is_empty());
            labels
        };
        match &metric.data {
            Some(Data::Gauge(gauge)) => {
                for p in &gauge.data_points {
                    let Some(value) = number(p.value, p.flags) else {
                        refused.add("points without a value", 1);
                        continue;
                    };
                    let series = out.series(owned(labels(&p.attributes), &name));
                    series.samples.push(sample(value, p.time_unix_nano));
                }
            }
            Some(Data::Sum(sum)) => {
                for p in &sum.data_points {
                    let Some(value) = number(p.value, p.flags) else {
                        refused.add("points without a value", 1);
                        continue;
                    };
                    let series = out.series(owned(labels(&p.attributes), &name));
                    series.samples.push(sample(value, p.time_unix_nano));
                    if kind == MetricType::Counter {
                        series
                            .exemplars
                            .extend(p.exemplars.iter().map(|e| exemplar(&exemplar_of(e))));
                    }
                }
            }
            Some(Data::Histogram(histogram)) => {
                for p in &histogram.data_points {
                    let Value::Histogram {
                        buckets,
                        count,
                        sum,
                        exemplars,
                    } = explicit(p)
                    else {
                        continue;
                    };
                    let stale = p.flags & NO_RECORDED_VALUE != 0;
                    let value = |v: f64| if stale { STALE_NAN } else { v };
                    let base = labels(&p.attributes);
                    let bucket = format!("{name}_bucket");
                    let bounds = buckets
                        .iter()
                        .map(|(bound, cumulative)| (le(*bound), *cumulative))
                        .chain([("+Inf".to_owned(), count)]);
                    for (i, (bound, cumulative)) in bounds.enumerate() {
                        let series = out.series(named(&base, &bucket, Some(("le", bound))));
                        series
                            .samples
                            .push(sample(value(cumulative as f64), p.time_unix_nano));
                        if let Some(e) = exemplars.get(&i) {
                            series.exemplars.push(exemplar(e));
                        }
                    }
                    out.series(named(&base, &format!("{name}_count"), None))
                        .samples
                        .push(sample(value(count as f64), p.time_unix_nano));
                    if let Some(sum) = sum {
                        out.series(named(&base, &format!("{name}_sum"), None))
                            .samples
                            .push(sample(value(sum), p.time_unix_nano));
                    }
                }
            }
            Some(Data::ExponentialHistogram(histogram)) => {
                for p in &histogram.data_points {
                    let Some(native) = native(p) else {
                        refused.add(
                            "exponential histogram points coarser than scale -4, which native histograms \
                             cannot hold",
                            1,
                        );
                        continue;
                    };
                    let series = out.series(owned(labels(&p.attributes), &name));
                    series.histograms.push(native);
                    series
                        .exemplars
                        .extend(p.exemplars.iter().map(|e| exemplar(&exemplar_of(e))));
                }
            }
            Some(Data::Summary(summary)) => {
                for p in &summary.data_points {
                    let stale = p.flags & NO_RECORDED_VALUE != 0;
                    let value = |v: f64| if stale { STALE_NAN } else { v };
                    let base = labels(&p.attributes);
                    for q in &p.quantile_values {
                        out.series(named(&base, &name, Some(("quantile", le(q.quantile)))))
                            .samples
                            .push(sample(value(q.value), p.time_unix_nano));
                    }
                    out.series(named(&base, &format!("{name}_count"), None))
                        .samples
                        .push(sample(value(p.count as f64), p.time_unix_nano));
                    out.series(named(&base, &format!("{name}_sum"), None))
                        .samples
                        .push(sample(value(p.sum), p.time_unix_nano));
                }
            }
            None => {}
        }
    }
}

/// The series being built, each label set once.
#[derive(Default)]
struct Builder {
    series: Vec<TimeSeries>,
    /// Indexes into `series` by the hash of their labels, which stay in `series` alone: a map keyed by the labels
    /// would copy every label set once more.
    index: HashTable<usize>,
    hasher: RandomState,
    metadata: BTreeMap<String, MetricMetadata>,
}

impl Builder {
    fn series(&mut self, labels: Vec<Label>) -> &mut TimeSeries {
        let hash = self.hasher.hash_one(&labels);
        let series = &mut self.series;
        let at = match self.index.find(hash, |at| series[*at].labels == labels) {
            Some(at) => *at,
            None => {
                series.push(TimeSeries {
                    labels,
                    ..TimeSeries::default()
                });
                let hasher = &self.hasher;
                self.index.insert_unique(hash, series.len() - 1, |at| {
                    hasher.hash_one(&series[*at].labels)
                });
                series.len() - 1
            }
        };
        &mut self.series[at]
    }

    fn describe(&mut self, name: &str, kind: MetricType, help: &str, unit: &str) {
        self.metadata
            .entry(name.to_owned())
            .or_insert_with(|| MetricMetadata {
                r#type: kind as i32,
                metric_family_name: name.to_owned(),
                help: help.to_owned(),
                unit: unit.to_owned(),
            });
    }

    /// The series with their samples in time order, one per time (the last given): Prometheus refuses a whole
    /// request holding a series' samples out of order, or two different values at one time.
    fn finish(&mut self) -> Vec<TimeSeries> {
        let mut series = std::mem::take(&mut self.series);
        for one in &mut series {
            last_per_time(&mut one.samples, |s| s.timestamp);
            last_per_time(&mut one.histograms, |h| h.timestamp);
        }
        series
    }
}

/// Sorts `items` by time, keeping only the last given of those at one time.
fn last_per_time<T>(items: &mut Vec<T>, time: impl Fn(&T) -> i64) {
    if items.len() < 2 {
        return;
    }
    // Reversed then stably sorted: of equal times, the last given comes first, and `dedup_by_key` keeps the first.
    items.reverse();
    items.sort_by_key(&time);
    items.dedup_by_key(|item| time(item));
}

/// `labels` with `__name__` and an extra label (`le`, `quantile`), which win over attributes of those names,
/// sorted by name as remote write requires.
fn named(labels: &Labels, name: &str, extra: Option<(&str, String)>) -> Vec<Label> {
    let extra_name = extra.as_ref().map(|(name, _)| *name);
    let mut out: Vec<Label> = labels
        .iter()
        .filter(|(label, _)| label != "__name__" && Some(label.as_str()) != extra_name)
        .map(|(name, value)| Label {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    out.push(Label {
        name: "__name__".to_owned(),
        value: name.to_owned(),
    });
    if let Some((name, value)) = extra {
        out.push(Label {
            name: name.to_owned(),
            value,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `labels` with `__name__`, taken rather than copied, sorted by name.
fn owned(labels: Labels, name: &str) -> Vec<Label> {
    let mut out: Vec<Label> = labels
        .into_iter()
        .filter(|(label, _)| label != "__name__")
        .map(|(name, value)| Label { name, value })
        .collect();
    out.push(Label {
        name: "__name__".to_owned(),
        value: name.to_owned(),
    });
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A bound or quantile as a label value, as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it.
fn le(value: f64) -> String {
    if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        // Rust's shortest round-trip form, never in exponent notation: what Go's `'f', -1` writes.
        format!("{value}")
    }
}

fn millis(time_unix_nano: u64) -> i64 {
    (time_unix_nano / 1_000_000) as i64
}

fn sample(value: f64, time_unix_nano: u64) -> Sample {
    Sample {
        value,
        timestamp: millis(time_unix_nano),
    }
}

/// A number point's value, the staleness marker when it has no recorded value, `None` when it has no value at all.
fn number(
    value: Option<opentelemetry_proto::tonic::metrics::v1::number_data_point::Value>,
    flags: u32,
) -> Option<f64> {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    if flags & NO_RECORDED_VALUE != 0 {
        return Some(STALE_NAN);
    }
    match value? {
        Value::AsInt(v) => Some(v as f64),
        Value::AsDouble(v) => Some(v),
    }
}

fn exemplar(e: &series::Exemplar) -> Exemplar {
    Exemplar {
        labels: e
            .labels
            .iter()
            .map(|(name, value)| Label {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        value: e.value,
        timestamp: millis(e.time_unix_nano),
    }
}

/// An exponential histogram point as a native histogram; `None` when it is coarser than native histograms go.
fn native(p: &ExponentialHistogramDataPoint) -> Option<Histogram> {
    if p.scale < COARSEST_SCHEMA {
        return None;
    }
    let schema = p.scale.min(FINEST_SCHEMA);
    let coarser = |buckets: &Option<Buckets>| {
        buckets.clone().map(|mut buckets| {
            downscale(&mut buckets, p.scale - schema);
            buckets
        })
    };
    let (positive_spans, positive_deltas) = spans(coarser(&p.positive).as_ref());
    let (negative_spans, negative_deltas) = spans(coarser(&p.negative).as_ref());
    let stale = p.flags & NO_RECORDED_VALUE != 0;
    Some(Histogram {
        count_int: Some(if stale { STALE_NAN.to_bits() } else { p.count }),
        sum: if stale {
            STALE_NAN
        } else {
            p.sum.unwrap_or(0.0)
        },
        schema,
        zero_threshold: p.zero_threshold,
        zero_count_int: Some(p.zero_count),
        negative_spans,
        negative_deltas,
        positive_spans,
        positive_deltas,
        reset_hint: 0,
        timestamp: millis(p.time_unix_nano),
    })
}

/// OTLP's dense buckets as native histogram spans of count deltas.
///
/// OTLP's bucket `i` holds `(base^i, base^(i+1)]` and Prometheus's `(base^(i-1), base^i]`, so indexes move up by
/// one. Empty buckets start a new span after a gap of more than two, and are written as zero counts inside a span
/// otherwise, as Prometheus's client libraries do (two zero deltas cost less than a span).
fn spans(buckets: Option<&Buckets>) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let Some(buckets) = buckets else {
        return (spans, deltas);
    };
    let mut previous_count = 0i64;
    let mut next_index = 0i64;
    for (i, count) in buckets.bucket_counts.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        let count = *count as i64;
        let index = i64::from(buckets.offset) + i as i64 + 1;
        let gap = index - next_index;
        match spans.last_mut() {
            Some(span) if gap <= 2 => {
                for _ in 0..gap {
                    deltas.push(-previous_count);
                    previous_count = 0;
                }
                span.length += gap as u32 + 1;
            }
            _ => spans.push(BucketSpan {
                offset: gap as i32,
                length: 1,
            }),
        }
        deltas.push(count - previous_count);
        previous_count = count;
        next_index = index + 1;
    }
    (spans, deltas)
}

/// The latest point time of a metric, for `target_info`'s sample.
fn latest_time(metric: &Metric) -> u64 {
    let latest = |times: &mut dyn Iterator<Item = u64>| times.max().unwrap_or(0);
    match &metric.data {
        Some(Data::Gauge(g)) => latest(&mut g.data_points.iter().map(|p| p.time_unix_nano)),
        Some(Data::Sum(s)) => latest(&mut s.data_points.iter().map(|p| p.time_unix_nano)),
        Some(Data::Histogram(h)) => latest(&mut h.data_points.iter().map(|p| p.time_unix_nano)),
        Some(Data::ExponentialHistogram(h)) => {
            latest(&mut h.data_points.iter().map(|p| p.time_unix_nano))
        }
        Some(Data::Summary(s)) => latest(&mut s.data_points.iter().map(|p| p.time_unix_nano)),
        None => 0,
    }
}

#[cfg(test)]
mod tests;
