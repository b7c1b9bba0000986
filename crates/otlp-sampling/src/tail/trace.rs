//! How the engine holds spans while a trace waits for its decision.
//!
//! An OTLP batch carries each resource (often 20+ attributes) once for many traces.
//! Cloning it into every trace would cost more than the spans themselves, so buffered
//! spans point at a shared resource and scope header (one per distinct header, see
//! [`super::headers`]), and full `ResourceSpans` are only rebuilt for the traces that are
//! released, merged per resource and scope.
//!
//! While a trace waits, its spans are kept as their protobuf encoding ([`PendingTrace`]), in the
//! compressed blocks of [`SpanStore`]: a decoded prost `Span` of owned strings and vectors takes
//! about three times the heap of its encoding (1298 against 436 bytes per span on the generator's
//! traces), and a tail sampler holds tens of seconds of traffic. When a trace is decided, the
//! policies read its records in place ([`super::view`]); only a decoded release decodes them.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use prost::encoding::message as length_delimited;

use super::hashing::FastMap;
use super::headers::HeaderTable;
use super::store::{Records, SpanStore};
use super::view::TraceRecords;

/// A header's fields other than the spans (`resource` or `scope`, then `schema_url`), encoded as
/// prost encodes them: what a released `ResourceSpans` or `ScopeSpans` is written around its
/// spans with, so that sampled spans leave encoded without their header being encoded again.
#[derive(Debug, Default)]
pub(crate) struct HeaderBytes {
    bytes: Box<[u8]>,
    /// Where the `schema_url` field starts: prost writes it after the spans.
    message_end: usize,
}

impl HeaderBytes {
    pub(crate) fn new(encoded: &[u8], message_end: usize) -> Self {
        HeaderBytes {
            bytes: encoded.into(),
            message_end: message_end.min(encoded.len()),
        }
    }

    /// The `resource` / `scope` field, framed.
    pub(crate) fn message(&self) -> &[u8] {
        self.bytes.get(..self.message_end).unwrap_or_default()
    }

    /// Bytes of the `resource` / `scope` message itself, without its field key and length: what
    /// prost's `encoded_len` gives for it, read from the encoding instead of walking the message.
    pub(crate) fn message_len(&self) -> usize {
        // The field key is one byte (field 1); the length follows it.
        self.message()
            .get(1..)
            .and_then(|mut rest| prost::encoding::decode_varint(&mut rest).ok())
            .map_or(0, |len| len as usize)
    }

