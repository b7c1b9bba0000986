//! The values OTTL expressions produce. Strings, bytes, maps and lists borrow from the telemetry
//! item while a condition is evaluated, so reading `name` or `attributes["k"]` copies nothing.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Status;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};

use crate::error::{Error, Result};

/// A value produced by an OTTL expression.
///
/// `Map` and `List` use the OTLP wire types (`KeyValue`, `AnyValue`) so values move between
/// expressions and telemetry without conversion. Times are nanoseconds since the Unix epoch
/// (UTC), durations nanoseconds, as Go's `time.Time` and `time.Duration` are in otelcol.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `nil`, a missing map key, an empty `AnyValue`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer (every OTTL integer is one).
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A byte slice (`0x...` literals, bytes attributes).
    Bytes(Cow<'a, [u8]>),
    /// A map (attributes, kvlist values, map literals), in insertion order.
    Map(Cow<'a, [KeyValue]>),
    /// A list (array values, list literals).
    List(Cow<'a, [AnyValue]>),
    /// A trace ID (`trace_id`, `TraceID(...)`).
    TraceId([u8; 16]),
    /// A span ID (`span_id`, `SpanID(...)`).
    SpanId([u8; 8]),
    /// A point in time, nanoseconds since the Unix epoch.
    Time(i128),
    /// A duration in nanoseconds.
    Duration(i64),
    /// A structured part of an item that is not an attribute value (a status, the events of a
    /// span, the data points of a metric...).
    Object(Box<Object<'a>>),
}

/// Structured parts of telemetry that paths can read and copy whole.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Object<'a> {
    /// `resource`.
    Resource(Cow<'a, Resource>),
    /// `instrumentation_scope` / `scope`.
    Scope(Cow<'a, InstrumentationScope>),
    /// `status` of a span.
    Status(Cow<'a, Status>),
    /// `events` of a span.
    Events(Cow<'a, [Event]>),
    /// `links` of a span.
    Links(Cow<'a, [Link]>),
    /// `exemplars` of a data point.
    Exemplars(Cow<'a, [Exemplar]>),
    /// `data_points` of a gauge or sum.
    NumberDataPoints(Cow<'a, [NumberDataPoint]>),
    /// `data_points` of a histogram.
    HistogramDataPoints(Cow<'a, [HistogramDataPoint]>),
    /// `data_points` of an exponential histogram.
    ExponentialHistogramDataPoints(Cow<'a, [ExponentialHistogramDataPoint]>),
    /// `data_points` of a summary.
    SummaryDataPoints(Cow<'a, [SummaryDataPoint]>),
    /// `positive` / `negative` buckets of an exponential histogram point.
    Buckets(Cow<'a, Buckets>),
    /// `quantile_values` of a summary point.
    QuantileValues(Cow<'a, [ValueAtQuantile]>),
}

impl Object<'_> {
    fn into_owned(self) -> Object<'static> {
        match self {
            Object::Resource(v) => Object::Resource(Cow::Owned(v.into_owned())),
            Object::Scope(v) => Object::Scope(Cow::Owned(v.into_owned())),
            Object::Status(v) => Object::Status(Cow::Owned(v.into_owned())),
            Object::Events(v) => Object::Events(Cow::Owned(v.into_owned())),
            Object::Links(v) => Object::Links(Cow::Owned(v.into_owned())),
            Object::Exemplars(v) => Object::Exemplars(Cow::Owned(v.into_owned())),
            Object::NumberDataPoints(v) => Object::NumberDataPoints(Cow::Owned(v.into_owned())),
            Object::HistogramDataPoints(v) => {
                Object::HistogramDataPoints(Cow::Owned(v.into_owned()))
            }
            Object::ExponentialHistogramDataPoints(v) => {
                Object::ExponentialHistogramDataPoints(Cow::Owned(v.into_owned()))
            }
            Object::SummaryDataPoints(v) => Object::SummaryDataPoints(Cow::Owned(v.into_owned())),
            Object::Buckets(v) => Object::Buckets(Cow::Owned(v.into_owned())),
            Object::QuantileValues(v) => Object::QuantileValues(Cow::Owned(v.into_owned())),
        }
    }

    /// The number of elements, for the list-like objects.
    pub fn len(&self) -> Option<usize> {
        Some(match self {
            Object::Events(v) => v.len(),
            Object::Links(v) => v.len(),
            Object::Exemplars(v) => v.len(),
            Object::NumberDataPoints(v) => v.len(),
            Object::HistogramDataPoints(v) => v.len(),
            Object::ExponentialHistogramDataPoints(v) => v.len(),
            Object::SummaryDataPoints(v) => v.len(),
            Object::QuantileValues(v) => v.len(),
            Object::Resource(_) | Object::Scope(_) | Object::Status(_) | Object::Buckets(_) => {
                return None;
            }
        })
    }

    /// Whether a list-like object has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Object::Resource(_) => "resource",
            Object::Scope(_) => "instrumentation scope",
            Object::Status(_) => "status",
            Object::Events(_) => "span event list",
            Object::Links(_) => "span link list",
            Object::Exemplars(_) => "exemplar list",
            Object::NumberDataPoints(_)
            | Object::HistogramDataPoints(_)
            | Object::ExponentialHistogramDataPoints(_)
            | Object::SummaryDataPoints(_) => "data point list",
            Object::Buckets(_) => "buckets",
            Object::QuantileValues(_) => "quantile value list",
        }
    }
}

impl<'a> Value<'a> {
    /// A string value borrowing `s`.
    pub fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    /// An owned string value.
    pub fn string(s: impl Into<String>) -> Value<'static> {
        Value::Str(Cow::Owned(s.into()))
    }

    /// The value as it appears in an `AnyValue`, borrowing.
    pub fn from_any(value: &'a AnyValue) -> Self {
        match &value.value {
            None | Some(any_value::Value::StringValueStrindex(_)) => Value::Nil,
            Some(any_value::Value::StringValue(s)) => Value::Str(Cow::Borrowed(s)),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
            Some(any_value::Value::IntValue(i)) => Value::Int(*i),
            Some(any_value::Value::DoubleValue(d)) => Value::Double(*d),
            Some(any_value::Value::BytesValue(b)) => Value::Bytes(Cow::Borrowed(b)),
            Some(any_value::Value::ArrayValue(a)) => Value::List(Cow::Borrowed(&a.values)),
            Some(any_value::Value::KvlistValue(m)) => Value::Map(Cow::Borrowed(&m.values)),
        }
    }

    /// The value of an optional `AnyValue` (a missing one is `Nil`).
    pub fn from_opt_any(value: Option<&'a AnyValue>) -> Self {
        value.map_or(Value::Nil, Value::from_any)
    }

    /// The value as it appears in an `AnyValue`, taking ownership.
    pub fn from_any_owned(value: AnyValue) -> Value<'static> {
        match value.value {
            None | Some(any_value::Value::StringValueStrindex(_)) => Value::Nil,
            Some(any_value::Value::StringValue(s)) => Value::Str(Cow::Owned(s)),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(b),
            Some(any_value::Value::IntValue(i)) => Value::Int(i),
            Some(any_value::Value::DoubleValue(d)) => Value::Double(d),
            Some(any_value::Value::BytesValue(b)) => Value::Bytes(Cow::Owned(b)),
            Some(any_value::Value::ArrayValue(a)) => Value::List(Cow::Owned(a.values)),
            Some(any_value::Value::KvlistValue(m)) => Value::Map(Cow::Owned(m.values)),
        }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Double(d) => Value::Double(d),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
            Value::Map(m) => Value::Map(Cow::Owned(m.into_owned())),
            Value::List(l) => Value::List(Cow::Owned(l.into_owned())),
            Value::TraceId(id) => Value::TraceId(id),
            Value::SpanId(id) => Value::SpanId(id),
            Value::Time(t) => Value::Time(t),
            Value::Duration(d) => Value::Duration(d),
            Value::Object(o) => Value::Object(Box::new(o.into_owned())),
        }
    }

    /// The type's name as error messages show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Map(_) => "map",
            Value::List(_) => "slice",
            Value::TraceId(_) => "trace ID",
            Value::SpanId(_) => "span ID",
            Value::Time(_) => "time",
            Value::Duration(_) => "duration",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Whether this is `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an OTLP attribute value, or an error for types an attribute cannot hold
    /// (times, durations, objects). IDs become bytes, `Nil` an empty value.
    pub fn into_any_value(self) -> Result<AnyValue> {
        let value = match self {
            Value::Nil => None,
            Value::Bool(b) => Some(any_value::Value::BoolValue(b)),
            Value::Int(i) => Some(any_value::Value::IntValue(i)),
            Value::Double(d) => Some(any_value::Value::DoubleValue(d)),
            Value::Str(s) => Some(any_value::Value::StringValue(s.into_owned())),
            Value::Bytes(b) => Some(any_value::Value::BytesValue(b.into_owned())),
            Value::Map(m) => Some(any_value::Value::KvlistValue(KeyValueList {
                values: m.into_owned(),
            })),
            Value::List(l) => Some(any_value::Value::ArrayValue(ArrayValue {
                values: l.into_owned(),
            })),
            Value::TraceId(id) => Some(any_value::Value::BytesValue(id.to_vec())),
            Value::SpanId(id) => Some(any_value::Value::BytesValue(id.to_vec())),
            other @ (Value::Time(_) | Value::Duration(_) | Value::Object(_)) => {
                return Err(Error::eval(format!(
                    "a {} cannot be stored as an attribute value; convert it first (for a time, UnixNano(...))",
                    other.type_name()
                )));
            }
        };
        Ok(AnyValue { value })
    }

    /// pdata's `Value.AsString`: strings as they are, numbers and bools in Go's formatting,
    /// bytes in base64, maps and lists as JSON, nil as `""`.
    pub fn as_string(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s),
            Value::Nil => Cow::Borrowed(""),
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Double(d) => Cow::Owned(format_go_float(*d)),
            Value::Bytes(b) => Cow::Owned(base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Map(_) | Value::List(_) => {
                let mut out = String::new();
                write_json(&mut out, self);
                Cow::Owned(out)
            }
            Value::TraceId(id) => Cow::Owned(hex::encode(id)),
            Value::SpanId(id) => Cow::Owned(hex::encode(id)),
            Value::Time(t) => Cow::Owned(crate::funcs::time::format_rfc3339(*t)),
            Value::Duration(d) => Cow::Owned(crate::funcs::time::format_go_duration(*d)),
            Value::Object(o) => Cow::Owned(format!("<{}>", o.type_name())),
        }
    }
}

/// `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that round-trips, never an
/// exponent.
pub(crate) fn format_go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

/// A float as Go's `encoding/json` writes it: plain decimals, exponent form outside
/// `[1e-6, 1e21)` with a signed exponent.
fn format_json_float(v: f64) -> String {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let formatted = format!("{v:e}");
        match formatted.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => formatted,
        }
    } else {
        format!("{v}")
    }
}

/// The JSON encoding otelcol uses for maps and lists in strings: map keys sorted (Go marshals
/// `map[string]any` in key order), bytes in base64, empty values as `null`.
pub(crate) fn write_json(out: &mut String, value: &Value<'_>) {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(d) => {
            if d.is_finite() {
                out.push_str(&format_json_float(*d));
            } else {
                out.push_str("null");
            }
        }
        Value::Str(s) => write_json_string(out, s),
        Value::Bytes(b) => {
            write_json_string(out, &base64::engine::general_purpose::STANDARD.encode(b));
        }
        Value::Map(entries) => {
            let mut sorted: Vec<&KeyValue> = Vec::with_capacity(entries.len());
            for kv in entries.iter() {
                // A repeated key keeps its first value, as pdata's map does.
                if !sorted.iter().any(|seen| seen.key == kv.key) {
                    sorted.push(kv);
                }
            }
            sorted.sort_by(|a, b| a.key.cmp(&b.key));
            out.push('{');
            for (i, kv) in sorted.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, &kv.key);
                out.push(':');
                write_json(out, &Value::from_opt_any(kv.value.as_ref()));
            }
            out.push('}');
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, &Value::from_any(item));
            }
            out.push(']');
        }
        other => write_json_string(out, &other.as_string()),
    }
}

