//! Points of line protocol as OTLP metrics, as influx2otel (influxdb-observability, which otelcol's receiver uses)
//! reads them, schema by schema, told apart point by point:
//!
//! - **`prometheus` measurement** (Telegraf's Prometheus v2 layout): a line tagged `le` is a histogram bucket
//!   (field `<name>_bucket`), one tagged `quantile` a summary quantile (field `<name>`), fields `<name>_count`,
//!   `_sum`, `_min`, `_max` their totals; another single field is a gauge of that name.
//! - **Fields `gauge`, `counter`, or `count`/`sum`/bounds** (Telegraf's Prometheus v1 layout): a gauge, a
//!   monotonic cumulative sum (delta when tagged `temporality=delta`), or a histogram named after the measurement,
//!   whose fields named by numbers are the counts at or below each bound.
//! - **Anything else** (Telegraf's own plugins: `cpu,cpu=cpu0 usage_idle=99.1,usage_user=0.5`): a gauge per
//!   numeric field, named `<measurement>_<field>`; text and boolean fields are left out.
//!
//! Tags named as the resource semantic conventions name resource attributes (`service.name`, `host.*`, `k8s.*`…)
//! make the resource, `otel.library.name`/`version` the scope, the others the point's attributes. Field
//! `start_time_unix_nano` (otel2influx's) or `start_time` (RFC 3339, Telegraf's statsd) is the point's start.
//!
//! Beyond influx2otel: bucket counts are made per-bucket in both layouts (it leaves v2's cumulative), and a v2
//! `quantile` line makes a summary (it reads quantiles as histogram buckets). Line protocol cannot tell a v1
//! summary from a histogram: both are histograms, as there.

use super::line::{Point, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, metric, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use std::collections::HashMap;

/// The measurement of Telegraf's Prometheus v2 layout.
const PROMETHEUS: &str = "prometheus";

/// Tags that name resource attributes: the namespaces of OpenTelemetry's resource semantic conventions.
const RESOURCE_NAMESPACES: &[&str] = &[
    "aws.ecs.",
    "aws.eks.",
    "aws.log.",
    "browser.",
    "cloud.",
    "container.",
    "deployment.",
    "device.",
    "gcp.cloud_run.",
    "gcp.gce.",
    "heroku.",
    "host.",
    "k8s.",
    "os.",
    "process.",
    "service.",
    "telemetry.",
    "webengine.",
];
const RESOURCE_NAMES: &[&str] = &[
    "faas.id",
    "faas.instance",
    "faas.max_memory",
    "faas.name",
    "faas.version",
];

fn is_resource_attribute(key: &str) -> bool {
    RESOURCE_NAMES.contains(&key)
        || RESOURCE_NAMESPACES
            .iter()
            .any(|prefix| key.starts_with(prefix))
}

/// The metrics of a request's points, grouped by resource, scope and name.
#[derive(Default)]
pub(super) struct Metrics {
    resources: Vec<ResourceGroup>,
    resource_index: HashMap<Vec<(String, String)>, usize>,
    points: usize,
}

struct ResourceGroup {
    attributes: Vec<(String, String)>,
    scopes: Vec<ScopeGroup>,
    scope_index: HashMap<(String, String), usize>,
}

struct ScopeGroup {
    name: String,
    version: String,
    metrics: Vec<(String, Data)>,
    metric_index: HashMap<String, usize>,
}

/// A metric's points while a request is read: histograms and summaries are assembled from several fields, or
/// several lines, before they are points.
enum Data {
    Gauge(Vec<NumberDataPoint>),
    Sum {
        delta: bool,
        points: Vec<NumberDataPoint>,
    },
    Distribution {
        families: Vec<Family>,
        index: HashMap<(Vec<(String, String)>, u64), usize>,
    },
}

impl Data {
    fn kind(&self) -> &'static str {
        match self {
            Data::Gauge(_) => "gauge",
            Data::Sum { .. } => "counter",
            Data::Distribution { .. } => "histogram or summary",
        }
    }
}

/// The parts of one histogram or summary point.
#[derive(Default)]
struct Family {
    attributes: Vec<(String, String)>,
    start: u64,
    time: u64,
    buckets: Vec<(f64, f64)>,
    quantiles: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
}

/// What a point's tags and metadata fields say beyond its values.
#[derive(Clone)]
struct Context {
    resource: Vec<(String, String)>,
    scope: (String, String),
    attributes: Vec<(String, String)>,
    delta: bool,
    start: u64,
    time: u64,
}

