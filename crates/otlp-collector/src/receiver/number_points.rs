//! Number points (gauges and monotonic cumulative sums) of receivers that read one point per line or value
//! (`carbon`, `collectd`), gathered into one request: the points of a name and kind in one metric.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric, number_data_point,
};
use std::collections::HashMap;

/// A point's value, an integer when the source wrote one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Double(f64),
}

/// One point, read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) name: String,
    pub(crate) attributes: Vec<(String, String)>,
    /// A monotonic cumulative sum, else a gauge.
    pub(crate) cumulative: bool,
    pub(crate) value: Number,
    pub(crate) time_unix_nano: u64,
}

/// Attributes in the order they first appear.
#[derive(Debug, Default)]
pub(crate) struct Attributes(pub(crate) Vec<(String, String)>);

impl Attributes {
    /// Sets `key`, replacing an earlier value.
    pub(crate) fn put(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.0.push((key.to_owned(), value.to_owned())),
        }
    }

    /// Sets `key` unless it is set already.
    pub(crate) fn put_absent(&mut self, key: &str, value: &str) {
        if !self.0.iter().any(|(k, _)| k == key) {
            self.0.push((key.to_owned(), value.to_owned()));
        }
    }
}

/// One request of `points`, those of the same name and kind together in one metric, in the order the names first
/// came.
pub(crate) fn request(points: Vec<Point>) -> ExportMetricsServiceRequest {
    let mut metrics: Vec<Metric> = Vec::new();
    let mut index: HashMap<(String, bool), usize> = HashMap::new();
    for point in points {
        let data_point = NumberDataPoint {
            attributes: point
                .attributes
                .into_iter()
                .map(|(k, v)| otlp_ottl::key_value(k, otlp_ottl::string_value(v)))
                .collect(),
            time_unix_nano: point.time_unix_nano,
            value: Some(match point.value {
                Number::Int(int) => number_data_point::Value::AsInt(int),
                Number::Double(double) => number_data_point::Value::AsDouble(double),
            }),
            ..Default::default()
        };
        let slot = *index
            .entry((point.name.clone(), point.cumulative))
            .or_insert_with(|| {
                metrics.push(Metric {
                    name: point.name,
                    data: Some(if point.cumulative {
                        metric::Data::Sum(Sum {
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: true,
                            data_points: Vec::new(),
                        })
                    } else {
                        metric::Data::Gauge(Gauge {
                            data_points: Vec::new(),
                        })
                    }),
                    ..Default::default()
                });
                metrics.len() - 1
            });
        match &mut metrics[slot].data {
            Some(metric::Data::Sum(sum)) => sum.data_points.push(data_point),
            Some(metric::Data::Gauge(gauge)) => gauge.data_points.push(data_point),
            _ => {}
        }
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[cfg(test)]
mod tests;