fn write_json_string(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// Sets `key` in an attribute list: the first entry with that key is replaced, or one is added.
pub(crate) fn put(map: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match map.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => map.push(key_value(key, value)),
    }
}

/// A `KeyValue` with only key and value set.
pub fn key_value(key: impl Into<String>, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        ..Default::default()
    }
}

/// An `AnyValue` holding a string.
pub fn string_value(s: impl Into<String>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    }
}

/// A JSON value as an `AnyValue`, as otelcol's JSON decoding makes it: numbers are doubles, objects are maps in
/// their keys' order, `null` is an empty value.
pub fn json_value(value: serde_json::Value) -> AnyValue {
    let value = match value {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(b) => Some(any_value::Value::BoolValue(b)),
        serde_json::Value::Number(n) => n.as_f64().map(any_value::Value::DoubleValue),
        serde_json::Value::String(s) => Some(any_value::Value::StringValue(s)),
        serde_json::Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.into_iter().map(json_value).collect(),
        })),
        serde_json::Value::Object(object) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: object
                .into_iter()
                .map(|(k, v)| key_value(k, json_value(v)))
                .collect(),
        })),
    };
    AnyValue { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_sorts_keys_and_formats_like_go() {
        let map = vec![
            key_value(
                "b",
                AnyValue {
                    value: Some(any_value::Value::DoubleValue(1.0)),
                },
            ),
            key_value("a", string_value("x")),
            key_value(
                "c",
                AnyValue {
                    value: Some(any_value::Value::BytesValue(vec![1, 2])),
                },
            ),
        ];
        assert_eq!(
            Value::Map(Cow::Owned(map)).as_string(),
            r#"{"a":"x","b":1,"c":"AQI="}"#
        );
        assert_eq!(format_json_float(1e21), "1e+21");
        assert_eq!(format_json_float(1e-7), "1e-7");
        assert_eq!(format_go_float(0.5), "0.5");
        assert_eq!(format_go_float(3.0), "3");
    }
}
