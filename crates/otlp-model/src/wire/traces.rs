//! Editing an encoded `ExportTraceServiceRequest` without building prost messages: keep some spans, drop the
//! others, give a kept span a new `trace_state`. A sampler reads what it decides on ([`SpanView`]: trace id,
//! trace state, flags, attributes) in place, and the request is written again by copying the kept spans' bytes;
//! only a changed `trace_state` and the lengths around it are encoded anew.
//!
//! The result decodes (with prost) to what the same edits give on the decoded request, followed by the removal of
//! every `ScopeSpans` left without spans and every `ResourceSpans` left without scopes, as a sampler of the prost
//! tree does (`retain` on the spans, then on the scopes, then on the resources). Fields this module does not read
//! are copied as they are, unknown ones included.
//!
//! ```
//! use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
//! use otlp_model::ExportTraceServiceRequest;
//! use otlp_model::wire::{EncodedTraces, SpanEdits};
//! use prost::Message;
//!
//! let span = |id: u8| Span { trace_id: vec![id; 16], span_id: vec![id; 8], ..Default::default() };
//! let request = ExportTraceServiceRequest {
//!     resource_spans: vec![ResourceSpans {
//!         scope_spans: vec![ScopeSpans { spans: vec![span(1), span(2)], ..Default::default() }],
//!         ..Default::default()
//!     }],
//! };
//! let bytes = request.encode_to_vec();
//! let traces = EncodedTraces::parse(&bytes)?;
//! let mut edits = SpanEdits::new();
//! for view in traces.spans() {
//!     if view.trace_id()[0] == 1 {
//!         edits.keep_with_trace_state("ot=th:8");
//!     } else {
//!         edits.remove();
//!     }
//! }
//! let mut out = Vec::new();
//! assert_eq!(traces.rewrite(&edits, &mut out)?, 1);
//! let kept = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
//! let spans = &kept.resource_spans[0].scope_spans[0].spans;
//! assert_eq!((spans.len(), spans[0].trace_state.as_str()), (1, "ot=th:8"));
//! # Ok::<(), otlp_model::wire::WireError>(())
//! ```

use std::ops::Range;

use prost::encoding::{encode_varint, encoded_len_varint};

use super::reader::{Fields, RECURSION_LIMIT, Value, WireError};

/// `ExportTraceServiceRequest.resource_spans`.
const REQUEST_RESOURCE_SPANS: u32 = 1;
/// `ResourceSpans.scope_spans`.
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
/// `ScopeSpans.spans`.
const SCOPE_SPANS_SPANS: u32 = 2;
const SPAN_TRACE_ID: u32 = 1;
const SPAN_TRACE_STATE: u32 = 3;
const SPAN_ATTRIBUTES: u32 = 9;
const SPAN_FLAGS: u32 = 16;
const KEY_VALUE_KEY: u32 = 1;
const KEY_VALUE_VALUE: u32 = 2;

/// The nesting each message's fields are read at, as prost (and [`scan`](super::scan)) counts it.
const RESOURCE_DEPTH: u32 = RECURSION_LIMIT - 1;
const SCOPE_DEPTH: u32 = RECURSION_LIMIT - 2;
const SPAN_DEPTH: u32 = RECURSION_LIMIT - 3;

/// An encoded `ExportTraceServiceRequest` and its spans, found in place.
#[derive(Debug, Clone)]
pub struct EncodedTraces<'a> {
    bytes: &'a [u8],
    spans: Vec<SpanView<'a>>,
}