fn number(value: &Value) -> Option<number_data_point::Value> {
    match value {
        Value::Float(f) => Some(number_data_point::Value::AsDouble(*f)),
        Value::Int(i) => Some(number_data_point::Value::AsInt(*i)),
        Value::UInt(u) => Some(i64::try_from(*u).map_or(
            number_data_point::Value::AsDouble(*u as f64),
            number_data_point::Value::AsInt,
        )),
        Value::Bool(_) | Value::Str(_) => None,
    }
}

fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Bool(_) | Value::Str(_) => None,
    }
}

impl Metrics {
    /// Adds `point`, stamped `time` (nanoseconds since 1970); an error names what in it cannot be read, and
    /// nothing of it is added.
    pub(super) fn add(&mut self, point: Point, time: u64) -> Result<(), String> {
        let Point {
            measurement,
            tags,
            mut fields,
            ..
        } = point;
        let mut context = Context {
            resource: Vec::new(),
            scope: (String::new(), String::new()),
            attributes: Vec::new(),
            delta: false,
            start: 0,
            time,
        };
        let v2 = measurement == PROMETHEUS;
        let (mut bound, mut quantile) = (None, None);
        for (key, value) in tags {
            match key.as_str() {
                "le" if v2 => bound = Some(value),
                "quantile" if v2 => quantile = Some(value),
                "otel.library.name" => context.scope.0 = value,
                "otel.library.version" => context.scope.1 = value,
                "temporality" if value == "delta" => context.delta = true,
                "start_time" => {}
                _ if is_resource_attribute(&key) => context.resource.push((key, value)),
                _ => context.attributes.push((key, value)),
            }
        }
        context.resource.sort();
        fields.retain(|(key, value)| match (key.as_str(), value) {
            ("start_time_unix_nano", Value::Int(nanos)) => {
                context.start = u64::try_from(*nanos).unwrap_or(0);
                false
            }
            ("start_time", Value::Str(text)) => {
                context.start = rfc3339_nanos(text).unwrap_or(0);
                false
            }
            _ => true,
        });
        if fields.is_empty() {
            return Err(format!("`{measurement}` has no fields but its start time"));
        }
        let only = |fields: &[(String, Value)], what: &str| -> Result<(String, f64), String> {
            match fields {
                [(key, value)] => float(value)
                    .map(|value| (key.clone(), value))
                    .ok_or_else(|| format!("{what} `{key}` is not a number")),
                _ => Err(format!(
                    "a line tagged {what} has {} fields, not one",
                    fields.len()
                )),
            }
        };
        if v2 {
            if let Some(bound) = bound {
                let le: f64 = bound
                    .parse()
                    .map_err(|_| format!("`le={bound}` is not a bucket bound"))?;
                let (key, count) = only(&fields, "`le`")?;
                let name = key.strip_suffix("_bucket").ok_or_else(|| {
                    format!("a line tagged `le` has field `{key}`, not `<name>_bucket`")
                })?;
                return self.family(name, context, |family| family.buckets.push((le, count)));
            }
            if let Some(quantile) = quantile {
                let q: f64 = quantile
                    .parse()
                    .map_err(|_| format!("`quantile={quantile}` is not a quantile"))?;
                let (name, value) = only(&fields, "`quantile`")?;
                return self.family(&name, context, |family| family.quantiles.push((q, value)));
            }
            if let Some(stem) = totals_stem(&fields) {
                let values: Vec<(String, f64)> = fields
                    .iter()
                    .map(|(key, value)| {
                        float(value)
                            .map(|v| (key[stem.len() + 1..].to_owned(), v))
                            .ok_or_else(|| format!("`{key}` is not a number"))
                    })
                    .collect::<Result<_, _>>()?;
                let stem = stem.to_owned();
                return self.family(&stem, context, |family| {
                    for (total, value) in values {
                        family.set_total(&total, value);
                    }
                });
            }
            if let [(name, value)] = fields.as_slice() {
                let value =
                    number(value).ok_or_else(|| format!("field `{name}` is not a number"))?;
                return self.number(name, false, context, value);
            }
            return self.unknown(&measurement, fields, context);
        }
        if let Some((_, value)) = fields.iter().find(|(key, _)| key == "gauge") {
            let value = number(value).ok_or("field `gauge` is not a number")?;
            return self.number(&measurement, false, context, value);
        }
        if let Some((_, value)) = fields.iter().find(|(key, _)| key == "counter") {
            let value = number(value).ok_or("field `counter` is not a number")?;
            return self.number(&measurement, true, context, value);
        }
        let is_histogram = fields
            .iter()
            .any(|(key, _)| matches!(key.as_str(), "count" | "sum") || bound_of(key).is_some());
        if is_histogram
            && context
                .attributes
                .iter()
                .all(|(k, v)| !(k == "metric_type" && v == "timing"))
        {
            let mut parts = Vec::new();
            for (key, value) in &fields {
                let Some(value) = float(value) else { continue };
                parts.push((key.clone(), value));
            }
            return self.family(&measurement, context, |family| {
                for (key, value) in parts {
                    match bound_of(&key) {
                        Some(bound) => family.buckets.push((bound, value)),
                        None => family.set_total(&key, value),
                    }
                }
            });
        }
        self.unknown(&measurement, fields, context)
    }

