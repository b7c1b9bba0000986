//! What the policies read of a trace, found in its span records in place.
//!
//! A policy asks a few questions of each span: its times, its status code, its trace state and
//! some attributes by key. Decoding the records into prost `Span`s for that built every string
//! and vector of every span, then dropped them: half the CPU of a tail-sampling collector. Here
//! one pass over each record notes the answers as offsets into the records ([`SpanFacts`],
//! [`AttributeFacts`]), in vectors reused from one trace to the next, and a trace that is sampled
//! leaves as the records themselves (or, for a caller that wants `ResourceSpans`, decoded then).
//!
//! The records were checked as prost decodes them (by the receiver's scan, or because prost
//! encoded them), and the reading follows prost where a field repeats: the last scalar wins,
//! repeated messages (`status`, an attribute's `value`) merge, and the last `AnyValue` variant set
//! is the value. A record that still does not read is reported, and its spans counted, never
//! guessed at.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use otlp_model::wire::{
    Fields, RECURSION_LIMIT, Value, WireError, for_each_field, leading_len_field, single_field,
};
use prost::Message;

use super::release::EncodedRelease;
use super::trace::{Reassembler, ResourceHeader, ScopeHeader, ScopePiece, TracePiece};

/// `ScopeSpans.spans`: every stored record is one.
const SCOPE_SPANS_SPANS: u32 = 2;

mod span_field {
    pub(super) const TRACE_STATE: u32 = 3;
    pub(super) const START_TIME: u32 = 7;
    pub(super) const END_TIME: u32 = 8;
    pub(super) const ATTRIBUTES: u32 = 9;
    pub(super) const STATUS: u32 = 15;
    pub(super) const FLAGS: u32 = 16;
}

/// `Status.code`.
const STATUS_CODE: u32 = 3;
/// `KeyValue.key` and `KeyValue.value`.
const KEY_VALUE_KEY: u32 = 1;
const KEY_VALUE_VALUE: u32 = 2;

mod any_value_field {
    pub(super) const STRING: u32 = 1;
    pub(super) const BOOL: u32 = 2;
    pub(super) const INT: u32 = 3;
    pub(super) const DOUBLE: u32 = 4;
    pub(super) const ARRAY: u32 = 5;
    pub(super) const KVLIST: u32 = 6;
    pub(super) const BYTES: u32 = 7;
}

/// Nesting of a record's fields: the request, `ResourceSpans` and `ScopeSpans` are around it.
const RECORD_DEPTH: u32 = RECURSION_LIMIT - 3;

/// An attribute's value, as far as a policy compares it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AttributeValue<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// An array, a key-value list or bytes: no policy matches them.
    Other,
}

/// Where an attribute's value is, or what it is.
#[derive(Debug, Clone, PartialEq)]
enum ValueAt {
    /// The `KeyValue` has no value, or an `AnyValue` with no variant set.
    Unset,
    Str(Range<usize>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Other,
}

/// One span attribute, as offsets into the trace's records.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AttributeFacts {
    key: Range<usize>,
    value: ValueAt,
}

/// What the policies read of one span.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpanFacts {
    pub(crate) start_time_unix_nano: u64,
    pub(crate) end_time_unix_nano: u64,
    /// `status.code`, 0 (unset) without a status.
    pub(crate) status_code: i32,
    /// `flags`: the W3C trace flags in the low byte.
    pub(crate) flags: u32,
    trace_state: Range<usize>,
    /// This span's entries in the trace's attribute list.
    attributes: Range<usize>,
    /// Bytes of the span message (without its field key and length).
    pub(crate) encoded_len: usize,
}

/// The facts of every span of one trace, kept between traces for their capacity.
#[derive(Debug, Default)]
pub(crate) struct SpanTable {
    spans: Vec<SpanFacts>,
    attributes: Vec<AttributeFacts>,
    /// The only attribute keys kept, or `None` to keep every attribute.
    keys: Option<Vec<Box<[u8]>>>,
}

