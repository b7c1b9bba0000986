//! The `count` connector: otelcol-contrib's, counting the spans, span events, metrics, data points and log records
//! a pipeline exports and handing the counts to metrics pipelines.
//!
//! Without settings it counts everything under otelcol's names (`trace.span.count`, `trace.span.event.count`,
//! `metric.count`, `metric.datapoint.count`, `log.record.count`); a section (`spans`, `spanevents`, `metrics`,
//! `datapoints`, `logs`) replaces its default with its own counts, each with OTTL `conditions` (any may hold) and
//! `attributes` (a count per set of values, looked up on the item, then its scope, then its resource). Each batch
//! gives, per resource, one delta, monotonic sum per count, under a copy of the resource's attributes. Traces are
//! counted in place, as received, unless a count of spans or span events has conditions.

pub(in crate::connector) mod counter;

use super::{Connect, Targets};
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::{Batch, Signal};
use counter::{Counts, Definition, Kind};
use otlp_ottl::{ContextKind, parse_condition};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `count` connector type.
pub struct Factory;

/// The `count` connector's settings, otelcol-contrib's keys: counts by name, per kind of item; a kind left out
/// keeps its default count, one given (even empty) has only its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountConfig {
    /// Counts of spans.
    #[serde(default)]
    pub spans: Option<BTreeMap<String, CountSettings>>,
    /// Counts of span events.
    #[serde(default)]
    pub spanevents: Option<BTreeMap<String, CountSettings>>,
    /// Counts of metrics.
    #[serde(default)]
    pub metrics: Option<BTreeMap<String, CountSettings>>,
    /// Counts of data points.
    #[serde(default)]
    pub datapoints: Option<BTreeMap<String, CountSettings>>,
    /// Counts of log records.
    #[serde(default)]
    pub logs: Option<BTreeMap<String, CountSettings>>,
}

/// One count.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountSettings {
    /// The metric's description.
    #[serde(default)]
    pub description: String,
    /// OTTL conditions; an item is counted when any holds (always, with none).
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Attributes the count is split by.
    #[serde(default)]
    pub attributes: Vec<CountAttribute>,
}

/// An attribute a count is split by.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountAttribute {
    /// The attribute's key.
    pub key: String,
    /// The value for items without the attribute (a string, an integer or a number); without one, such items
    /// are not counted.
    #[serde(default)]
    pub default_value: Option<DefaultValue>,
}

/// A count attribute's `default_value`: kept as the type it is written in, as otelcol does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum DefaultValue {
    /// An integer.
    Int(i64),
    /// A number with a fraction.
    Double(f64),
    /// Text.
    Str(String),
}

impl DefaultValue {
    pub(in crate::connector) fn any_value(
        &self,
    ) -> opentelemetry_proto::tonic::common::v1::AnyValue {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        let value = match self {
            DefaultValue::Int(i) => Value::IntValue(*i),
            DefaultValue::Double(d) => Value::DoubleValue(*d),
            DefaultValue::Str(s) => Value::StringValue(s.clone()),
        };
        opentelemetry_proto::tonic::common::v1::AnyValue { value: Some(value) }
    }
}

impl Kind {
    /// The section of the settings, and otelcol's default count for it.
    pub(in crate::connector) fn section(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Spans => ("spans", "trace.span.count", "The number of spans observed."),
            Kind::SpanEvents => (
                "spanevents",
                "trace.span.event.count",
                "The number of span events observed.",
            ),
            Kind::Metrics => ("metrics", "metric.count", "The number of metrics observed."),
            Kind::DataPoints => (
                "datapoints",
                "metric.datapoint.count",
                "The number of data points observed.",
            ),
            Kind::Logs => (
                "logs",
                "log.record.count",
                "The number of log records observed.",
            ),
        }
    }

    fn context(self) -> ContextKind {
        match self {
            Kind::Spans => ContextKind::Span,
            Kind::SpanEvents => ContextKind::SpanEvent,
            Kind::Metrics => ContextKind::Metric,
            Kind::DataPoints => ContextKind::DataPoint,
            Kind::Logs => ContextKind::Log,
        }
    }

    /// The kinds of item a signal's batches hold.
    pub(in crate::connector) fn of(signal: Signal) -> &'static [Kind] {
        match signal {
            Signal::Traces => &[Kind::Spans, Kind::SpanEvents],
            Signal::Metrics => &[Kind::Metrics, Kind::DataPoints],
            Signal::Logs => &[Kind::Logs],
        }
    }
}

impl CountConfig {
    fn section(&self, kind: Kind) -> Option<&BTreeMap<String, CountSettings>> {
        match kind {
            Kind::Spans => self.spans.as_ref(),
            Kind::SpanEvents => self.spanevents.as_ref(),
            Kind::Metrics => self.metrics.as_ref(),
            Kind::DataPoints => self.datapoints.as_ref(),
            Kind::Logs => self.logs.as_ref(),
        }
    }