    /// The `schema_url` field, framed (empty when the URL is).
    pub(crate) fn schema_url(&self) -> &[u8] {
        self.bytes.get(self.message_end..).unwrap_or_default()
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// The part of a `ResourceSpans` shared by all its traces.
#[derive(Debug)]
pub(crate) struct ResourceHeader {
    pub(crate) resource: Option<Resource>,
    pub(crate) schema_url: String,
    pub(crate) bytes: HeaderBytes,
}

impl ResourceHeader {
    /// Estimated heap bytes of the header, by capacity.
    pub(crate) fn heap_size(&self) -> usize {
        self.resource
            .as_ref()
            .map_or(0, |r| heap_size_attributes(&r.attributes))
            + self.schema_url.capacity()
            + self.bytes.len()
            + size_of::<ResourceHeader>()
    }
}

/// The part of a `ScopeSpans` shared by all its traces.
#[derive(Debug)]
pub(crate) struct ScopeHeader {
    pub(crate) scope: Option<InstrumentationScope>,
    pub(crate) schema_url: String,
    pub(crate) bytes: HeaderBytes,
}

impl ScopeHeader {
    /// Estimated heap bytes of the header, by capacity.
    pub(crate) fn heap_size(&self) -> usize {
        self.schema_url.capacity()
            + self.bytes.len()
            + self.scope.as_ref().map_or(0, |scope| {
                scope.name.capacity()
                    + scope.version.capacity()
                    + heap_size_attributes(&scope.attributes)
            })
    }
}

/// One trace's spans from one scope of one batch.
#[derive(Debug)]
pub(crate) struct ScopePiece {
    pub(crate) scope: Arc<ScopeHeader>,
    pub(crate) spans: Vec<Span>,
}

/// One trace's spans from one `ResourceSpans` of one batch.
#[derive(Debug)]
pub(crate) struct TracePiece {
    pub(crate) resource: Arc<ResourceHeader>,
    pub(crate) scopes: Vec<ScopePiece>,
    pub(crate) span_count: u64,
    /// This piece's share of the resource and scope headers it keeps alive, plus its own struct,
    /// in estimated heap bytes.
    pub(crate) header_share: u64,
}

/// `ScopeSpans.spans` is field 2: the stored records are exactly what a `ScopeSpans` holding only
/// spans encodes to, so decoding them back is one `ScopeSpans::decode`.
pub(crate) const SCOPE_SPANS_SPANS_FIELD: u32 = 2;

impl TracePiece {
    /// Encodes the spans into the store for buffering; the headers stay shared.
    pub(crate) fn store(self, store: &mut SpanStore) -> StoredPiece {
        let mut heap_bytes = self.header_share;
        let scopes: Vec<StoredScope> = self
            .scopes
            .into_iter()
            .map(|piece| {
                let records = store.append_with(|open| {
                    for span in &piece.spans {
                        length_delimited::encode(SCOPE_SPANS_SPANS_FIELD, span, open);
                    }
                });
                // The scope's struct is in `header_share`, counted where the piece was split.
                heap_bytes += records.len() as u64;
                StoredScope {
                    scope: piece.scope,
                    span_count: piece.spans.len() as u64,
                    records,
                }
            })
            .collect();
        StoredPiece {
            resource: self.resource,
            scopes,
            span_count: self.span_count,
            heap_bytes,
            header_share: self.header_share,
        }
    }
}

/// One trace's spans from one scope of one batch, encoded as `ScopeSpans.spans` records in the
/// [`SpanStore`].
#[derive(Debug)]
pub(crate) struct StoredScope {
    pub(crate) scope: Arc<ScopeHeader>,
    pub(crate) span_count: u64,
    pub(crate) records: Records,
}

/// A [`TracePiece`] while its trace waits for the decision.
#[derive(Debug)]
pub(crate) struct StoredPiece {
    pub(crate) resource: Arc<ResourceHeader>,
    pub(crate) scopes: Vec<StoredScope>,
    pub(crate) span_count: u64,
    /// Estimated heap bytes: the span records, the structs, and the share of the headers.
    pub(crate) heap_bytes: u64,
    pub(crate) header_share: u64,
}

impl StoredPiece {
    /// Decodes the spans back and releases their records. Records this module encoded from valid
    /// spans always decode; should one not, its spans are counted in the second value rather than
    /// lost silently.
    pub(crate) fn load(self, store: &mut SpanStore) -> (TracePiece, u64) {
        let mut lost = 0;
        let mut span_count = 0;
        let scopes = self
            .scopes
            .into_iter()
            .filter_map(|stored| {
                let decoded = store
                    .read(stored.records)
                    .ok()
                    .and_then(|bytes| ScopeSpans::decode(bytes).ok());
                store.release(stored.records);
                match decoded {
                    Some(decoded) => {
                        span_count += decoded.spans.len() as u64;
                        Some(ScopePiece {
                            scope: stored.scope,
                            spans: decoded.spans,
                        })
                    }
                    None => {
                        lost += stored.span_count;
                        None
                    }
                }
            })
            .collect();
        let piece = TracePiece {
            resource: self.resource,
            scopes,
            span_count,
            header_share: self.header_share,
        };
        (piece, lost)
    }

    /// The encoded size of the piece's span records.
    pub(crate) fn record_bytes(&self) -> u64 {
        self.scopes
            .iter()
            .map(|scope| scope.records.len() as u64)
            .sum()
    }

    /// Releases the records of spans that are dropped unread.
    pub(crate) fn discard(self, store: &mut SpanStore) {
        for stored in self.scopes {
            store.release(stored.records);
        }
    }
}

/// A trace waiting for its decision, its spans encoded.
#[derive(Debug)]
pub(crate) struct PendingTrace {
    pieces: Vec<StoredPiece>,
    pub(crate) span_count: u64,
    /// Estimated heap bytes held for this trace (what `max_buffered_bytes` bounds).
    pub(crate) heap_bytes: u64,
}

impl PendingTrace {
    pub(crate) fn new(piece: StoredPiece) -> Self {
        let mut trace = PendingTrace {
            pieces: Vec::with_capacity(1),
            span_count: 0,
            heap_bytes: 0,
        };
        trace.push(piece);
        trace
    }

    /// Adds spans of this trace that arrived in a later batch (or another resource); returns the
    /// heap bytes they hold once stored.
    pub(crate) fn push(&mut self, stored: StoredPiece) -> u64 {
        let heap_bytes = stored.heap_bytes;
        self.span_count += stored.span_count;
        self.heap_bytes += heap_bytes;
        self.pieces.push(stored);
        heap_bytes
    }

    /// Copies the trace's span records into `records` for its decision, and releases them from
    /// the store; returns the spans whose block could not be read back (a defect, counted).
    pub(crate) fn copy_into(self, store: &mut SpanStore, records: &mut TraceRecords) -> u64 {
        let mut lost = 0;
        for piece in self.pieces {
            let mut first_of_piece = true;
            for stored in piece.scopes {
                match store.read(stored.records) {
                    Ok(bytes) => {
                        records.push(
                            &piece.resource,
                            &stored.scope,
                            bytes,
                            stored.span_count,
                            first_of_piece,
                        );
                        first_of_piece = false;
                    }
                    Err(_) => lost += stored.span_count,
                }
                store.release(stored.records);
            }
        }
        lost
    }
}

impl PendingTrace {
    /// The encoded size of the trace's span records, as counted in `heap_bytes`.
    pub(crate) fn record_bytes(&self) -> u64 {
        self.pieces.iter().map(StoredPiece::record_bytes).sum()
    }

    /// Releases the records of a trace dropped undecided.
    pub(crate) fn discard(self, store: &mut SpanStore) {
        for piece in self.pieces {
            piece.discard(store);
        }
    }
}

/// Splits one `ResourceSpans` into one piece per trace ID, in first-seen order. Spans
/// whose trace ID is not 16 bytes or is all zeros are returned as a count.
pub(crate) fn split_by_trace(
    resource_spans: ResourceSpans,
    headers: &mut HeaderTable,
) -> (Vec<([u8; 16], TracePiece)>, u64) {
    let ResourceSpans {
        resource,
        scope_spans,
        schema_url,
    } = resource_spans;
    let (resource, new) = headers.resource(ResourceHeader {
        resource,
        schema_url,
        bytes: HeaderBytes::default(),
    });
    // Headers are charged to the request that brought them; one already held is paid for.
    let mut header_heap = if new { resource.heap_size() } else { 0 };
    let mut pieces: Vec<([u8; 16], TracePiece)> = Vec::new();
    let mut index_of: FastMap<[u8; 16], usize> = FastMap::default();
    let mut invalid = 0u64;
    for ScopeSpans {
        scope,
        spans,
        schema_url,
    } in scope_spans
    {
        let (scope, new) = headers.scope(ScopeHeader {
            scope,
            schema_url,
            bytes: HeaderBytes::default(),
        });
        if new {
            header_heap += scope.heap_size();
        }
        for span in spans {
            let Some(key) = trace_key(&span) else {
                invalid += 1;
                continue;
            };
            let index = *index_of.entry(key).or_insert_with(|| {
                pieces.push((
                    key,
                    TracePiece {
                        resource: Arc::clone(&resource),
                        scopes: Vec::new(),
                        span_count: 0,
                        header_share: 0,
                    },
                ));
                pieces.len() - 1
            });
            let Some((_, piece)) = pieces.get_mut(index) else {
                continue;
            };
            piece.span_count += 1;
            match piece.scopes.last_mut() {
                Some(last) if Arc::ptr_eq(&last.scope, &scope) => last.spans.push(span),
                _ => piece.scopes.push(ScopePiece {
                    scope: Arc::clone(&scope),
                    spans: vec![span],
                }),
            }
        }
    }
    // Each piece carries an equal share of the headers this request brought and of its own
    // structs, so the shares add up to the real cost while all of them are buffered.
    let runs: usize = pieces.iter().map(|(_, piece)| piece.scopes.len()).sum();
    let share = ((header_heap + runs * size_of::<StoredScope>()) / pieces.len().max(1)) as u64
        + size_of::<StoredPiece>() as u64;
    for (_, piece) in &mut pieces {
        piece.header_share = share;
    }
    (pieces, invalid)
}

fn trace_key(span: &Span) -> Option<[u8; 16]> {
    let key = <[u8; 16]>::try_from(span.trace_id.as_slice()).ok()?;
    (key != [0; 16]).then_some(key)
}

/// Rebuilds `ResourceSpans` from released pieces, merging pieces with the same resource (and
/// scope) into one.
///
/// Headers are identified by address, so the reassembler holds a reference to each one it
/// has seen: an address cannot be freed and reused by another header while it is in use.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    by_resource: HashMap<usize, (usize, Arc<ResourceHeader>)>,
    by_scope: HashMap<(usize, usize), (usize, Arc<ScopeHeader>)>,
}

impl Reassembler {
    pub(crate) fn push(&mut self, out: &mut Vec<ResourceSpans>, piece: TracePiece) {
        let resource_id = Arc::as_ptr(&piece.resource) as usize;
        let resource_index = self
            .by_resource
            .entry(resource_id)
            .or_insert_with(|| {
                out.push(ResourceSpans {
                    resource: piece.resource.resource.clone(),
                    scope_spans: Vec::new(),
                    schema_url: piece.resource.schema_url.clone(),
                });
                (out.len() - 1, Arc::clone(&piece.resource))
            })
            .0;
        let Some(resource_spans) = out.get_mut(resource_index) else {
            return;
        };
        for scope_piece in piece.scopes {
            let scope_id = Arc::as_ptr(&scope_piece.scope) as usize;
            let scope_index = self
                .by_scope
                .entry((resource_index, scope_id))
                .or_insert_with(|| {
                    resource_spans.scope_spans.push(ScopeSpans {
                        scope: scope_piece.scope.scope.clone(),
                        spans: Vec::new(),
                        schema_url: scope_piece.scope.schema_url.clone(),
                    });
                    (
                        resource_spans.scope_spans.len() - 1,
                        Arc::clone(&scope_piece.scope),
                    )
                })
                .0;
            if let Some(scope_spans) = resource_spans.scope_spans.get_mut(scope_index) {
                scope_spans.spans.extend(scope_piece.spans);
            }
        }
    }
}

/// Estimated heap footprint of a `ResourceSpans` (allocations made by its vectors and
/// strings, by capacity).
pub fn heap_size_resource_spans(resource_spans: &ResourceSpans) -> u64 {
    let resource = resource_spans
        .resource
        .as_ref()
        .map_or(0, |r| heap_size_attributes(&r.attributes));
    let scopes: usize = resource_spans
        .scope_spans
        .iter()
        .map(|ss| {
            let scope = ss.scope.as_ref().map_or(0, |s| {
                s.name.capacity() + s.version.capacity() + heap_size_attributes(&s.attributes)
            });
            let spans: usize = ss.spans.iter().map(heap_size_span).sum();
            scope + ss.schema_url.capacity() + ss.spans.capacity() * size_of::<Span>() + spans
        })
        .sum();
    (resource
        + resource_spans.schema_url.capacity()
        + resource_spans.scope_spans.capacity() * size_of::<ScopeSpans>()
        + scopes) as u64
}

fn heap_size_span(span: &Span) -> usize {
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
    span.trace_id.capacity()
        + span.span_id.capacity()
        + span.trace_state.capacity()
        + span.parent_span_id.capacity()
        + span.name.capacity()
        + heap_size_attributes(&span.attributes)
        + span.events.capacity() * size_of::<Event>()
        + span
            .events
            .iter()
            .map(|e| e.name.capacity() + heap_size_attributes(&e.attributes))
            .sum::<usize>()
        + span.links.capacity() * size_of::<Link>()
        + span
            .links
            .iter()
            .map(|l| {
                l.trace_id.capacity()
                    + l.span_id.capacity()
                    + l.trace_state.capacity()
                    + heap_size_attributes(&l.attributes)
            })
            .sum::<usize>()
        + span.status.as_ref().map_or(0, |s| s.message.capacity())
}

fn heap_size_attributes(attributes: &Vec<KeyValue>) -> usize {
    attributes.capacity() * size_of::<KeyValue>()
        + attributes
            .iter()
            .map(|kv| kv.key.capacity() + kv.value.as_ref().map_or(0, heap_size_any_value))
            .sum::<usize>()
}

fn heap_size_any_value(value: &AnyValue) -> usize {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.capacity(),
        Some(any_value::Value::BytesValue(b)) => b.capacity(),
        Some(any_value::Value::ArrayValue(array)) => {
            array.values.capacity() * size_of::<AnyValue>()
                + array.values.iter().map(heap_size_any_value).sum::<usize>()
        }
        Some(any_value::Value::KvlistValue(list)) => heap_size_attributes(&list.values),
        _ => 0,
    }
}
