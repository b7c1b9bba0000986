//! The paths of each context (the tables in otelcol's `pkg/ottl/contexts/*/README.md`) and
//! their resolution from path segments to a [`Field`].

use super::ContextKind;

/// One readable (and mostly writable) field of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Cache,
    // resource
    Resource,
    ResourceAttributes,
    ResourceDroppedAttributesCount,
    ResourceSchemaUrl,
    // scope
    Scope,
    ScopeName,
    ScopeVersion,
    ScopeAttributes,
    ScopeDroppedAttributesCount,
    ScopeSchemaUrl,
    // span
    SpanTraceId,
    SpanTraceIdString,
    SpanSpanId,
    SpanSpanIdString,
    SpanParentSpanId,
    SpanParentSpanIdString,
    SpanTraceState,
    SpanName,
    SpanKind,
    SpanKindString,
    SpanKindDeprecatedString,
    SpanStartTimeUnixNano,
    SpanEndTimeUnixNano,
    SpanStartTime,
    SpanEndTime,
    SpanAttributes,
    SpanDroppedAttributesCount,
    SpanEvents,
    SpanDroppedEventsCount,
    SpanLinks,
    SpanDroppedLinksCount,
    SpanStatus,
    SpanStatusCode,
    SpanStatusMessage,
    SpanFlags,
    // span event
    EventName,
    EventTimeUnixNano,
    EventTime,
    EventAttributes,
    EventDroppedAttributesCount,
    EventIndex,
    // metric
    MetricName,
    MetricDescription,
    MetricUnit,
    MetricType,
    MetricAggregationTemporality,
    MetricIsMonotonic,
    MetricDataPoints,
    MetricMetadata,
    // data point
    PointAttributes,
    PointStartTimeUnixNano,
    PointTimeUnixNano,
    PointStartTime,
    PointTime,
    PointValueDouble,
    PointValueInt,
    PointExemplars,
    PointFlags,
    PointCount,
    PointSum,
    PointBucketCounts,
    PointExplicitBounds,
    PointScale,
    PointZeroCount,
    PointPositive,
    PointPositiveOffset,
    PointPositiveBucketCounts,
    PointNegative,
    PointNegativeOffset,
    PointNegativeBucketCounts,
    PointQuantileValues,
    // log
    LogTimeUnixNano,
    LogObservedTimeUnixNano,
    LogTime,
    LogObservedTime,
    LogSeverityNumber,
    LogSeverityText,
    LogBody,
    LogBodyString,
    LogAttributes,
    LogDroppedAttributesCount,
    LogFlags,
    LogTraceId,
    LogTraceIdString,
    LogSpanId,
    LogSpanIdString,
    LogEventName,
}

/// `(path below the context prefix, field)` for each context.
const RESOURCE: &[(&str, Field)] = &[
    ("attributes", Field::ResourceAttributes),
    (
        "dropped_attributes_count",
        Field::ResourceDroppedAttributesCount,
    ),
    ("schema_url", Field::ResourceSchemaUrl),
];

const SCOPE: &[(&str, Field)] = &[
    ("name", Field::ScopeName),
    ("version", Field::ScopeVersion),
    ("attributes", Field::ScopeAttributes),
    (
        "dropped_attributes_count",
        Field::ScopeDroppedAttributesCount,
    ),
    ("schema_url", Field::ScopeSchemaUrl),
];

const SPAN: &[(&str, Field)] = &[
    ("trace_id", Field::SpanTraceId),
    ("trace_id.string", Field::SpanTraceIdString),
    ("span_id", Field::SpanSpanId),
    ("span_id.string", Field::SpanSpanIdString),
    ("parent_span_id", Field::SpanParentSpanId),
    ("parent_span_id.string", Field::SpanParentSpanIdString),
    ("trace_state", Field::SpanTraceState),
    ("name", Field::SpanName),
    ("kind", Field::SpanKind),
    ("kind.string", Field::SpanKindString),
    ("kind.deprecated_string", Field::SpanKindDeprecatedString),
    ("start_time_unix_nano", Field::SpanStartTimeUnixNano),
    ("end_time_unix_nano", Field::SpanEndTimeUnixNano),
    ("start_time", Field::SpanStartTime),
    ("end_time", Field::SpanEndTime),
    ("attributes", Field::SpanAttributes),
    (
        "dropped_attributes_count",
        Field::SpanDroppedAttributesCount,
    ),
    ("events", Field::SpanEvents),
    ("dropped_events_count", Field::SpanDroppedEventsCount),
    ("links", Field::SpanLinks),
    ("dropped_links_count", Field::SpanDroppedLinksCount),
    ("status", Field::SpanStatus),
    ("status.code", Field::SpanStatusCode),
    ("status.message", Field::SpanStatusMessage),
    ("flags", Field::SpanFlags),
];

