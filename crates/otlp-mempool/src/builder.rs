//! Span and attribute builders whose attribute lists live inline: up to
//! [`INLINE_ATTRIBUTES`] attributes need no heap allocation. Keys and string values are
//! borrowed (from the request being decoded, or from a [`BatchScope`](crate::BatchScope)), so
//! building a span allocates nothing in the common case.

use arrayvec::ArrayVec;
use smallvec::SmallVec;

use crate::error::{Error, Result};

/// How many attributes a span's list holds without touching the heap.
pub const INLINE_ATTRIBUTES: usize = 16;

/// An attribute value, borrowing strings and bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// Raw bytes.
    Bytes(&'a [u8]),
}

/// A key and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attribute<'a> {
    /// The attribute key.
    pub key: &'a str,
    /// The attribute value.
    pub value: Value<'a>,
}

/// An attribute list that keeps 16 entries inline and spills to the heap beyond.
pub type Attributes<'a> = SmallVec<[Attribute<'a>; INLINE_ATTRIBUTES]>;

/// An attribute list that never allocates: at most 16 entries, the 17th is refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FixedAttributes<'a> {
    entries: ArrayVec<Attribute<'a>, INLINE_ATTRIBUTES>,
}

impl<'a> FixedAttributes<'a> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an attribute, or says the list is full.
    pub fn push(&mut self, key: &'a str, value: Value<'a>) -> Result<()> {
        self.entries
            .try_push(Attribute { key, value })
            .map_err(|_| Error::Full {
                capacity: INLINE_ATTRIBUTES,
            })
    }

    /// The value of the first attribute named `key`.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        find(&self.entries, key)
    }

    /// The attributes in insertion order.
    pub fn as_slice(&self) -> &[Attribute<'a>] {
        &self.entries
    }
}

fn find<'a>(entries: &[Attribute<'a>], key: &str) -> Option<Value<'a>> {
    entries
        .iter()
        .find(|attribute| attribute.key == key)
        .map(|attribute| attribute.value)
}

/// The kind of a span, as OTLP numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(i32)]
pub enum SpanKind {
    /// Unspecified.
    #[default]
    Unspecified = 0,
    /// Internal operation.
    Internal = 1,
    /// Server side of a request.
    Server = 2,
    /// Client side of a request.
    Client = 3,
    /// Producer of a message.
    Producer = 4,
    /// Consumer of a message.
    Consumer = 5,
}

/// A span under construction, borrowing its strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanBuilder<'a> {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// The span id.
    pub span_id: [u8; 8],
    /// The parent span id, if any.
    pub parent_span_id: Option<[u8; 8]>,
    /// The operation name.
    pub name: &'a str,
    /// The span kind.
    pub kind: SpanKind,
    /// Start time, nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End time, nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// The attributes, inline up to 16.
    pub attributes: Attributes<'a>,
}

impl<'a> SpanBuilder<'a> {
    /// A span with these ids and name, and nothing else yet.
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8], name: &'a str) -> Self {
        Self {
            trace_id,
            span_id,
            name,
            ..Self::default()
        }
    }

    /// Sets the parent span id.
    pub fn parent(mut self, parent_span_id: [u8; 8]) -> Self {
        self.parent_span_id = Some(parent_span_id);
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets start and end times (nanoseconds since the Unix epoch).
    pub fn times(mut self, start_time_unix_nano: u64, end_time_unix_nano: u64) -> Self {
        self.start_time_unix_nano = start_time_unix_nano;
        self.end_time_unix_nano = end_time_unix_nano;
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, key: &'a str, value: Value<'a>) -> Self {
        self.attributes.push(Attribute { key, value });
        self
    }

    /// The value of the first attribute named `key`.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        find(&self.attributes, key)
    }

    /// Whether the attributes outgrew the inline storage and moved to the heap.
    pub fn spilled(&self) -> bool {
        self.attributes.spilled()
    }

    /// Empties the builder for reuse, keeping any heap storage the attributes had spilled to.
    pub fn clear(&mut self) {
        self.trace_id = [0; 16];
        self.span_id = [0; 8];
        self.parent_span_id = None;
        self.name = "";
        self.kind = SpanKind::Unspecified;
        self.start_time_unix_nano = 0;
        self.end_time_unix_nano = 0;
        self.attributes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        (0..20).map(|i| format!("key.{i}")).collect()
    }

    #[test]
    fn sixteen_attributes_stay_inline() {
        let keys = keys();
        let mut span = SpanBuilder::new([1; 16], [2; 8], "GET /")
            .parent([3; 8])
            .kind(SpanKind::Server)
            .times(10, 20);
        for (i, key) in keys.iter().take(INLINE_ATTRIBUTES).enumerate() {
            span = span.attribute(key, Value::Int(i as i64));
        }
        assert!(!span.spilled());
        assert_eq!(span.get("key.15"), Some(Value::Int(15)));
        assert_eq!((span.kind as i32, span.parent_span_id), (2, Some([3; 8])));
        span = span.attribute(&keys[16], Value::Str("seventeenth"));
        assert!(span.spilled());
        assert_eq!(span.attributes.len(), 17);
        span.clear();
        assert!(span.attributes.is_empty() && span.name.is_empty());
    }

    #[test]
    fn fixed_attributes_refuse_the_seventeenth() {
        let keys = keys();
        let mut attributes = FixedAttributes::new();
        for key in keys.iter().take(INLINE_ATTRIBUTES) {
            attributes.push(key, Value::Bool(true)).unwrap();
        }
        assert_eq!(
            attributes.push(&keys[16], Value::Double(1.0)),
            Err(Error::Full { capacity: 16 })
        );
        assert_eq!(attributes.as_slice().len(), 16);
        assert_eq!(attributes.get("key.3"), Some(Value::Bool(true)));
        assert_eq!(attributes.get("missing"), None);
        let _ = Value::Bytes(b"raw");
    }
}
