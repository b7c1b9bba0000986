//! Type conversions: `Int`, `Double`, `String`, `Bool`, `TraceID`, `SpanID`.

use std::borrow::Cow;

use super::{FunctionDef, ParamKind, VALUE, required, unary, unary_def};
use crate::error::{Error, Result};
use crate::value::{Value, format_go_float, write_json};

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    unary_def("Int", VALUE, |a| unary(a, int)),
    unary_def("Double", VALUE, |a| unary(a, double)),
    unary_def("String", VALUE, |a| unary(a, string)),
    unary_def("Bool", VALUE, |a| unary(a, boolean)),
    unary_def("TraceID", &[required("bytes", ParamKind::Getter)], |a| {
        unary(a, trace_id)
    }),
    unary_def("SpanID", &[required("bytes", ParamKind::Getter)], |a| {
        unary(a, span_id)
    }),
];

/// `Int(value)`: doubles truncate toward zero, strings parse as base-10 integers, booleans are
/// 1 or 0; anything else (or a failed parse) is `nil`.
fn int(value: Value<'_>) -> Result<Value<'_>> {
    Ok(match value {
        Value::Int(i) => Value::Int(i),
        Value::Double(d) if d.is_finite() => Value::Int(d.trunc() as i64),
        Value::Bool(b) => Value::Int(i64::from(b)),
        Value::Str(s) => s.parse::<i64>().map_or(Value::Nil, Value::Int),
        _ => Value::Nil,
    })
}

/// `Double(value)`: strings parse as floats, booleans are 1 or 0, ints convert.
fn double(value: Value<'_>) -> Result<Value<'_>> {
    Ok(match value {
        Value::Double(d) => Value::Double(d),
        Value::Int(i) => Value::Double(i as f64),
        Value::Bool(b) => Value::Double(if b { 1.0 } else { 0.0 }),
        Value::Str(s) => parse_go_float(&s).map_or(Value::Nil, Value::Double),
        _ => Value::Nil,
    })
}

/// Go's `strconv.ParseFloat` spellings that Rust's parser also needs: `Inf`, `+Inf`, `infinity`.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().or_else(|| {
        let lower = s.to_ascii_lowercase();
        match lower.trim_start_matches('+') {
            "inf" | "infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        }
    })
}

/// `Bool(value)`: numbers are true when non-zero, strings parse with Go's `strconv.ParseBool`.
fn boolean(value: Value<'_>) -> Result<Value<'_>> {
    Ok(match value {
        Value::Bool(b) => Value::Bool(b),
        Value::Int(i) => Value::Bool(i != 0),
        Value::Double(d) => Value::Bool(d != 0.0),
        Value::Str(s) => match s.as_ref() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Value::Bool(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Value::Bool(false),
            _ => Value::Nil,
        },
        _ => Value::Nil,
    })
}

/// `String(value)`: strings unchanged, bytes and IDs as hex, maps and lists as JSON, numbers and
/// booleans in Go's formatting, `nil` stays `nil`.
fn string(value: Value<'_>) -> Result<Value<'_>> {
    Ok(match value {
        Value::Nil => Value::Nil,
        Value::Str(s) => Value::Str(s),
        Value::Bytes(b) => Value::Str(Cow::Owned(hex::encode(b))),
        Value::Int(i) => Value::Str(Cow::Owned(i.to_string())),
        Value::Double(d) => Value::Str(Cow::Owned(format_go_float(d))),
        Value::Bool(b) => Value::Str(Cow::Borrowed(if b { "true" } else { "false" })),
        map_or_list @ (Value::Map(_) | Value::List(_)) => {
            let mut out = String::new();
            write_json(&mut out, &map_or_list);
            Value::Str(Cow::Owned(out))
        }
        other => Value::Str(Cow::Owned(other.as_string().into_owned())),
    })
}

/// The bytes of an ID given as a bytes literal or a hex string.
fn id_bytes<const N: usize>(value: &Value<'_>, function: &str) -> Result<[u8; N]> {
    let bytes: Vec<u8> = match value {
        Value::Bytes(b) => b.to_vec(),
        Value::Str(s) => hex::decode(s.as_ref()).map_err(|_| {
            Error::eval(format!(
                "{function}: \"{s}\" is not hex; expected {} hex characters",
                N * 2
            ))
        })?,
        Value::TraceId(id) => id.to_vec(),
        Value::SpanId(id) => id.to_vec(),
        other => {
            return Err(Error::eval(format!(
                "{function}: expected bytes or a hex string, got {}",
                other.type_name()
            )));
        }
    };
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        Error::eval(format!(
            "{function}: expected {N} bytes ({} hex characters), got {} bytes",
            N * 2,
            bytes.len()
        ))
    })
}

fn trace_id(value: Value<'_>) -> Result<Value<'_>> {
    Ok(Value::TraceId(id_bytes::<16>(&value, "TraceID")?))
}

fn span_id(value: Value<'_>) -> Result<Value<'_>> {
    Ok(Value::SpanId(id_bytes::<8>(&value, "SpanID")?))
}