const SPAN_EVENT: &[(&str, Field)] = &[
    ("name", Field::EventName),
    ("time_unix_nano", Field::EventTimeUnixNano),
    ("time", Field::EventTime),
    ("attributes", Field::EventAttributes),
    (
        "dropped_attributes_count",
        Field::EventDroppedAttributesCount,
    ),
    ("event_index", Field::EventIndex),
];

const METRIC: &[(&str, Field)] = &[
    ("name", Field::MetricName),
    ("description", Field::MetricDescription),
    ("unit", Field::MetricUnit),
    ("type", Field::MetricType),
    (
        "aggregation_temporality",
        Field::MetricAggregationTemporality,
    ),
    ("is_monotonic", Field::MetricIsMonotonic),
    ("data_points", Field::MetricDataPoints),
    ("metadata", Field::MetricMetadata),
];

const DATA_POINT: &[(&str, Field)] = &[
    ("attributes", Field::PointAttributes),
    ("start_time_unix_nano", Field::PointStartTimeUnixNano),
    ("time_unix_nano", Field::PointTimeUnixNano),
    ("start_time", Field::PointStartTime),
    ("time", Field::PointTime),
    ("value_double", Field::PointValueDouble),
    ("value_int", Field::PointValueInt),
    ("exemplars", Field::PointExemplars),
    ("flags", Field::PointFlags),
    ("count", Field::PointCount),
    ("sum", Field::PointSum),
    ("bucket_counts", Field::PointBucketCounts),
    ("explicit_bounds", Field::PointExplicitBounds),
    ("scale", Field::PointScale),
    ("zero_count", Field::PointZeroCount),
    ("positive", Field::PointPositive),
    ("positive.offset", Field::PointPositiveOffset),
    ("positive.bucket_counts", Field::PointPositiveBucketCounts),
    ("negative", Field::PointNegative),
    ("negative.offset", Field::PointNegativeOffset),
    ("negative.bucket_counts", Field::PointNegativeBucketCounts),
    ("quantile_values", Field::PointQuantileValues),
];

const LOG: &[(&str, Field)] = &[
    ("time_unix_nano", Field::LogTimeUnixNano),
    ("observed_time_unix_nano", Field::LogObservedTimeUnixNano),
    ("time", Field::LogTime),
    ("observed_time", Field::LogObservedTime),
    ("severity_number", Field::LogSeverityNumber),
    ("severity_text", Field::LogSeverityText),
    ("body", Field::LogBody),
    ("body.string", Field::LogBodyString),
    ("attributes", Field::LogAttributes),
    ("dropped_attributes_count", Field::LogDroppedAttributesCount),
    ("flags", Field::LogFlags),
    ("trace_id", Field::LogTraceId),
    ("trace_id.string", Field::LogTraceIdString),
    ("span_id", Field::LogSpanId),
    ("span_id.string", Field::LogSpanIdString),
    ("event_name", Field::LogEventName),
];

fn table(kind: ContextKind) -> &'static [(&'static str, Field)] {
    match kind {
        ContextKind::Resource => RESOURCE,
        ContextKind::Scope => SCOPE,
        ContextKind::Span => SPAN,
        ContextKind::SpanEvent => SPAN_EVENT,
        ContextKind::Metric => METRIC,
        ContextKind::DataPoint => DATA_POINT,
        ContextKind::Log => LOG,
    }
}

