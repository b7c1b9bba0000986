//! Metrics as otel2influx writes them, in its two Telegraf Prometheus schemas. `v1`: a measurement per metric,
//! a gauge's value in field `gauge`, a monotonic sum's in `counter` (a non-monotonic sum is a gauge), a histogram's
//! `count`, `sum`, `min`, `max` and a field per bound holding the count at or below it, a summary's `count`, `sum`
//! and a field per quantile. `v2`: everything in measurement `prometheus`, the value in a field named after the
//! metric; a histogram as `<name>_count`, `<name>_sum`, `_min`, `_max`, then a line per bound with tag `le` and
//! field `<name>_bucket`; a summary as `<name>_count` and `<name>_sum`, then a line per quantile with tag
//! `quantile` and field `<name>`. Tags are the point's attributes and its resource's (which win), and
//! `otel.library.name`/`otel.library.version` from the scope; a point's start time is field
//! `start_time_unix_nano`. Points without a time, exponential histograms and histograms whose bucket counts do not
//! fit their bounds are left out and counted as refused, where otel2influx fails the whole batch.

use super::line::{Field, Line, text};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    HistogramDataPoint, NumberDataPoint, SummaryDataPoint, metric, number_data_point,
};

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Schema {
    TelegrafPrometheusV1,
    TelegrafPrometheusV2,
}

/// The measurement of every point in `v2`.
const PROMETHEUS: &str = "prometheus";

/// The lines of `request`, and how many points could not be written.
pub(super) fn lines(request: &ExportMetricsServiceRequest, schema: Schema) -> (Vec<Line>, usize) {
    let mut lines = Vec::new();
    let mut refused = 0;
    for resource_metrics in &request.resource_metrics {
        let resource = resource_metrics
            .resource
            .as_ref()
            .map_or(&[][..], |r| &r.attributes);
        for scope_metrics in &resource_metrics.scope_metrics {
            let scope = scope_metrics.scope.as_ref();
            for metric in &scope_metrics.metrics {
                let point = |attributes: &[KeyValue], start: u64, time: u64| {
                    base(attributes, resource, scope, start, time)
                };
                let name = metric.name.as_str();
                match &metric.data {
                    Some(metric::Data::Gauge(gauge)) => {
                        for p in &gauge.data_points {
                            number(&mut lines, &mut refused, schema, name, "gauge", p, &point);
                        }
                    }
                    Some(metric::Data::Sum(sum)) => {
                        let key = if sum.is_monotonic { "counter" } else { "gauge" };
                        for p in &sum.data_points {
                            number(&mut lines, &mut refused, schema, name, key, p, &point);
                        }
                    }
                    Some(metric::Data::Histogram(histogram)) => {
                        for p in &histogram.data_points {
                            match point(&p.attributes, p.start_time_unix_nano, p.time_unix_nano) {
                                Some(line) if fits(p) => {
                                    histogram_lines(&mut lines, schema, name, p, line)
                                }
                                _ => refused += 1,
                            }
                        }
                    }
                    Some(metric::Data::Summary(summary)) => {
                        for p in &summary.data_points {
                            match point(&p.attributes, p.start_time_unix_nano, p.time_unix_nano) {
                                Some(line) => summary_lines(&mut lines, schema, name, p, line),
                                None => refused += 1,
                            }
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(histogram)) => {
                        refused += histogram.data_points.len();
                    }
                    None => {}
                }
            }
        }
    }
    (lines, refused)
}

/// A line with a point's tags and start time, in no measurement yet; none without a time.
fn base(
    attributes: &[KeyValue],
    resource: &[KeyValue],
    scope: Option<&InstrumentationScope>,
    start: u64,
    time: u64,
) -> Option<Line> {
    if time == 0 {
        return None;
    }
    let mut line = Line::new("", time);
    for kv in attributes.iter().chain(resource) {
        line.tag(&kv.key, text(kv.value.as_ref()));
    }
    if let Some(scope) = scope {
        line.tag("otel.library.name", scope.name.clone());
        line.tag("otel.library.version", scope.version.clone());
    }
    if start != 0 {
        line.field(
            "start_time_unix_nano",
            i64::try_from(start).ok().map(Field::Int),
        );
    }
    Some(line)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the one place a number point is written, for both schemas"
)]
fn number(
    lines: &mut Vec<Line>,
    refused: &mut usize,
    schema: Schema,
    name: &str,
    v1_key: &str,
    point: &NumberDataPoint,
    base: &impl Fn(&[KeyValue], u64, u64) -> Option<Line>,
) {
    let value = match point.value {
        Some(number_data_point::Value::AsInt(int)) => Field::Int(int),
        Some(number_data_point::Value::AsDouble(double)) => match Field::float(double) {
            Some(field) => field,
            None => return,
        },
        None => return,
    };
    let Some(mut line) = base(
        &point.attributes,
        point.start_time_unix_nano,
        point.time_unix_nano,
    ) else {
        *refused += 1;
        return;
    };
    match schema {
        Schema::TelegrafPrometheusV1 => {
            line.measurement = name.to_owned();
            line.field(v1_key, Some(value));
        }
        Schema::TelegrafPrometheusV2 => {
            line.measurement = PROMETHEUS.to_owned();
            line.field(name, Some(value));
        }
    }
    lines.push(line);
}

