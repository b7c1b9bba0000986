//! One batch's metrics as they are made: per resource (the kept resource attributes and the collector's), per
//! metric, per set of the item's kept attributes, a sum, a gauge or a histogram.

use super::config::{Definition, Kept, Shape};
use crate::histogram::Histogram;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, Gauge, Histogram as OtlpHistogram, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{TransformContext, Value};
use prost::Message as _;
use std::collections::HashMap;

/// otelcol-contrib's scope for the metrics, so that queries written against its output find ours.
const SCOPE_NAME: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector";

/// What a metric holds for one set of attributes.
enum Accumulated {
    IntSum(i64),
    DoubleSum(f64),
    IntGauge(i64),
    DoubleGauge(f64),
    Histogram(Histogram),
}

struct MadeMetric {
    definition: usize,
    points: Vec<(Vec<KeyValue>, Accumulated)>,
    point_at: HashMap<Vec<u8>, usize>,
}

/// Why an item added nothing to a metric it was meant for.
#[derive(Debug, Default)]
pub(super) struct Failures {
    /// A condition or value expression failed on the item.
    pub(super) evaluation: usize,
    /// A value expression gave something that is not a number.
    pub(super) not_a_number: usize,
}

/// The metrics made so far from a batch.
pub(super) struct Made<'d> {
    definitions: &'d [Definition],
    collector: &'d [KeyValue],
    resources: Vec<(Vec<KeyValue>, Vec<MadeMetric>)>,
    resource_at: HashMap<Vec<u8>, usize>,
    /// The earliest and latest times of the items seen.
    first: u64,
    last: u64,
    pub(super) failures: Failures,
}