/// Every path of `kind` below its prefix, for "did you mean" suggestions.
pub(crate) fn path_names(kind: ContextKind) -> impl Iterator<Item = &'static str> {
    table(kind)
        .iter()
        .map(|(name, _)| *name)
        .chain(std::iter::once("cache"))
}

impl Field {
    /// Whether the field is an attribute-like map (attributes, metadata, cache).
    pub(crate) fn is_map(self) -> bool {
        matches!(
            self,
            Field::Cache
                | Field::ResourceAttributes
                | Field::ScopeAttributes
                | Field::SpanAttributes
                | Field::EventAttributes
                | Field::MetricMetadata
                | Field::PointAttributes
                | Field::LogAttributes
        )
    }

    /// Whether `field[...]` indexes into the value (maps, the log body, trace state entries).
    pub(crate) fn takes_keys(self) -> bool {
        matches!(
            self,
            Field::Cache
                | Field::ResourceAttributes
                | Field::ScopeAttributes
                | Field::SpanAttributes
                | Field::EventAttributes
                | Field::MetricMetadata
                | Field::PointAttributes
                | Field::LogAttributes
                | Field::LogBody
                | Field::SpanTraceState
        )
    }
}

/// Why a path did not resolve.
pub(crate) enum Unresolved {
    /// No such path in the context; the closest valid one, if any is close.
    Unknown { suggestion: Option<String> },
    /// The path exists but cannot be reached from the context the statement runs in.
    Unreachable(String),
}

/// The field `segments` (below the context prefix) names in `owner`, when a statement runs in
/// `running`. `cache` is only the running context's own.
pub(crate) fn resolve_field(
    owner: ContextKind,
    running: ContextKind,
    segments: &[&str],
) -> Result<Field, Unresolved> {
    let joined = segments.join(".");
    if joined == "cache" {
        return if owner == running {
            Ok(Field::Cache)
        } else {
            Err(Unresolved::Unreachable(format!(
                "`{owner}.cache` is not reachable from the {running} context; each context has its own cache, \
                 use `{running}.cache`"
            )))
        };
    }
    if let Some((_, field)) = table(owner).iter().find(|(name, _)| *name == joined) {
        // A span event is evaluated with its span's events taken out, and a data point with its
        // metric's points taken out, so these two would read an empty list.
        if *field == Field::SpanEvents && running == ContextKind::SpanEvent {
            return Err(Unresolved::Unreachable(
                "`span.events` is not reachable from the spanevent context; use a span context group"
                    .to_owned(),
            ));
        }
        if *field == Field::MetricDataPoints && running == ContextKind::DataPoint {
            return Err(Unresolved::Unreachable(
                "`metric.data_points` is not reachable from the datapoint context; use a metric context group"
                    .to_owned(),
            ));
        }
        return Ok(*field);
    }
    let suggestion = crate::funcs::nearest(&joined, path_names(owner))
        .map(|name| format!("{}.{name}", owner.name()));
    Err(Unresolved::Unknown { suggestion })
}

