//! OTTL contexts over the OTLP wire types: which item a statement runs on, the items above it it
//! can reach (`resource`, `scope`, and the span of a span event or the metric of a data point),
//! and the temporary `cache`.

mod access;
mod convert;
mod enums;
mod fast;
mod fields;
mod get;
mod keys;
mod set;

pub use access::DataPointMut;
pub(crate) use access::Item;
pub(crate) use enums::{any_context_knows, enum_names, enum_value};
pub(crate) use fast::{FastRead, fast_read};
pub(crate) use fields::{Field, Unresolved, resolve_field};
pub(crate) use keys::{ResolvedKey, index_value, set_in_map, set_in_value, value_at_keys_mut};

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{Metric, SummaryDataPoint};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::Event;

/// The OTTL contexts: the kind of item a statement or condition runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContextKind {
    /// Each resource (`ResourceSpans.resource`, ...).
    Resource,
    /// Each instrumentation scope.
    Scope,
    /// Each span.
    Span,
    /// Each span event.
    SpanEvent,
    /// Each metric.
    Metric,
    /// Each metric data point.
    DataPoint,
    /// Each log record.
    Log,
}

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Traces (`ExportTraceServiceRequest`).
    Traces,
    /// Metrics (`ExportMetricsServiceRequest`).
    Metrics,
    /// Logs (`ExportLogsServiceRequest`).
    Logs,
}

impl Signal {
    /// The contexts a statement of this signal may use, as otelcol's transform processor allows.
    pub fn contexts(self) -> &'static [ContextKind] {
        match self {
            Signal::Traces => &[
                ContextKind::Resource,
                ContextKind::Scope,
                ContextKind::Span,
                ContextKind::SpanEvent,
            ],
            Signal::Metrics => &[
                ContextKind::Resource,
                ContextKind::Scope,
                ContextKind::Metric,
                ContextKind::DataPoint,
            ],
            Signal::Logs => &[ContextKind::Resource, ContextKind::Scope, ContextKind::Log],
        }
    }

    /// `traces`, `metrics` or `logs`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }
}

impl ContextKind {
    /// Every context.
    pub const ALL: [ContextKind; 7] = [
        ContextKind::Resource,
        ContextKind::Scope,
        ContextKind::Span,
        ContextKind::SpanEvent,
        ContextKind::Metric,
        ContextKind::DataPoint,
        ContextKind::Log,
    ];

    /// The context's name in configurations and path prefixes.
    pub fn name(self) -> &'static str {
        match self {
            ContextKind::Resource => "resource",
            ContextKind::Scope => "scope",
            ContextKind::Span => "span",
            ContextKind::SpanEvent => "spanevent",
            ContextKind::Metric => "metric",
            ContextKind::DataPoint => "datapoint",
            ContextKind::Log => "log",
        }
    }

    /// The context named `name` (as the `context` key of a statement group writes it); the
    /// name is case-insensitive, as otelcol reads it.
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        ContextKind::ALL.into_iter().find(|k| k.name() == lower)
    }

    /// The context a path prefix names (`instrumentation_scope` is the old name of `scope`).
    pub(crate) fn from_path_prefix(segment: &str) -> Option<Self> {
        match segment {
            "instrumentation_scope" => Some(ContextKind::Scope),
            other => ContextKind::ALL.into_iter().find(|k| k.name() == other),
        }
    }

    /// The contexts above this one, whose paths a statement in this context can use.
    pub fn upper(self) -> &'static [ContextKind] {
        match self {
            ContextKind::Resource => &[],
            ContextKind::Scope | ContextKind::Span | ContextKind::Metric | ContextKind::Log => {
                &[ContextKind::Resource, ContextKind::Scope]
            }
            ContextKind::SpanEvent => {
                &[ContextKind::Resource, ContextKind::Scope, ContextKind::Span]
            }
            ContextKind::DataPoint => &[
                ContextKind::Resource,
                ContextKind::Scope,
                ContextKind::Metric,
            ],
        }
    }

    /// Whether a statement in this context can read `other`'s paths.
    pub fn reaches(self, other: ContextKind) -> bool {
        self == other || self.upper().contains(&other)
    }

    /// Lower is preferred when inferring a context: otelcol's default priority.
    pub(crate) fn inference_priority(self) -> usize {
        match self {
            ContextKind::Log => 0,
            ContextKind::DataPoint => 1,
            ContextKind::Metric => 2,
            ContextKind::SpanEvent => 3,
            ContextKind::Span => 4,
            ContextKind::Resource => 5,
            ContextKind::Scope => 6,
        }
    }
}

