//! Remote write 1.0 series as OTLP metrics. A series' `job` and `instance` are its resource (`service.name`, with
//! `service.namespace` before a `/` in the job, and `service.instance.id`), its other labels but `__name__` its
//! points' attributes, each sample a point at its time.
//!
//! What a series is comes from the families' metadata (remote write sends it beside the series, often in requests
//! of its own, so the receiver keeps what it learnt): a counter is a monotonic cumulative sum, a gauge (or a family
//! with no metadata yet) a gauge; a classic histogram's `_bucket` (by `le`), `_sum` and `_count` series of one time
//! and labels are one OTLP histogram point, a summary's quantile series, `_sum` and `_count` one summary point.
//! Names are kept as Prometheus sent them. Native histograms are not read yet: their samples are counted as
//! refused. A staleness marker is a point flagged as having no recorded value, as otelcol's Prometheus receiver
//! writes it.

use crate::remote_write::{MetricType, TimeSeries, WriteRequest};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, DataPointFlags, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;

/// Prometheus's staleness marker: a NaN of these bits marks a series that ended.
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// What the receiver learnt of each metric family from the metadata it was sent.
#[derive(Debug, Default)]
pub(super) struct Families(HashMap<String, MetricType>);

impl Families {
    /// Takes the request's metadata in.
    pub(super) fn learn(&mut self, request: &WriteRequest) {
        for metadata in &request.metadata {
            if let Ok(kind) = MetricType::try_from(metadata.r#type) {
                self.0.insert(metadata.metric_family_name.clone(), kind);
            }
        }
    }

