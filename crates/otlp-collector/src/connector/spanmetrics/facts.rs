//! What a span is counted by, the same whether it was decoded or is read in place from the request as received:
//! its name, kind, status, times and ids, and its attributes and events' attributes, looked up by key. The
//! `servicegraph` connector reads spans through it too.

use super::encoded;
use super::key::{Key, write_str, write_value};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{Span, span};
use otlp_model::wire::{AnyValueView, Fields, FoundAttribute, Value, find_attribute};
use prost::Message;

/// What a span is counted by, from a decoded span or read in place from its encoded bytes.
#[derive(Debug, Clone, Copy)]
pub(in crate::connector) struct SpanFacts<'a> {
    pub(in crate::connector) name: &'a str,
    pub(in crate::connector) kind: i32,
    /// `status.code`.
    pub(in crate::connector) status: i32,
    pub(in crate::connector) start: u64,
    pub(in crate::connector) end: u64,
    pub(in crate::connector) trace_id: &'a [u8],
    pub(in crate::connector) span_id: &'a [u8],
    pub(in crate::connector) parent_span_id: &'a [u8],
    pub(in crate::connector) attributes: Attributes<'a>,
    pub(in crate::connector) events: Events<'a>,
}

impl<'a> SpanFacts<'a> {
    pub(in crate::connector) fn decoded(span: &'a Span) -> Self {
        SpanFacts {
            name: &span.name,
            kind: span.kind,
            status: span.status.as_ref().map_or(0, |status| status.code),
            start: span.start_time_unix_nano,
            end: span.end_time_unix_nano,
            trace_id: &span.trace_id,
            span_id: &span.span_id,
            parent_span_id: &span.parent_span_id,
            attributes: Attributes::Decoded(&span.attributes),
            events: Events::Decoded(&span.events),
        }
    }
}

/// A list of attributes: decoded, or the `KeyValue`s of field `field` of an encoded message read at `depth`.
#[derive(Debug, Clone, Copy)]
pub(in crate::connector) enum Attributes<'a> {
    Decoded(&'a [KeyValue]),
    Encoded {
        message: &'a [u8],
        field: u32,
        depth: u32,
    },
}

impl<'a> Attributes<'a> {
    /// The value of the first attribute named `key`, if it has one, as [`find_attribute`] reads it. The encoded
    /// attributes of a request the receiver accepted always read; should they not, the attribute counts as
    /// missing.
    pub(in crate::connector) fn find(&self, key: &str) -> Option<Found<'a>> {
        match *self {
            Attributes::Decoded(attributes) => attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.as_ref())
                .filter(|value| value.value.is_some())
                .map(Found::Decoded),
            Attributes::Encoded {
                message,
                field,
                depth,
            } => match find_attribute(message, field, depth, key) {
                Ok(Some(FoundAttribute {
                    value: Some(value),
                    key_value,
                })) => Some(Found::Encoded { value, key_value }),
                _ => None,
            },
        }
    }
}

impl Attributes<'_> {
    /// The value of the first attribute named `key`, owned, as decoding gives it: `None` when no attribute has the
    /// key, `Some(None)` when the first that has it has no value (where the `count` connector's lookup stops).
    pub(in crate::connector) fn first_value(self, key: &str) -> Option<Option<AnyValue>> {
        match self {
            Attributes::Decoded(attributes) => attributes
                .iter()
                .find(|kv| kv.key == key)
                .map(|kv| kv.value.clone()),
            Attributes::Encoded {
                message,
                field,
                depth,
            } => match find_attribute(message, field, depth, key) {
                Ok(Some(found)) => Some(
                    KeyValue::decode(found.key_value)
                        .ok()
                        .and_then(|kv| kv.value),
                ),
                _ => None,
            },
        }
    }

    /// Every attribute, owned: for the few spans whose attributes are copied whole (the logs of `exceptions`).
    pub(in crate::connector) fn to_vec(self) -> Vec<KeyValue> {
        match self {
            Attributes::Decoded(attributes) => attributes.to_vec(),
            Attributes::Encoded {
                message,
                field,
                depth,
            } => Fields::new(message, depth)
                .filter_map(|read| match read {
                    Ok((number, Value::Len(key_value))) if number == field => {
                        KeyValue::decode(key_value).ok()
                    }
                    _ => None,
                })
                .collect(),
        }
    }
}

