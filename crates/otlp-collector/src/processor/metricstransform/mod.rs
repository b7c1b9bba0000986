//! The `metricstransform` processor (otelcol-contrib's): renames metrics, adds, renames and deletes labels and
//! label values, toggles value types, scales values, merges points across labels or label values, combines
//! metrics into one and groups metrics under resources of their own, within each request.
//!
//! ```yaml
//! processors:
//!   metricstransform:
//!     transforms:
//!       - include: system.cpu.usage
//!         action: update
//!         new_name: system.cpu.usage_time
//!         operations:
//!           - action: update_label
//!             label: state
//!             new_label: cpu_state
//!           - action: aggregate_labels
//!             label_set: [cpu_state]
//!             aggregation_type: sum
//!       - include: ^system\.cpu\.(.*)$$
//!         match_type: regexp
//!         action: insert
//!         new_name: host.cpu.$${1}
//! ```
//!
//! Transforms run in order on each scope's metrics, so a later one sees what earlier ones made. Merging only
//! happens within a request, as otelcol's: the processor keeps nothing between requests.

mod combine;
mod config;
mod operation;
mod points;
mod select;

pub use config::{
    Action, MatchType, MetricsTransformConfig, OperationAction, OperationSettings, SubmatchCase,
    TransformSettings, ValueAction,
};

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use operation::Operation;
use otlp_ottl::point_count;
use select::Selector;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `metricstransform` processor type (metrics).
pub struct Factory;

impl Component for Factory {
    type Config = MetricsTransformConfig;
    const TYPE: &'static str = "metricstransform";

    fn validate(&self, config: &MetricsTransformConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let transforms = config
            .transforms
            .iter()
            .map(Transform::new)
            .collect::<Result<_, _>>()?;
        Ok(in_place_stage(
            MetricsTransform {
                transforms,
                id: context.id.to_owned(),
            },
            next,
        ))
    }
}

/// A transform, ready to run.
struct Transform {
    selector: Selector,
    action: Action,
    new_name: String,
    group_resource_labels: BTreeMap<String, String>,
    aggregation: Option<otlp_ottl::Aggregation>,
    submatch_case: Option<SubmatchCase>,
    operations: Vec<Operation>,
}

impl Transform {
    fn new(settings: &TransformSettings) -> Result<Self, String> {
        Ok(Transform {
            selector: Selector::new(settings)?,
            action: settings.action,
            new_name: settings.new_name.clone(),
            group_resource_labels: settings.group_resource_labels.clone().unwrap_or_default(),
            aggregation: settings
                .aggregation_type
                .as_deref()
                .and_then(otlp_ottl::Aggregation::from_name),
            submatch_case: settings.submatch_case,
            operations: settings.operations.iter().map(Operation::new).collect(),
        })
    }

    /// Renames `metric` and runs the operations on it; false when they left it no points (it had some).
    fn apply(&self, metric: &mut Metric) -> bool {
        let had_points = point_count(metric) > 0;
        let whole = self.action != Action::Update || self.selector.matches_every_point(metric);
        if !self.new_name.is_empty() && whole {
            metric.name = self.selector.rename(&self.new_name, &metric.name);
        }
        for operation in &self.operations {
            operation.apply(metric, &self.selector, whole);
        }
        !had_points || point_count(metric) > 0
    }

    /// The matching metrics taken out of `metrics`: whole when all their points match, else their matching points
    /// (the rest of such a metric is dropped with it, as otelcol does).
    fn take_matching(&self, metrics: &mut Vec<Metric>) -> Vec<Metric> {
        let mut taken = Vec::new();
        metrics.retain_mut(|metric| {
            if !self.selector.matches(metric) {
                return true;
            }
            taken.push(if self.selector.matches_every_point(metric) {
                std::mem::take(metric)
            } else {
                self.selector.extract(metric)
            });
            false
        });
        taken
    }
}

struct MetricsTransform {
    transforms: Vec<Transform>,
    id: String,
}

impl MetricsTransform {
    fn process(&self, request: &mut ExportMetricsServiceRequest) {
        let mut grouped = Vec::new();
        for resource_metrics in &mut request.resource_metrics {
            for scope_metrics in &mut resource_metrics.scope_metrics {
                for transform in &self.transforms {
                    self.run(
                        transform,
                        resource_metrics.resource.as_ref(),
                        scope_metrics,
                        &mut grouped,
                    );
                }
            }
            resource_metrics
                .scope_metrics
                .retain(|s| !s.metrics.is_empty());
        }
        request
            .resource_metrics
            .retain(|r| !r.scope_metrics.is_empty());
        request.resource_metrics.extend(grouped);
    }

    fn run(
        &self,
        transform: &Transform,
        resource: Option<&opentelemetry_proto::tonic::resource::v1::Resource>,
        scope_metrics: &mut ScopeMetrics,
        grouped: &mut Vec<ResourceMetrics>,
    ) {
        let metrics = &mut scope_metrics.metrics;
        match transform.action {
            Action::Update => metrics.retain_mut(|metric| {
                !transform.selector.matches(metric) || transform.apply(metric)
            }),
            Action::Insert => {
                let copies: Vec<Metric> = metrics
                    .iter()
                    .filter(|metric| transform.selector.matches(metric))
                    .map(|metric| transform.selector.extract(metric))
                    .filter_map(|mut copy| transform.apply(&mut copy).then_some(copy))
                    .collect();
                metrics.extend(copies);
            }
            Action::Combine => {
                let matching: Vec<&Metric> = metrics
                    .iter()
                    .filter(|m| transform.selector.matches(m))
                    .collect();
                if matching.is_empty() {
                    return;
                }
                if let Err(reason) = combine::can_combine(&matching) {
                    tracing::warn!(processor = %self.id, %reason, "metrics not combined");
                    return;
                }
                let taken = transform.take_matching(metrics);
                let mut combined = combine::combine(transform, taken);
                if transform.apply(&mut combined) {
                    metrics.push(combined);
                }
            }
            Action::Group => {
                let taken = transform.take_matching(metrics);
                if taken.is_empty() {
                    return;
                }
                let mut resource = resource.cloned().unwrap_or_default();
                for (key, value) in &transform.group_resource_labels {
                    points::put_string(&mut resource.attributes, key, value);
                }
                grouped.push(ResourceMetrics {
                    resource: Some(resource),
                    scope_metrics: vec![ScopeMetrics {
                        scope: scope_metrics.scope.clone(),
                        metrics: taken,
                        schema_url: scope_metrics.schema_url.clone(),
                    }],
                    schema_url: String::new(),
                });
            }
        }
    }
}

impl InPlace for MetricsTransform {
    fn apply(&self, batch: &mut Batch) {
        batch.edit(|request| {
            if let AnyRequest::Metrics(metrics) = request {
                self.process(metrics);
            }
        });
    }
}

#[cfg(test)]
mod tests;