impl SpanTable {
    /// A table that keeps only the attributes under `keys`: those the policies look up. Reading
    /// every attribute's value was about a third of reading the records for 10 policies that ask
    /// for three keys.
    pub(crate) fn keeping(keys: impl IntoIterator<Item = String>) -> Self {
        SpanTable {
            keys: Some(
                keys.into_iter()
                    .map(|key| key.into_bytes().into_boxed_slice())
                    .collect(),
            ),
            ..SpanTable::default()
        }
    }

    fn keeps(&self, key: &[u8]) -> bool {
        self.keys
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|kept| **kept == *key))
    }

    pub(crate) fn clear(&mut self) {
        self.spans.clear();
        self.attributes.clear();
    }

    /// Reads the span records (`ScopeSpans.spans` fields) at `range` of `bytes` and appends their
    /// facts; returns how many spans there were. On an error nothing of the range is kept.
    pub(crate) fn read_records(
        &mut self,
        bytes: &[u8],
        range: Range<usize>,
    ) -> Result<usize, WireError> {
        let (spans, attributes) = (self.spans.len(), self.attributes.len());
        let read = self.read_all(bytes, range);
        if read.is_err() {
            self.spans.truncate(spans);
            self.attributes.truncate(attributes);
        }
        read
    }

    fn read_all(&mut self, bytes: &[u8], range: Range<usize>) -> Result<usize, WireError> {
        let records = bytes.get(range.clone()).unwrap_or_default();
        let mut count = 0;
        for field in Fields::new(records, RECORD_DEPTH + 1) {
            match field? {
                (SCOPE_SPANS_SPANS, Value::Len(span)) => {
                    let start = offset_in(bytes, span);
                    self.read_span(bytes, start..start + span.len())?;
                    count += 1;
                }
                (field, _) => return Err(WireError::WrongWireType { field }),
            }
        }
        Ok(count)
    }

    fn read_span(&mut self, bytes: &[u8], span: Range<usize>) -> Result<(), WireError> {
        let record = bytes.get(span.clone()).unwrap_or_default();
        let mut facts = SpanFacts {
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            status_code: 0,
            flags: 0,
            trace_state: 0..0,
            attributes: self.attributes.len()..self.attributes.len(),
            encoded_len: span.len(),
        };
        for field in Fields::new(record, RECORD_DEPTH) {
            match field? {
                (span_field::START_TIME, Value::Fixed64(nanos)) => {
                    facts.start_time_unix_nano = nanos;
                }
                (span_field::END_TIME, Value::Fixed64(nanos)) => facts.end_time_unix_nano = nanos,
                (span_field::FLAGS, Value::Fixed32(flags)) => facts.flags = flags,
                (span_field::TRACE_STATE, Value::Len(text)) => {
                    facts.trace_state = range_of(bytes, text);
                }
                (span_field::ATTRIBUTES, Value::Len(key_value)) => {
                    // The receiver's scan (or prost) checked the value of an attribute skipped here.
                    if sole_key(key_value).is_some_and(|key| !self.keeps(key)) {
                        continue;
                    }
                    let attribute = read_key_value(bytes, key_value)?;
                    if self.keeps(bytes.get(attribute.key.clone()).unwrap_or_default()) {
                        self.attributes.push(attribute);
                    }
                }
                (span_field::STATUS, Value::Len(status)) => {
                    // Occurrences merge: a later one without a code keeps the earlier code.
                    for field in Fields::new(status, RECORD_DEPTH - 1) {
                        match field? {
                            (STATUS_CODE, Value::Varint(code)) => facts.status_code = code as i32,
                            (STATUS_CODE, _) => {
                                return Err(WireError::WrongWireType { field: STATUS_CODE });
                            }
                            _ => {}
                        }
                    }
                }
                (
                    field @ (span_field::START_TIME
                    | span_field::END_TIME
                    | span_field::TRACE_STATE
                    | span_field::ATTRIBUTES
                    | span_field::STATUS
                    | span_field::FLAGS),
                    _,
                ) => return Err(WireError::WrongWireType { field }),
                _ => {}
            }
        }
        facts.attributes.end = self.attributes.len();
        self.spans.push(facts);
        Ok(())
    }

    /// The spans read so far, over the `bytes` they were read from.
    pub(crate) fn spans<'a>(&'a self, bytes: &'a [u8]) -> impl Iterator<Item = SpanView<'a>> {
        self.spans.iter().map(move |facts| SpanView {
            facts,
            table: self,
            bytes,
        })
    }
}

