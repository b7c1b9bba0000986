//! The `metricsgeneration` processor (otelcol-contrib's): new metrics computed from existing ones, per resource:
//! `calculate` applies an operation between two metrics, `scale` multiplies (or divides, ...) one by a constant.
//!
//! ```yaml
//! processors:
//!   metricsgeneration:
//!     rules:
//!       - name: pod.memory.utilization
//!         type: calculate
//!         metric1: pod.memory.usage
//!         metric2: node.memory.limit
//!         operation: percent
//!       - name: pod.memory.usage.bytes
//!         unit: By
//!         type: scale
//!         metric1: pod.memory.usage.megabytes
//!         operation: multiply
//!         scale_by: 1048576
//! ```
//!
//! As otelcol's: the new metric has `metric1`'s kind (gauge or sum) and a double point for each of its points (their
//! attributes and times), in each scope where `metric1` is; `metric2`'s value is its first point's, or with
//! `match_attributes` (otelcol's feature gate) each point of `metric2` whose shared attributes match, its
//! attributes added. A rule whose operands are not in a resource adds nothing there; a division by zero leaves
//! that point out; a rule that yields no point adds no metric. Rules see the metrics earlier rules added. Unlike
//! otelcol, whose new sums have no temporality, a new sum keeps `metric1`'s temporality (not monotonic: a
//! difference may fall).

mod config;

pub use config::{MetricsGenerationConfig, Rule};

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch, Signal};
use config::{Checked, Operand};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, Sum, metric::Data, number_data_point,
};
use std::sync::Arc;

/// The `metricsgeneration` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = MetricsGenerationConfig;
    const TYPE: &'static str = "metricsgeneration";

    fn validate(&self, config: &MetricsGenerationConfig) -> Result<(), Invalid> {
        config.checked().map(|_| ())
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &MetricsGenerationConfig,
        _context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let rules = config.checked().map_err(|invalid| format!("{invalid:?}"))?;
        Ok(in_place_stage(
            Generate {
                rules,
                match_attributes: config.match_attributes,
            },
            next,
        ))
    }
}

struct Generate {
    rules: Vec<Checked>,
    match_attributes: bool,
}

impl InPlace for Generate {
    fn apply(&self, batch: &mut Batch) {
        if self.rules.is_empty() {
            return;
        }
        batch.edit(|request| {
            if let AnyRequest::Metrics(request) = request {
                for resource in &mut request.resource_metrics {
                    for rule in &self.rules {
                        self.generate(resource, rule);
                    }
                }
            }
        });
    }
}

impl Generate {
    fn generate(&self, resource: &mut ResourceMetrics, rule: &Checked) {
        // The operand metric as otelcol finds it: the last of its name in the resource.
        let second = match &rule.operand {
            Operand::Constant(value) => Second::Constant(*value),
            Operand::Metric(name) => match last_named(resource, name).and_then(points) {
                None => return,
                Some(points) if self.match_attributes => Second::Points(points.clone()),
                Some(points) => Second::Constant(points.first().map_or(0.0, value)),
            },
        };
        for scope in &mut resource.scope_metrics {
            let made: Vec<Metric> = scope
                .metrics
                .iter()
                .filter(|metric| metric.name == rule.metric1)
                .filter_map(|metric| derive(metric, rule, &second))
                .collect();
            scope.metrics.extend(made);
        }
    }
}

/// What `metric1`'s points are computed against.
enum Second {
    Constant(f64),
    Points(Vec<NumberDataPoint>),
}

fn last_named<'a>(resource: &'a ResourceMetrics, name: &str) -> Option<&'a Metric> {
    resource
        .scope_metrics
        .iter()
        .flat_map(|scope| &scope.metrics)
        .rfind(|metric| metric.name == name)
}

fn points(metric: &Metric) -> Option<&Vec<NumberDataPoint>> {
    match &metric.data {
        Some(Data::Gauge(gauge)) => Some(&gauge.data_points),
        Some(Data::Sum(sum)) => Some(&sum.data_points),
        _ => None,
    }
}

fn value(point: &NumberDataPoint) -> f64 {
    match point.value {
        Some(number_data_point::Value::AsDouble(value)) => value,
        Some(number_data_point::Value::AsInt(value)) => value as f64,
        None => 0.0,
    }
}

/// The new metric from `metric1`, if it has a point.
fn derive(metric1: &Metric, rule: &Checked, second: &Second) -> Option<Metric> {
    let source = points(metric1)?;
    let mut made = Vec::new();
    for point in source {
        match second {
            Second::Constant(operand) => {
                if let Some(result) = rule.operation.apply(value(point), *operand) {
                    made.push(with_value(point, result, &[]));
                }
            }
            Second::Points(others) => {
                for other in others.iter().filter(|other| shared_match(point, other)) {
                    if let Some(result) = rule.operation.apply(value(point), value(other)) {
                        made.push(with_value(point, result, &other.attributes));
                    }
                }
            }
        }
    }
    if made.is_empty() {
        return None;
    }
    let data = match &metric1.data {
        Some(Data::Sum(sum)) => Data::Sum(Sum {
            data_points: made,
            aggregation_temporality: sum.aggregation_temporality,
            is_monotonic: false,
        }),
        _ => Data::Gauge(Gauge { data_points: made }),
    };
    Some(Metric {
        name: rule.name.clone(),
        unit: rule.unit.clone(),
        data: Some(data),
        ..Default::default()
    })
}

/// A copy of `point` holding `result`, with `extra` attributes over its own.
fn with_value(point: &NumberDataPoint, result: f64, extra: &[KeyValue]) -> NumberDataPoint {
    let mut made = point.clone();
    made.value = Some(number_data_point::Value::AsDouble(result));
    for kv in extra {
        match made.attributes.iter_mut().find(|own| own.key == kv.key) {
            Some(own) => own.value = kv.value.clone(),
            None => made.attributes.push(kv.clone()),
        }
    }
    made
}

/// Whether every attribute of `a` that `b` also has has the same value in both.
fn shared_match(a: &NumberDataPoint, b: &NumberDataPoint) -> bool {
    a.attributes.iter().all(|kv| {
        b.attributes
            .iter()
            .find(|other| other.key == kv.key)
            .is_none_or(|other| other.value == kv.value)
    })
}

#[cfg(test)]
mod tests;
