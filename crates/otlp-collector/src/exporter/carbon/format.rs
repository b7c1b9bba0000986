//! OTLP metrics as Carbon plaintext lines, as otelcol's exporter writes them: a gauge or sum point is one line; a
//! histogram or summary point is `<name>.count`, `<name>` (its sum) and, per bucket, `<name>.bucket` with an
//! `upper_bound` tag (the last `inf`), or per quantile, `<name>.quantile` with a `quantile` tag (in percent).
//! Exponential histograms are not sent, as otelcol sends none.
//!
//! Attributes are Graphite tags (`name;key=value`), an empty value written `<empty>`. Beyond otelcol, which
//! leaves names and values as they are, any character that would cut the line or the path (whitespace, `;`, and
//! `~` at the start of a value) becomes `_`, so one odd attribute does not make Carbon drop the line.

use crate::exporter::prometheus::ResourceToTelemetry;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use std::fmt::Write;

/// A batch as lines.
pub(super) struct Lines {
    pub(super) text: String,
}

/// The lines of every point of `request`.
pub(super) fn plaintext(
    request: &ExportMetricsServiceRequest,
    resource_to_telemetry: &ResourceToTelemetry,
) -> Lines {
    let mut lines = Lines {
        text: String::new(),
    };
    for resource_metrics in &request.resource_metrics {
        let resource: Vec<&KeyValue> = resource_metrics
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .filter(|kv| resource_to_telemetry.selects(&kv.key))
            .collect();
        for metric in resource_metrics
            .scope_metrics
            .iter()
            .flat_map(|s| &s.metrics)
        {
            if metric.name.is_empty() {
                continue;
            }
            let name = metric.name.as_str();
            match &metric.data {
                Some(metric::Data::Gauge(gauge)) => {
                    for point in &gauge.data_points {
                        lines.number(name, &tags(&point.attributes, &resource), point);
                    }
                }
                Some(metric::Data::Sum(sum)) => {
                    for point in &sum.data_points {
                        lines.number(name, &tags(&point.attributes, &resource), point);
                    }
                }
                Some(metric::Data::Histogram(histogram)) => {
                    for point in &histogram.data_points {
                        let tags = tags(&point.attributes, &resource);
                        let time = seconds(point.time_unix_nano);
                        lines.count_and_sum(name, &tags, point.count, point.sum(), time);
                        if point.explicit_bounds.is_empty() {
                            continue;
                        }
                        let bounds = point
                            .explicit_bounds
                            .iter()
                            .map(|bound| go_g(*bound))
                            .chain(std::iter::once("inf".to_owned()));
                        for (bound, count) in bounds.zip(&point.bucket_counts) {
                            lines.line(
                                name,
                                ".bucket",
                                &tags,
                                Some(("upper_bound", &bound)),
                                &count.to_string(),
                                time,
                            );
                        }
                    }
                }
                Some(metric::Data::Summary(summary)) => {
                    for point in &summary.data_points {
                        let tags = tags(&point.attributes, &resource);
                        let time = seconds(point.time_unix_nano);
                        lines.count_and_sum(name, &tags, point.count, point.sum, time);
                        for quantile in &point.quantile_values {
                            lines.line(
                                name,
                                ".quantile",
                                &tags,
                                Some(("quantile", &go_g(quantile.quantile * 100.0))),
                                &go_f(quantile.value),
                                time,
                            );
                        }
                    }
                }
                Some(metric::Data::ExponentialHistogram(_)) | None => {}
            }
        }
    }
    lines
}

impl Lines {
    fn number(
        &mut self,
        name: &str,
        tags: &[(String, String)],
        point: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint,
    ) {
        let value = match point.value {
            Some(number_data_point::Value::AsInt(int)) => int.to_string(),
            Some(number_data_point::Value::AsDouble(double)) => go_f(double),
            // otelcol writes a point without a value with an empty value, which Carbon cannot read.
            None => return,
        };
        self.line(name, "", tags, None, &value, seconds(point.time_unix_nano));
    }

    fn count_and_sum(
        &mut self,
        name: &str,
        tags: &[(String, String)],
        count: u64,
        sum: f64,
        time: u64,
    ) {
        self.line(name, ".count", tags, None, &count.to_string(), time);
        self.line(name, "", tags, None, &go_f(sum), time);
    }

    /// `<name><suffix>[;tags][;extra] <value> <time>\n`, one point.
    fn line(
        &mut self,
        name: &str,
        suffix: &str,
        tags: &[(String, String)],
        extra: Option<(&str, &str)>,
        value: &str,
        time: u64,
    ) {
        let text = &mut self.text;
        text.extend(
            name.chars()
                .map(|c| clean(c, c.is_whitespace() || c == ';')),
        );
        text.push_str(suffix);
        for (key, value) in tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra)
        {
            text.push(';');
            text.extend(
                key.chars()
                    .map(|c| clean(c, c.is_whitespace() || matches!(c, ';' | '!' | '^' | '='))),
            );
            text.push('=');
            if value.is_empty() {
                text.push_str("<empty>");
            }
            text.extend(
                value
                    .chars()
                    .enumerate()
                    .map(|(i, c)| clean(c, c.is_whitespace() || c == ';' || (c == '~' && i == 0))),
            );
        }
        let _ = writeln!(text, " {value} {time}");
    }
}

fn clean(c: char, invalid: bool) -> char {
    if invalid { '_' } else { c }
}

/// A point's attributes as tags, with the resource's selected attributes over them (as otelcol's
/// `resource_to_telemetry_conversion` puts them).
fn tags(attributes: &[KeyValue], resource: &[&KeyValue]) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = Vec::with_capacity(attributes.len() + resource.len());
    for kv in attributes.iter().chain(resource.iter().copied()) {
        let value = kv
            .value
            .as_ref()
            .map(|value| otlp_ottl::Value::from_any(value).as_string().into_owned())
            .unwrap_or_default();
        match tags.iter_mut().find(|(key, _)| *key == kv.key) {
            Some(slot) => slot.1 = value,
            None => tags.push((kv.key.clone(), value)),
        }
    }
    tags
}

fn seconds(time_unix_nano: u64) -> u64 {
    time_unix_nano / 1_000_000_000
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that reads back as `v`, never an exponent.
fn go_f(value: f64) -> String {
    otlp_ottl::Value::Double(value).as_string().into_owned()
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which otelcol writes bounds and quantiles with: the shortest
/// digits, in exponent form (`1e-05`, `1e+06`) below 1e-4 or from 1e6.
fn go_g(value: f64) -> String {
    let scientific = format!("{value:e}");
    match scientific
        .split_once('e')
        .map(|(m, e)| (m, e.parse::<i32>()))
    {
        Some((mantissa, Ok(exponent))) if !(-4..6).contains(&exponent) => {
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
        }
        _ if value.is_infinite() => if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned(),
        _ => format!("{value}"),
    }
}

#[cfg(test)]
mod tests;
