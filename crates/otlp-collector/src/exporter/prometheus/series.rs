//! The series the exporter serves: the last value of every Prometheus series, built from the OTLP points that
//! reach it, each forgotten `metric_expiration` after its last point.
//!
//! A series is what Prometheus sees as one: a family name and a label set (`labels.rs`). Labels with an empty
//! value are left out, as Prometheus treats them as absent.
//!
//! Deltas are turned into running totals first (the `deltatocumulative` processor's streams). A point older than
//! the series' last one is ignored; one flagged as having no recorded value ends its series.

use super::config::PrometheusExporterConfig;
use super::labels::{Labeler, Labels, merge};
use super::naming::NameKind;
use crate::processor::deltatocumulative::{
    self,
    streams::{Streams, downscale},
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point,
};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// OTLP's `DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`.
pub(in crate::exporter) const NO_RECORDED_VALUE: u32 = 1;

/// A family's type in the exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::exporter) enum Type {
    Gauge,
    Counter,
    Histogram,
    Summary,
}

/// A trace a sample came from, shown in OpenMetrics.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::exporter) struct Exemplar {
    pub(in crate::exporter) labels: Labels,
    pub(in crate::exporter) value: f64,
    pub(in crate::exporter) time_unix_nano: u64,
}

/// A series' value.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::exporter) enum Sample {
    /// A gauge's or a counter's, with the counter's latest exemplar.
    Number(f64, Option<Exemplar>),
    Histogram {
        /// Each bucket's upper bound and the count of values up to it, in increasing order, `+Inf` left out.
        buckets: Vec<(f64, u64)>,
        count: u64,
        sum: Option<f64>,
        /// The latest exemplar of each bucket, by the index of `buckets` (`buckets.len()`: the `+Inf` bucket).
        exemplars: BTreeMap<usize, Exemplar>,
    },
    Summary {
        quantiles: Vec<(f64, f64)>,
        count: u64,
        sum: f64,
    },
}

#[derive(Debug)]
pub(super) struct Series {
    pub(super) sample: Sample,
    pub(super) time_unix_nano: u64,
    updated: Instant,
}

impl Series {
    pub(super) fn new(sample: Sample, time_unix_nano: u64, updated: Instant) -> Self {
        Series {
            sample,
            time_unix_nano,
            updated,
        }
    }
}

#[derive(Debug)]
pub(super) struct Family {
    pub(super) kind: Type,
    pub(super) help: String,
    pub(super) series: BTreeMap<Labels, Series>,
}

/// Why points were not served, for the exporter's accounting.
#[derive(Debug, Default, PartialEq, Eq)]
pub(in crate::exporter) struct Refused {
    pub(in crate::exporter) points: usize,
    pub(in crate::exporter) reasons: BTreeMap<&'static str, usize>,
}

impl Refused {
    pub(in crate::exporter) fn add(&mut self, reason: &'static str, points: usize) {
        if points > 0 {
            self.points += points;
            *self.reasons.entry(reason).or_default() += points;
        }
    }