impl std::fmt::Display for ContextKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The resource a statement can reach, with the `schema_url` of its `Resource*` message.
pub struct ResourceParts<'a> {
    /// `ResourceSpans.resource` (or the metrics/logs equivalent).
    pub resource: &'a mut Option<Resource>,
    /// `ResourceSpans.schema_url`.
    pub schema_url: &'a mut String,
}

impl ResourceParts<'_> {
    /// The same parts, borrowed for a shorter while: one context per item under the resource.
    pub fn reborrow(&mut self) -> ResourceParts<'_> {
        ResourceParts {
            resource: &mut *self.resource,
            schema_url: &mut *self.schema_url,
        }
    }
}

/// The instrumentation scope a statement can reach, with its `schema_url`.
pub struct ScopeParts<'a> {
    /// `ScopeSpans.scope` (or the metrics/logs equivalent).
    pub scope: &'a mut Option<InstrumentationScope>,
    /// `ScopeSpans.schema_url`.
    pub schema_url: &'a mut String,
}

impl ScopeParts<'_> {
    /// The same parts, borrowed for a shorter while: one context per item under the scope.
    pub fn reborrow(&mut self) -> ScopeParts<'_> {
        ScopeParts {
            scope: &mut *self.scope,
            schema_url: &mut *self.schema_url,
        }
    }
}

/// What a statement runs on: one item, the items above it, and the `cache` map.
///
/// The engines build these while walking a request; build one yourself to run a
/// [`Statement`](crate::Statement) on telemetry you hold in pieces.
pub struct TransformContext<'a> {
    pub(crate) resource: ResourceParts<'a>,
    pub(crate) scope: Option<ScopeParts<'a>>,
    pub(crate) item: Item<'a>,
    pub(crate) cache: &'a mut Vec<KeyValue>,
    /// Where an editor that adds a metric beside the current one (`copy_metric`,
    /// `extract_sum_metric`, ...) puts it. Only the engine's metric walk sets it, as only it can
    /// append to the scope's metric list after the item; everywhere else it is `None` and those
    /// editors fail rather than drop the new metric.
    pub(crate) new_metrics: Option<&'a mut NewMetrics>,
    /// In a data point context on a summary, the metric's other points, before and after the
    /// current one: the walk takes the points out of the metric while visiting them, and
    /// `convert_summary_*_val_to_sum` copy every point of the summary, as in otelcol.
    pub(crate) summary_siblings: Option<SummarySiblings<'a>>,
}

/// The points of a summary before and after the visited one.
#[derive(Clone, Copy)]
pub(crate) struct SummarySiblings<'a> {
    pub(crate) before: &'a [SummaryDataPoint],
    pub(crate) after: &'a [SummaryDataPoint],
}

/// Metrics added by editors while one item was visited, and the editor that added the last one
/// (named in the error when a scope's metric list grows without bound).
#[derive(Default)]
pub(crate) struct NewMetrics {
    pub(crate) metrics: Vec<Metric>,
    pub(crate) added_by: Option<&'static str>,
}

impl NewMetrics {
    pub(crate) fn push(&mut self, function: &'static str, metric: Metric) {
        self.metrics.push(metric);
        self.added_by = Some(function);
    }
}

impl<'a> TransformContext<'a> {
    /// A resource context.
    pub fn for_resource(resource: ResourceParts<'a>, cache: &'a mut Vec<KeyValue>) -> Self {
        TransformContext {
            resource,
            scope: None,
            item: Item::None,
            cache,
            new_metrics: None,
            summary_siblings: None,
        }
    }

    /// A scope context.
    pub fn for_scope(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        cache: &'a mut Vec<KeyValue>,
    ) -> Self {
        TransformContext {
            resource,
            scope: Some(scope),
            item: Item::None,
            cache,
            new_metrics: None,
            summary_siblings: None,
        }
    }

