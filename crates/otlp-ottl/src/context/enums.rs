//! Enum symbols of each context (the "Enums" tables of otelcol's context READMEs). They are
//! replaced by their integer value when a statement is compiled.

use super::ContextKind;

const SPAN_ENUMS: &[(&str, i64)] = &[
    ("SPAN_KIND_UNSPECIFIED", 0),
    ("SPAN_KIND_INTERNAL", 1),
    ("SPAN_KIND_SERVER", 2),
    ("SPAN_KIND_CLIENT", 3),
    ("SPAN_KIND_PRODUCER", 4),
    ("SPAN_KIND_CONSUMER", 5),
    ("STATUS_CODE_UNSET", 0),
    ("STATUS_CODE_OK", 1),
    ("STATUS_CODE_ERROR", 2),
];

const LOG_ENUMS: &[(&str, i64)] = &[
    ("SEVERITY_NUMBER_UNSPECIFIED", 0),
    ("SEVERITY_NUMBER_TRACE", 1),
    ("SEVERITY_NUMBER_TRACE2", 2),
    ("SEVERITY_NUMBER_TRACE3", 3),
    ("SEVERITY_NUMBER_TRACE4", 4),
    ("SEVERITY_NUMBER_DEBUG", 5),
    ("SEVERITY_NUMBER_DEBUG2", 6),
    ("SEVERITY_NUMBER_DEBUG3", 7),
    ("SEVERITY_NUMBER_DEBUG4", 8),
    ("SEVERITY_NUMBER_INFO", 9),
    ("SEVERITY_NUMBER_INFO2", 10),
    ("SEVERITY_NUMBER_INFO3", 11),
    ("SEVERITY_NUMBER_INFO4", 12),
    ("SEVERITY_NUMBER_WARN", 13),
    ("SEVERITY_NUMBER_WARN2", 14),
    ("SEVERITY_NUMBER_WARN3", 15),
    ("SEVERITY_NUMBER_WARN4", 16),
    ("SEVERITY_NUMBER_ERROR", 17),
    ("SEVERITY_NUMBER_ERROR2", 18),
    ("SEVERITY_NUMBER_ERROR3", 19),
    ("SEVERITY_NUMBER_ERROR4", 20),
    ("SEVERITY_NUMBER_FATAL", 21),
    ("SEVERITY_NUMBER_FATAL2", 22),
    ("SEVERITY_NUMBER_FATAL3", 23),
    ("SEVERITY_NUMBER_FATAL4", 24),
];

const METRIC_ENUMS: &[(&str, i64)] = &[
    ("AGGREGATION_TEMPORALITY_UNSPECIFIED", 0),
    ("AGGREGATION_TEMPORALITY_DELTA", 1),
    ("AGGREGATION_TEMPORALITY_CUMULATIVE", 2),
    ("METRIC_DATA_TYPE_NONE", 0),
    ("METRIC_DATA_TYPE_GAUGE", 1),
    ("METRIC_DATA_TYPE_SUM", 2),
    ("METRIC_DATA_TYPE_HISTOGRAM", 3),
    ("METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM", 4),
    ("METRIC_DATA_TYPE_SUMMARY", 5),
];

const DATA_POINT_ENUMS: &[(&str, i64)] = &[("FLAG_NONE", 0), ("FLAG_NO_RECORDED_VALUE", 1)];

/// The tables whose symbols `kind` understands: a context also knows the enums of the context
/// above it (a span event can compare `span.kind` with `SPAN_KIND_SERVER`).
fn tables(kind: ContextKind) -> &'static [&'static [(&'static str, i64)]] {
    match kind {
        ContextKind::Resource | ContextKind::Scope => &[],
        ContextKind::Span | ContextKind::SpanEvent => &[SPAN_ENUMS],
        ContextKind::Metric => &[METRIC_ENUMS],
        ContextKind::DataPoint => &[METRIC_ENUMS, DATA_POINT_ENUMS],
        ContextKind::Log => &[LOG_ENUMS],
    }
}

/// The value of `symbol` in `kind`.
pub(crate) fn enum_value(kind: ContextKind, symbol: &str) -> Option<i64> {
    tables(kind)
        .iter()
        .flat_map(|table| table.iter())
        .find(|(name, _)| *name == symbol)
        .map(|(_, value)| *value)
}

/// Every symbol `kind` understands, for suggestions.
pub(crate) fn enum_names(kind: ContextKind) -> impl Iterator<Item = &'static str> {
    tables(kind)
        .iter()
        .flat_map(|table| table.iter())
        .map(|(name, _)| *name)
}

/// Every symbol of every context, to tell "not in this context" from "does not exist".
pub(crate) fn any_context_knows(symbol: &str) -> bool {
    [SPAN_ENUMS, LOG_ENUMS, METRIC_ENUMS, DATA_POINT_ENUMS]
        .iter()
        .any(|table| table.iter().any(|(name, _)| *name == symbol))
}
