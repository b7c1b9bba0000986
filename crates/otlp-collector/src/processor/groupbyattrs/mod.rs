//! The `groupbyattrs` processor (otelcol-contrib's): records moved under the resource their `keys` attributes name,
//! the attributes taken off the record and set on a copy of its resource; records of equal resources and scopes
//! brought together. With no keys it only does the second: requests whose many resources are the same (as
//! receivers of flat formats write them) become one resource each.

mod regroup;

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::telemetry::{Counter, Histogram};
use crate::{AnyRequest, Batch, Signal};
use regroup::Keys;
use serde::Deserialize;
use std::sync::Arc;

/// The `groupbyattrs` processor's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupByAttrsConfig {
    /// The attribute keys whose values a record's resource takes on. None: records are only brought together
    /// under equal resources and scopes.
    #[serde(default)]
    pub keys: Vec<String>,
}

/// The `groupbyattrs` processor type (traces, metrics and logs).
pub struct Factory;

impl Component for Factory {
    type Config = GroupByAttrsConfig;
    const TYPE: &'static str = "groupbyattrs";

    fn warnings(&self, config: &Self::Config) -> Vec<(String, String)> {
        let mut warnings = Vec::new();
        for (i, key) in config.keys.iter().enumerate() {
            if key.is_empty() {
                warnings.push((
                    format!("keys[{i}]"),
                    "an empty key groups nothing; it is ignored".to_owned(),
                ));
            } else if config.keys[..i].contains(key) {
                warnings.push((
                    format!("keys[{i}]"),
                    format!("`{key}` is listed already; it is ignored"),
                ));
            }
        }
        warnings
    }
}

impl ProcessorFactory for Factory {
    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let items = match context.signal() {
            Signal::Traces => "spans",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        };
        let groups = match context.signal() {
            Signal::Traces => "span",
            Signal::Metrics => "metric",
            Signal::Logs => "log",
        };
        let labels = [("processor", context.id)];
        let telemetry = context.telemetry;
        let stage = GroupByAttrs {
            keys: Keys::new(&config.keys),
            grouped: telemetry.counter(
                &format!("otelcol_processor_groupbyattrs_num_grouped_{items}"),
                "Records that had grouping attributes, moved to the resource they name.",
                &labels,
            ),
            not_grouped: telemetry.counter(
                &format!("otelcol_processor_groupbyattrs_num_non_grouped_{items}"),
                "Records that had none of the grouping attributes.",
                &labels,
            ),
            resources: telemetry.histogram(
                &format!("otelcol_processor_groupbyattrs_{groups}_groups"),
                "Resources of a request after regrouping.",
                &labels,
                &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0],
            ),
        };
        Ok(in_place_stage(stage, next))
    }
}

struct GroupByAttrs {
    keys: Keys,
    grouped: Counter,
    not_grouped: Counter,
    resources: Histogram,
}

impl InPlace for GroupByAttrs {
    fn apply(&self, batch: &mut Batch) {
        let regrouped = batch.edit(|request| match request {
            AnyRequest::Traces(traces) => regroup::traces(&self.keys, traces),
            AnyRequest::Metrics(metrics) => regroup::metrics(&self.keys, metrics),
            AnyRequest::Logs(logs) => regroup::logs(&self.keys, logs),
        });
        self.grouped.add(regrouped.grouped);
        self.not_grouped.add(regrouped.not_grouped);
        self.resources.record(regrouped.resources as f64);
    }
}