    /// A gauge per numeric field, `<measurement>_<field>`.
    fn unknown(
        &mut self,
        measurement: &str,
        fields: Vec<(String, Value)>,
        context: Context,
    ) -> Result<(), String> {
        let numbers: Vec<(String, number_data_point::Value)> = fields
            .iter()
            .filter_map(|(key, value)| number(value).map(|n| (format!("{measurement}_{key}"), n)))
            .collect();
        // Checked first, so that a conflict adds none of the line's points.
        let scope = self.scope(&context);
        for (name, _) in &numbers {
            if let Some(&at) = scope.metric_index.get(name)
                && !matches!(scope.metrics[at].1, Data::Gauge(_))
            {
                return Err(conflict(name, &scope.metrics[at].1, "gauge"));
            }
        }
        for (name, value) in numbers {
            self.number(&name, false, context.clone(), value)?;
        }
        Ok(())
    }

    fn scope(&mut self, context: &Context) -> &mut ScopeGroup {
        let resources = &mut self.resources;
        let at = *self
            .resource_index
            .entry(context.resource.clone())
            .or_insert_with(|| {
                resources.push(ResourceGroup {
                    attributes: context.resource.clone(),
                    scopes: Vec::new(),
                    scope_index: HashMap::new(),
                });
                resources.len() - 1
            });
        let resource = &mut self.resources[at];
        let scopes = &mut resource.scopes;
        let at = *resource
            .scope_index
            .entry(context.scope.clone())
            .or_insert_with(|| {
                scopes.push(ScopeGroup {
                    name: context.scope.0.clone(),
                    version: context.scope.1.clone(),
                    metrics: Vec::new(),
                    metric_index: HashMap::new(),
                });
                scopes.len() - 1
            });
        &mut resource.scopes[at]
    }

    fn number(
        &mut self,
        name: &str,
        counter: bool,
        context: Context,
        value: number_data_point::Value,
    ) -> Result<(), String> {
        let point = NumberDataPoint {
            attributes: key_values(&context.attributes),
            start_time_unix_nano: context.start,
            time_unix_nano: context.time,
            value: Some(value),
            ..Default::default()
        };
        let delta = context.delta;
        let scope = self.scope(&context);
        let data = metric_data(scope, name, || {
            if counter {
                Data::Sum {
                    delta,
                    points: Vec::new(),
                }
            } else {
                Data::Gauge(Vec::new())
            }
        });
        match data {
            Data::Gauge(points) if !counter => points.push(point),
            Data::Sum { points, .. } if counter => points.push(point),
            other => {
                return Err(conflict(
                    name,
                    other,
                    if counter { "counter" } else { "gauge" },
                ));
            }
        }
        self.points += 1;
        Ok(())
    }

    fn family(
        &mut self,
        name: &str,
        context: Context,
        fill: impl FnOnce(&mut Family),
    ) -> Result<(), String> {
        let scope = self.scope(&context);
        let data = metric_data(scope, name, || Data::Distribution {
            families: Vec::new(),
            index: HashMap::new(),
        });
        let Data::Distribution { families, index } = data else {
            return Err(conflict(name, data, "histogram or summary"));
        };
        let mut new = false;
        let at = *index
            .entry((context.attributes.clone(), context.time))
            .or_insert_with(|| {
                new = true;
                families.push(Family {
                    attributes: context.attributes.clone(),
                    start: context.start,
                    time: context.time,
                    ..Family::default()
                });
                families.len() - 1
            });
        fill(&mut families[at]);
        if new {
            self.points += 1;
        }
        Ok(())
    }