/// A list of attributes as bytes that are equal when the lists are.
fn identity(attributes: &[KeyValue]) -> Vec<u8> {
    Resource {
        attributes: attributes.to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// The item's attributes a metric keeps, or `None` when one it requires is missing.
fn kept_attributes(kept: &[Kept], attributes: &[KeyValue]) -> Option<Vec<KeyValue>> {
    let mut out = Vec::with_capacity(kept.len());
    for attribute in kept {
        match find(attributes, &attribute.key).or(attribute.default.as_ref()) {
            Some(value) => out.push(KeyValue {
                key: attribute.key.clone(),
                value: Some(value.clone()),
                ..Default::default()
            }),
            None if attribute.optional => {}
            None => return None,
        }
    }
    Some(out)
}

/// The resource attributes a metric keeps (all of them when it lists none), then the collector's.
fn kept_resource(kept: &[Kept], attributes: &[KeyValue], collector: &[KeyValue]) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = if kept.is_empty() {
        attributes.to_vec()
    } else {
        kept.iter()
            .filter_map(|attribute| {
                let value = find(attributes, &attribute.key).or(attribute.default.as_ref())?;
                Some(KeyValue {
                    key: attribute.key.clone(),
                    value: Some(value.clone()),
                    ..Default::default()
                })
            })
            .collect()
    };
    // The collector that made the metric is part of its identity: two collectors making the same metric from
    // the same resource write two streams, not one with two writers.
    for (from, to) in [
        ("service.name", "signaltometrics.service.name"),
        ("service.namespace", "signaltometrics.service.namespace"),
        ("service.instance.id", "signaltometrics.service.instance.id"),
    ] {
        if let Some(value) = find(collector, from) {
            out.push(KeyValue {
                key: to.to_owned(),
                value: Some(value.clone()),
                ..Default::default()
            });
        }
    }
    out
}

impl<'d> Made<'d> {
    pub(super) fn new(definitions: &'d [Definition], collector: &'d [KeyValue]) -> Self {
        Made {
            definitions,
            collector,
            resources: Vec::new(),
            resource_at: HashMap::new(),
            first: u64::MAX,
            last: 0,
            failures: Failures::default(),
        }
    }

    /// Whether any metric could take an item with `attributes`: the context need not be made otherwise.
    pub(super) fn wants(&self, attributes: &[KeyValue]) -> bool {
        self.definitions
            .iter()
            .any(|definition| kept_attributes(&definition.attributes, attributes).is_some())
    }

    /// Adds one item, of the resource with `resource` attributes, to every metric whose conditions hold on it.
    pub(super) fn add(
        &mut self,
        resource: &[KeyValue],
        attributes: &[KeyValue],
        times: (u64, u64),
        context: &TransformContext<'_>,
    ) {
        for (index, definition) in self.definitions.iter().enumerate() {
            let Some(point_attributes) = kept_attributes(&definition.attributes, attributes) else {
                continue;
            };
            if !definition.conditions.is_empty() {
                let mut holds = false;
                for condition in &definition.conditions {
                    match condition.eval(context) {
                        Ok(true) => {
                            holds = true;
                            break;
                        }
                        Ok(false) => {}
                        Err(_) => self.failures.evaluation += 1,
                    }
                }
                if !holds {
                    continue;
                }
            }
            let Some(change) = self.measure(&definition.shape, context) else {
                continue;
            };
            if times.0 > 0 {
                self.first = self.first.min(times.0);
            }
            self.last = self.last.max(times.1);
            let resource = kept_resource(&definition.resource_attributes, resource, self.collector);
            let metric = self.metric(resource, index);
            let at = match metric.point_at.get(&identity(&point_attributes)) {
                Some(&at) => at,
                None => {
                    metric
                        .point_at
                        .insert(identity(&point_attributes), metric.points.len());
                    let empty = match &definition.shape {
                        Shape::Histogram { buckets, .. } => {
                            Accumulated::Histogram(Histogram::new(buckets))
                        }
                        Shape::Sum(_) => Accumulated::IntSum(0),
                        Shape::Gauge(_) => Accumulated::IntGauge(0),
                    };
                    metric.points.push((point_attributes, empty));
                    metric.points.len() - 1
                }
            };
            change.apply(&mut metric.points[at].1);
        }
    }

    fn metric(&mut self, resource: Vec<KeyValue>, definition: usize) -> &mut MadeMetric {
        let key = identity(&resource);
        let at = match self.resource_at.get(&key) {
            Some(&at) => at,
            None => {
                self.resource_at.insert(key, self.resources.len());
                self.resources.push((resource, Vec::new()));
                self.resources.len() - 1
            }
        };
        let metrics = &mut self.resources[at].1;
        let slot = match metrics.iter().position(|m| m.definition == definition) {
            Some(slot) => slot,
            None => {
                metrics.push(MadeMetric {
                    definition,
                    points: Vec::new(),
                    point_at: HashMap::new(),
                });
                metrics.len() - 1
            }
        };
        &mut metrics[slot]
    }

    /// What the item adds, from its value (and count) expressions; `None` when they fail or give no number.
    fn measure(&mut self, shape: &Shape, context: &TransformContext<'_>) -> Option<Change> {
        let evaluated =
            |expression: &otlp_ottl::Expression, failures: &mut Failures| -> Option<Number> {
                match expression.eval(context) {
                    Ok(Value::Int(i)) => Some(Number::Int(i)),
                    Ok(Value::Double(d)) => Some(Number::Double(d)),
                    Ok(_) => {
                        failures.not_a_number += 1;
                        None
                    }
                    Err(_) => {
                        failures.evaluation += 1;
                        None
                    }
                }
            };
        match shape {
            Shape::Sum(value) => evaluated(value, &mut self.failures).map(Change::Add),
            Shape::Gauge(value) => evaluated(value, &mut self.failures).map(Change::Set),
            Shape::Histogram { count, value, .. } => {
                let value = match evaluated(value, &mut self.failures)? {
                    Number::Int(i) => i as f64,
                    Number::Double(d) => d,
                };
                let count = match count {
                    None => 1,
                    Some(count) => match evaluated(count, &mut self.failures)? {
                        Number::Int(i) => i,
                        Number::Double(d) => d as i64,
                    },
                };
                // A count of zero or less records nothing, as otelcol's.
                u64::try_from(count)
                    .ok()
                    .filter(|c| *c > 0)
                    .map(|count| Change::Record(value, count))
            }
        }
    }

    /// The metrics made, at `now` when no item had a time.
    pub(super) fn into_request(self, now: u64) -> ExportMetricsServiceRequest {
        let (start, time) = if self.last == 0 {
            (now, now)
        } else {
            (self.first.min(self.last), self.last)
        };
        let definitions = self.definitions;
        let resource_metrics = self
            .resources
            .into_iter()
            .map(|(attributes, made)| {
                let metrics = made
                    .into_iter()
                    .map(|made| metric(&definitions[made.definition], made.points, (start, time)))
                    .collect();
                ResourceMetrics {
                    resource: Some(Resource {
                        attributes,
                        ..Default::default()
                    }),
                    scope_metrics: vec![ScopeMetrics {
                        scope: Some(InstrumentationScope {
                            name: SCOPE_NAME.to_owned(),
                            ..Default::default()
                        }),
                        metrics,
                        ..Default::default()
                    }],
                    ..Default::default()
                }
            })
            .collect();
        ExportMetricsServiceRequest { resource_metrics }
    }
}

enum Number {
    Int(i64),
    Double(f64),
}

enum Change {
    Add(Number),
    Set(Number),
    Record(f64, u64),
}

impl Change {
    fn apply(self, accumulated: &mut Accumulated) {
        match (self, accumulated) {
            (Change::Add(Number::Int(i)), Accumulated::IntSum(sum)) => *sum += i,
            (Change::Add(Number::Double(d)), Accumulated::DoubleSum(sum)) => *sum += d,
            // A double among integers makes the sum a double one.
            (Change::Add(Number::Double(d)), slot @ Accumulated::IntSum(_)) => {
                let Accumulated::IntSum(sum) = *slot else {
                    return;
                };
                *slot = Accumulated::DoubleSum(sum as f64 + d);
            }
            (Change::Add(Number::Int(i)), Accumulated::DoubleSum(sum)) => *sum += i as f64,
            (Change::Set(Number::Int(i)), slot) => *slot = Accumulated::IntGauge(i),
            (Change::Set(Number::Double(d)), slot) => *slot = Accumulated::DoubleGauge(d),
            (Change::Record(value, count), Accumulated::Histogram(histogram)) => {
                histogram.record_count(value, count);
            }
            _ => {}
        }
    }
}

fn metric(
    definition: &Definition,
    points: Vec<(Vec<KeyValue>, Accumulated)>,
    (start, time): (u64, u64),
) -> Metric {
    let number =
        |attributes: Vec<KeyValue>, value: number_data_point::Value, start: u64| NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: time,
            value: Some(value),
            ..Default::default()
        };
    let data = match &definition.shape {
        Shape::Sum(_) => metric::Data::Sum(Sum {
            aggregation_temporality: AggregationTemporality::Delta as i32,
            is_monotonic: false,
            data_points: points
                .into_iter()
                .filter_map(|(attributes, accumulated)| match accumulated {
                    Accumulated::IntSum(i) => Some(number(
                        attributes,
                        number_data_point::Value::AsInt(i),
                        start,
                    )),
                    Accumulated::DoubleSum(d) => Some(number(
                        attributes,
                        number_data_point::Value::AsDouble(d),
                        start,
                    )),
                    _ => None,
                })
                .collect(),
        }),
        Shape::Gauge(_) => metric::Data::Gauge(Gauge {
            data_points: points
                .into_iter()
                .filter_map(|(attributes, accumulated)| match accumulated {
                    Accumulated::IntGauge(i) => {
                        Some(number(attributes, number_data_point::Value::AsInt(i), 0))
                    }
                    Accumulated::DoubleGauge(d) => {
                        Some(number(attributes, number_data_point::Value::AsDouble(d), 0))
                    }
                    _ => None,
                })
                .collect(),
        }),
        Shape::Histogram { buckets, .. } => {
            let histograms =
                points
                    .into_iter()
                    .filter_map(|(attributes, accumulated)| match accumulated {
                        Accumulated::Histogram(histogram) => Some((attributes, histogram)),
                        _ => None,
                    });
            match buckets {
                crate::histogram::Buckets::Explicit(_) => metric::Data::Histogram(OtlpHistogram {
                    aggregation_temporality: AggregationTemporality::Delta as i32,
                    data_points: histograms
                        .filter_map(|(attributes, histogram)| {
                            histogram.explicit_point((start, time), attributes, Vec::new())
                        })
                        .collect(),
                }),
                crate::histogram::Buckets::Exponential { .. } => {
                    metric::Data::ExponentialHistogram(ExponentialHistogram {
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                        data_points: histograms
                            .filter_map(|(attributes, histogram)| {
                                histogram.exponential_point((start, time), attributes, Vec::new())
                            })
                            .collect(),
                    })
                }
            }
        }
    };
    Metric {
        name: definition.name.clone(),
        description: definition.description.clone(),
        unit: definition.unit.clone(),
        data: Some(data),
        ..Default::default()
    }
}
