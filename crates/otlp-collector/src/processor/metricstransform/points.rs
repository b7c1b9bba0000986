//! A metric's data points seen through their attributes, whatever the metric's type.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

/// Applies `$body` to the points vector of any metric type.
macro_rules! with_points {
    ($data:expr, $points:ident => $body:expr) => {
        match $data {
            Some(Data::Gauge(d)) => {
                let $points = &mut d.data_points;
                $body
            }
            Some(Data::Sum(d)) => {
                let $points = &mut d.data_points;
                $body
            }
            Some(Data::Histogram(d)) => {
                let $points = &mut d.data_points;
                $body
            }
            Some(Data::ExponentialHistogram(d)) => {
                let $points = &mut d.data_points;
                $body
            }
            Some(Data::Summary(d)) => {
                let $points = &mut d.data_points;
                $body
            }
            None => {}
        }
    };
}

/// Runs `f` on each point's attributes, in order.
pub(super) fn each_attributes(metric: &mut Metric, mut f: impl FnMut(&mut Vec<KeyValue>)) {
    with_points!(&mut metric.data, points => points.iter_mut().for_each(|p| f(&mut p.attributes)));
}

/// Keeps the points whose attributes pass `keep`.
pub(super) fn retain(metric: &mut Metric, mut keep: impl FnMut(&[KeyValue]) -> bool) {
    with_points!(&mut metric.data, points => points.retain(|p| keep(&p.attributes)));
}

/// Each point's attributes, in order.
pub(super) fn attributes(metric: &Metric) -> Vec<&[KeyValue]> {
    match &metric.data {
        Some(Data::Gauge(d)) => d.data_points.iter().map(|p| &p.attributes[..]).collect(),
        Some(Data::Sum(d)) => d.data_points.iter().map(|p| &p.attributes[..]).collect(),
        Some(Data::Histogram(d)) => d.data_points.iter().map(|p| &p.attributes[..]).collect(),
        Some(Data::ExponentialHistogram(d)) => {
            d.data_points.iter().map(|p| &p.attributes[..]).collect()
        }
        Some(Data::Summary(d)) => d.data_points.iter().map(|p| &p.attributes[..]).collect(),
        None => Vec::new(),
    }
}

/// The string value of `key`: `None` when absent, `""` for a value that is not a string (pdata's `Str()`, which
/// otelcol compares with).
pub(super) fn string_of<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    let kv = attributes.iter().find(|kv| kv.key == key)?;
    Some(match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s,
        _ => "",
    })
}

/// Sets `key` to the string `value`, in place when present, appended otherwise.
pub(super) fn put_string(attributes: &mut Vec<KeyValue>, key: &str, value: &str) {
    let value = otlp_ottl::string_value(value);
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => attributes.push(otlp_ottl::key_value(key, value)),
    }
}
