//! Conversions between the wire types' fields and OTTL values, with the errors a wrong type
//! gets.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

use crate::error::{Error, Result};
use crate::value::{Object, Value};

pub(super) fn expect_str(value: Value<'_>, what: &str) -> Result<String> {
    match value {
        Value::Str(s) => Ok(s.into_owned()),
        other => Err(Error::eval(format!(
            "{what} must be set to a string, got {}",
            other.type_name()
        ))),
    }
}

pub(super) fn expect_int(value: &Value<'_>, what: &str) -> Result<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        other => Err(Error::eval(format!(
            "{what} must be set to an int, got {}",
            other.type_name()
        ))),
    }
}

pub(super) fn expect_u32(value: &Value<'_>, what: &str) -> Result<u32> {
    let i = expect_int(value, what)?;
    u32::try_from(i)
        .map_err(|_| Error::eval(format!("{what} must be between 0 and 4294967295, got {i}")))
}

pub(super) fn expect_i32(value: &Value<'_>, what: &str) -> Result<i32> {
    let i = expect_int(value, what)?;
    i32::try_from(i).map_err(|_| Error::eval(format!("{what} does not fit in 32 bits: {i}")))
}

pub(super) fn expect_u64(value: &Value<'_>, what: &str) -> Result<u64> {
    let i = expect_int(value, what)?;
    u64::try_from(i).map_err(|_| Error::eval(format!("{what} cannot be negative, got {i}")))
}

pub(super) fn expect_time(value: &Value<'_>, what: &str) -> Result<u64> {
    match value {
        Value::Time(t) => u64::try_from(*t).map_err(|_| {
            Error::eval(format!(
                "{what} must be a time after 1970-01-01, got {t} ns"
            ))
        }),
        other => Err(Error::eval(format!(
            "{what} must be set to a time, got {}",
            other.type_name()
        ))),
    }
}

pub(super) fn time_value(nanos: u64) -> Value<'static> {
    Value::Time(i128::from(nanos))
}

pub(super) fn nanos_value(nanos: u64) -> Value<'static> {
    // Go reads the uint64 timestamp as int64, as otelcol does.
    Value::Int(nanos as i64)
}

/// A 16-byte trace ID from the wire (empty or malformed IDs read as all zeros).
pub(crate) fn trace_id_of(bytes: &[u8]) -> [u8; 16] {
    <[u8; 16]>::try_from(bytes).unwrap_or([0; 16])
}

/// An 8-byte span ID from the wire (empty or malformed IDs read as all zeros).
pub(crate) fn span_id_of(bytes: &[u8]) -> [u8; 8] {
    <[u8; 8]>::try_from(bytes).unwrap_or([0; 8])
}

/// An ID as the wire carries it: all zeros is the empty (invalid) ID, sent as no bytes.
pub(super) fn id_bytes(id: &[u8]) -> Vec<u8> {
    if id.iter().all(|b| *b == 0) {
        Vec::new()
    } else {
        id.to_vec()
    }
}

pub(super) fn expect_trace_id(value: &Value<'_>, what: &str) -> Result<Vec<u8>> {
    match value {
        Value::TraceId(id) => Ok(id_bytes(id)),
        other => Err(Error::eval(format!(
            "{what} must be set to a trace ID (use TraceID(...)), got {}",
            other.type_name()
        ))),
    }
}

pub(super) fn expect_span_id(value: &Value<'_>, what: &str) -> Result<Vec<u8>> {
    match value {
        Value::SpanId(id) => Ok(id_bytes(id)),
        other => Err(Error::eval(format!(
            "{what} must be set to a span ID (use SpanID(...)), got {}",
            other.type_name()
        ))),
    }
}

pub(super) fn parse_hex_id<const N: usize>(value: Value<'_>, what: &str) -> Result<Vec<u8>> {
    let text = expect_str(value, what)?;
    let bytes = hex::decode(&text)
        .ok()
        .filter(|b| b.len() == N)
        .ok_or_else(|| {
            Error::eval(format!(
                "{what} must be {} hex characters, got \"{text}\"",
                N * 2
            ))
        })?;
    Ok(id_bytes(&bytes))
}

/// `SpanKind.String()` in pdata.
pub(super) fn kind_string(kind: i32) -> &'static str {
    match kind {
        1 => "Internal",
        2 => "Server",
        3 => "Client",
        4 => "Producer",
        5 => "Consumer",
        _ => "Unspecified",
    }
}

pub(super) fn kind_deprecated_string(kind: i32) -> &'static str {
    match kind {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

pub(super) fn kind_from_string(s: &str, deprecated: bool) -> Result<i32> {
    (0..=5)
        .find(|k| {
            if deprecated {
                kind_deprecated_string(*k) == s
            } else {
                kind_string(*k) == s
            }
        })
        .ok_or_else(|| {
            Error::eval(format!(
                "unknown span kind {}string \"{s}\"",
                if deprecated { "deprecated " } else { "" }
            ))
        })
}

/// pdata's `Metric.Type()` numbering (`METRIC_DATA_TYPE_*`).
pub(super) fn metric_type(metric: &Metric) -> i64 {
    match metric.data {
        None => 0,
        Some(Data::Gauge(_)) => 1,
        Some(Data::Sum(_)) => 2,
        Some(Data::Histogram(_)) => 3,
        Some(Data::ExponentialHistogram(_)) => 4,
        Some(Data::Summary(_)) => 5,
    }
}

pub(super) fn u64_list(values: &[u64]) -> Value<'static> {
    Value::List(Cow::Owned(
        values
            .iter()
            .map(|v| AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(*v as i64),
                ),
            })
            .collect(),
    ))
}

pub(super) fn f64_list(values: &[f64]) -> Value<'static> {
    Value::List(Cow::Owned(
        values
            .iter()
            .map(|v| AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::DoubleValue(*v),
                ),
            })
            .collect(),
    ))
}

pub(super) fn list_of<T>(
    value: &Value<'_>,
    what: &str,
    each: impl Fn(&Value<'_>) -> Option<T>,
) -> Result<Vec<T>> {
    let Value::List(items) = value else {
        return Err(Error::eval(format!(
            "{what} must be set to a slice, got {}",
            value.type_name()
        )));
    };
    items
        .iter()
        .map(|item| {
            let v = Value::from_any(item);
            each(&v).ok_or_else(|| Error::eval(format!("{what} cannot hold a {}", v.type_name())))
        })
        .collect()
}

pub(super) fn object(o: Object<'_>) -> Value<'_> {
    Value::Object(Box::new(o))
}

pub(super) fn wrong_type(what: &str, expected: &str, found: &Value<'_>) -> Error {
    Error::eval(format!(
        "{what} must be set to a {expected}, got {}",
        found.type_name()
    ))
}

pub(super) fn wrong_object(what: &str, expected: &str, found: &Object<'_>) -> Error {
    Error::eval(format!(
        "{what} must be set to a {expected}, got {}",
        found.type_name()
    ))
}