impl<'a> EncodedTraces<'a> {
    /// Finds every span of the request in `bytes`, in order (request, `ResourceSpans`, `ScopeSpans`, span).
    ///
    /// The request should be one [`scan`](super::scan) accepted: the messages down to the spans and the span fields
    /// read here are checked (an error names what is wrong), the rest is not looked at.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut spans = Vec::new();
        for field in Fields::new(bytes, RECURSION_LIMIT) {
            match field? {
                (REQUEST_RESOURCE_SPANS, Value::Len(resource)) => {
                    for field in Fields::new(resource, RESOURCE_DEPTH) {
                        match field? {
                            (RESOURCE_SPANS_SCOPE_SPANS, Value::Len(scope)) => {
                                parse_scope(scope, &mut spans)?
                            }
                            (RESOURCE_SPANS_SCOPE_SPANS, _) => {
                                return Err(wrong_type(RESOURCE_SPANS_SCOPE_SPANS));
                            }
                            _ => {}
                        }
                    }
                }
                (REQUEST_RESOURCE_SPANS, _) => return Err(wrong_type(REQUEST_RESOURCE_SPANS)),
                _ => {}
            }
        }
        Ok(EncodedTraces { bytes, spans })
    }

    /// The request's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every span of the request, in order: the index of a span here is its index in a [`SpanEdits`].
    pub fn spans(&self) -> &[SpanView<'a>] {
        &self.spans
    }

    /// Appends to `out` the request with `edits` applied (span `i` gets the `i`th edit; a span past the last edit is
    /// kept as it is), without the scopes and resources left with no span, and returns how many spans it holds.
    pub fn rewrite(&self, edits: &SpanEdits, out: &mut Vec<u8>) -> Result<usize, WireError> {
        let mut scopes = Vec::new();
        let mut next_span = 0;
        let mut kept = 0;
        for field in ranged(self.bytes, RECURSION_LIMIT) {
            match field? {
                (REQUEST_RESOURCE_SPANS, Value::Len(resource), _) => {
                    scopes.clear();
                    let mut plan = Plan {
                        edits,
                        spans: &self.spans,
                        next_span,
                        scopes: &mut scopes,
                    };
                    let size = plan.resource(resource)?;
                    let after = plan.next_span;
                    if let Some(size) = size {
                        write_len_prefix(REQUEST_RESOURCE_SPANS, size, out);
                        let start = out.len();
                        let mut write = Write {
                            edits,
                            spans: &self.spans,
                            next_span,
                            scopes: scopes.iter(),
                            kept: 0,
                        };
                        write.resource(resource, out)?;
                        debug_assert_eq!(
                            out.len() - start,
                            size,
                            "planned and written sizes differ"
                        );
                        kept += write.kept;
                    }
                    next_span = after;
                }
                (REQUEST_RESOURCE_SPANS, _, _) => return Err(wrong_type(REQUEST_RESOURCE_SPANS)),
                (_, _, range) => out.extend_from_slice(&self.bytes[range]),
            }
        }
        Ok(kept)
    }
}

fn wrong_type(field: u32) -> WireError {
    WireError::WrongWireType { field }
}

fn parse_scope<'a>(scope: &'a [u8], spans: &mut Vec<SpanView<'a>>) -> Result<(), WireError> {
    for field in Fields::new(scope, SCOPE_DEPTH) {
        match field? {
            (SCOPE_SPANS_SPANS, Value::Len(span)) => spans.push(SpanView::parse(span)?),
            (SCOPE_SPANS_SPANS, _) => return Err(wrong_type(SCOPE_SPANS_SPANS)),
            _ => {}
        }
    }
    Ok(())
}

/// One span of an encoded request: the fields a sampler decides on, read in place, with the values prost would
/// decode (the last occurrence of a repeated scalar field wins).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpanView<'a> {
    bytes: &'a [u8],
    trace_id: &'a [u8],
    trace_state: &'a str,
    flags: u32,
    /// The part of `bytes` from the first `attributes` field to the last: an attribute lookup walks only that.
    attributes: &'a [u8],
    /// Where a new `trace_state` goes, found while reading the span so that writing it needs no second walk.
    splice: Option<Splice>,
}