/// A span's events: decoded, or the part of an encoded span from its first `events` field to its last.
#[derive(Debug, Clone, Copy)]
pub(in crate::connector) enum Events<'a> {
    Decoded(&'a [span::Event]),
    Encoded(&'a [u8]),
}

/// One span event: its name and time, and its attributes.
#[derive(Debug, Clone, Copy)]
pub(in crate::connector) struct EventFacts<'a> {
    pub(in crate::connector) name: &'a str,
    pub(in crate::connector) time: u64,
    pub(in crate::connector) attributes: Attributes<'a>,
}

impl<'a> Events<'a> {
    /// Each event, in order.
    pub(in crate::connector) fn each(self, mut visit: impl FnMut(EventFacts<'a>)) {
        match self {
            Events::Decoded(events) => {
                for event in events {
                    visit(EventFacts {
                        name: &event.name,
                        time: event.time_unix_nano,
                        attributes: Attributes::Decoded(&event.attributes),
                    });
                }
            }
            Events::Encoded(bytes) => {
                for field in Fields::new(bytes, encoded::SPAN_DEPTH) {
                    match field {
                        Ok((encoded::SPAN_EVENTS, Value::Len(event))) => {
                            visit(encoded::event(event))
                        }
                        Ok(_) => {}
                        // Read once already, when the span was: cannot fail here.
                        Err(_) => break,
                    }
                }
            }
        }
    }
}

/// A dimension's value where it was found.
pub(in crate::connector) enum Found<'a> {
    Decoded(&'a AnyValue),
    /// Read in place, with the encoded `KeyValue` it came from.
    Encoded {
        value: AnyValueView<'a>,
        key_value: &'a [u8],
    },
}

impl Found<'_> {
    /// Writes the value into a series key: the same bytes for the same value, however it was read.
    pub(in crate::connector) fn write(&self, key: &mut Key) {
        match self {
            Found::Decoded(value) => write_value(key, value),
            Found::Encoded { value, .. } => match *value {
                AnyValueView::String(s) => {
                    key.push(b's');
                    write_str(key, s);
                }
                AnyValueView::Int(i) => {
                    key.push(b'i');
                    key.extend_from_slice(&i.to_le_bytes());
                }
                AnyValueView::Double(d) => {
                    key.push(b'd');
                    key.extend_from_slice(&d.to_bits().to_le_bytes());
                }
                AnyValueView::Bool(b) => key.extend_from_slice(&[b'b', u8::from(b)]),
                _ => write_value(key, &self.to_any()),
            },
        }
    }

    /// The value, owned, for a new series' attributes.
    pub(in crate::connector) fn to_any(&self) -> AnyValue {
        match self {
            Found::Decoded(value) => (*value).clone(),
            Found::Encoded { key_value, .. } => KeyValue::decode(*key_value)
                .ok()
                .and_then(|kv| kv.value)
                .unwrap_or_default(),
        }
    }
}

/// Where a dimension's value is looked up, nearest first: the span, the event (for the events metric), the
/// resource.
pub(in crate::connector) struct Lookup<'a> {
    pub(in crate::connector) span: Attributes<'a>,
    pub(in crate::connector) event: Option<Attributes<'a>>,
    pub(in crate::connector) resource: &'a [KeyValue],
}

impl<'a> Lookup<'a> {
    pub(in crate::connector) fn find(&self, key: &str) -> Option<Found<'a>> {
        self.span
            .find(key)
            .or_else(|| self.event.and_then(|event| event.find(key)))
            .or_else(|| Attributes::Decoded(self.resource).find(key))
    }
}
