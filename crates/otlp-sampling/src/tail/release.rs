//! Releasing sampled spans as an encoded `ExportTraceServiceRequest`, from the records they were
//! buffered as, instead of decoded `ResourceSpans` that the caller would encode again.
//!
//! A collector forwards what it samples: handing it prost trees means a decode at the decision
//! (which the policies need anyway) and then an encode for the exporter, and the encode cost as
//! much as the decode. Here a sampled trace's span records, copied out of the store while it is
//! decided ([`TraceRecords`](super::view::TraceRecords)), are written between their resource's and scope's encoded headers: prost's own
//! field order (`resource`, `scope_spans`, `schema_url`; `scope`, `spans`, `schema_url`), merged
//! per resource and scope as [`Reassembler`](super::trace::Reassembler) merges decoded pieces.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use otlp_mempool::BufferPool;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use super::hashing::FastMap;
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

/// Room for a request's resource and scope headers beside its records, so that a pooled buffer
/// made for one request usually fits the next without growing.
const REQUEST_HEADER_ROOM: usize = 64 * 1024;

/// Released requests whose buffers come back to the pool once the exporter is done with them.
/// Each request was a fresh megabyte before: the allocator handed its pages back to the kernel
/// between ticks (its purge delay is shorter than a tick), so every release faulted them in again,
/// 5.4% of the collector's CPU in the tail-sampling config under `loadgen --max`, in `perf`.
///
/// That load samples every trace, and a tick of 200 ms released about a dozen requests at once,
/// which the batch processor and the exporter hold until sent. Measured there (CPU-seconds per million
/// spans, peak resident memory): unpooled 2.82–2.95 and 100–110 MB; 6 pooled 2.73–2.86 and
/// 100–107 MB; 16 pooled, 2.80–2.87 and 108–112 MB; 32 pooled (no pool misses left),
/// 2.78–2.87 and 125–127 MB. The pool hands its buffers out in turn, so every one it keeps is
/// faulted in and stays resident: beyond a few, a kept buffer costs a megabyte and saves nothing.
/// Fewer than 8 also means no per-thread caches, which is right here: buffers are taken on the
/// sampler's thread and come back on the exporter's. Ticking more often releases fewer at once:
/// the collector ticks at least every 50 ms, about four requests a tick at that load, which the
/// pool mostly covers (its minor page faults per span fell from 0.084–0.089 to 0.019–0.023).
const POOLED_REQUESTS: usize = 6;

/// An encoded `ExportTraceServiceRequest` of released spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedSpans {
    /// The request's protobuf encoding, in a buffer that goes back to the sampler's pool when the
    /// last clone of it is dropped.
    pub bytes: Bytes,
    /// Spans in it.
    pub spans: u64,
}

/// Released span records gathered per resource and scope, in first-released order.
///
/// The records are appended to one buffer, and a request is written once its size is known:
/// growing a buffer per scope, then the request, reallocated and copied each of them as it grew.
/// Headers are told apart by address, so each one gathered is held here: its address cannot be
/// freed and reused by another header while the release is being gathered.
///
/// The default release has no pool and writes each request into a fresh buffer; it stands in
/// while the sampler's own, pooled one is lent out for a call.
#[derive(Debug, Default)]
pub(crate) struct EncodedRelease {
    records: Vec<u8>,
    /// Spans in `records`.
    spans: u64,
    resources: Vec<ResourceRun>,
    by_resource: FastMap<usize, usize>,
    by_scope: FastMap<(usize, usize), usize>,
    /// Requests written since the last [`EncodedRelease::write_into`].
    written: Vec<EncodedSpans>,
    requests: Option<BufferPool>,
}

