//! The operations of a transform, each on one metric, as otelcol's `operation_*.go` do them.

use super::config::{OperationAction, OperationSettings};
use super::points;
use super::select::Selector;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, exemplar, number_data_point,
};
use otlp_ottl::Aggregation;
use std::collections::{BTreeMap, BTreeSet};

/// An operation, ready to run.
pub(super) struct Operation {
    action: OperationAction,
    label: String,
    new_label: String,
    new_value: String,
    label_value: String,
    label_set: BTreeSet<String>,
    aggregated_values: BTreeSet<String>,
    value_renames: BTreeMap<String, String>,
    aggregation: Aggregation,
    scale: f64,
}

/// `{{version}}` replaced by the collector's version, as otelcol does in new values.
fn versioned(value: &str) -> String {
    value.replace("{{version}}", env!("CARGO_PKG_VERSION"))
}

impl Operation {
    pub(super) fn new(settings: &OperationSettings) -> Self {
        Operation {
            action: settings.action,
            label: settings.label.clone(),
            new_label: settings.new_label.clone(),
            new_value: versioned(&settings.new_value),
            label_value: settings.label_value.clone(),
            label_set: settings.label_set.iter().cloned().collect(),
            aggregated_values: settings.aggregated_values.iter().cloned().collect(),
            value_renames: settings
                .value_actions
                .iter()
                .map(|a| (a.value.clone(), versioned(&a.new_value)))
                .collect(),
            aggregation: settings
                .aggregation_type
                .as_deref()
                .and_then(Aggregation::from_name)
                .unwrap_or(Aggregation::Sum),
            scale: settings.experimental_scale,
        }
    }

    /// Runs the operation on `metric`. `whole` says whether the transform may change the metric as a whole
    /// (add labels, merge or delete points): an update whose label filter leaves some points out may only
    /// change the matching points' values and labels.
    pub(super) fn apply(&self, metric: &mut Metric, selector: &Selector, whole: bool) {
        match self.action {
            OperationAction::UpdateLabel => self.update_label(metric, selector),
            OperationAction::ToggleScalarDataType => numbers(metric, selector, toggle),
            OperationAction::ExperimentalScaleValue => self.scale(metric, selector),
            _ if !whole => {}
            OperationAction::AddLabel => points::each_attributes(metric, |attributes| {
                if !attributes.iter().any(|kv| kv.key == self.new_label) {
                    points::put_string(attributes, &self.new_label, &self.new_value);
                }
            }),
            OperationAction::DeleteLabelValue => points::retain(metric, |attributes| {
                points::string_of(attributes, &self.label) != Some(self.label_value.as_str())
            }),
            OperationAction::AggregateLabels => {
                points::each_attributes(metric, |attributes| {
                    attributes.retain(|kv| self.label_set.contains(&kv.key));
                });
                otlp_ottl::aggregate_metric(metric, self.aggregation);
            }
            OperationAction::AggregateLabelValues => {
                points::each_attributes(metric, |attributes| {
                    if points::string_of(attributes, &self.label)
                        .is_some_and(|value| self.aggregated_values.contains(value))
                    {
                        points::put_string(attributes, &self.label, &self.new_value);
                    }
                });
                otlp_ottl::aggregate_metric(metric, self.aggregation);
            }
        }
    }

    /// Renames the label (its value moves to the new key, which it replaces) and then its value per the value
    /// actions, on the matching points that have it.
    fn update_label(&self, metric: &mut Metric, selector: &Selector) {
        points::each_attributes(metric, |attributes| {
            if !selector.matches_point(attributes) {
                return;
            }
            let Some(at) = attributes.iter().position(|kv| kv.key == self.label) else {
                return;
            };
            let mut key = self.label.clone();
            if !self.new_label.is_empty() {
                let moved = attributes.remove(at);
                attributes.retain(|kv| kv.key != self.new_label);
                attributes.push(KeyValue {
                    key: self.new_label.clone(),
                    value: moved.value,
                    ..moved
                });
                key = self.new_label.clone();
            }
            let renamed = points::string_of(attributes, &key)
                .and_then(|value| self.value_renames.get(value))
                .cloned();
            if let Some(new_value) = renamed {
                points::put_string(attributes, &key, &new_value);
            }
        });
    }

    /// Multiplies gauge and sum values, and histograms' sum, min, max, bounds and exemplars; other types are left
    /// as they are, as otelcol's.
    fn scale(&self, metric: &mut Metric, selector: &Selector) {
        let factor = self.scale;
        if let Some(Data::Histogram(histogram)) = &mut metric.data {
            for point in &mut histogram.data_points {
                if !selector.matches_point(&point.attributes) {
                    continue;
                }
                for value in [&mut point.sum, &mut point.min, &mut point.max]
                    .into_iter()
                    .flatten()
                {
                    *value *= factor;
                }
                point.explicit_bounds.iter_mut().for_each(|b| *b *= factor);
                for exemplar in &mut point.exemplars {
                    exemplar.value = match exemplar.value {
                        Some(exemplar::Value::AsInt(v)) => {
                            Some(exemplar::Value::AsInt((v as f64 * factor) as i64))
                        }
                        Some(exemplar::Value::AsDouble(v)) => {
                            Some(exemplar::Value::AsDouble(v * factor))
                        }
                        None => None,
                    };
                }
            }
            return;
        }
        numbers(metric, selector, |point| {
            point.value = match point.value {
                Some(number_data_point::Value::AsInt(v)) => {
                    Some(number_data_point::Value::AsInt((v as f64 * factor) as i64))
                }
                Some(number_data_point::Value::AsDouble(v)) => {
                    Some(number_data_point::Value::AsDouble(v * factor))
                }
                None => None,
            };
        });
    }
}

/// Runs `f` on the matching points of a gauge or sum.
fn numbers(metric: &mut Metric, selector: &Selector, mut f: impl FnMut(&mut NumberDataPoint)) {
    let points = match &mut metric.data {
        Some(Data::Gauge(gauge)) => &mut gauge.data_points,
        Some(Data::Sum(sum)) => &mut sum.data_points,
        _ => return,
    };
    for point in points
        .iter_mut()
        .filter(|p| selector.matches_point(&p.attributes))
    {
        f(point);
    }
}

/// Int to double, double to int (truncated toward zero, as Go's conversion).
fn toggle(point: &mut NumberDataPoint) {
    point.value = match point.value {
        Some(number_data_point::Value::AsInt(v)) => {
            Some(number_data_point::Value::AsDouble(v as f64))
        }
        Some(number_data_point::Value::AsDouble(v)) => {
            Some(number_data_point::Value::AsInt(v as i64))
        }
        None => None,
    };
}