    /// The counts of `kind`, compiled; `Err` with each problem at its key under the connector.
    fn definitions(&self, kind: Kind) -> Result<Vec<Definition>, Vec<Invalid>> {
        let (_, default_name, default_description) = kind.section();
        let Some(counts) = self.section(kind) else {
            return Ok(vec![Definition {
                name: default_name.to_string(),
                description: default_description.to_string(),
                conditions: Vec::new(),
                attributes: Vec::new(),
                source: None,
            }]);
        };
        let mut problems = Vec::new();
        let definitions = counts
            .iter()
            .map(|(name, settings)| {
                compile(
                    kind,
                    name,
                    &settings.description,
                    &settings.conditions,
                    &settings.attributes,
                    None,
                    &mut problems,
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(definitions)
        } else {
            Err(problems)
        }
    }
}

/// One count (or, with a `source` attribute, sum) of `kind` named `name`, compiled; what is wrong with it goes
/// to `problems`, at its key under the connector.
pub(in crate::connector) fn compile(
    kind: Kind,
    name: &str,
    description: &str,
    conditions: &[String],
    attributes: &[CountAttribute],
    source: Option<&str>,
    problems: &mut Vec<Invalid>,
) -> Definition {
    let section = kind.section().0;
    let at = format!("{section}.{name}");
    if name.is_empty() {
        problems.push(Invalid::at(section, "a metric needs a name"));
    }
    if kind == Kind::Metrics && !attributes.is_empty() {
        problems.push(Invalid::at(
            format!("{at}.attributes"),
            "metrics cannot be split by attributes (metrics have none); use `datapoints` instead",
        ));
    }
    let mut compiled = Vec::new();
    for (i, text) in conditions.iter().enumerate() {
        match parse_condition(kind.context(), text) {
            Ok(condition) => compiled.push(condition),
            Err(error) => problems.push(Invalid::at(
                format!("{at}.conditions[{i}]"),
                crate::processor::ottl::describe(error),
            )),
        }
    }
    for (i, attribute) in attributes.iter().enumerate() {
        if attribute.key.is_empty() {
            problems.push(Invalid::at(
                format!("{at}.attributes[{i}].key"),
                "an attribute needs a key",
            ));
        }
    }
    Definition {
        name: name.to_owned(),
        description: description.to_owned(),
        conditions: compiled,
        attributes: attributes
            .iter()
            .map(|a| {
                (
                    a.key.clone(),
                    a.default_value.as_ref().map(DefaultValue::any_value),
                )
            })
            .collect(),
        source: source.map(str::to_owned),
    }
}

impl Component for Factory {
    type Config = CountConfig;
    const TYPE: &'static str = "count";

    fn validate(&self, config: &CountConfig) -> Result<(), Invalid> {
        let kinds = [
            Kind::Spans,
            Kind::SpanEvents,
            Kind::Metrics,
            Kind::DataPoints,
            Kind::Logs,
        ];
        Invalid::all(
            kinds
                .into_iter()
                .filter_map(|kind| config.definitions(kind).err())
                .flatten(),
        )
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
        config: &CountConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let mut definitions = Vec::new();
        for kind in Kind::of(context.from) {
            let compiled = config.definitions(*kind).map_err(super::settings_error)?;
            definitions.push((*kind, compiled));
        }
        Ok(stage(
            Counts::new(definitions, SCOPE_NAME),
            &context,
            targets,
        ))
    }
}

/// otelcol-contrib's scope for the counts, so that queries written against its output find ours.
const SCOPE_NAME: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/connector/countconnector";

/// The connector that hands `counts` of what `context`'s pipelines export to `targets`.
pub(in crate::connector) fn stage(
    counts: Counts,
    context: &ConnectorContext<'_>,
    targets: Targets,
) -> Arc<dyn Consumer> {
    super::stage(Count {
        id: context.id.to_string(),
        traces_in_place: context.from == Signal::Traces && counts.counts_traces_in_place(),
        counts,
        targets,
    })
}

struct Count {
    id: String,
    counts: Counts,
    /// Traces batches are counted as received, in place: no count of them has conditions.
    traces_in_place: bool,
    targets: Targets,
}

impl Count {
    /// The counts of `batch`, read in place when it can be.
    fn counted(&self, batch: &Batch) -> Batch {
        if self.traces_in_place
            && let Some(requests) = batch.encoded()
            && let Ok(counted) = self
                .counts
                .count_encoded_traces(requests.map(|bytes| bytes.as_ref()))
        {
            return counted;
        }
        // Conditions run on contexts that borrow items mutably, so the counting works on a copy; the batch
        // itself stays as it came, to hand back if the metrics pipelines refuse the counts.
        self.counts.count(batch.share().into_request(), &self.id)
    }
}

impl Connect for Count {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let counted = self.counted(&batch);
            if counted.is_empty() {
                return Ok(());
            }
            self.targets.consume_made_of(counted, batch).await
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(self.targets.ready(items))
    }
}
