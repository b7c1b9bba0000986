//! One pass over an encoded export request that checks it the way prost's decoder would, counts its items, and
//! finds the items [`OtlpRequest::remove_invalid`](crate::OtlpRequest::remove_invalid) would remove, without
//! building anything.

use super::reader::{Fields, RECURSION_LIMIT, Value, WireError, varint};
use super::schema::{self, Kind, Schema};
use super::short::{key_then_value, single_field};
use crate::Signal;

/// What a pass over an encoded request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scan {
    /// Spans, data points or log records, as [`OtlpRequest::item_count`](crate::OtlpRequest::item_count)
    /// counts them after decoding.
    pub items: usize,
    /// Items [`OtlpRequest::remove_invalid`](crate::OtlpRequest::remove_invalid) would remove.
    pub invalid: usize,
}

/// Checks `bytes` as an `Export*ServiceRequest` of `signal` and counts its items. An `Err` means prost would
/// refuse the same bytes; `Ok` means prost decodes them (and the counts are those of the decoded request).
pub fn scan(signal: Signal, bytes: &[u8]) -> Result<Scan, WireError> {
    let mut scan = Scan::default();
    // The request is decoded at the full limit; each level of nesting uses one.
    for field in Fields::new(bytes, RECURSION_LIMIT) {
        match field? {
            (1, Value::Len(resource)) => {
                scan_resource(signal, resource, RECURSION_LIMIT, &mut scan)?
            }
            (1, _) => return Err(WireError::WrongWireType { field: 1 }),
            (_, _) => {}
        }
    }
    Ok(scan)
}

/// Checks that a nested message may be entered at `depth` (the depth its parent's fields are read at).
#[inline]
fn enter(depth: u32) -> Result<u32, WireError> {
    depth
        .checked_sub(1)
        .filter(|_| depth > 0)
        .ok_or(WireError::TooDeep)
}

/// `ResourceSpans` / `ResourceMetrics` / `ResourceLogs`: the same three fields for every signal.
fn scan_resource(
    signal: Signal,
    bytes: &[u8],
    depth: u32,
    scan: &mut Scan,
) -> Result<(), WireError> {
    let depth = enter(depth)?;
    for field in Fields::new(bytes, depth) {
        match field? {
            (1, value) => check(1, value, Kind::Msg(&schema::RESOURCE), depth)?,
            (2, Value::Len(scope)) => scan_scope(signal, scope, depth, scan)?,
            (2, _) => return Err(WireError::WrongWireType { field: 2 }),
            (3, value) => check(3, value, Kind::Str, depth)?,
            (_, _) => unknown(depth)?,
        }
    }
    Ok(())
}

fn scan_scope(signal: Signal, bytes: &[u8], depth: u32, scan: &mut Scan) -> Result<(), WireError> {
    let depth = enter(depth)?;
    for field in Fields::new(bytes, depth) {
        match field? {
            (1, value) => check(1, value, Kind::Msg(&schema::SCOPE), depth)?,
            (2, Value::Len(item)) => match signal {
                Signal::Traces => scan_span(item, depth, scan)?,
                Signal::Logs => scan_log_record(item, depth, scan)?,
                Signal::Metrics => scan_metric(item, depth, scan)?,
            },
            (2, _) => return Err(WireError::WrongWireType { field: 2 }),
            (3, value) => check(3, value, Kind::Str, depth)?,
            (_, _) => unknown(depth)?,
        }
    }
    Ok(())
}

/// prost checks the recursion limit before skipping an unknown field.
#[inline]
fn unknown(depth: u32) -> Result<(), WireError> {
    if depth == 0 {
        Err(WireError::TooDeep)
    } else {
        Ok(())
    }
}

