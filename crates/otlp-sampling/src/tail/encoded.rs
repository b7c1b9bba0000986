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
use std::ops::Range;
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
    let mut split = std::mem::take(buffer.scratch).recycle();
    // The whole request is read before anything is stored: a refused one leaves nothing behind.
    let read = split.request(request, buffer.headers);
    let found = std::mem::take(&mut split.found);
    let pieces = match read {
        Ok(_) => store_by_trace(found, buffer.store, |piece, store| {
            piece.store(&split.records, &split.scopes, store)
        }),
        Err(_) => Vec::new(),
    };
    *buffer.scratch = split.recycle();
    read.map(|invalid| (pieces, invalid))
}

/// What [`split_encoded`] keeps from one request to the next: its lists, empty, with their capacity (all but the
/// found pieces, which go on to the store).
///
/// Each request grew a dozen lists from nothing, a few reallocations each as they doubled. In the tail-sampling
/// config the collector made 1.73 heap allocations per span before, 1.10 after (`loadgen --rate 50000`, counted
/// with uprobes), and allocating under [`split_encoded`] went from 3.2% to 2.4% of its CPU in `perf` under
/// `loadgen --max` (what is left is mostly the stored pieces' own lists).
pub(crate) type SplitScratch = RequestSplit<'static>;

/// One span record: the index of its `ScopeSpans` in [`RequestSplit::scopes`], and its bytes.
type Record<'a> = (u32, &'a [u8]);

/// Where split pieces go: their records into the store, their headers into the table.
pub(crate) struct Buffer<'a> {
    pub(crate) store: &'a mut SpanStore,
    pub(crate) headers: &'a mut HeaderTable,
    pub(crate) scratch: &'a mut SplitScratch,
}

/// One trace's spans from one `ResourceSpans`, found in the request and not yet stored.
struct FoundPiece {
    resource: Arc<ResourceHeader>,
    /// Its span records in [`RequestSplit::records`], in request order.
    records: Range<usize>,
    /// Runs of one scope in `records`.
    runs: usize,
    /// The piece's share of the headers and structs, as [`StoredPiece::header_share`].
    share: u64,
}

impl FoundPiece {
    /// Copies the span records into the store, one run of records per scope.
    fn store(
        self,
        records: &[Record<'_>],
        scopes: &[Arc<ScopeHeader>],
        store: &mut SpanStore,
    ) -> StoredPiece {
        let mut piece = StoredPiece {
            resource: self.resource,
            scopes: Vec::with_capacity(self.runs),
            span_count: 0,
            heap_bytes: self.share,
            header_share: self.share,
        };
        let records = records.get(self.records).unwrap_or_default();
        for run in scope_runs(records, scopes) {
            let Some(scope) = run
                .first()
                .and_then(|(scope, _)| scopes.get(*scope as usize))
            else {
                continue;
            };
            let stored = store.append_with(|open| {
                for (_, record) in run {
                    frame(SCOPE_SPANS_SPANS_FIELD, record, open);
                }
            });
            piece.span_count += run.len() as u64;
            piece.heap_bytes += stored.len() as u64;
            piece.scopes.push(StoredScope {
                scope: Arc::clone(scope),
                span_count: run.len() as u64,
                records: stored,
            });
        }
        piece
    }
}

/// A piece's records in runs of one scope: consecutive records under the same header, whichever
/// `ScopeSpans` of the request each came in.
fn scope_runs<'r, 'a>(
    records: &'r [Record<'a>],
    scopes: &'r [Arc<ScopeHeader>],
) -> impl Iterator<Item = &'r [Record<'a>]> {
    records.chunk_by(move |(a, _), (b, _)| {
        a == b
            || matches!(
                (scopes.get(*a as usize), scopes.get(*b as usize)),
                (Some(a), Some(b)) if Arc::ptr_eq(a, b)
            )
    })
}

