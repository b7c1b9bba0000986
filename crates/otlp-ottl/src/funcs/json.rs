//! `ParseJSON(target)`: a JSON object becomes a map, an array a list; numbers are doubles, as
//! otelcol's JSON decoding makes them.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValueList, any_value};

use super::{FunctionDef, TARGET, expect_string, unary, unary_def};
use crate::error::{Error, Result};
use crate::value::{Value, key_value};

pub(crate) const FUNCTIONS: &[FunctionDef] =
    &[unary_def("ParseJSON", TARGET, |a| unary(a, parse_json))];

fn parse_json(value: Value<'_>) -> Result<Value<'_>> {
    let text = expect_string(value, "ParseJSON", "target")?;
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::eval(format!("ParseJSON: invalid JSON: {e}")))?;
    match parsed {
        serde_json::Value::Object(object) => Ok(Value::Map(Cow::Owned(
            object
                .into_iter()
                .map(|(k, v)| key_value(k, to_any(v)))
                .collect(),
        ))),
        serde_json::Value::Array(items) => Ok(Value::List(Cow::Owned(
            items.into_iter().map(to_any).collect(),
        ))),
        other => Err(Error::eval(format!(
            "ParseJSON: the document must be an object or an array, got {}",
            match other {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                _ => "a string",
            }
        ))),
    }
}

fn to_any(value: serde_json::Value) -> AnyValue {
    let value = match value {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(b) => Some(any_value::Value::BoolValue(b)),
        serde_json::Value::Number(n) => n.as_f64().map(any_value::Value::DoubleValue),
        serde_json::Value::String(s) => Some(any_value::Value::StringValue(s)),
        serde_json::Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.into_iter().map(to_any).collect(),
        })),
        serde_json::Value::Object(object) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: object
                .into_iter()
                .map(|(k, v)| key_value(k, to_any(v)))
                .collect(),
        })),
    };
    AnyValue { value }
}