/// The key of a `KeyValue` encoded as its key and then one other field, as nearly every attribute
/// is; `None` for any other shape, which is read in full (a repeated key field, say: the last one
/// is the key).
fn sole_key(key_value: &[u8]) -> Option<&[u8]> {
    let (KEY_VALUE_KEY, key, rest) = leading_len_field(key_value)? else {
        return None;
    };
    single_field(rest).filter(|(field, _)| *field != KEY_VALUE_KEY)?;
    Some(key)
}

fn read_key_value(bytes: &[u8], key_value: &[u8]) -> Result<AttributeFacts, WireError> {
    let mut attribute = AttributeFacts {
        key: 0..0,
        value: ValueAt::Unset,
    };
    // Nearly every attribute is a key and then a value, which this reads by its shape.
    for_each_field(key_value, RECORD_DEPTH - 1, |field| {
        match field? {
            (KEY_VALUE_KEY, Value::Len(key)) => attribute.key = range_of(bytes, key),
            (KEY_VALUE_VALUE, Value::Len(any_value)) => {
                read_any_value(bytes, any_value, &mut attribute.value)?;
            }
            (field @ (KEY_VALUE_KEY | KEY_VALUE_VALUE), _) => {
                return Err(WireError::WrongWireType { field });
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(attribute)
}

/// Sets `value` from one occurrence of an `AnyValue`: its last variant, if it has any.
fn read_any_value(bytes: &[u8], any_value: &[u8], value: &mut ValueAt) -> Result<(), WireError> {
    // One field, the shape of nearly every value, read without the loop.
    if let Some(field) = single_field(any_value) {
        return read_any_value_field(bytes, field, value);
    }
    for field in Fields::new(any_value, RECORD_DEPTH - 2) {
        read_any_value_field(bytes, field?, value)?;
    }
    Ok(())
}

#[inline(always)]
fn read_any_value_field(
    bytes: &[u8],
    (number, raw): (u32, Value<'_>),
    value: &mut ValueAt,
) -> Result<(), WireError> {
    use any_value_field::{ARRAY, BOOL, BYTES, DOUBLE, INT, KVLIST, STRING};
    *value = match (number, raw) {
        (STRING, Value::Len(text)) => ValueAt::Str(range_of(bytes, text)),
        (BOOL, Value::Varint(flag)) => ValueAt::Bool(flag != 0),
        (INT, Value::Varint(number)) => ValueAt::Int(number as i64),
        (DOUBLE, Value::Fixed64(bits)) => ValueAt::Double(f64::from_bits(bits)),
        (ARRAY | KVLIST | BYTES, Value::Len(_)) => ValueAt::Other,
        (field @ (STRING | BOOL | INT | DOUBLE | ARRAY | KVLIST | BYTES), _) => {
            return Err(WireError::WrongWireType { field });
        }
        _ => return Ok(()),
    };
    Ok(())
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

fn range_of(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = offset_in(whole, part);
    start..start + part.len()
}

/// One scope's span records of the trace being decided.
#[derive(Debug)]
struct Run {
    resource: Arc<ResourceHeader>,
    scope: Arc<ScopeHeader>,
    range: Range<usize>,
    spans: u64,
    /// The first run of a piece (the spans one `ResourceSpans` brought): where the piece's
    /// resource counts in the trace's size.
    first_of_piece: bool,
    /// Whether its records read; those that did not are neither judged nor released.
    readable: bool,
}

/// The span records of the trace being decided, copied out of the store as they are read (the
/// store frees them at once), and kept between traces for the buffer's capacity.
#[derive(Debug, Default)]
pub(crate) struct TraceRecords {
    bytes: Vec<u8>,
    runs: Vec<Run>,
}

impl TraceRecords {
    /// Copies one scope's records (`ScopeSpans.spans` fields) of `resource`.
    pub(crate) fn push(
        &mut self,
        resource: &Arc<ResourceHeader>,
        scope: &Arc<ScopeHeader>,
        records: &[u8],
        spans: u64,
        first_of_piece: bool,
    ) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(records);
        self.runs.push(Run {
            resource: Arc::clone(resource),
            scope: Arc::clone(scope),
            range: start..self.bytes.len(),
            spans,
            first_of_piece,
            readable: true,
        });
    }

    /// Forgets the trace, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.runs.clear();
    }

    /// Reads every run into `table`; returns the spans of the runs that did not read.
    pub(crate) fn read_into(&mut self, table: &mut SpanTable) -> u64 {
        table.clear();
        let mut unreadable = 0;
        for run in &mut self.runs {
            run.readable = table.read_records(&self.bytes, run.range.clone()).is_ok();
            if !run.readable {
                unreadable += run.spans;
            }
        }
        unreadable
    }

    fn readable(&self) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter(|run| run.readable)
    }

    /// Hands the readable runs to an encoded release.
    pub(crate) fn release_into(&self, release: &mut EncodedRelease) {
        for run in self.readable() {
            if let Some(records) = self.bytes.get(run.range.clone()) {
                release.push(&run.resource, &run.scope, records, run.spans);
            }
        }
    }

    /// The readable runs decoded by prost, for a decoded release, and the spans of any that prost
    /// refuses (a field no policy reads may still be malformed in a record no check saw).
    pub(crate) fn decode(&self) -> (Vec<TracePiece>, u64) {
        let mut lost = 0;
        let pieces = self
            .readable()
            .filter_map(|run| {
                let decoded = self
                    .bytes
                    .get(run.range.clone())
                    .and_then(|records| ScopeSpans::decode(records).ok());
                let Some(decoded) = decoded else {
                    lost += run.spans;
                    return None;
                };
                Some(TracePiece {
                    resource: Arc::clone(&run.resource),
                    span_count: decoded.spans.len() as u64,
                    scopes: vec![ScopePiece {
                        scope: Arc::clone(&run.scope),
                        spans: decoded.spans,
                    }],
                    header_share: 0,
                })
            })
            .collect();
        (pieces, lost)
    }
}

/// A trace being decided, as the policies see it.
pub(crate) struct TraceView<'a> {
    pub(crate) trace_id: [u8; 16],
    /// Spans that read (those that did not are counted as undecodable, not judged).
    pub(crate) span_count: u64,
    records: &'a TraceRecords,
    table: &'a SpanTable,
    /// The trace decoded, for condition policies: once, by the first that asks.
    decoded: RefCell<Option<Vec<ResourceSpans>>>,
    condition_errors: Cell<u64>,
}

impl<'a> TraceView<'a> {
    pub(crate) fn new(trace_id: [u8; 16], records: &'a TraceRecords, table: &'a SpanTable) -> Self {
        TraceView {
            trace_id,
            span_count: table.spans.len() as u64,
            records,
            table,
            decoded: RefCell::new(None),
            condition_errors: Cell::new(0),
        }
    }

    /// Runs `read` on the trace's readable spans decoded into `ResourceSpans`, merged by resource
    /// and scope as a release would be. Spans prost refuses are not there; the release counts them.
    pub(crate) fn with_decoded<R>(&self, read: impl FnOnce(&mut [ResourceSpans]) -> R) -> R {
        let mut decoded = self.decoded.borrow_mut();
        let spans = decoded.get_or_insert_with(|| {
            let mut spans = Vec::new();
            let mut assembler = Reassembler::default();
            for piece in self.records.decode().0 {
                assembler.push(&mut spans, piece);
            }
            spans
        });
        read(spans)
    }

    /// Notes that a condition policy could not judge the trace.
    pub(crate) fn count_condition_error(&self) {
        self.condition_errors.set(self.condition_errors.get() + 1);
    }

    pub(crate) fn condition_errors(&self) -> u64 {
        self.condition_errors.get()
    }

    pub(crate) fn spans(&self) -> impl Iterator<Item = SpanView<'a>> {
        self.table.spans(&self.records.bytes)
    }

    /// Whether any resource or span attribute named `key` satisfies `predicate`.
    pub(crate) fn any_attribute(
        &self,
        key: &str,
        predicate: impl Fn(AttributeValue<'_>) -> bool,
    ) -> bool {
        let in_resource = |attributes: &[KeyValue]| {
            attributes.iter().any(|kv| {
                kv.key == key
                    && kv
                        .value
                        .as_ref()
                        .and_then(|value| value.value.as_ref())
                        .is_some_and(|value| predicate(attribute_value(value)))
            })
        };
        // A trace's runs come piece by piece, and a service's pieces share one interned header:
        // each resource is looked at once per stretch of runs that share it, not once per run.
        let mut previous: Option<&Arc<ResourceHeader>> = None;
        let resource_matches = self.records.readable().any(|run| {
            let seen = previous.is_some_and(|previous| Arc::ptr_eq(previous, &run.resource));
            previous = Some(&run.resource);
            !seen
                && run
                    .resource
                    .resource
                    .as_ref()
                    .is_some_and(|resource| in_resource(&resource.attributes))
        });
        resource_matches || self.spans().any(|span| span.any_attribute(key, &predicate))
    }

    /// Approximate OTLP protobuf size of the trace: its spans, and each piece's resource and
    /// scopes.
    pub(crate) fn encoded_len(&self) -> u64 {
        let headers: usize = self
            .records
            .readable()
            .map(|run| {
                let resource = if run.first_of_piece {
                    run.resource.bytes.message_len()
                } else {
                    0
                };
                resource + run.scope.bytes.message_len()
            })
            .sum();
        let spans: usize = self.table.spans.iter().map(|span| span.encoded_len).sum();
        (headers + spans) as u64
    }
}

fn attribute_value(value: &any_value::Value) -> AttributeValue<'_> {
    match value {
        any_value::Value::StringValue(text) => AttributeValue::Str(text),
        any_value::Value::BoolValue(flag) => AttributeValue::Bool(*flag),
        any_value::Value::IntValue(number) => AttributeValue::Int(*number),
        any_value::Value::DoubleValue(number) => AttributeValue::Double(*number),
        _ => AttributeValue::Other,
    }
}

/// One span's facts with the bytes they point into.
#[derive(Clone, Copy)]
pub(crate) struct SpanView<'a> {
    pub(crate) facts: &'a SpanFacts,
    table: &'a SpanTable,
    bytes: &'a [u8],
}

