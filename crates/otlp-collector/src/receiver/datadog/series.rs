//! Datadog metrics as OTLP: `/api/v1/series` (datadogpy and the v1 API clients), `/api/v2/series` (the v2 API
//! clients' JSON) and `/api/v1/check_run` (service checks), as otelcol-contrib's datadog receiver translates them.
//!
//! - A gauge is a gauge; a count a delta sum, not monotonic (Datadog counts may go down); a rate a delta sum of
//!   the rate times the series' `interval` (what was counted in the interval). A series without a type is a
//!   gauge, as Datadog takes it (otelcol leaves it out).
//! - The host (`host`, or a v2 resource of type `host`) is `host.name`, other v2 resources their type; tags that
//!   name the resource (`env`, `service`, `version`, `kube_namespace`, …) are resource attributes, the others
//!   attributes of the points (`key:value`; a tag without `:` is `unnamed_<tag>`).
//! - Timestamps are seconds (their fraction kept); a point of a count or rate with an `interval` starts that
//!   many seconds earlier. A v2 series' `unit` is the metric's unit.
//! - A service check is a gauge named by the check, its status (0 OK, 1 warning, 2 critical, 3 unknown) the value.

use super::tags;
use crate::clock::seconds_to_nanos;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use serde::Deserialize;
use std::collections::HashMap;

/// otelcol's scope for the metrics this receiver makes.
const SCOPE: &str = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/datadogreceiver/internal/translator";

/// Why a metrics body cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum BadSeries {
    /// Not the endpoint's JSON.
    #[error("body is not {what}: {source}")]
    Json {
        /// What the endpoint takes.
        what: &'static str,
        /// What the JSON decoder found.
        source: serde_json::Error,
    },
    /// A series of an unknown type.
    #[error("series {index} (`{metric}`): type {kind} is not {expected}")]
    Type {
        /// Its place in the body, from 0.
        index: usize,
        /// Its metric.
        metric: String,
        /// The type sent.
        kind: String,
        /// The types there are.
        expected: &'static str,
    },
}

#[derive(Deserialize)]
struct V1Payload {
    series: Vec<V1Series>,
}

#[derive(Deserialize)]
struct V1Series {
    metric: String,
    #[serde(default)]
    points: Vec<Vec<Option<f64>>>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    interval: Option<i64>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct V2Payload {
    series: Vec<V2Series>,
}

#[derive(Deserialize)]
struct V2Series {
    metric: String,
    #[serde(default, rename = "type")]
    kind: i64,
    #[serde(default)]
    points: Vec<V2Point>,
    #[serde(default)]
    resources: Vec<V2Resource>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    interval: Option<i64>,
    #[serde(default)]
    source_type_name: Option<String>,
}

#[derive(Deserialize)]
struct V2Point {
    timestamp: i64,
    value: Option<f64>,
}

#[derive(Deserialize)]
struct V2Resource {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Checks {
    Many(Vec<Check>),
    One(Check),
}

#[derive(Deserialize)]
struct Check {
    check: String,
    #[serde(default)]
    host_name: Option<String>,
    status: i64,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Gauge,
    Count,
    Rate,
}

/// Points gathered by resource, then by metric.
#[derive(Default)]
struct Gathered {
    resources: Vec<(Vec<KeyValue>, Vec<Metric>)>,
    metric_at: HashMap<(usize, String, Kind), usize>,
}

impl Gathered {
    fn metric(
        &mut self,
        resource: Vec<KeyValue>,
        name: &str,
        kind: Kind,
        unit: &str,
    ) -> &mut Metric {
        let at = match self.resources.iter().position(|(r, _)| *r == resource) {
            Some(at) => at,
            None => {
                self.resources.push((resource, Vec::new()));
                self.resources.len() - 1
            }
        };
        let metrics = &mut self.resources[at].1;
        let slot = *self
            .metric_at
            .entry((at, name.to_owned(), kind))
            .or_insert_with(|| {
                let data = match kind {
                    Kind::Gauge => metric::Data::Gauge(Gauge::default()),
                    Kind::Count | Kind::Rate => metric::Data::Sum(Sum {
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                        is_monotonic: false,
                        data_points: Vec::new(),
                    }),
                };
                metrics.push(Metric {
                    name: name.to_owned(),
                    unit: unit.to_owned(),
                    data: Some(data),
                    ..Default::default()
                });
                metrics.len() - 1
            });
        &mut metrics[slot]
    }

