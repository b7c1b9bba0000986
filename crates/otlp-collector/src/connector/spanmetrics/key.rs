//! What tells series apart: a key of their dimensions' values, written into one reused buffer per span so that
//! a span of a known series allocates nothing, and what tells resources apart.

use super::aggregate::{SpanParts, kind_name, status_name};
use super::config::{Dimension, Settings};
use super::facts::Lookup;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

/// A series' or a resource's identity: its values, each with its length or type.
pub(super) type Key = Vec<u8>;

/// Writes the values of the common dimensions, the span's scope (when it is a dimension) and `dimensions`.
pub(super) fn write_common(
    key: &mut Key,
    settings: &Settings,
    parts: &SpanParts<'_>,
    lookup: &Lookup<'_>,
    dimensions: &[Dimension],
) {
    let common = settings.common;
    if common.service {
        write_str(key, parts.service);
    }
    if common.span_name {
        write_str(key, parts.span.name);
    }
    if common.kind {
        write_str(key, kind_name(parts.span.kind));
    }
    if common.status {
        write_str(key, status_name(parts.span.status));
    }
    if let Some(scope) = parts.scope {
        write_str(key, &scope.name);
        write_str(key, &scope.version);
    }
    write_dimensions(key, lookup, dimensions);
}

/// Writes each dimension's value: what is found, else its default, else a mark that it is missing.
pub(super) fn write_dimensions(key: &mut Key, lookup: &Lookup<'_>, dimensions: &[Dimension]) {
    for dimension in dimensions {
        match (lookup.find(&dimension.name), &dimension.default) {
            (Some(value), _) => value.write(key),
            (None, Some(default)) => {
                key.push(b's');
                write_str(key, default);
            }
            (None, None) => key.push(b'-'),
        }
    }
}

pub(super) fn write_str(key: &mut Key, text: &str) {
    key.extend_from_slice(&(text.len() as u64).to_le_bytes());
    key.extend_from_slice(text.as_bytes());
}

/// A value, told apart by its type: the int 200 and the string "200" are different series, as their attributes
/// differ.
pub(super) fn write_value(key: &mut Key, value: &AnyValue) {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => {
            key.push(b's');
            write_str(key, s);
        }
        Some(any_value::Value::IntValue(i)) => {
            key.push(b'i');
            key.extend_from_slice(&i.to_le_bytes());
        }
        Some(any_value::Value::DoubleValue(d)) => {
            key.push(b'd');
            key.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        Some(any_value::Value::BoolValue(b)) => key.extend_from_slice(&[b'b', u8::from(*b)]),
        _ => {
            key.push(b'p');
            let encoded = value.encode_to_vec();
            key.extend_from_slice(&(encoded.len() as u64).to_le_bytes());
            key.extend_from_slice(&encoded);
        }
    }
}

/// What tells a resource apart: its attributes (those named in `resource_metrics_key_attributes`, when any
/// are), in key order, so that the order they came in does not matter.
pub(super) fn resource_key(attributes: &[KeyValue], only: &[String]) -> Key {
    let mut kept: Vec<&KeyValue> = attributes
        .iter()
        .filter(|kv| only.is_empty() || only.contains(&kv.key))
        .collect();
    kept.sort_by(|a, b| a.key.cmp(&b.key));
    let mut key = Key::new();
    for kv in kept {
        write_str(&mut key, &kv.key);
        match &kv.value {
            Some(value) => write_value(&mut key, value),
            None => key.push(b'-'),
        }
    }
    key
}
