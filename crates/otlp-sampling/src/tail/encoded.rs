//! Splitting an encoded `ExportTraceServiceRequest` by trace without decoding its spans.
//!
//! A collector that receives OTLP as bytes would otherwise decode every span into a prost tree
//! only to encode it again for buffering. Here each span record is found in place, its trace ID
//! read, and the record copied as it is into its trace's buffer; only the resource and scope
//! headers, shared by many traces, are decoded, and only the first time they are seen (see
//! [`super::headers`]). The result is what [`split_by_trace`] followed by
//! [`TracePiece::store`] gives for the decoded request: the same traces, pieces, order and counts.
//!
//! [`split_by_trace`]: super::trace::split_by_trace
//! [`TracePiece::store`]: super::trace::TracePiece

use std::mem::size_of;
use std::sync::Arc;

use otlp_model::wire::{Fields, RECURSION_LIMIT, Value, WireError};

use crate::error::Result;

use super::hashing::FastMap;
use super::headers::{HeaderTable, frame};
use super::store::{SpanStore, store_by_trace};
use super::trace::{
    ResourceHeader, SCOPE_SPANS_SPANS_FIELD, ScopeHeader, StoredPiece, StoredScope,
};

/// Field numbers of the OTLP trace messages read here.
const REQUEST_RESOURCE_SPANS: u32 = 1;
const RESOURCE_SPANS_RESOURCE: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
const RESOURCE_SPANS_SCHEMA_URL: u32 = 3;
const SCOPE_SPANS_SCOPE: u32 = 1;
const SCOPE_SPANS_SCHEMA_URL: u32 = 3;
const SPAN_TRACE_ID: u32 = 1;

/// A trace ID and that trace's spans from one `ResourceSpans`.
type KeyedPiece = ([u8; 16], StoredPiece);

/// Nesting used by the request, `ResourceSpans`, `ScopeSpans` and the span around its fields.
const SPAN_DEPTH: u32 = RECURSION_LIMIT - 3;

/// The `ResourceSpans` of an encoded request, each split into one stored piece per trace ID in
/// first-seen order, and the number of spans whose trace ID is not 16 bytes or is all zeros.
///
/// The request must be one prost decodes (check it with `otlp_model::wire::scan` first): a
/// malformed message is reported, but the spans of an accepted request are copied unchecked.
pub(crate) fn split_encoded(request: &[u8], buffer: Buffer<'_>) -> Result<(Vec<KeyedPiece>, u64)> {
    // The whole request is read before anything is stored: a refused one leaves nothing behind.
    let mut found = Vec::new();
    let invalid = split_request(request, buffer.headers, &mut found)?;
    let pieces = store_by_trace(found, buffer.store, FoundPiece::store);
    Ok((pieces, invalid))
}

fn split_request<'a>(
    request: &'a [u8],
    headers: &mut HeaderTable,
    found: &mut Vec<([u8; 16], FoundPiece<'a>)>,
) -> Result<u64> {
    let mut invalid = 0;
    for field in Fields::new(request, RECURSION_LIMIT) {
        match field? {
            (REQUEST_RESOURCE_SPANS, Value::Len(resource_spans)) => {
                invalid += split_resource_spans(resource_spans, headers, found)?;
            }
            (REQUEST_RESOURCE_SPANS, _) => {
                return Err(WireError::WrongWireType {
                    field: REQUEST_RESOURCE_SPANS,
                }
                .into());
            }
            _ => {}
        }
    }
    Ok(invalid)
}

/// One encoded `ScopeSpans`: its header and its span records.
struct ScopeRecords<'a> {
    header: Arc<ScopeHeader>,
    /// The header's heap bytes if this request brought it (it was not held already), else 0.
    new_heap: usize,
    spans: Vec<&'a [u8]>,
}

/// One trace's consecutive span records of one scope.
type Run<'a> = (Arc<ScopeHeader>, Vec<&'a [u8]>);

/// Where split pieces go: their records into the store, their headers into the table.
pub(crate) struct Buffer<'a> {
    pub(crate) store: &'a mut SpanStore,
    pub(crate) headers: &'a mut HeaderTable,
}

/// One trace's spans from one `ResourceSpans`, found in the request and not yet stored.
struct FoundPiece<'a> {
    resource: Arc<ResourceHeader>,
    runs: Vec<Run<'a>>,
    /// The piece's share of the headers and structs, as [`StoredPiece::header_share`].
    share: u64,
}

impl FoundPiece<'_> {
    /// Copies the span records into the store, one run of records per scope.
    fn store(self, store: &mut SpanStore) -> StoredPiece {
        let mut piece = StoredPiece {
            resource: self.resource,
            scopes: Vec::with_capacity(self.runs.len()),
            span_count: 0,
            heap_bytes: self.share,
            header_share: self.share,
        };
        for (scope, records) in self.runs {
            let stored = store.append_with(|open| {
                for record in &records {
                    frame(SCOPE_SPANS_SPANS_FIELD, record, open);
                }
            });
            piece.span_count += records.len() as u64;
            piece.heap_bytes += stored.len() as u64;
            piece.scopes.push(StoredScope {
                scope,
                span_count: records.len() as u64,
                records: stored,
            });
        }
        piece
    }
}