    /// What a series of `name` is part of.
    fn role<'a>(&self, name: &'a str) -> Role<'a> {
        match self.0.get(name) {
            Some(MetricType::Counter) => return Role::Counter,
            Some(MetricType::Summary) => return Role::Summary(name, Part::Value),
            Some(
                MetricType::Histogram | MetricType::Gauge | MetricType::Unknown | MetricType::Info,
            )
            | None => {}
        }
        for (suffix, part) in [
            ("_bucket", Part::Value),
            ("_sum", Part::Sum),
            ("_count", Part::Count),
        ] {
            if let Some(family) = name.strip_suffix(suffix) {
                match self.0.get(family) {
                    Some(MetricType::Histogram) => return Role::Histogram(family, part),
                    Some(MetricType::Summary) if part != Part::Value => {
                        return Role::Summary(family, part);
                    }
                    _ => {}
                }
            }
        }
        if name
            .strip_suffix("_total")
            .is_some_and(|family| self.0.get(family) == Some(&MetricType::Counter))
        {
            return Role::Counter;
        }
        Role::Gauge
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// A bucket (`le`) or a quantile (`quantile`).
    Value,
    Sum,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role<'a> {
    Gauge,
    Counter,
    Histogram(&'a str, Part),
    Summary(&'a str, Part),
}

/// A series' resource: its job and instance.
type ResourceKey = (String, String);

/// A series' labels other than its name, job and instance, in the order sent.
type Labels = Vec<(String, String)>;

/// What tells the points of a histogram or summary family apart: the family, the labels (`le` or `quantile`
/// taken off) and the time.
type CompositeKey = (String, Labels, u64);

/// A histogram or summary point being put together from its series.
#[derive(Debug, Default)]
struct Composite {
    /// (`le` or `quantile`, value).
    values: Vec<(f64, f64)>,
    sum: Option<f64>,
    count: Option<f64>,
}

/// Points being put together, in the order first seen, found by their key.
#[derive(Debug, Default)]
struct Composites {
    points: Vec<(CompositeKey, Composite)>,
    index: HashMap<CompositeKey, usize>,
}

impl Composites {
    fn entry(&mut self, key: CompositeKey) -> &mut Composite {
        let at = match self.index.get(&key) {
            Some(&at) => at,
            None => {
                self.index.insert(key.clone(), self.points.len());
                self.points.push((key, Composite::default()));
                self.points.len() - 1
            }
        };
        &mut self.points[at].1
    }
}

/// The metrics of one resource, by name, in the order names first came.
#[derive(Debug, Default)]
struct ResourceMetricsBuilder {
    metrics: Vec<Metric>,
    index: HashMap<String, usize>,
    /// The histogram and summary points being put together, each in the order first seen.
    histograms: Composites,
    summaries: Composites,
}

/// The request's series as one OTLP request, and how many samples could not be taken.
pub(super) fn to_otlp(
    request: &WriteRequest,
    families: &Families,
) -> (ExportMetricsServiceRequest, usize) {
    let mut resources: Vec<(ResourceKey, ResourceMetricsBuilder)> = Vec::new();
    let mut refused = 0;
    for series in &request.timeseries {
        refused += series.histograms.len();
        if series.samples.is_empty() {
            continue;
        }
        let Some((name, resource, attributes)) = split_labels(series) else {
            refused += series.samples.len();
            continue;
        };
        let at = match resources.iter().position(|(key, _)| *key == resource) {
            Some(at) => at,
            None => {
                resources.push((resource, ResourceMetricsBuilder::default()));
                resources.len() - 1
            }
        };
        let builder = &mut resources[at].1;
        match families.role(name) {
            Role::Gauge => builder.numbers(name, false, &attributes, series),
            Role::Counter => builder.numbers(name, true, &attributes, series),
            Role::Histogram(family, part) => {
                builder.composite(true, family, part, "le", attributes, series);
            }
            Role::Summary(family, part) => {
                builder.composite(false, family, part, "quantile", attributes, series);
            }
        }
    }
    let resource_metrics = resources
        .into_iter()
        .map(|((job, instance), builder)| ResourceMetrics {
            resource: Some(resource(&job, &instance)),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "otlp-suite/prometheusremotewrite".to_owned(),
                    ..Default::default()
                }),
                metrics: builder.finish(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    (ExportMetricsServiceRequest { resource_metrics }, refused)
}

/// The series' name, resource and other labels; none without a name.
fn split_labels(series: &TimeSeries) -> Option<(&str, ResourceKey, Labels)> {
    let mut name = None;
    let (mut job, mut instance) = (String::new(), String::new());
    let mut attributes = Vec::with_capacity(series.labels.len());
    for label in &series.labels {
        match label.name.as_str() {
            "__name__" => name = Some(label.value.as_str()),
            "job" => job = label.value.clone(),
            "instance" => instance = label.value.clone(),
            _ => attributes.push((label.name.clone(), label.value.clone())),
        }
    }
    name.filter(|name| !name.is_empty())
        .map(|name| (name, (job, instance), attributes))
}

fn resource(job: &str, instance: &str) -> Resource {
    let string = |key: &str, value: &str| otlp_ottl::key_value(key, otlp_ottl::string_value(value));
    let mut attributes = Vec::new();
    match job.split_once('/') {
        Some((namespace, name)) => {
            attributes.push(string("service.namespace", namespace));
            attributes.push(string("service.name", name));
        }
        None if !job.is_empty() => attributes.push(string("service.name", job)),
        None => {}
    }
    if !instance.is_empty() {
        attributes.push(string("service.instance.id", instance));
    }
    Resource {
        attributes,
        ..Default::default()
    }
}

fn key_values(attributes: &[(String, String)]) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|(k, v)| otlp_ottl::key_value(k, otlp_ottl::string_value(v)))
        .collect()
}

fn nanos(millis: i64) -> u64 {
    u64::try_from(millis).unwrap_or(0).saturating_mul(1_000_000)
}

fn is_stale(value: f64) -> bool {
    value.to_bits() == STALE_NAN
}

impl ResourceMetricsBuilder {
    fn metric(&mut self, name: &str, data: impl FnOnce() -> Data) -> &mut Metric {
        let at = *self.index.entry(name.to_owned()).or_insert_with(|| {
            self.metrics.push(Metric {
                name: name.to_owned(),
                data: Some(data()),
                ..Default::default()
            });
            self.metrics.len() - 1
        });
        &mut self.metrics[at]
    }