impl EncodedRelease {
    /// A release writing its requests into buffers it takes back when they are dropped.
    pub(crate) fn pooled() -> Self {
        Self {
            requests: Some(BufferPool::new(
                POOLED_REQUESTS,
                0,
                2 * (REQUEST_RECORD_BYTES + REQUEST_HEADER_ROOM),
            )),
            ..Self::default()
        }
    }

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
        let len: usize = self.resources.iter().map(|run| framed_len(run.len())).sum();
        let bytes = match &self.requests {
            Some(pool) => {
                let mut out = pool.get_owned();
                if out.capacity() < len {
                    // Replaced rather than reserved: realloc knows no length, so growing even an
                    // empty buffer copies all it had.
                    *out = Vec::with_capacity(len.max(REQUEST_RECORD_BYTES + REQUEST_HEADER_ROOM));
                }
                self.write_resources(&mut out);
                Bytes::from_owner(out)
            }
            None => {
                let mut out = Vec::with_capacity(len);
                self.write_resources(&mut out);
                Bytes::from(out)
            }
        };
        self.written.push(EncodedSpans {
            bytes,
            spans: std::mem::take(&mut self.spans),
        });
        self.resources.clear();
        self.by_resource.clear();
        self.by_scope.clear();
        self.records.clear();
    }

    /// The gathered resources as `ExportTraceServiceRequest.resource_spans` fields.
    fn write_resources(&self, out: &mut Vec<u8>) {
        for run in &self.resources {
            encode_key(REQUEST_RESOURCE_SPANS, WireType::LengthDelimited, out);
            encode_varint(run.len() as u64, out);
            out.extend_from_slice(run.header.bytes.message());
            for scope in &run.scopes {
                encode_key(RESOURCE_SPANS_SCOPE_SPANS, WireType::LengthDelimited, out);
                encode_varint(scope.len as u64, out);
                out.extend_from_slice(scope.header.bytes.message());
                for range in &scope.records {
                    out.extend_from_slice(self.records.get(range.clone()).unwrap_or_default());
                }
                out.extend_from_slice(scope.header.bytes.schema_url());
            }
            out.extend_from_slice(run.header.bytes.schema_url());
        }
    }
}

/// Bytes of a length-delimited field numbered below 16 (a one-byte key) with `len` bytes of content.
fn framed_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tail::trace::HeaderBytes;

    fn headers() -> (Arc<ResourceHeader>, Arc<ScopeHeader>) {
        let resource = ResourceHeader {
            resource: None,
            schema_url: String::new(),
            bytes: HeaderBytes::new(&[], 0),
        };
        let scope = ScopeHeader {
            scope: None,
            schema_url: String::new(),
            bytes: HeaderBytes::new(&[], 0),
        };
        (Arc::new(resource), Arc::new(scope))
    }

    /// Releases one request of `records` and returns it.
    fn release_one(release: &mut EncodedRelease, records: &[u8]) -> EncodedSpans {
        let (resource, scope) = headers();
        release.push(&resource, &scope, records, 1);
        let mut out = Vec::new();
        release.write_into(&mut out);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn dropped_requests_give_their_buffers_back_to_the_next_releases() {
        let mut release = EncodedRelease::pooled();
        let records = [0x0a_u8, 2, 0xab, 0xcd];
        let first: Vec<*const u8> = (0..POOLED_REQUESTS)
            .map(|_| release_one(&mut release, &records).bytes.as_ptr())
            .collect();
        for expected in &first {
            let request = release_one(&mut release, &records);
            assert_eq!(request.bytes.as_ptr(), *expected);
            // resource_spans { scope_spans { records } }
            assert_eq!(
                &request.bytes[..],
                &[0x0a, 6, 0x12, 4, 0x0a, 2, 0xab, 0xcd][..]
            );
        }
    }

    #[test]
    fn requests_held_past_the_pool_are_written_all_the_same() {
        let mut release = EncodedRelease::pooled();
        let held: Vec<EncodedSpans> = (0..2 * POOLED_REQUESTS)
            .map(|i| release_one(&mut release, &[0x0a, 1, i as u8]))
            .collect();
        for (i, request) in held.iter().enumerate() {
            assert_eq!(
                &request.bytes[..],
                &[0x0a, 5, 0x12, 3, 0x0a, 1, i as u8][..]
            );
        }
    }
}