/// A request split by trace: what [`split_encoded`] stores, and the scratch of splitting it.
///
/// Every trace's records sit in one list, each piece a range of it, instead of a list per piece and
/// per scope within it: those were an allocation or two per trace of every request, growing a
/// record at a time (about 4% of the collector's CPU in the tail-sampling config under
/// `loadgen --max`, in `perf`).
#[derive(Default)]
pub(crate) struct RequestSplit<'a> {
    found: Vec<([u8; 16], FoundPiece)>,
    /// The span records of every piece, a piece's records together, in request order.
    records: Vec<Record<'a>>,
    /// The request's `ScopeSpans` headers, in request order.
    scopes: Vec<Arc<ScopeHeader>>,
    /// The current `ResourceSpans`' records before they are grouped by trace.
    resource_records: Vec<Record<'a>>,
    /// The trace of each of `resource_records`, by its index in `traces`.
    record_traces: Vec<u32>,
    /// The current `ResourceSpans`' traces in first-seen order, each with its record count.
    traces: Vec<([u8; 16], usize)>,
    index_of: FastMap<[u8; 16], u32>,
    /// Each trace's next slot in `records` while they are grouped.
    next: Vec<usize>,
    /// Each trace's runs of one scope.
    runs: Vec<usize>,
    header_parts: Vec<&'a [u8]>,
    raw_key: Vec<u8>,
    /// The current `ResourceSpans`' resource messages, and its header's key.
    resource_parts: Vec<&'a [u8]>,
    resource_key: Vec<u8>,
}

/// `list`, emptied, typed for other borrows. Collecting an emptied list's iterator into one of the same layout
/// keeps its allocation (the standard library's in-place collection; a test here checks that it still does).
fn emptied<T, U>(list: Vec<T>) -> Vec<U> {
    list.into_iter().filter_map(|_| None).collect()
}

/// Scratch, so only its size says anything.
impl std::fmt::Debug for RequestSplit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSplit")
            .field("records_capacity", &self.records.capacity())
            .finish_non_exhaustive()
    }
}

impl RequestSplit<'_> {
    /// The same lists, emptied, for another request's borrows.
    fn recycle<'b>(self) -> RequestSplit<'b> {
        let RequestSplit {
            mut found,
            records,
            mut scopes,
            resource_records,
            mut record_traces,
            mut traces,
            mut index_of,
            mut next,
            mut runs,
            header_parts,
            mut raw_key,
            resource_parts,
            mut resource_key,
        } = self;
        found.clear();
        scopes.clear();
        record_traces.clear();
        traces.clear();
        index_of.clear();
        next.clear();
        runs.clear();
        raw_key.clear();
        resource_key.clear();
        RequestSplit {
            found,
            records: emptied(records),
            scopes,
            resource_records: emptied(resource_records),
            record_traces,
            traces,
            index_of,
            next,
            runs,
            header_parts: emptied(header_parts),
            raw_key,
            resource_parts: emptied(resource_parts),
            resource_key,
        }
    }
}