impl<'a> SpanView<'a> {
    /// The W3C trace state (empty when unset; the receiver checked it is UTF-8).
    pub(crate) fn trace_state(&self) -> &'a str {
        text(self.bytes, &self.facts.trace_state)
    }

    /// Whether an attribute named `key` has a value that satisfies `predicate`.
    pub(crate) fn any_attribute(
        &self,
        key: &str,
        predicate: &impl Fn(AttributeValue<'_>) -> bool,
    ) -> bool {
        let attributes = self
            .table
            .attributes
            .get(self.facts.attributes.clone())
            .unwrap_or_default();
        attributes.iter().any(|attribute| {
            self.bytes.get(attribute.key.clone()) == Some(key.as_bytes())
                && match &attribute.value {
                    ValueAt::Unset => false,
                    ValueAt::Str(range) => predicate(AttributeValue::Str(text(self.bytes, range))),
                    ValueAt::Bool(flag) => predicate(AttributeValue::Bool(*flag)),
                    ValueAt::Int(number) => predicate(AttributeValue::Int(*number)),
                    ValueAt::Double(number) => predicate(AttributeValue::Double(*number)),
                    ValueAt::Other => predicate(AttributeValue::Other),
                }
        })
    }
}

/// The string at `range` of `bytes`; empty should it not be UTF-8, which the receiver's check
/// (or prost, for spans it encoded) rules out.
fn text<'a>(bytes: &'a [u8], range: &Range<usize>) -> &'a str {
    bytes
        .get(range.clone())
        .and_then(|text| otlp_simd::utf8::from_utf8(text).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