/// How to give a span a new `trace_state` by copying around one place: insert the new field at `at` and leave out
/// `remove_start..remove_end` (the old field, or nothing), with `at <= remove_start`. `None` in a [`SpanView`] when
/// the span has several `trace_state` fields, which is left to a field-by-field rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Splice {
    at: usize,
    remove_start: usize,
    remove_end: usize,
}

impl<'a> SpanView<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut view = SpanView {
            bytes,
            trace_id: &[],
            trace_state: "",
            flags: 0,
            attributes: &[],
            splice: None,
        };
        let mut attributes: Option<(usize, usize)> = None;
        let mut trace_states = 0;
        let mut removed = (bytes.len(), bytes.len());
        // Before the first field numbered above `trace_state`, so that a span in field order stays in order.
        let mut insert_at = bytes.len();
        for field in ranged(bytes, SPAN_DEPTH) {
            let (number, value, range) = field?;
            if number > SPAN_TRACE_STATE && insert_at == bytes.len() {
                insert_at = range.start;
            }
            match (number, value) {
                (SPAN_TRACE_ID, Value::Len(trace_id)) => view.trace_id = trace_id,
                (SPAN_TRACE_STATE, Value::Len(trace_state)) => {
                    view.trace_state = utf8(trace_state, SPAN_TRACE_STATE)?;
                    trace_states += 1;
                    removed = (range.start, range.end);
                }
                (SPAN_FLAGS, Value::Fixed32(flags)) => view.flags = flags,
                (SPAN_ATTRIBUTES, Value::Len(_)) => {
                    let start = attributes.map_or(range.start, |(start, _)| start);
                    attributes = Some((start, range.end));
                }
                (field @ (SPAN_TRACE_ID | SPAN_TRACE_STATE | SPAN_FLAGS | SPAN_ATTRIBUTES), _) => {
                    return Err(wrong_type(field));
                }
                _ => {}
            }
        }
        if let Some((start, end)) = attributes {
            view.attributes = bytes.get(start..end).unwrap_or(bytes);
        }
        if trace_states <= 1 {
            view.splice = Some(Splice {
                at: insert_at.min(removed.0),
                remove_start: removed.0,
                remove_end: removed.1,
            });
        }
        Ok(view)
    }

    /// The encoded `Span` message (without its key and length).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `trace_id`: 16 bytes in a valid span, but whatever the span holds.
    pub fn trace_id(&self) -> &'a [u8] {
        self.trace_id
    }

    /// `trace_state`, the W3C `tracestate` header value (empty when absent).
    pub fn trace_state(&self) -> &'a str {
        self.trace_state
    }

    /// `flags`: the W3C trace flags in the low 8 bits, then OTLP's `is_remote` bits.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The value of the first attribute named `key`, as `span.attributes.iter().find(|kv| kv.key == key)` and then
    /// its `value` and the value's `value` would give on the decoded span: `None` when no attribute has that key,
    /// and also when the first one with it has no value (a later one with the same key is not looked at).
    pub fn find_attribute(&self, key: &str) -> Result<Option<AnyValueView<'a>>, WireError> {
        Ok(
            find_attribute(self.attributes, SPAN_ATTRIBUTES, SPAN_DEPTH, key)?
                .and_then(|found| found.value),
        )
    }
}