impl<'a> RequestSplit<'a> {
    fn request(&mut self, request: &'a [u8], headers: &mut HeaderTable) -> Result<u64> {
        let mut invalid = 0;
        for field in Fields::new(request, RECURSION_LIMIT) {
            match field? {
                (REQUEST_RESOURCE_SPANS, Value::Len(resource_spans)) => {
                    invalid += self.resource_spans(resource_spans, headers)?;
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

    fn resource_spans(&mut self, bytes: &'a [u8], headers: &mut HeaderTable) -> Result<u64> {
        // Taken for the walk: `scope_spans` below borrows all of `self`.
        let mut resource = std::mem::take(&mut self.resource_parts);
        let mut raw_key = std::mem::take(&mut self.resource_key);
        resource.clear();
        raw_key.clear();
        let mut schema_url = "";
        let mut header_heap = 0;
        self.resource_records.clear();
        for field in Fields::new(bytes, RECURSION_LIMIT - 1) {
            match field? {
                // prost merges a repeated occurrence of a message field into the first.
                (RESOURCE_SPANS_RESOURCE, Value::Len(encoded)) => {
                    frame(RESOURCE_SPANS_RESOURCE, encoded, &mut raw_key);
                    resource.push(encoded);
                }
                (RESOURCE_SPANS_SCOPE_SPANS, Value::Len(encoded)) => {
                    header_heap += self.scope_spans(encoded, headers)?;
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
        let header = headers.resource_encoded(&raw_key, &resource, schema_url);
        self.resource_parts = resource;
        self.resource_key = raw_key;
        let (resource, new) = header?;
        if new {
            header_heap += resource.heap_size();
        }
        // Each trace's records, by scope in first-seen order, before any goes into the store: a
        // trace whose spans interleave with others' still gets one contiguous run per scope.
        let first_record = self.records.len();
        let invalid = self.group_by_trace()?;
        let grouped = self.records.get(first_record..).unwrap_or_default();
        self.runs.clear();
        let mut start = 0;
        for &(_, count) in &self.traces {
            let records = grouped.get(start..start + count).unwrap_or_default();
            self.runs.push(scope_runs(records, &self.scopes).count());
            start += count;
        }
        // Each piece carries an equal share of the headers this request brought and of its own
        // structs, as in `split_by_trace`.
        let runs: usize = self.runs.iter().sum();
        let share = ((header_heap + runs * size_of::<StoredScope>()) / self.traces.len().max(1))
            as u64
            + size_of::<StoredPiece>() as u64;
        let mut start = first_record;
        self.found.reserve(self.traces.len());
        for (&(key, count), &runs) in self.traces.iter().zip(&self.runs) {
            self.found.push((
                key,
                FoundPiece {
                    resource: Arc::clone(&resource),
                    records: start..start + count,
                    runs,
                    share,
                },
            ));
            start += count;
        }
        Ok(invalid)
    }

    /// Reads one `ScopeSpans`: its header into `scopes`, its span records into
    /// `resource_records`. Returns the header's heap bytes if this request brought it (it was not
    /// held already), else 0.
    fn scope_spans(&mut self, bytes: &'a [u8], headers: &mut HeaderTable) -> Result<usize> {
        let slot = self.scopes.len() as u32;
        self.header_parts.clear();
        self.raw_key.clear();
        let mut schema_url = "";
        for field in Fields::new(bytes, RECURSION_LIMIT - 2) {
            match field? {
                (SCOPE_SPANS_SCOPE, Value::Len(encoded)) => {
                    frame(SCOPE_SPANS_SCOPE, encoded, &mut self.raw_key);
                    self.header_parts.push(encoded);
                }
                (SCOPE_SPANS_SPANS_FIELD, Value::Len(span)) => {
                    self.resource_records.push((slot, span));
                }
                (SCOPE_SPANS_SCHEMA_URL, Value::Len(encoded)) => {
                    frame(SCOPE_SPANS_SCHEMA_URL, encoded, &mut self.raw_key);
                    schema_url = utf8(encoded, SCOPE_SPANS_SCHEMA_URL)?;
                }
                (
                    field @ (SCOPE_SPANS_SCOPE | SCOPE_SPANS_SPANS_FIELD | SCOPE_SPANS_SCHEMA_URL),
                    _,
                ) => {
                    return Err(WireError::WrongWireType { field }.into());
                }
                _ => {}
            }
        }
        let (header, new) = headers.scope_encoded(&self.raw_key, &self.header_parts, schema_url)?;
        let new_heap = if new { header.heap_size() } else { 0 };
        self.scopes.push(header);
        Ok(new_heap)
    }

    /// Moves the current resource's records with a valid trace ID to `records`, grouped by trace
    /// in first-seen order (a trace's records in request order), and counts those without one.
    fn group_by_trace(&mut self) -> Result<u64> {
        self.traces.clear();
        self.index_of.clear();
        self.record_traces.clear();
        let mut invalid = 0;
        for (_, record) in &self.resource_records {
            let Some(key) = trace_key(record)? else {
                invalid += 1;
                self.record_traces.push(u32::MAX);
                continue;
            };
            let traces = &mut self.traces;
            let index = *self.index_of.entry(key).or_insert_with(|| {
                traces.push((key, 0));
                (traces.len() - 1) as u32
            });
            if let Some((_, count)) = traces.get_mut(index as usize) {
                *count += 1;
            }
            self.record_traces.push(index);
        }
        // A counting sort: each trace's first slot, then every record into its trace's next slot.
        let first = self.records.len();
        self.next.clear();
        let mut start = first;
        for &(_, count) in &self.traces {
            self.next.push(start);
            start += count;
        }
        let placeholder: Record<'a> = (0, &[]);
        self.records.resize(start, placeholder);
        for (&trace, &record) in self.record_traces.iter().zip(&self.resource_records) {
            let Some(slot) = self.next.get_mut(trace as usize) else {
                continue;
            };
            if let Some(place) = self.records.get_mut(*slot) {
                *place = record;
            }
            *slot += 1;
        }
        Ok(invalid)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_list_keeps_its_allocation() {
        let text = String::from("spans");
        let mut list: Vec<&[u8]> = Vec::with_capacity(100);
        list.extend([text.as_bytes(); 40]);
        let (at, capacity) = (list.as_ptr() as usize, list.capacity());
        let emptied: Vec<&'static [u8]> = emptied(list);
        assert!(emptied.is_empty());
        assert_eq!(emptied.capacity(), capacity);
        assert_eq!(emptied.as_ptr() as usize, at);
    }
}