/// The path name used in error messages for `field`.
pub(crate) fn field_label(field: Field) -> &'static str {
    match field {
        Field::Cache => "cache",
        Field::Resource => "resource",
        Field::ResourceAttributes => "resource.attributes",
        Field::ResourceDroppedAttributesCount => "resource.dropped_attributes_count",
        Field::ResourceSchemaUrl => "resource.schema_url",
        Field::Scope => "scope",
        Field::ScopeName => "scope.name",
        Field::ScopeVersion => "scope.version",
        Field::ScopeAttributes => "scope.attributes",
        Field::ScopeDroppedAttributesCount => "scope.dropped_attributes_count",
        Field::ScopeSchemaUrl => "scope.schema_url",
        Field::SpanTraceId => "span.trace_id",
        Field::SpanTraceIdString => "span.trace_id.string",
        Field::SpanSpanId => "span.span_id",
        Field::SpanSpanIdString => "span.span_id.string",
        Field::SpanParentSpanId => "span.parent_span_id",
        Field::SpanParentSpanIdString => "span.parent_span_id.string",
        Field::SpanTraceState => "span.trace_state",
        Field::SpanName => "span.name",
        Field::SpanKind => "span.kind",
        Field::SpanKindString => "span.kind.string",
        Field::SpanKindDeprecatedString => "span.kind.deprecated_string",
        Field::SpanStartTimeUnixNano => "span.start_time_unix_nano",
        Field::SpanEndTimeUnixNano => "span.end_time_unix_nano",
        Field::SpanStartTime => "span.start_time",
        Field::SpanEndTime => "span.end_time",
        Field::SpanAttributes => "span.attributes",
        Field::SpanDroppedAttributesCount => "span.dropped_attributes_count",
        Field::SpanEvents => "span.events",
        Field::SpanDroppedEventsCount => "span.dropped_events_count",
        Field::SpanLinks => "span.links",
        Field::SpanDroppedLinksCount => "span.dropped_links_count",
        Field::SpanStatus => "span.status",
        Field::SpanStatusCode => "span.status.code",
        Field::SpanStatusMessage => "span.status.message",
        Field::SpanFlags => "span.flags",
        Field::EventName => "spanevent.name",
        Field::EventTimeUnixNano => "spanevent.time_unix_nano",
        Field::EventTime => "spanevent.time",
        Field::EventAttributes => "spanevent.attributes",
        Field::EventDroppedAttributesCount => "spanevent.dropped_attributes_count",
        Field::EventIndex => "spanevent.event_index",
        Field::MetricName => "metric.name",
        Field::MetricDescription => "metric.description",
        Field::MetricUnit => "metric.unit",
        Field::MetricType => "metric.type",
        Field::MetricAggregationTemporality => "metric.aggregation_temporality",
        Field::MetricIsMonotonic => "metric.is_monotonic",
        Field::MetricDataPoints => "metric.data_points",
        Field::MetricMetadata => "metric.metadata",
        Field::PointAttributes => "datapoint.attributes",
        Field::PointStartTimeUnixNano => "datapoint.start_time_unix_nano",
        Field::PointTimeUnixNano => "datapoint.time_unix_nano",
        Field::PointStartTime => "datapoint.start_time",
        Field::PointTime => "datapoint.time",
        Field::PointValueDouble => "datapoint.value_double",
        Field::PointValueInt => "datapoint.value_int",
        Field::PointExemplars => "datapoint.exemplars",
        Field::PointFlags => "datapoint.flags",
        Field::PointCount => "datapoint.count",
        Field::PointSum => "datapoint.sum",
        Field::PointBucketCounts => "datapoint.bucket_counts",
        Field::PointExplicitBounds => "datapoint.explicit_bounds",
        Field::PointScale => "datapoint.scale",
        Field::PointZeroCount => "datapoint.zero_count",
        Field::PointPositive => "datapoint.positive",
        Field::PointPositiveOffset => "datapoint.positive.offset",
        Field::PointPositiveBucketCounts => "datapoint.positive.bucket_counts",
        Field::PointNegative => "datapoint.negative",
        Field::PointNegativeOffset => "datapoint.negative.offset",
        Field::PointNegativeBucketCounts => "datapoint.negative.bucket_counts",
        Field::PointQuantileValues => "datapoint.quantile_values",
        Field::LogTimeUnixNano => "log.time_unix_nano",
        Field::LogObservedTimeUnixNano => "log.observed_time_unix_nano",
        Field::LogTime => "log.time",
        Field::LogObservedTime => "log.observed_time",
        Field::LogSeverityNumber => "log.severity_number",
        Field::LogSeverityText => "log.severity_text",
        Field::LogBody => "log.body",
        Field::LogBodyString => "log.body.string",
        Field::LogAttributes => "log.attributes",
        Field::LogDroppedAttributesCount => "log.dropped_attributes_count",
        Field::LogFlags => "log.flags",
        Field::LogTraceId => "log.trace_id",
        Field::LogTraceIdString => "log.trace_id.string",
        Field::LogSpanId => "log.span_id",
        Field::LogSpanIdString => "log.span_id.string",
        Field::LogEventName => "log.event_name",
    }
}
