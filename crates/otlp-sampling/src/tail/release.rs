//! Releasing sampled spans as an encoded `ExportTraceServiceRequest`, from the records they were
//! buffered as, instead of decoded `ResourceSpans` that the caller would encode again.
//!
//! A collector forwards what it samples: handing it prost trees means a decode at the decision
//! (which the policies need anyway) and then an encode for the exporter, and the encode cost as
//! much as the decode. Here a sampled trace's span records, copied out of the store while it is
//! decided ([`TraceRecords`](super::view::TraceRecords)), are written between their resource's and scope's encoded headers: prost's own
//! field order (`resource`, `scope_spans`, `schema_url`; `scope`, `spans`, `schema_url`), merged
//! per resource and scope as [`Reassembler`](super::trace::Reassembler) merges decoded pieces.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use super::trace::{ResourceHeader, ScopeHeader};

/// `ExportTraceServiceRequest.resource_spans` and `ResourceSpans.scope_spans`.
const REQUEST_RESOURCE_SPANS: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;

/// One released `ScopeSpans`: its header and where its records are in the release's buffer.
#[derive(Debug)]
struct ScopeRun {
    header: Arc<ScopeHeader>,
    records: Vec<Range<usize>>,
    /// Bytes of the `ScopeSpans` message: header and records.
    len: usize,
}

/// One released `ResourceSpans`: its header and its scopes.
#[derive(Debug)]
struct ResourceRun {
    header: Arc<ResourceHeader>,
    scopes: Vec<ScopeRun>,
}

impl ResourceRun {
    /// Bytes of the `ResourceSpans` message.
    fn len(&self) -> usize {
        self.header.bytes.len()
            + self
                .scopes
                .iter()
                .map(|scope| framed_len(scope.len))
                .sum::<usize>()
    }
}

/// Span records gathered before they are written out as one request. The gathering buffer is
/// reused from call to call: a release that grew it by doubling, to the size of a whole tick's
/// decisions and then freed it, faulted in fresh pages on every call (13% of the collector's CPU
/// in the tail-sampling config under `loadgen --max`, in `perf`). A larger release comes out as
/// several requests of about this size; a resource or scope that spans two of them is written
/// in both, once per request.
const REQUEST_RECORD_BYTES: usize = 1 << 20;

/// An encoded `ExportTraceServiceRequest` of released spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedSpans {
    /// The request's protobuf encoding.
    pub bytes: Vec<u8>,
    /// Spans in it.
    pub spans: u64,
}

/// Released span records gathered per resource and scope, in first-released order.
///
/// The records are appended to one buffer, and a request is written once its size is known:
/// growing a buffer per scope, then the request, reallocated and copied each of them as it grew.
/// Headers are told apart by address, so each one gathered is held here: its address cannot be
/// freed and reused by another header while the release is being gathered.
#[derive(Debug, Default)]
pub(crate) struct EncodedRelease {
    records: Vec<u8>,
    /// Spans in `records`.
    spans: u64,
    resources: Vec<ResourceRun>,
    by_resource: HashMap<usize, usize>,
    by_scope: HashMap<(usize, usize), usize>,
    /// Requests written since the last [`EncodedRelease::write_into`].
    written: Vec<EncodedSpans>,
}

impl EncodedRelease {
    /// Adds `records` (`ScopeSpans.spans` fields, `spans` of them) of `scope` in `resource`.
    pub(crate) fn push(
        &mut self,
        resource: &Arc<ResourceHeader>,
        scope: &Arc<ScopeHeader>,
        records: &[u8],
        spans: u64,
    ) {
        if !self.records.is_empty() && self.records.len() + records.len() > REQUEST_RECORD_BYTES {
            self.write_request();
        }
        let resources = &mut self.resources;
        let resource_index = *self
            .by_resource
            .entry(Arc::as_ptr(resource) as usize)
            .or_insert_with(|| {
                resources.push(ResourceRun {
                    header: Arc::clone(resource),
                    scopes: Vec::new(),
                });
                resources.len() - 1
            });
        let Some(run) = resources.get_mut(resource_index) else {
            return;
        };
        let scope_index = *self
            .by_scope
            .entry((resource_index, Arc::as_ptr(scope) as usize))
            .or_insert_with(|| {
                run.scopes.push(ScopeRun {
                    header: Arc::clone(scope),
                    records: Vec::new(),
                    len: scope.bytes.len(),
                });
                run.scopes.len() - 1
            });
        let Some(scope_run) = run.scopes.get_mut(scope_index) else {
            return;
        };
        let start = self.records.len();
        self.records.extend_from_slice(records);
        self.spans += spans;
        scope_run.len += records.len();
        match scope_run.records.last_mut() {
            Some(last) if last.end == start => last.end = self.records.len(),
            _ => scope_run.records.push(start..self.records.len()),
        }
    }

    /// Moves the requests released so far to `out` (concatenated, they are one request), and
    /// empties the release.
    pub(crate) fn write_into(&mut self, out: &mut Vec<EncodedSpans>) {
        if !self.resources.is_empty() {
            self.write_request();
        }
        out.append(&mut self.written);
        // A single trace larger than a request grows the buffer past it; that is not kept.
        if self.records.capacity() > 2 * REQUEST_RECORD_BYTES {
            self.records = Vec::new();
        }
    }

    /// Writes the gathered spans as one `ExportTraceServiceRequest`, and starts gathering anew.
    fn write_request(&mut self) {
        let mut out =
            Vec::with_capacity(self.resources.iter().map(|run| framed_len(run.len())).sum());
        for run in &self.resources {
            encode_key(REQUEST_RESOURCE_SPANS, WireType::LengthDelimited, &mut out);
            encode_varint(run.len() as u64, &mut out);
            out.extend_from_slice(run.header.bytes.message());
            for scope in &run.scopes {
                encode_key(
                    RESOURCE_SPANS_SCOPE_SPANS,
                    WireType::LengthDelimited,
                    &mut out,
                );
                encode_varint(scope.len as u64, &mut out);
                out.extend_from_slice(scope.header.bytes.message());
                for range in &scope.records {
                    out.extend_from_slice(self.records.get(range.clone()).unwrap_or_default());
                }
                out.extend_from_slice(scope.header.bytes.schema_url());
            }
            out.extend_from_slice(run.header.bytes.schema_url());
        }
        self.written.push(EncodedSpans {
            bytes: out,
            spans: std::mem::take(&mut self.spans),
        });
        self.resources.clear();
        self.by_resource.clear();
        self.by_scope.clear();
        self.records.clear();
    }
}

/// Bytes of a length-delimited field numbered below 16 (a one-byte key) with `len` bytes of content.
fn framed_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}
