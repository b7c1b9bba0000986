//! The OTLP/JSON of an encoded `AnyValue` that nests an array or a key-value list, written from its protobuf
//! bytes as they are read. Decoding it with prost first allocated a vector for each list and a string for each
//! string in it, for every such value of every span.
//!
//! The text is the one [`write_nested`](super::write_nested) writes for the value prost decodes from the same
//! bytes. Only the plain shape is read here: each message sets each of its fields at most once. Protobuf lets a
//! sender repeat a field (prost then keeps the last scalar, merges a repeated message, and takes the last of a
//! oneof's fields); bytes that do, bytes prost refuses, and values nested deeper than [`IN_PLACE_DEPTH`] are
//! declined, and the caller hands them to prost, whose answer (or error) they always got.

use std::fmt::Write as _;

use otlp_model::wire::{Fields, RECURSION_LIMIT, Value};

use super::{base64_encode, write_double, write_string};

/// Values nested deeper than this are left to prost. Its recursion limit counts messages (100 below the value
/// decoded), two or three to a level of nesting, and decides whether such a value is read at all; 32 levels stay
/// within it whatever their kind, so what is written here is never something prost would refuse as too deep.
pub(crate) const IN_PLACE_DEPTH: usize = 32;

/// Appends the OTLP/JSON of the `AnyValue` encoded in `bytes` to `out` and says whether it could: on `false`
/// the bytes are not in the plain shape, and `out` holds a partial text for the caller to discard.
pub(crate) fn write_encoded(out: &mut String, bytes: &[u8]) -> bool {
    any_value(out, bytes, 0).is_some()
}

/// `AnyValue`: at most one of its eight value fields.
fn any_value(out: &mut String, bytes: &[u8], depth: usize) -> Option<()> {
    if depth > IN_PLACE_DEPTH {
        return None;
    }
    let mut value = None;
    for field in Fields::new(bytes, RECURSION_LIMIT) {
        let (number, raw) = field.ok()?;
        if (1..=8).contains(&number) && value.replace((number, raw)).is_some() {
            return None;
        }
    }
    match value {
        None => out.push_str("{}"),
        Some((1, Value::Len(text))) => {
            out.push_str("{\"stringValue\":");
            write_string(out, utf8(text)?);
            out.push('}');
        }
        Some((2, Value::Varint(flag))) => out.push_str(if flag != 0 {
            "{\"boolValue\":true}"
        } else {
            "{\"boolValue\":false}"
        }),
        Some((3, Value::Varint(int))) => write!(out, "{{\"intValue\":\"{}\"}}", int as i64).ok()?,
        Some((4, Value::Fixed64(bits))) => {
            out.push_str("{\"doubleValue\":");
            write_double(out, f64::from_bits(bits));
            out.push('}');
        }
        Some((5, Value::Len(array))) => list(
            out,
            array,
            "{\"arrayValue\":{\"values\":[",
            |out, element| any_value(out, element, depth + 1),
        )?,
        Some((6, Value::Len(entries))) => {
            list(
                out,
                entries,
                "{\"kvlistValue\":{\"values\":[",
                |out, entry| key_value(out, entry, depth + 1),
            )?;
        }
        Some((7, Value::Len(bytes))) => {
            out.push_str("{\"bytesValue\":\"");
            base64_encode(out, bytes);
            out.push_str("\"}");
        }
        Some((8, Value::Varint(index))) => {
            write!(out, "{{\"stringValueStrindex\":{}}}", index as i32).ok()?;
        }
        // A wire type prost refuses for the field.
        Some(_) => return None,
    }
    Some(())
}

/// `ArrayValue` or `KeyValueList` (`opening` says which): each occurrence of field 1, written by `item`.
fn list(
    out: &mut String,
    bytes: &[u8],
    opening: &str,
    item: impl Fn(&mut String, &[u8]) -> Option<()>,
) -> Option<()> {
    out.push_str(opening);
    let mut first = true;
    for field in Fields::new(bytes, RECURSION_LIMIT) {
        match field.ok()? {
            (1, Value::Len(encoded)) => {
                if !std::mem::take(&mut first) {
                    out.push(',');
                }
                item(out, encoded)?;
            }
            (1, _) => return None,
            _ => {}
        }
    }
    out.push_str("]}}");
    Some(())
}

/// `KeyValue`: key, value and `key_strindex`, each at most once.
fn key_value(out: &mut String, bytes: &[u8], depth: usize) -> Option<()> {
    let (mut key, mut value, mut strindex) = (None, None, None);
    for field in Fields::new(bytes, RECURSION_LIMIT) {
        let once = match field.ok()? {
            (1, Value::Len(text)) => key.replace(text).is_none(),
            (2, Value::Len(encoded)) => value.replace(encoded).is_none(),
            (3, Value::Varint(index)) => strindex.replace(index as i32).is_none(),
            (1..=3, _) => false,
            _ => true,
        };
        if !once {
            return None;
        }
    }
    out.push_str("{\"key\":");
    write_string(out, utf8(key.unwrap_or_default())?);
    if let Some(encoded) = value {
        out.push_str(",\"value\":");
        any_value(out, encoded, depth)?;
    }
    if let Some(index) = strindex.filter(|&index| index != 0) {
        write!(out, ",\"keyStrindex\":{index}").ok()?;
    }
    out.push('}');
    Some(())
}

fn utf8(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests;