/// Whether the bucket counts match the bounds (the `+Inf` bucket, which neither schema writes, may be missing).
fn fits(point: &HistogramDataPoint) -> bool {
    let (counts, bounds) = (point.bucket_counts.len(), point.explicit_bounds.len());
    counts == 0 || counts == bounds || counts == bounds + 1
}

/// The count at or below each bound.
fn cumulative(point: &HistogramDataPoint) -> impl Iterator<Item = (f64, u64)> + '_ {
    point
        .explicit_bounds
        .iter()
        .zip(point.bucket_counts.iter().scan(0u64, |total, count| {
            *total = total.saturating_add(*count);
            Some(*total)
        }))
        .map(|(bound, count)| (*bound, count))
}

fn histogram_lines(
    lines: &mut Vec<Line>,
    schema: Schema,
    name: &str,
    point: &HistogramDataPoint,
    base: Line,
) {
    let summary = [
        ("count", Field::float(point.count as f64)),
        ("sum", Field::float(point.sum.unwrap_or(0.0))),
        ("min", point.min.and_then(Field::float)),
        ("max", point.max.and_then(Field::float)),
    ];
    match schema {
        Schema::TelegrafPrometheusV1 => {
            let mut line = base;
            line.measurement = name.to_owned();
            for (key, value) in summary {
                line.field(key, value);
            }
            for (bound, count) in cumulative(point) {
                line.field(&go_f(bound), Field::float(count as f64));
            }
            lines.push(line);
        }
        Schema::TelegrafPrometheusV2 => {
            for (bound, count) in cumulative(point) {
                let mut line = copy(&base);
                line.tag("le", go_f(bound));
                line.field(&format!("{name}_bucket"), Field::float(count as f64));
                lines.push(line);
            }
            let mut line = base;
            line.measurement = PROMETHEUS.to_owned();
            for (key, value) in summary {
                line.field(&format!("{name}_{key}"), value);
            }
            lines.push(line);
        }
    }
}

fn summary_lines(
    lines: &mut Vec<Line>,
    schema: Schema,
    name: &str,
    point: &SummaryDataPoint,
    base: Line,
) {
    match schema {
        Schema::TelegrafPrometheusV1 => {
            let mut line = base;
            line.measurement = name.to_owned();
            line.field("count", Field::float(point.count as f64));
            line.field("sum", Field::float(point.sum));
            for quantile in &point.quantile_values {
                line.field(&go_f(quantile.quantile), Field::float(quantile.value));
            }
            lines.push(line);
        }
        Schema::TelegrafPrometheusV2 => {
            for quantile in &point.quantile_values {
                let mut line = copy(&base);
                line.tag("quantile", go_f(quantile.quantile));
                line.field(name, Field::float(quantile.value));
                lines.push(line);
            }
            let mut line = base;
            line.measurement = PROMETHEUS.to_owned();
            line.field(&format!("{name}_count"), Field::float(point.count as f64));
            line.field(&format!("{name}_sum"), Field::float(point.sum));
            lines.push(line);
        }
    }
}

/// A `v2` line with `base`'s tags and fields, in measurement `prometheus`.
fn copy(base: &Line) -> Line {
    Line {
        measurement: PROMETHEUS.to_owned(),
        tags: base.tags.clone(),
        fields: base.fields.clone(),
        time_unix_nano: base.time_unix_nano,
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`, which otel2influx names bounds and quantiles with.
fn go_f(value: f64) -> String {
    otlp_ottl::Value::Double(value).as_string().into_owned()
}

#[cfg(test)]
mod tests;