/// Checks one field's value against its declared kind, descending into messages.
#[inline]
fn check(field: u32, value: Value<'_>, kind: Kind, depth: u32) -> Result<(), WireError> {
    let wrong = || WireError::WrongWireType { field };
    match (kind, value) {
        (Kind::Varint, Value::Varint(_))
        | (Kind::Fixed64, Value::Fixed64(_))
        | (Kind::Fixed32, Value::Fixed32(_))
        | (Kind::Bytes, Value::Len(_))
        | (Kind::PackedFixed64, Value::Fixed64(_))
        | (Kind::PackedVarint, Value::Varint(_)) => Ok(()),
        (Kind::Str, Value::Len(bytes)) => utf8(field, bytes),
        (Kind::Msg(schema), Value::Len(bytes)) => validate(bytes, schema, enter(depth)?),
        (Kind::KeyValue, Value::Len(bytes)) => key_value(bytes, enter(depth)?),
        (Kind::AnyValue, Value::Len(bytes)) => any_value(bytes, enter(depth)?),
        (Kind::PackedFixed64, Value::Len(bytes)) => {
            if bytes.len() % 8 == 0 {
                Ok(())
            } else {
                Err(WireError::Truncated)
            }
        }
        (Kind::PackedVarint, Value::Len(bytes)) => {
            let mut at = 0;
            while at < bytes.len() {
                varint(bytes, &mut at)?;
            }
            Ok(())
        }
        _ => Err(wrong()),
    }
}

/// Checks a whole message (its fields read at `depth`).
fn validate(bytes: &[u8], schema: &Schema, depth: u32) -> Result<(), WireError> {
    for field in Fields::new(bytes, depth) {
        let (number, value) = field?;
        match schema.kind(number) {
            Some(kind) => check(number, value, kind, depth)?,
            None => unknown(depth)?,
        }
    }
    Ok(())
}

/// [`validate`] of a `KeyValue` (`key` string, `value` AnyValue, `key_strindex`), without schema lookups.
/// Inlined into the loops over attributes, as the value's [`any_value`] is into it: a call for each of the
/// two was a fifth of the scan.
#[inline(always)]
fn key_value(bytes: &[u8], depth: u32) -> Result<(), WireError> {
    // Nearly every attribute is a key and then a value, each under 128 bytes, which this reads by its shape.
    if let Some((key, value)) = key_then_value(bytes) {
        utf8(1, key)?;
        return any_value(value, enter(depth)?);
    }
    key_value_fields(bytes, depth)
}

#[inline(never)]
fn key_value_fields(bytes: &[u8], depth: u32) -> Result<(), WireError> {
    for field in Fields::new(bytes, depth) {
        let (number, value) = field?;
        key_value_field(number, value, depth)?;
    }
    Ok(())
}

#[inline(always)]
fn key_value_field(number: u32, value: Value<'_>, depth: u32) -> Result<(), WireError> {
    match (number, value) {
        (1, Value::Len(key)) => utf8(1, key),
        (2, Value::Len(value)) => any_value(value, enter(depth)?),
        (3, Value::Varint(_)) => Ok(()),
        (field @ 1..=3, _) => Err(WireError::WrongWireType { field }),
        _ => unknown(depth),
    }
}

/// [`validate`] of an `AnyValue` (a oneof of string, bool, int, double, array, key-value list, bytes and
/// string index), without schema lookups.
#[inline(always)]
fn any_value(bytes: &[u8], depth: u32) -> Result<(), WireError> {
    // One field, the shape of nearly every value, read without the loop.
    if let Some((number, value)) = single_field(bytes) {
        return any_value_field(number, value, depth);
    }
    any_value_fields(bytes, depth)
}

#[inline(never)]
fn any_value_fields(bytes: &[u8], depth: u32) -> Result<(), WireError> {
    for field in Fields::new(bytes, depth) {
        let (number, value) = field?;
        any_value_field(number, value, depth)?;
    }
    Ok(())
}

#[inline(always)]
fn any_value_field(number: u32, value: Value<'_>, depth: u32) -> Result<(), WireError> {
    match (number, value) {
        (1, Value::Len(text)) => utf8(1, text),
        (2 | 3 | 8, Value::Varint(_)) | (4, Value::Fixed64(_)) | (7, Value::Len(_)) => Ok(()),
        (5, Value::Len(array)) => validate(array, &schema::ARRAY_VALUE, enter(depth)?),
        (6, Value::Len(list)) => validate(list, &schema::KEY_VALUE_LIST, enter(depth)?),
        (field @ 1..=8, _) => Err(WireError::WrongWireType { field }),
        _ => unknown(depth),
    }
}

/// Like [`validate`], and hands each declared field's value to `seen` after checking it.
fn validate_with<'a>(
    bytes: &'a [u8],
    schema: &Schema,
    depth: u32,
    mut seen: impl FnMut(u32, Value<'a>),
) -> Result<(), WireError> {
    for field in Fields::new(bytes, depth) {
        let (number, value) = field?;
        match schema.kind(number) {
            Some(kind) => {
                check(number, value, kind, depth)?;
                seen(number, value);
            }
            None => unknown(depth)?,
        }
    }
    Ok(())
}