    fn numbers(
        &mut self,
        name: &str,
        counter: bool,
        attributes: &[(String, String)],
        series: &TimeSeries,
    ) {
        let points: Vec<NumberDataPoint> = series
            .samples
            .iter()
            .map(|sample| NumberDataPoint {
                attributes: key_values(attributes),
                time_unix_nano: nanos(sample.timestamp),
                value: Some(number_data_point::Value::AsDouble(sample.value)),
                flags: if is_stale(sample.value) {
                    DataPointFlags::NoRecordedValueMask as u32
                } else {
                    0
                },
                ..Default::default()
            })
            .collect();
        let metric = self.metric(name, || {
            if counter {
                Data::Sum(Sum {
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                    data_points: Vec::new(),
                })
            } else {
                Data::Gauge(Gauge::default())
            }
        });
        match &mut metric.data {
            Some(Data::Sum(sum)) => sum.data_points.extend(points),
            Some(Data::Gauge(gauge)) => gauge.data_points.extend(points),
            _ => {}
        }
    }

    /// Adds a histogram's or summary's series to the points being put together; `label` (`le`, `quantile`) is
    /// taken off a value series' labels.
    fn composite(
        &mut self,
        histogram: bool,
        family: &str,
        part: Part,
        label: &str,
        mut attributes: Labels,
        series: &TimeSeries,
    ) {
        let bound = if part == Part::Value {
            let Some(at) = attributes.iter().position(|(k, _)| k == label) else {
                return;
            };
            let (_, text) = attributes.remove(at);
            match text.as_str() {
                "+Inf" | "Inf" => Some(f64::INFINITY),
                text => text.parse::<f64>().ok(),
            }
        } else {
            None
        };
        let composites = if histogram {
            &mut self.histograms
        } else {
            &mut self.summaries
        };
        for sample in series.samples.iter().filter(|s| !is_stale(s.value)) {
            let key = (
                family.to_owned(),
                attributes.clone(),
                nanos(sample.timestamp),
            );
            let composite = composites.entry(key);
            match part {
                Part::Value => {
                    if let Some(bound) = bound {
                        composite.values.push((bound, sample.value));
                    }
                }
                Part::Sum => composite.sum = Some(sample.value),
                Part::Count => composite.count = Some(sample.value),
            }
        }
    }

    fn finish(mut self) -> Vec<Metric> {
        for ((family, attributes, time), mut composite) in
            std::mem::take(&mut self.histograms).points
        {
            composite.values.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut previous = 0.0;
            let mut bucket_counts = Vec::with_capacity(composite.values.len() + 1);
            let mut explicit_bounds = Vec::with_capacity(composite.values.len());
            for (bound, cumulative) in &composite.values {
                bucket_counts.push((cumulative - previous).max(0.0) as u64);
                previous = cumulative.max(previous);
                if bound.is_finite() {
                    explicit_bounds.push(*bound);
                }
            }
            let count = composite.count.unwrap_or(previous);
            if composite
                .values
                .last()
                .is_none_or(|(bound, _)| bound.is_finite())
            {
                // No `+Inf` bucket: what the count holds beyond the last bound.
                bucket_counts.push((count - previous).max(0.0) as u64);
            }
            let point = HistogramDataPoint {
                attributes: key_values(&attributes),
                time_unix_nano: time,
                count: count.max(0.0) as u64,
                sum: composite.sum,
                bucket_counts,
                explicit_bounds,
                ..Default::default()
            };
            let metric = self.metric(&family, || {
                Data::Histogram(Histogram {
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    data_points: Vec::new(),
                })
            });
            if let Some(Data::Histogram(histogram)) = &mut metric.data {
                histogram.data_points.push(point);
            }
        }
        for ((family, attributes, time), mut composite) in
            std::mem::take(&mut self.summaries).points
        {
            composite.values.sort_by(|a, b| a.0.total_cmp(&b.0));
            let point = SummaryDataPoint {
                attributes: key_values(&attributes),
                time_unix_nano: time,
                count: composite.count.unwrap_or(0.0).max(0.0) as u64,
                sum: composite.sum.unwrap_or(0.0),
                quantile_values: composite
                    .values
                    .iter()
                    .map(|(quantile, value)| ValueAtQuantile {
                        quantile: *quantile,
                        value: *value,
                    })
                    .collect(),
                ..Default::default()
            };
            let metric = self.metric(&family, || Data::Summary(Summary::default()));
            if let Some(Data::Summary(summary)) = &mut metric.data {
                summary.data_points.push(point);
            }
        }
        self.metrics
    }
}

#[cfg(test)]
mod tests;
