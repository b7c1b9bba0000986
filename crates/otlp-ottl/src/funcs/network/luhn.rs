//! `IsValidLuhn`: the Luhn checksum of a number given as digits or as an int.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::value::{Value, format_go_float};

/// The text otelcol's `StringLikeGetter` makes of a value: strings as they are, numbers and
/// booleans in Go's formatting, bytes in hex, maps and lists as JSON; `None` for nil.
fn string_like<'v>(value: &'v Value<'_>) -> Option<Cow<'v, str>> {
    match value {
        Value::Nil => None,
        Value::Str(s) => Some(Cow::Borrowed(s.as_ref())),
        Value::Double(d) => Some(Cow::Owned(format_go_float(*d))),
        Value::Bytes(b) => Some(Cow::Owned(hex::encode(b))),
        other => Some(other.as_string()),
    }
}

/// `IsValidLuhn(target)`: the Luhn checksum of a number written as digits (spaces ignored) or
/// given as an int.
pub(super) fn is_valid_luhn(value: Value<'_>) -> Result<Value<'_>> {
    let text =
        string_like(&value).ok_or_else(|| Error::eval("IsValidLuhn: invalid input: <nil>"))?;
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b' ').collect();
    let Some((&check, rest)) = digits.split_last() else {
        return Ok(Value::Bool(false));
    };
    let digit = |b: u8| -> Result<u32> {
        if b.is_ascii_digit() {
            Ok(u32::from(b - b'0'))
        } else {
            Err(Error::eval(format!(
                "IsValidLuhn: strconv.Atoi: parsing {:?}: invalid syntax",
                char::from(b)
            )))
        }
    };
    let check = digit(check)?;
    let mut sum = 0u32;
    for (i, b) in rest.iter().rev().enumerate() {
        let mut n = digit(*b)?;
        if i % 2 == 0 {
            n *= 2;
            if n > 9 {
                n -= 9;
            }
        }
        sum += n;
    }
    Ok(Value::Bool((10 - sum % 10) % 10 == check))
}