    /// One line for the log: the reasons and how many points each.
    pub(in crate::exporter) fn message(&self) -> String {
        self.reasons
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every series the exporter serves.
#[derive(Debug)]
pub(super) struct Registry {
    labeler: Labeler,
    settings: PrometheusExporterConfig,
    expiration: Duration,
    pub(super) families: BTreeMap<String, Family>,
    /// `target_info`'s series: one per resource with both `job` and `instance`, with when it was last seen.
    pub(super) targets: BTreeMap<Labels, Instant>,
    deltas: Streams,
}

impl Registry {
    pub(super) fn new(settings: &PrometheusExporterConfig) -> Self {
        Registry {
            labeler: settings.labeler(),
            settings: settings.clone(),
            expiration: settings.metric_expiration,
            families: BTreeMap::new(),
            targets: BTreeMap::new(),
            deltas: Streams::new(Some(settings.metric_expiration), 0),
        }
    }

    pub(super) fn target_info_name(&self) -> String {
        self.labeler.namer.target_info()
    }

    /// Takes in every point of `request`; what could not be served, and why.
    pub(super) fn accumulate(
        &mut self,
        request: &ExportMetricsServiceRequest,
        now: Instant,
    ) -> Refused {
        let mut refused = Refused::default();
        let converted;
        let request = if has_delta(request) {
            let mut cumulative = request.clone();
            self.deltas.sweep(now);
            let [_, older_start, out_of_order, _, no_value] =
                deltatocumulative::convert(&mut cumulative, &mut self.deltas, now);
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
        for rm in &request.resource_metrics {
            let resource = rm.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
            let service = self.labeler.service(resource);
            // Only for a resource with both `job` and `instance`, as otelcol.
            if service.len() == 2 {
                self.targets
                    .insert(self.labeler.target(resource, &service), now);
            }
            let resource_labels = self.labeler.resource(resource);
            for sm in &rm.scope_metrics {
                let scope_labels = self.labeler.scope(sm);
                let mut context = Context {
                    later: Vec::new(),
                    now,
                };
                context.later.extend(scope_labels);
                context.later.extend(service.iter().cloned());
                context.later.extend(resource_labels.iter().cloned());
                context.later.extend(
                    self.settings
                        .const_labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                for metric in &sm.metrics {
                    self.metric(metric, &context, &mut refused);
                }
            }
        }
        refused
    }

    /// Forgets the series and `target_info`s without a point for `metric_expiration`, and the families left empty.
    pub(super) fn expire(&mut self, now: Instant) {
        let fresh = |updated: Instant| now.duration_since(updated) < self.expiration;
        for family in self.families.values_mut() {
            family.series.retain(|_, series| fresh(series.updated));
        }
        self.families.retain(|_, family| !family.series.is_empty());
        self.targets.retain(|_, seen| fresh(*seen));
    }

    fn metric(&mut self, metric: &Metric, context: &Context, refused: &mut Refused) {
        let Some(data) = &metric.data else {
            return;
        };
        let points = data_points(data);
        let Some((kind, name_kind)) = family_type(data) else {
            refused.add("points without an aggregation temporality", points);
            return;
        };
        let Some(name) = self
            .labeler
            .namer
            .metric(&metric.name, &metric.unit, name_kind)
        else {
            refused.add(
                "points of a metric whose name has no valid character",
                points,
            );
            return;
        };
        let family = self.families.entry(name).or_insert_with(|| Family {
            kind,
            help: metric.description.clone(),
            series: BTreeMap::new(),
        });
        if family.kind != kind {
            refused.add(
                "points of a metric whose name another metric of another type has",
                points,
            );
            return;
        }
        let labeler = &self.labeler;
        let mut put = |attributes: &[KeyValue], flags: u32, time: u64, sample: Option<Sample>| {
            let mut labels = labeler.attributes(attributes);
            merge(&mut labels, context.later.iter().cloned());
            labels.retain(|(_, value)| !value.is_empty());
            if flags & NO_RECORDED_VALUE != 0 {
                family.series.remove(&labels);
                return;
            }
            let Some(sample) = sample else {
                refused.add("points without a value", 1);
                return;
            };
            if family
                .series
                .get(&labels)
                .is_some_and(|last| time < last.time_unix_nano)
            {
                return;
            }
            family
                .series
                .insert(labels, Series::new(sample, time, context.now));
        };
        match &metric.data {
            Some(Data::Gauge(gauge)) => {
                for p in &gauge.data_points {
                    put(&p.attributes, p.flags, p.time_unix_nano, number(p, false));
                }
            }
            Some(Data::Sum(sum)) => {
                for p in &sum.data_points {
                    let sample = number(p, kind == Type::Counter);
                    put(&p.attributes, p.flags, p.time_unix_nano, sample);
                }
            }
            Some(Data::Histogram(histogram)) => {
                for p in &histogram.data_points {
                    put(&p.attributes, p.flags, p.time_unix_nano, Some(explicit(p)));
                }
            }
            Some(Data::ExponentialHistogram(histogram)) => {
                for p in &histogram.data_points {
                    put(
                        &p.attributes,
                        p.flags,
                        p.time_unix_nano,
                        Some(exponential(p)),
                    );
                }
            }
            Some(Data::Summary(summary)) => {
                for p in &summary.data_points {
                    let sample = Sample::Summary {
                        quantiles: p
                            .quantile_values
                            .iter()
                            .map(|q| (q.quantile, q.value))
                            .collect(),
                        count: p.count,
                        sum: p.sum,
                    };
                    put(&p.attributes, p.flags, p.time_unix_nano, Some(sample));
                }
            }
            None => {}
        }
    }
}

/// What every point of a scope shares.
struct Context {
    /// Labels after the point's own attributes, in precedence order.
    later: Labels,
    now: Instant,
}

/// How metric data is served: its family's type and the naming its suffixes follow; `None` for a sum or histogram
/// that is not cumulative (deltas are summed into totals before this is asked).
pub(in crate::exporter) fn family_type(data: &Data) -> Option<(Type, NameKind)> {
    let cumulative = AggregationTemporality::Cumulative as i32;
    Some(match data {
        Data::Gauge(_) => (Type::Gauge, NameKind::Gauge),
        Data::Sum(sum) if sum.aggregation_temporality == cumulative => {
            if sum.is_monotonic {
                (Type::Counter, NameKind::Counter)
            } else {
                (Type::Gauge, NameKind::Other)
            }
        }
        Data::Histogram(h) if h.aggregation_temporality == cumulative => {
            (Type::Histogram, NameKind::Other)
        }
        Data::ExponentialHistogram(h) if h.aggregation_temporality == cumulative => {
            (Type::Histogram, NameKind::Other)
        }
        Data::Summary(_) => (Type::Summary, NameKind::Other),
        _ => return None,
    })
}

/// Whether any metric of `request` is a delta sum or histogram, to be summed into running totals first.
pub(in crate::exporter) fn has_delta(request: &ExportMetricsServiceRequest) -> bool {
    let delta = AggregationTemporality::Delta as i32;
    request
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .any(|metric| match &metric.data {
            Some(Data::Sum(sum)) => sum.aggregation_temporality == delta,
            Some(Data::Histogram(h)) => h.aggregation_temporality == delta,
            Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality == delta,
            _ => false,
        })
}

pub(in crate::exporter) fn data_points(data: &Data) -> usize {
    match data {
        Data::Gauge(g) => g.data_points.len(),
        Data::Sum(s) => s.data_points.len(),
        Data::Histogram(h) => h.data_points.len(),
        Data::ExponentialHistogram(h) => h.data_points.len(),
        Data::Summary(s) => s.data_points.len(),
    }
}

pub(in crate::exporter) fn number(point: &NumberDataPoint, with_exemplar: bool) -> Option<Sample> {
    let value = match point.value? {
        number_data_point::Value::AsInt(v) => v as f64,
        number_data_point::Value::AsDouble(v) => v,
    };
    let exemplar = if with_exemplar {
        latest(point.exemplars.iter().map(exemplar_of))
    } else {
        None
    };
    Some(Sample::Number(value, exemplar))
}

pub(in crate::exporter) fn exemplar_of(
    e: &opentelemetry_proto::tonic::metrics::v1::Exemplar,
) -> Exemplar {
    let mut labels = Vec::new();
    if e.span_id.iter().any(|b| *b != 0) {
        labels.push(("span_id".to_owned(), hex(&e.span_id)));
    }
    if e.trace_id.iter().any(|b| *b != 0) {
        labels.push(("trace_id".to_owned(), hex(&e.trace_id)));
    }
    let value = match e.value {
        Some(exemplar::Value::AsInt(v)) => v as f64,
        Some(exemplar::Value::AsDouble(v)) => v,
        None => 0.0,
    };
    Exemplar {
        labels,
        value,
        time_unix_nano: e.time_unix_nano,
    }
}

pub(in crate::exporter) fn latest(exemplars: impl Iterator<Item = Exemplar>) -> Option<Exemplar> {
    exemplars.max_by_key(|e| e.time_unix_nano)
}

pub(in crate::exporter) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An explicit-bounds histogram as cumulative buckets: bounds sorted, equal bounds' counts added up.
pub(in crate::exporter) fn explicit(point: &HistogramDataPoint) -> Sample {
    let mut bounds: Vec<(f64, u64)> = point
        .explicit_bounds
        .iter()
        .enumerate()
        .map(|(i, bound)| (*bound, point.bucket_counts.get(i).copied().unwrap_or(0)))
        .filter(|(bound, _)| !bound.is_nan())
        .collect();
    let exemplars: Vec<Exemplar> = point.exemplars.iter().map(exemplar_of).collect();
    cumulative(&mut bounds, point.count, point.sum, exemplars)
}

/// The finest scale exponential histograms are served at: 8 buckets per power of two, each about 9% wide.
///
/// SDKs pick a histogram's scale from the range of its values (the OTel Python SDK starts at 20 and lowers it as
/// the range grows), so at their own scale one series' bucket bounds change from scrape to scrape and differ from
/// another instance's: `rate` then loses the buckets that vanish, and `sum by (le)` across instances adds nothing
/// together. At one fixed scale every series has the same bounds, `2^(k/8)`, as long as its own scale is at least
/// this fine (a range of 20 powers of two within the SDKs' 160 buckets).
const SERVED_SCALE: i32 = 3;

/// An exponential histogram as classic cumulative buckets, one `le` per populated bucket's upper bound at
/// [`SERVED_SCALE`] or coarser, so that `histogram_quantile` works over it in the text formats (which have no
/// native histograms).
fn exponential(point: &ExponentialHistogramDataPoint) -> Sample {
    let scale = point.scale.min(SERVED_SCALE);
    let base_log2 = (-f64::from(scale)).exp2();
    let bound = |index: i64| (index as f64 * base_log2).exp2();
    let coarser = |buckets: &Option<Buckets>| {
        buckets.clone().map(|mut buckets| {
            downscale(&mut buckets, point.scale - scale);
            buckets
        })
    };
    let (negative, positive) = (coarser(&point.negative), coarser(&point.positive));
    let mut bounds = Vec::new();
    if let Some(negative) = &negative {
        for (i, count) in negative.bucket_counts.iter().enumerate() {
            // Bucket `index` of the negative side holds [-base^(index+1), -base^index): up to -base^index.
            let index = i64::from(negative.offset) + i as i64;
            bounds.push((-bound(index), *count));
        }
    }
    bounds.push((point.zero_threshold, point.zero_count));
    if let Some(positive) = &positive {
        for (i, count) in positive.bucket_counts.iter().enumerate() {
            let index = i64::from(positive.offset) + i as i64;
            bounds.push((bound(index + 1), *count));
        }
    }
    bounds.retain(|(bound, count)| bound.is_finite() && *count > 0);
    let exemplars: Vec<Exemplar> = point.exemplars.iter().map(exemplar_of).collect();
    cumulative(&mut bounds, point.count, point.sum, exemplars)
}

/// Per-bucket counts (upper bound, count) as Prometheus's cumulative buckets, with each bucket's latest exemplar.
fn cumulative(
    bounds: &mut [(f64, u64)],
    count: u64,
    sum: Option<f64>,
    exemplars: Vec<Exemplar>,
) -> Sample {
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut buckets: Vec<(f64, u64)> = Vec::with_capacity(bounds.len());
    let mut running = 0u64;
    for (bound, n) in bounds.iter() {
        running = running.saturating_add(*n);
        match buckets.last_mut() {
            Some(last) if last.0 == *bound => last.1 = running,
            _ => buckets.push((*bound, running)),
        }
    }
    let mut by_bucket: BTreeMap<usize, Exemplar> = BTreeMap::new();
    for exemplar in exemplars {
        let at = buckets.partition_point(|(bound, _)| *bound < exemplar.value);
        let newer = by_bucket
            .get(&at)
            .is_none_or(|kept| exemplar.time_unix_nano >= kept.time_unix_nano);
        if newer {
            by_bucket.insert(at, exemplar);
        }
    }
    Sample::Histogram {
        buckets,
        // A count below the buckets' total would make `+Inf` smaller than a bucket before it.
        count: count.max(running),
        sum,
        exemplars: by_bucket,
    }
}

#[cfg(test)]
mod tests;