    /// A span context. A span on its own, outside any request, runs under an empty resource and scope:
    ///
    /// ```
    /// use otlp_ottl::opentelemetry_proto::tonic::trace::v1::Span;
    /// use otlp_ottl::{ContextKind, ResourceParts, ScopeParts, TransformContext, parse_statement};
    ///
    /// let statement = parse_statement(
    ///     ContextKind::Span,
    ///     r#"set(attributes["http.route"], "/cart") where name == "GET /cart""#,
    /// )?;
    /// let mut span = Span { name: "GET /cart".into(), ..Default::default() };
    /// let (mut resource, mut scope) = (None, None);
    /// let (mut resource_schema, mut scope_schema) = (String::new(), String::new());
    /// let mut cache = Vec::new();
    /// let mut context = TransformContext::for_span(
    ///     ResourceParts { resource: &mut resource, schema_url: &mut resource_schema },
    ///     ScopeParts { scope: &mut scope, schema_url: &mut scope_schema },
    ///     &mut span,
    ///     &mut cache,
    /// );
    /// assert!(statement.execute(&mut context)?, "the condition held");
    /// assert_eq!(span.attributes[0].key, "http.route");
    /// # Ok::<(), otlp_ottl::Error>(())
    /// ```
    pub fn for_span(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        span: &'a mut Span,
        cache: &'a mut Vec<KeyValue>,
    ) -> Self {
        TransformContext {
            resource,
            scope: Some(scope),
            item: Item::Span(span),
            cache,
            new_metrics: None,
            summary_siblings: None,
        }
    }

    /// A span event context. `span` should not hold `event` in its `events` while this runs
    /// (take the events out first): `span.events` is not reachable from a span event.
    pub fn for_span_event(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        span: &'a mut Span,
        event: &'a mut Event,
        index: usize,
        cache: &'a mut Vec<KeyValue>,
    ) -> Self {
        TransformContext {
            resource,
            scope: Some(scope),
            item: Item::SpanEvent { span, event, index },
            cache,
            new_metrics: None,
            summary_siblings: None,
        }
    }

    /// A metric context.
    pub fn for_metric(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        metric: &'a mut Metric,
        cache: &'a mut Vec<KeyValue>,
    ) -> Self {
        TransformContext {
            resource,
            scope: Some(scope),
            item: Item::Metric(metric),
            cache,
            new_metrics: None,
            summary_siblings: None,
        }
    }

    /// A log record context.
    pub fn for_log(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        log: &'a mut LogRecord,
        cache: &'a mut Vec<KeyValue>,
    ) -> Self {
        TransformContext {
            resource,
            scope: Some(scope),
            item: Item::Log(log),
            cache,
            new_metrics: None,
            summary_siblings: None,
        }
    }

    /// A data point context. `metric` should not hold `point` in its data points while this
    /// runs (take them out first): `metric.data_points` is not reachable from a data point.
    pub fn for_data_point(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        metric: &'a mut Metric,
        point: DataPointMut<'a>,
        cache: &'a mut Vec<KeyValue>,
    ) -> Self {
        TransformContext {
            resource,
            scope: Some(scope),
            item: Item::DataPoint { metric, point },
            cache,
            new_metrics: None,
            summary_siblings: None,
        }
    }

    /// A metric context whose editors may add metrics beside the metric into `new_metrics`.
    pub(crate) fn for_metric_adding(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        metric: &'a mut Metric,
        cache: &'a mut Vec<KeyValue>,
        new_metrics: &'a mut NewMetrics,
    ) -> Self {
        let mut ctx = Self::for_metric(resource, scope, metric, cache);
        ctx.new_metrics = Some(new_metrics);
        ctx
    }

    /// A data point context whose editors may add metrics beside the point's metric into
    /// `new_metrics`; `summary_siblings` are the metric's other points when it is a summary.
    pub(crate) fn for_data_point_adding(
        resource: ResourceParts<'a>,
        scope: ScopeParts<'a>,
        metric: &'a mut Metric,
        point: DataPointMut<'a>,
        cache: &'a mut Vec<KeyValue>,
        new_metrics: &'a mut NewMetrics,
        summary_siblings: Option<SummarySiblings<'a>>,
    ) -> Self {
        let mut ctx = Self::for_data_point(resource, scope, metric, point, cache);
        ctx.new_metrics = Some(new_metrics);
        ctx.summary_siblings = summary_siblings;
        ctx
    }
}