    fn into_request(self) -> ExportMetricsServiceRequest {
        let scope = InstrumentationScope {
            name: SCOPE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..Default::default()
        };
        ExportMetricsServiceRequest {
            resource_metrics: self
                .resources
                .into_iter()
                .map(|(attributes, metrics)| ResourceMetrics {
                    resource: Some(Resource {
                        attributes,
                        ..Default::default()
                    }),
                    scope_metrics: vec![ScopeMetrics {
                        scope: Some(scope.clone()),
                        metrics,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        }
    }
}

fn push(metric: &mut Metric, point: NumberDataPoint) {
    match &mut metric.data {
        Some(metric::Data::Gauge(gauge)) => gauge.data_points.push(point),
        Some(metric::Data::Sum(sum)) => sum.data_points.push(point),
        _ => {}
    }
}

/// The resource attributes (sorted) and the points' attributes of a series' host, other resources and tags.
fn dimensions<'t>(
    host: Option<&str>,
    resources: impl IntoIterator<Item = (String, String)>,
    tags: impl IntoIterator<Item = &'t String>,
) -> (Vec<KeyValue>, Vec<KeyValue>) {
    let mut resource: Vec<(String, String)> = Vec::new();
    let put = |list: &mut Vec<(String, String)>, key: String, value: String| match list
        .iter_mut()
        .find(|(k, _)| *k == key)
    {
        Some(slot) => slot.1 = value,
        None => list.push((key, value)),
    };
    if let Some(host) = host.filter(|h| !h.is_empty()) {
        put(&mut resource, "host.name".to_owned(), host.to_owned());
    }
    for (key, value) in resources {
        put(&mut resource, key, value);
    }
    let mut points = Vec::new();
    for tag in tags {
        let (key, value) = tags::split(tag);
        match tags::resource_attribute(&key) {
            Some(name) => put(&mut resource, name.to_owned(), value.to_owned()),
            None => put(
                &mut points,
                tags::attribute(&key).to_owned(),
                value.to_owned(),
            ),
        }
    }
    resource.sort();
    let attributes =
        |list: Vec<(String, String)>| list.into_iter().map(|(k, v)| key_value(k, string_value(v)));
    (attributes(resource).collect(), attributes(points).collect())
}

/// A point of `kind`, its value per interval for a rate, starting an interval before its time.
fn point(
    kind: Kind,
    seconds: f64,
    value: f64,
    interval: Option<i64>,
    attributes: &[KeyValue],
) -> NumberDataPoint {
    let time = seconds_to_nanos(seconds);
    let interval = interval.filter(|&i| i > 0);
    let value = match (kind, interval) {
        (Kind::Rate, Some(interval)) => value * interval as f64,
        _ => value,
    };
    let start = match (kind, interval) {
        (Kind::Gauge, _) | (_, None) => 0,
        (_, Some(interval)) => time.saturating_sub(interval as u64 * 1_000_000_000),
    };
    NumberDataPoint {
        attributes: attributes.to_vec(),
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

/// A `/api/v1/series` body.
pub(super) fn v1(body: &[u8]) -> Result<ExportMetricsServiceRequest, BadSeries> {
    let payload: V1Payload = serde_json::from_slice(body).map_err(|source| BadSeries::Json {
        what: r#"a v1 series payload ({"series": [{"metric", "points": [[time, value]], …}]})"#,
        source,
    })?;
    let mut gathered = Gathered::default();
    for (index, series) in payload.series.into_iter().enumerate() {
        let kind = match series.kind.as_deref() {
            None | Some("" | "gauge") => Kind::Gauge,
            Some("count") => Kind::Count,
            Some("rate") => Kind::Rate,
            Some(other) => {
                return Err(BadSeries::Type {
                    index,
                    metric: series.metric,
                    kind: format!("`{other}`"),
                    expected: "`gauge`, `count` or `rate`",
                });
            }
        };
        let (resource, attributes) =
            dimensions(series.host.as_deref(), [], series.tags.iter().flatten());
        let metric = gathered.metric(resource, &series.metric, kind, "");
        for pair in &series.points {
            // A point without its time or value says nothing; Datadog drops it too.
            if let [Some(seconds), Some(value)] = pair[..] {
                push(
                    metric,
                    point(kind, seconds, value, series.interval, &attributes),
                );
            }
        }
    }
    Ok(gathered.into_request())
}

/// A `/api/v2/series` JSON body.
pub(super) fn v2(body: &[u8]) -> Result<ExportMetricsServiceRequest, BadSeries> {
    let payload: V2Payload = serde_json::from_slice(body).map_err(|source| BadSeries::Json {
        what: r#"a v2 series payload ({"series": [{"metric", "type", "points": [{"timestamp", "value"}], …}]})"#,
        source,
    })?;
    let mut gathered = Gathered::default();
    for (index, series) in payload.series.into_iter().enumerate() {
        let kind = match series.kind {
            0 | 3 => Kind::Gauge,
            1 => Kind::Count,
            2 => Kind::Rate,
            other => {
                return Err(BadSeries::Type {
                    index,
                    metric: series.metric,
                    kind: other.to_string(),
                    expected: "0 (unspecified), 1 (count), 2 (rate) or 3 (gauge)",
                });
            }
        };
        let host = series
            .resources
            .iter()
            .find(|r| r.kind == "host")
            .map(|r| r.name.clone());
        let others = series
            .resources
            .into_iter()
            .filter(|r| r.kind != "host")
            .map(|r| (r.kind, r.name))
            .chain(
                series
                    .source_type_name
                    .filter(|s| !s.is_empty())
                    .map(|s| ("source".to_owned(), s)),
            );
        let (resource, attributes) = dimensions(host.as_deref(), others, &series.tags);
        let unit = series.unit.unwrap_or_default();
        let metric = gathered.metric(resource, &series.metric, kind, &unit);
        for p in &series.points {
            if let Some(value) = p.value {
                push(
                    metric,
                    point(
                        kind,
                        p.timestamp as f64,
                        value,
                        series.interval,
                        &attributes,
                    ),
                );
            }
        }
    }
    Ok(gathered.into_request())
}

/// A `/api/v1/check_run` body: one check or a list of them; a check without a timestamp is at `now` (nanoseconds).
pub(super) fn checks(body: &[u8], now: u64) -> Result<ExportMetricsServiceRequest, BadSeries> {
    let checks = match serde_json::from_slice(body).map_err(|source| BadSeries::Json {
        what: r#"service checks ({"check", "host_name", "status", "timestamp", "tags"}, or a list of them)"#,
        source,
    })? {
        Checks::Many(checks) => checks,
        Checks::One(check) => vec![check],
    };
    let mut gathered = Gathered::default();
    for check in checks {
        let (resource, attributes) = dimensions(check.host_name.as_deref(), [], &check.tags);
        let metric = gathered.metric(resource, &check.check, Kind::Gauge, "");
        push(
            metric,
            NumberDataPoint {
                attributes,
                time_unix_nano: check.timestamp.map_or(now, seconds_to_nanos),
                value: Some(number_data_point::Value::AsInt(check.status)),
                ..Default::default()
            },
        );
    }
    Ok(gathered.into_request())
}

#[cfg(test)]
mod tests;