fn split_resource_spans<'a>(
    bytes: &'a [u8],
    headers: &mut HeaderTable,
    found: &mut Vec<([u8; 16], FoundPiece<'a>)>,
) -> Result<u64> {
    let mut resource: Vec<&[u8]> = Vec::new();
    let mut schema_url = "";
    let mut raw_key = Vec::new();
    let mut scopes: Vec<ScopeRecords<'_>> = Vec::new();
    let mut header_heap = 0;
    for field in Fields::new(bytes, RECURSION_LIMIT - 1) {
        match field? {
            // prost merges a repeated occurrence of a message field into the first.
            (RESOURCE_SPANS_RESOURCE, Value::Len(encoded)) => {
                frame(RESOURCE_SPANS_RESOURCE, encoded, &mut raw_key);
                resource.push(encoded);
            }
            (RESOURCE_SPANS_SCOPE_SPANS, Value::Len(encoded)) => {
                let scope = scope_records(encoded, headers)?;
                header_heap += scope.new_heap;
                scopes.push(scope);
            }
            // Each occurrence must be UTF-8, as prost checks each; the last one counts.
            (RESOURCE_SPANS_SCHEMA_URL, Value::Len(encoded)) => {
                frame(RESOURCE_SPANS_SCHEMA_URL, encoded, &mut raw_key);
                schema_url = utf8(encoded, RESOURCE_SPANS_SCHEMA_URL)?;
            }
            (
                field @ (RESOURCE_SPANS_RESOURCE
                | RESOURCE_SPANS_SCOPE_SPANS
                | RESOURCE_SPANS_SCHEMA_URL),
                _,
            ) => return Err(WireError::WrongWireType { field }.into()),
            _ => {}
        }
    }
    let (resource, new) = headers.resource_encoded(&raw_key, &resource, schema_url)?;
    if new {
        header_heap += resource.heap_size();
    }
    // Each trace's records, by scope in first-seen order, before any goes into the store: a trace
    // whose spans interleave with others' still gets one contiguous run per scope.
    let mut traces: Vec<([u8; 16], Vec<Run<'a>>)> = Vec::new();
    let mut index_of: FastMap<[u8; 16], usize> = FastMap::default();
    let mut invalid = 0;
    for scope in &scopes {
        for record in &scope.spans {
            let Some(key) = trace_key(record)? else {
                invalid += 1;
                continue;
            };
            let index = *index_of.entry(key).or_insert_with(|| {
                traces.push((key, Vec::new()));
                traces.len() - 1
            });
            let Some((_, runs)) = traces.get_mut(index) else {
                continue;
            };
            match runs.last_mut() {
                Some((last, records)) if Arc::ptr_eq(last, &scope.header) => records.push(record),
                _ => runs.push((Arc::clone(&scope.header), vec![record])),
            }
        }
    }
    let runs = traces.iter().map(|(_, runs)| runs.len()).sum::<usize>();
    // Each piece carries an equal share of the headers this request brought and of its own structs,
    // as in `split_by_trace`.
    let share = ((header_heap + runs * size_of::<StoredScope>()) / traces.len().max(1)) as u64
        + size_of::<StoredPiece>() as u64;
    for (key, runs) in traces {
        let resource = Arc::clone(&resource);
        found.push((
            key,
            FoundPiece {
                resource,
                runs,
                share,
            },
        ));
    }
    Ok(invalid)
}

fn scope_records<'a>(bytes: &'a [u8], headers: &mut HeaderTable) -> Result<ScopeRecords<'a>> {
    let mut scope: Vec<&[u8]> = Vec::new();
    let mut schema_url = "";
    let mut raw_key = Vec::new();
    let mut spans = Vec::new();
    for field in Fields::new(bytes, RECURSION_LIMIT - 2) {
        match field? {
            (SCOPE_SPANS_SCOPE, Value::Len(encoded)) => {
                frame(SCOPE_SPANS_SCOPE, encoded, &mut raw_key);
                scope.push(encoded);
            }
            (SCOPE_SPANS_SPANS_FIELD, Value::Len(span)) => spans.push(span),
            (SCOPE_SPANS_SCHEMA_URL, Value::Len(encoded)) => {
                frame(SCOPE_SPANS_SCHEMA_URL, encoded, &mut raw_key);
                schema_url = utf8(encoded, SCOPE_SPANS_SCHEMA_URL)?;
            }
            (field @ (SCOPE_SPANS_SCOPE | SCOPE_SPANS_SPANS_FIELD | SCOPE_SPANS_SCHEMA_URL), _) => {
                return Err(WireError::WrongWireType { field }.into());
            }
            _ => {}
        }
    }
    let (header, new) = headers.scope_encoded(&raw_key, &scope, schema_url)?;
    Ok(ScopeRecords {
        new_heap: if new { header.heap_size() } else { 0 },
        header,
        spans,
    })
}

/// The span's trace ID as prost would decode it (the last occurrence wins), if it is a valid one.
fn trace_key(span: &[u8]) -> Result<Option<[u8; 16]>, WireError> {
    let mut trace_id: &[u8] = &[];
    for field in Fields::new(span, SPAN_DEPTH) {
        match field? {
            (SPAN_TRACE_ID, Value::Len(bytes)) => trace_id = bytes,
            (SPAN_TRACE_ID, _) => {
                return Err(WireError::WrongWireType {
                    field: SPAN_TRACE_ID,
                });
            }
            _ => {}
        }
    }
    Ok(<[u8; 16]>::try_from(trace_id)
        .ok()
        .filter(|key| *key != [0; 16]))
}

fn utf8(bytes: &[u8], field: u32) -> Result<&str, WireError> {
    otlp_simd::utf8::from_utf8(bytes).map_err(|_| WireError::InvalidUtf8 { field })
}
