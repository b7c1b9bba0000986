//! `Hex`: the lowercase hex of otelcol's byte view of a value.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::value::Value;

/// `Hex(value)`: the lowercase hex of otelcol's byte view of a value (strings as UTF-8, ints
/// and doubles as 8 big-endian bytes, booleans as one byte).
pub(super) fn hex_of(value: Value<'_>) -> Result<Value<'_>> {
    let text = match &value {
        Value::Nil => String::new(),
        Value::Str(s) => hex::encode(s.as_bytes()),
        Value::Bytes(b) => hex::encode(b),
        Value::Int(i) => hex::encode(i.to_be_bytes()),
        Value::Double(d) => hex::encode(d.to_bits().to_be_bytes()),
        Value::Bool(b) => hex::encode([u8::from(*b)]),
        other => {
            return Err(Error::eval(format!(
                "Hex: unsupported type: {}",
                other.type_name()
            )));
        }
    };
    Ok(Value::Str(Cow::Owned(text)))
}
