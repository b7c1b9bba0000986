//! The `sum` connector: otelcol-contrib's, summing a numeric attribute of the spans, span events, data points and
//! log records a pipeline exports, and handing the sums to metrics pipelines.
//!
//! ```yaml
//! connectors:
//!   sum:
//!     logs:
//!       checkout.total:
//!         source_attribute: total.payment
//!         conditions: ['attributes["total.payment"] != nil']
//!         attributes:
//!           - key: payment.processor
//!             default_value: unspecified_processor
//! ```
//!
//! Each section (`spans`, `spanevents`, `metrics`, `datapoints`, `logs`) names sums: the attribute whose value
//! is added (`source_attribute`: an integer, a double, or text that reads as a number; an item without a number
//! there adds nothing), OTTL `conditions` (any may hold) and `attributes` (a sum per set of values, with
//! `default_value`s), looked up on the item, then its scope, then its resource. Each batch gives, per resource, one
//! delta sum per metric, as doubles, under a copy of the resource's attributes: the `count` connector's machinery
//! (`connector/count/counter.rs`), adding amounts where it adds ones. Unlike otelcol, which adds the value once per
//! split attribute, an item adds its value once.

use super::Targets;
use super::count::counter::{Counts, Kind};
use super::count::{CountAttribute, compile, stage};
use crate::Signal;
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::Consumer;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// otelcol-contrib's scope for the sums, so that queries written against its output find ours.
const SCOPE_NAME: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/connector/sumconnector";

/// The `sum` connector type.
pub struct Factory;

/// The `sum` connector's settings, otelcol-contrib's keys: sums by metric name, per kind of item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SumConfig {
    /// Sums over spans.
    pub spans: BTreeMap<String, SumSettings>,
    /// Sums over span events.
    pub spanevents: BTreeMap<String, SumSettings>,
    /// Sums over metrics (their scope's and resource's attributes: metrics have none).
    pub metrics: BTreeMap<String, SumSettings>,
    /// Sums over data points.
    pub datapoints: BTreeMap<String, SumSettings>,
    /// Sums over log records.
    pub logs: BTreeMap<String, SumSettings>,
}

/// One sum.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumSettings {
    /// The attribute whose numeric value is summed (required; checked with the rest of the settings).
    #[serde(default)]
    pub source_attribute: String,
    /// The metric's description.
    #[serde(default)]
    pub description: String,
    /// OTTL conditions; an item is summed when any holds (always, with none).
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Attributes the sum is split by.
    #[serde(default)]
    pub attributes: Vec<CountAttribute>,
}

const KINDS: [Kind; 5] = [
    Kind::Spans,
    Kind::SpanEvents,
    Kind::Metrics,
    Kind::DataPoints,
    Kind::Logs,
];

impl SumConfig {
    fn section(&self, kind: Kind) -> &BTreeMap<String, SumSettings> {
        match kind {
            Kind::Spans => &self.spans,
            Kind::SpanEvents => &self.spanevents,
            Kind::Metrics => &self.metrics,
            Kind::DataPoints => &self.datapoints,
            Kind::Logs => &self.logs,
        }
    }

    /// The sums of `kind`, compiled, and what is wrong with them.
    fn definitions(
        &self,
        kind: Kind,
        problems: &mut Vec<Invalid>,
    ) -> Vec<super::count::counter::Definition> {
        self.section(kind)
            .iter()
            .map(|(name, settings)| {
                if settings.source_attribute.is_empty() {
                    problems.push(Invalid::at(
                        format!("{}.{name}.source_attribute", kind.section().0),
                        "name the attribute whose values are summed",
                    ));
                }
                compile(
                    kind,
                    name,
                    &settings.description,
                    &settings.conditions,
                    &settings.attributes,
                    Some(&settings.source_attribute),
                    problems,
                )
            })
            .collect()
    }
}

impl Component for Factory {
    type Config = SumConfig;
    const TYPE: &'static str = "sum";

    fn validate(&self, config: &SumConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        for kind in KINDS {
            config.definitions(kind, &mut problems);
        }
        if KINDS.iter().all(|kind| config.section(*kind).is_empty()) {
            problems.push(Invalid::at(
                "spans",
                "name at least one sum, under spans, spanevents, metrics, datapoints or logs",
            ));
        }
        Invalid::all(problems)
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Metrics),
        (Signal::Metrics, Signal::Metrics),
        (Signal::Logs, Signal::Metrics),
    ];

    fn build(
        &self,
        config: &SumConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let mut problems = Vec::new();
        let definitions = Kind::of(context.from)
            .iter()
            .map(|kind| (*kind, config.definitions(*kind, &mut problems)))
            .collect();
        if !problems.is_empty() {
            return Err(super::settings_error(problems));
        }
        Ok(stage(
            Counts::new(definitions, SCOPE_NAME),
            &context,
            targets,
        ))
    }
}
