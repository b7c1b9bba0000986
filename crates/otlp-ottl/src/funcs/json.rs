//! `ParseJSON(target)`: a JSON object becomes a map, an array a list; numbers are doubles, as
//! otelcol's JSON decoding makes them.

use std::borrow::Cow;

use super::{FunctionDef, TARGET, expect_string, unary, unary_def};
use crate::error::{Error, Result};
use crate::value::{Value, json_value, key_value};

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
                .map(|(k, v)| key_value(k, json_value(v)))
                .collect(),
        ))),
        serde_json::Value::Array(items) => Ok(Value::List(Cow::Owned(
            items.into_iter().map(json_value).collect(),
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