/// The first attribute named `key` among the `KeyValue`s of field `field` of the encoded `message` (a span, an
/// event, a resource: any message with attributes), read at nesting `depth` ([`RECURSION_LIMIT`] for a
/// top-level message, one less per level down): its value, as [`SpanView::find_attribute`] gives it, and the
/// encoded `KeyValue`, which decodes (with prost) to the attribute whatever its value holds. `None` when no
/// attribute has that key.
///
/// ```
/// use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
/// use opentelemetry_proto::tonic::resource::v1::Resource;
/// use otlp_model::wire::{AnyValueView, RECURSION_LIMIT, find_attribute};
/// use prost::Message;
///
/// let attribute = |key: &str, value: &str| KeyValue {
///     key: key.into(),
///     value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
///     ..Default::default()
/// };
/// let resource = Resource {
///     attributes: vec![attribute("host.name", "h1"), attribute("service.name", "checkout")],
///     ..Default::default()
/// };
/// let bytes = resource.encode_to_vec();
/// let found = find_attribute(&bytes, 1, RECURSION_LIMIT, "service.name")?.unwrap();
/// assert_eq!(found.value, Some(AnyValueView::String("checkout")));
/// assert_eq!(KeyValue::decode(found.key_value).unwrap(), attribute("service.name", "checkout"));
/// assert_eq!(find_attribute(&bytes, 1, RECURSION_LIMIT, "region")?, None);
/// # Ok::<(), otlp_model::wire::WireError>(())
/// ```
pub fn find_attribute<'a>(
    message: &'a [u8],
    field: u32,
    depth: u32,
    key: &str,
) -> Result<Option<FoundAttribute<'a>>, WireError> {
    let key_value_depth = depth.saturating_sub(1);
    for found in Fields::new(message, depth) {
        match found? {
            (number, value) if number == field => {
                let Value::Len(key_value) = value else {
                    return Err(wrong_type(field));
                };
                if key_of(key_value, key_value_depth)? == key.as_bytes() {
                    return Ok(Some(FoundAttribute {
                        value: value_of(key_value, key_value_depth)?,
                        key_value,
                    }));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// An attribute [`find_attribute`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoundAttribute<'a> {
    /// Its value; `None` when the `KeyValue` has none, or an `AnyValue` with none of its one-of set.
    pub value: Option<AnyValueView<'a>>,
    /// The encoded `KeyValue`.
    pub key_value: &'a [u8],
}

/// An attribute value read in place: `AnyValue`'s `value` one-of as prost decodes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnyValueView<'a> {
    /// `string_value`.
    String(&'a str),
    /// `bool_value`.
    Bool(bool),
    /// `int_value`.
    Int(i64),
    /// `double_value`.
    Double(f64),
    /// `array_value` (its values are not read here).
    Array,
    /// `kvlist_value` (its entries are not read here).
    KvList,
    /// `bytes_value`.
    Bytes(&'a [u8]),
    /// `string_value_strindex` (a profiles dictionary index).
    StringIndex(i32),
}

/// A `KeyValue`'s key: its last `key` field, as prost keeps. `depth` is the `KeyValue`'s nesting.
fn key_of(key_value: &[u8], depth: u32) -> Result<&[u8], WireError> {
    // As prost and every SDK encode it: a short key, then at most one short value filling the rest. Read without
    // walking the fields, since a span has many attributes and only one is looked for.
    if let [0x0a, key_len @ 0..=0x7f, rest @ ..] = key_value
        && let Some((key, after)) = rest.split_at_checked(usize::from(*key_len))
        && (after.is_empty()
            || matches!(after, [0x12, value_len @ 0..=0x7f, value @ ..] if value.len() == usize::from(*value_len)))
    {
        return Ok(key);
    }
    let mut key: &[u8] = &[];
    for field in Fields::new(key_value, depth) {
        match field? {
            (KEY_VALUE_KEY, Value::Len(bytes)) => key = bytes,
            (KEY_VALUE_KEY, _) => return Err(wrong_type(KEY_VALUE_KEY)),
            _ => {}
        }
    }
    Ok(key)
}

/// A `KeyValue`'s value. prost merges every occurrence of the `value` message into one, and in a one-of the last
/// variant read wins (a scalar one replacing what was there), so the value is the last one-of field of all of them.
/// `depth` is the `KeyValue`'s nesting.
fn value_of(key_value: &[u8], depth: u32) -> Result<Option<AnyValueView<'_>>, WireError> {
    let mut last = None;
    for field in Fields::new(key_value, depth) {
        match field? {
            (KEY_VALUE_VALUE, Value::Len(any_value)) => {
                for field in Fields::new(any_value, depth.saturating_sub(1)) {
                    if let (number @ 1..=8, value) = field? {
                        last = Some((number, value));
                    }
                }
            }
            (KEY_VALUE_VALUE, _) => return Err(wrong_type(KEY_VALUE_VALUE)),
            _ => {}
        }
    }
    let Some((number, value)) = last else {
        return Ok(None);
    };
    Ok(Some(match (number, value) {
        (1, Value::Len(text)) => AnyValueView::String(utf8(text, 1)?),
        (2, Value::Varint(n)) => AnyValueView::Bool(n != 0),
        // prost reads int64 and int32 as the varint's bits, truncated.
        (3, Value::Varint(n)) => AnyValueView::Int(n as i64),
        (4, Value::Fixed64(bits)) => AnyValueView::Double(f64::from_bits(bits)),
        (5, Value::Len(_)) => AnyValueView::Array,
        (6, Value::Len(_)) => AnyValueView::KvList,
        (7, Value::Len(bytes)) => AnyValueView::Bytes(bytes),
        (8, Value::Varint(n)) => AnyValueView::StringIndex(n as i32),
        (number, _) => return Err(wrong_type(number)),
    }))
}

fn utf8(bytes: &[u8], field: u32) -> Result<&str, WireError> {
    otlp_simd::utf8::from_utf8(bytes).map_err(|_| WireError::InvalidUtf8 { field })
}

/// What to do with each span of an [`EncodedTraces`], in span order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanEdits {
    edits: Vec<Edit>,
    /// Every new `trace_state`, one after the other: one buffer instead of a string per kept span.
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Keep,
    Remove,
    TraceState { start: usize, end: usize },
}

impl SpanEdits {
    /// No edits yet.
    pub fn new() -> Self {
        SpanEdits::default()
    }

    /// No edits yet, with room for `spans` of them.
    pub fn with_capacity(spans: usize) -> Self {
        SpanEdits {
            edits: Vec::with_capacity(spans),
            text: String::new(),
        }
    }

    /// How many spans have an edit.
    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// True before the first edit.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Forgets every edit, keeping the memory.
    pub fn clear(&mut self) {
        self.edits.clear();
        self.text.clear();
    }

    /// The next span is kept as it is.
    pub fn keep(&mut self) {
        self.edits.push(Edit::Keep);
    }

    /// The next span is removed.
    pub fn remove(&mut self) {
        self.edits.push(Edit::Remove);
    }

    /// The next span is kept with `trace_state` as its trace state.
    pub fn keep_with_trace_state(&mut self, trace_state: &str) {
        self.keep_with_trace_state_from(|text| text.push_str(trace_state));
    }

    /// The next span is kept with the trace state `write` appends to the string it is given (which holds other
    /// spans' trace states before it: `write` only appends).
    pub fn keep_with_trace_state_from(&mut self, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        self.edits.push(Edit::TraceState {
            start,
            end: self.text.len(),
        });
    }

    fn get(&self, span: usize) -> Action<'_> {
        match self.edits.get(span) {
            None | Some(Edit::Keep) => Action::Keep,
            Some(Edit::Remove) => Action::Remove,
            Some(&Edit::TraceState { start, end }) => {
                Action::TraceState(self.text.get(start..end).unwrap_or_default())
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action<'e> {
    Keep,
    Remove,
    TraceState(&'e str),
}

/// A message's fields with the range each one takes in it, key included.
fn ranged(
    bytes: &[u8],
    depth: u32,
) -> impl Iterator<Item = Result<(u32, Value<'_>, Range<usize>), WireError>> {
    let mut fields = Fields::new(bytes, depth);
    std::iter::from_fn(move || {
        let start = fields.offset();
        let field = fields.next()?;
        Some(field.map(|(number, value)| (number, value, start..fields.offset())))
    })
}

/// The size of a length-delimited field of a one-byte key (every field number here is below 16).
fn framed_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

fn write_len_prefix(field: u32, len: usize, out: &mut Vec<u8>) {
    prost::encoding::encode_key(field, prost::encoding::WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

/// A `ScopeSpans` after the edits: its new size (`None` when no span is left) and how many spans it had.
#[derive(Debug, Clone, Copy)]
struct ScopePlan {
    size: Option<usize>,
    spans: usize,
}

/// The first pass over one `ResourceSpans`: the new sizes, which the length prefixes written before the
/// contents need.
struct Plan<'p> {
    edits: &'p SpanEdits,
    spans: &'p [SpanView<'p>],
    next_span: usize,
    scopes: &'p mut Vec<ScopePlan>,
}

impl Plan<'_> {
    /// The resource's new size, `None` when none of its scopes is left.
    fn resource(&mut self, resource: &[u8]) -> Result<Option<usize>, WireError> {
        let mut size = 0;
        let mut any_scope = false;
        for field in ranged(resource, RESOURCE_DEPTH) {
            match field? {
                (RESOURCE_SPANS_SCOPE_SPANS, Value::Len(scope), _) => {
                    let plan = self.scope(scope)?;
                    if let Some(scope_size) = plan.size {
                        size += framed_len(scope_size);
                        any_scope = true;
                    }
                    self.scopes.push(plan);
                }
                (RESOURCE_SPANS_SCOPE_SPANS, _, _) => {
                    return Err(wrong_type(RESOURCE_SPANS_SCOPE_SPANS));
                }
                (_, _, range) => size += range.len(),
            }
        }
        Ok(any_scope.then_some(size))
    }

    fn scope(&mut self, scope: &[u8]) -> Result<ScopePlan, WireError> {
        let first = self.next_span;
        let mut size = 0;
        let mut any_span = false;
        for field in ranged(scope, SCOPE_DEPTH) {
            match field? {
                (SCOPE_SPANS_SPANS, Value::Len(span), range) => {
                    match self.edits.get(self.next_span) {
                        Action::Remove => {}
                        Action::Keep => {
                            size += range.len();
                            any_span = true;
                        }
                        Action::TraceState(trace_state) => {
                            let splice = splice_of(self.spans, self.next_span, span);
                            size += framed_len(edited_len(span, splice, trace_state)?);
                            any_span = true;
                        }
                    }
                    self.next_span += 1;
                }
                (SCOPE_SPANS_SPANS, _, _) => return Err(wrong_type(SCOPE_SPANS_SPANS)),
                (_, _, range) => size += range.len(),
            }
        }
        Ok(ScopePlan {
            size: any_span.then_some(size),
            spans: self.next_span - first,
        })
    }
}

/// The second pass over one `ResourceSpans`: writes what [`Plan`] measured.
struct Write<'p> {
    edits: &'p SpanEdits,
    spans: &'p [SpanView<'p>],
    next_span: usize,
    scopes: std::slice::Iter<'p, ScopePlan>,
    kept: usize,
}

impl Write<'_> {
    fn resource(&mut self, resource: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
        for field in ranged(resource, RESOURCE_DEPTH) {
            match field? {
                (RESOURCE_SPANS_SCOPE_SPANS, Value::Len(scope), _) => {
                    // The plan walked the same bytes, so it has an entry for every scope; one short would be a
                    // bug here, and the scope is left out rather than written with a wrong length.
                    let Some(plan) = self.scopes.next().copied() else {
                        continue;
                    };
                    match plan.size {
                        Some(size) => {
                            write_len_prefix(RESOURCE_SPANS_SCOPE_SPANS, size, out);
                            self.scope(scope, out)?;
                        }
                        None => self.next_span += plan.spans,
                    }
                }
                (RESOURCE_SPANS_SCOPE_SPANS, _, _) => {
                    return Err(wrong_type(RESOURCE_SPANS_SCOPE_SPANS));
                }
                (_, _, range) => out.extend_from_slice(&resource[range]),
            }
        }
        Ok(())
    }

    fn scope(&mut self, scope: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
        for field in ranged(scope, SCOPE_DEPTH) {
            match field? {
                (SCOPE_SPANS_SPANS, Value::Len(span), range) => {
                    match self.edits.get(self.next_span) {
                        Action::Remove => {}
                        Action::Keep => {
                            out.extend_from_slice(&scope[range]);
                            self.kept += 1;
                        }
                        Action::TraceState(trace_state) => {
                            let splice = splice_of(self.spans, self.next_span, span);
                            let len = edited_len(span, splice, trace_state)?;
                            write_len_prefix(SCOPE_SPANS_SPANS, len, out);
                            match splice {
                                Some(splice) => write_spliced(span, splice, trace_state, out),
                                None => write_edited_span(span, trace_state, out)?,
                            }
                            self.kept += 1;
                        }
                    }
                    self.next_span += 1;
                }
                (SCOPE_SPANS_SPANS, _, _) => return Err(wrong_type(SCOPE_SPANS_SPANS)),
                (_, _, range) => out.extend_from_slice(&scope[range]),
            }
        }
        Ok(())
    }
}

/// The splice [`SpanView::parse`] found for span `index`, when that view is of these very bytes and its splice
/// lies inside them.
fn splice_of(spans: &[SpanView<'_>], index: usize, span: &[u8]) -> Option<Splice> {
    let view = spans
        .get(index)
        .filter(|view| std::ptr::eq(view.bytes, span))?;
    view.splice.filter(|s| {
        s.at <= s.remove_start && s.remove_start <= s.remove_end && s.remove_end <= span.len()
    })
}

/// The size of `span` with a new `trace_state`, from its splice or, without one, field by field.
fn edited_len(span: &[u8], splice: Option<Splice>, trace_state: &str) -> Result<usize, WireError> {
    match splice {
        Some(splice) => {
            let new = if trace_state.is_empty() {
                0
            } else {
                framed_len(trace_state.len())
            };
            Ok(span.len() - (splice.remove_end - splice.remove_start) + new)
        }
        None => edited_span_len(span, trace_state),
    }
}

/// Writes `span` with its `trace_state` replaced, by copying around `splice` (which [`splice_of`] checked).
fn write_spliced(span: &[u8], splice: Splice, trace_state: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&span[..splice.at]);
    if !trace_state.is_empty() {
        write_len_prefix(SPAN_TRACE_STATE, trace_state.len(), out);
        out.extend_from_slice(trace_state.as_bytes());
    }
    out.extend_from_slice(&span[splice.at..splice.remove_start]);
    out.extend_from_slice(&span[splice.remove_end..]);
}

/// The size of `span` with every `trace_state` field replaced by one holding `trace_state` (none when it is
/// empty, as prost leaves out a default value).
fn edited_span_len(span: &[u8], trace_state: &str) -> Result<usize, WireError> {
    let mut len = 0;
    for field in ranged(span, SPAN_DEPTH) {
        match field? {
            (SPAN_TRACE_STATE, _, _) => {}
            (_, _, range) => len += range.len(),
        }
    }
    if !trace_state.is_empty() {
        len += framed_len(trace_state.len());
    }
    Ok(len)
}

/// Writes `span` with its `trace_state` fields replaced by one holding `trace_state`, where the first one was (or
/// before the first field numbered above it), so that a span encoded in field order stays in field order.
fn write_edited_span(span: &[u8], trace_state: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    let mut placed = false;
    let mut place = |out: &mut Vec<u8>| {
        if !placed && !trace_state.is_empty() {
            write_len_prefix(SPAN_TRACE_STATE, trace_state.len(), out);
            out.extend_from_slice(trace_state.as_bytes());
        }
        placed = true;
    };
    for field in ranged(span, SPAN_DEPTH) {
        match field? {
            (SPAN_TRACE_STATE, _, _) => place(out),
            (number, _, range) => {
                if number > SPAN_TRACE_STATE {
                    place(out);
                }
                out.extend_from_slice(&span[range]);
            }
        }
    }
    place(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_trace_state_goes_where_the_old_one_was() {
        // trace_id (1), trace_state (3) "a", name (5) "n", trace_state again "b".
        let mut span = vec![0x0a, 0x01, 0x07, 0x1a, 0x01, b'a', 0x2a, 0x01, b'n'];
        span.extend_from_slice(&[0x1a, 0x01, b'b']);
        let view = SpanView::parse(&span).unwrap();
        assert_eq!((view.trace_id(), view.trace_state()), (&[7u8][..], "b"));
        let mut out = Vec::new();
        write_edited_span(&span, "xy", &mut out).unwrap();
        assert_eq!(
            out,
            [0x0a, 0x01, 0x07, 0x1a, 0x02, b'x', b'y', 0x2a, 0x01, b'n']
        );
        assert_eq!(edited_span_len(&span, "xy").unwrap(), out.len());
        // No trace state before: it goes before the first field numbered above 3; an empty one is left out.
        let span = [0x0a, 0x01, 0x07, 0x2a, 0x01, b'n'];
        let mut out = Vec::new();
        write_edited_span(&span, "z", &mut out).unwrap();
        assert_eq!(out, [0x0a, 0x01, 0x07, 0x1a, 0x01, b'z', 0x2a, 0x01, b'n']);
        let mut out = Vec::new();
        write_edited_span(&span, "", &mut out).unwrap();
        assert_eq!(out, span);
    }

    #[test]
    fn a_splice_writes_what_the_field_by_field_rewrite_writes() {
        let trace_id = [0x0a, 0x01, 0x07];
        let trace_state = [0x1a, 0x02, b'a', b'b'];
        let name = [0x2a, 0x01, b'n'];
        let flags = [0x85, 0x01, 1, 0, 0, 0];
        let attribute = [0x4a, 0x03, 0x0a, 0x01, b'k'];
        let orders: [&[&[u8]]; 6] = [
            &[&trace_id, &trace_state, &name, &attribute, &flags],
            &[&trace_id, &name, &trace_state, &flags],
            &[&trace_state],
            &[&name, &trace_id],
            &[&attribute, &name, &attribute],
            &[],
        ];
        for fields in orders {
            let span = fields.concat();
            let view = SpanView::parse(&span).unwrap();
            let splice = view.splice.unwrap();
            for new in ["", "ot=th:c"] {
                let mut walked = Vec::new();
                write_edited_span(&span, new, &mut walked).unwrap();
                let mut spliced = Vec::new();
                write_spliced(&span, splice, new, &mut spliced);
                assert_eq!(spliced, walked, "{fields:?} {new:?}");
                assert_eq!(edited_len(&span, Some(splice), new).unwrap(), walked.len());
            }
        }
        // Two trace states: no splice, the field-by-field rewrite does it.
        let span = [&trace_state[..], &name, &trace_state].concat();
        assert_eq!(SpanView::parse(&span).unwrap().splice, None);
    }

    #[test]
    fn misplaced_wire_types_are_refused() {
        // A span whose trace_id is a varint.
        assert_eq!(
            SpanView::parse(&[0x08, 0x01]),
            Err(WireError::WrongWireType { field: 1 })
        );
        // A request whose resource_spans is a varint.
        assert_eq!(
            EncodedTraces::parse(&[0x08, 0x01]).map(|t| t.spans().len()),
            Err(WireError::WrongWireType { field: 1 })
        );
        assert!(EncodedTraces::parse(&[0x0a, 0x05]).is_err());
    }
}