fn scan_span(bytes: &[u8], depth: u32, scan: &mut Scan) -> Result<(), WireError> {
    let depth = enter(depth)?;
    // Repeated scalar fields: the last occurrence wins, as when decoding.
    let (mut trace_id, mut span_id, mut parent): (&[u8], &[u8], &[u8]) = (&[], &[], &[]);
    // Spans are most of a trace request's fields: matched by number and wire type at once, not through a
    // schema lookup and then a check of the kind found.
    for field in Fields::new(bytes, depth) {
        match field? {
            (1, Value::Len(id)) => trace_id = id,
            (2, Value::Len(id)) => span_id = id,
            (4, Value::Len(id)) => parent = id,
            (number @ (3 | 5), Value::Len(text)) => utf8(number, text)?,
            (6 | 10 | 12 | 14, Value::Varint(_))
            | (7 | 8, Value::Fixed64(_))
            | (16, Value::Fixed32(_)) => {}
            (9, Value::Len(attribute)) => key_value(attribute, enter(depth)?)?,
            (11, Value::Len(event)) => scan_event(event, enter(depth)?)?,
            (13, Value::Len(link)) => validate(link, &schema::LINK, enter(depth)?)?,
            (15, Value::Len(status)) => validate(status, &schema::STATUS, enter(depth)?)?,
            (field @ 1..=16, _) => return Err(WireError::WrongWireType { field }),
            (_, _) => unknown(depth)?,
        }
    }
    scan.items += 1;
    let valid = trace_id.len() == 16
        && trace_id.iter().any(|b| *b != 0)
        && span_id.len() == 8
        && span_id.iter().any(|b| *b != 0)
        && (parent.is_empty() || parent.len() == 8);
    scan.invalid += usize::from(!valid);
    Ok(())
}

/// [`validate`] of a span's `Event` (time, name, attributes, dropped count), matched like a span's fields.
fn scan_event(bytes: &[u8], depth: u32) -> Result<(), WireError> {
    for field in Fields::new(bytes, depth) {
        match field? {
            (1, Value::Fixed64(_)) | (4, Value::Varint(_)) => {}
            (2, Value::Len(name)) => utf8(2, name)?,
            (3, Value::Len(attribute)) => key_value(attribute, enter(depth)?)?,
            (field @ 1..=4, _) => return Err(WireError::WrongWireType { field }),
            (_, _) => unknown(depth)?,
        }
    }
    Ok(())
}

#[inline(always)]
fn utf8(field: u32, text: &[u8]) -> Result<(), WireError> {
    if otlp_simd::utf8::is_valid(text) {
        Ok(())
    } else {
        Err(WireError::InvalidUtf8 { field })
    }
}

fn scan_log_record(bytes: &[u8], depth: u32, scan: &mut Scan) -> Result<(), WireError> {
    let depth = enter(depth)?;
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    validate_with(
        bytes,
        &schema::LOG_RECORD,
        depth,
        |field, value| match field {
            9 => trace_id = value.bytes(),
            10 => span_id = value.bytes(),
            _ => {}
        },
    )?;
    scan.items += 1;
    let valid =
        (trace_id.is_empty() || trace_id.len() == 16) && (span_id.is_empty() || span_id.len() == 8);
    scan.invalid += usize::from(!valid);
    Ok(())
}

fn scan_metric(bytes: &[u8], depth: u32, scan: &mut Scan) -> Result<(), WireError> {
    let depth = enter(depth)?;
    // `data` is a oneof: a later variant replaces an earlier one, the same variant again merges into it.
    let mut data: Option<(u32, usize)> = None;
    validate_with(bytes, &schema::METRIC, depth, |field, value| {
        if matches!(field, 5 | 7 | 9 | 10 | 11) {
            let points = Fields::new(value.bytes(), depth)
                .filter(|f| matches!(f, Ok((1, _))))
                .count();
            data = match data {
                Some((variant, count)) if variant == field => Some((variant, count + points)),
                _ => Some((field, points)),
            };
        }
    })?;
    scan.items += data.map_or(0, |(_, points)| points);
    Ok(())
}