    /// The request, and how many points it holds.
    pub(super) fn finish(self) -> (ExportMetricsServiceRequest, usize) {
        let resource_metrics = self
            .resources
            .into_iter()
            .map(|resource| ResourceMetrics {
                resource: Some(Resource {
                    attributes: key_values(&resource.attributes),
                    ..Default::default()
                }),
                scope_metrics: resource
                    .scopes
                    .into_iter()
                    .map(|scope| ScopeMetrics {
                        scope: Some(InstrumentationScope {
                            name: scope.name,
                            version: scope.version,
                            ..Default::default()
                        }),
                        metrics: scope
                            .metrics
                            .into_iter()
                            .map(|(name, data)| metric(name, data))
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        (
            ExportMetricsServiceRequest { resource_metrics },
            self.points,
        )
    }
}

fn metric_data<'a>(
    scope: &'a mut ScopeGroup,
    name: &str,
    new: impl FnOnce() -> Data,
) -> &'a mut Data {
    let metrics = &mut scope.metrics;
    let at = *scope
        .metric_index
        .entry(name.to_owned())
        .or_insert_with(|| {
            metrics.push((name.to_owned(), new()));
            metrics.len() - 1
        });
    &mut scope.metrics[at].1
}

fn conflict(name: &str, existing: &Data, this: &str) -> String {
    format!(
        "metric `{name}` is a {} in this request and a {this} on this line",
        existing.kind()
    )
}

/// The common stem of fields that are all `<stem>_count`, `_sum`, `_min` or `_max`.
fn totals_stem(fields: &[(String, Value)]) -> Option<&str> {
    fn stem_of(key: &str) -> Option<&str> {
        ["_count", "_sum", "_min", "_max"]
            .iter()
            .find_map(|suffix| key.strip_suffix(suffix))
    }
    let first = stem_of(&fields.first()?.0)?;
    fields
        .iter()
        .all(|(key, _)| stem_of(key) == Some(first))
        .then_some(first)
}

/// A field key that is a bucket bound (`0.5`, `+Inf`).
fn bound_of(key: &str) -> Option<f64> {
    key.parse::<f64>().ok().filter(|bound| !bound.is_nan())
}

impl Family {
    fn set_total(&mut self, which: &str, value: f64) {
        match which {
            "count" => self.count = Some(value),
            "sum" => self.sum = Some(value),
            "min" => self.min = Some(value),
            "max" => self.max = Some(value),
            _ => {}
        }
    }

    fn histogram_point(mut self) -> HistogramDataPoint {
        self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let count = self.count.unwrap_or(0.0).max(0.0) as u64;
        let mut counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|(_, c)| c.max(0.0) as u64)
            .collect();
        let mut bounds: Vec<f64> = self.buckets.iter().map(|(b, _)| *b).collect();
        if counts.windows(2).all(|pair| pair[0] <= pair[1]) {
            for i in (1..counts.len()).rev() {
                counts[i] -= counts[i - 1];
            }
        }
        if bounds.last().is_some_and(|b| *b == f64::INFINITY) {
            bounds.pop();
        } else if !counts.is_empty() {
            let below: u64 = counts.iter().sum();
            counts.push(count.saturating_sub(below));
        }
        HistogramDataPoint {
            attributes: key_values(&self.attributes),
            start_time_unix_nano: self.start,
            time_unix_nano: self.time,
            count,
            sum: self.sum,
            bucket_counts: counts,
            explicit_bounds: bounds,
            min: self.min,
            max: self.max,
            ..Default::default()
        }
    }

    fn summary_point(mut self) -> SummaryDataPoint {
        self.quantiles.sort_by(|a, b| a.0.total_cmp(&b.0));
        SummaryDataPoint {
            attributes: key_values(&self.attributes),
            start_time_unix_nano: self.start,
            time_unix_nano: self.time,
            count: self.count.unwrap_or(0.0).max(0.0) as u64,
            sum: self.sum.unwrap_or(0.0),
            quantile_values: self
                .quantiles
                .into_iter()
                .map(|(quantile, value)| ValueAtQuantile { quantile, value })
                .collect(),
            ..Default::default()
        }
    }
}

fn metric(name: String, data: Data) -> Metric {
    let data = match data {
        Data::Gauge(data_points) => metric::Data::Gauge(Gauge { data_points }),
        Data::Sum { delta, points } => metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: if delta {
                AggregationTemporality::Delta
            } else {
                AggregationTemporality::Cumulative
            } as i32,
            is_monotonic: true,
        }),
        Data::Distribution { families, .. } => {
            if families
                .iter()
                .any(|f| !f.quantiles.is_empty() && f.buckets.is_empty())
            {
                metric::Data::Summary(Summary {
                    data_points: families.into_iter().map(Family::summary_point).collect(),
                })
            } else {
                metric::Data::Histogram(Histogram {
                    data_points: families.into_iter().map(Family::histogram_point).collect(),
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })
            }
        }
    };
    Metric {
        name,
        data: Some(data),
        ..Default::default()
    }
}

fn key_values(pairs: &[(String, String)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(key, value)| key_value(key.clone(), string_value(value.clone())))
        .collect()
}

/// `2024-05-01T10:00:00Z` (or with an offset and a fraction) as nanoseconds since 1970.
fn rfc3339_nanos(text: &str) -> Option<u64> {
    let parsed: jiff::Timestamp = text.parse().ok()?;
    u64::try_from(parsed.as_nanosecond()).ok()
}

#[cfg(test)]
mod tests;
