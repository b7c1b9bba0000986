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
use std::sync::Arc;

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use super::trace::{HeaderBytes, ResourceHeader, ScopeHeader};

/// `ExportTraceServiceRequest.resource_spans` and `ResourceSpans.scope_spans`.
const REQUEST_RESOURCE_SPANS: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;

/// One released `ResourceSpans`: its header and, per scope, the span records gathered.
#[derive(Debug)]
struct ResourceRun {
    header: Arc<ResourceHeader>,
    scopes: Vec<(Arc<ScopeHeader>, Vec<u8>)>,
}

/// Released span records gathered per resource and scope, in first-released order.
///
/// Headers are told apart by address, so each one gathered is held here: its address cannot be
/// freed and reused by another header while the release is being gathered.
#[derive(Debug, Default)]
pub(crate) struct EncodedRelease {
    resources: Vec<ResourceRun>,
    by_resource: HashMap<usize, usize>,
    by_scope: HashMap<(usize, usize), usize>,
}

impl EncodedRelease {
    /// Adds `records` (`ScopeSpans.spans` fields) of `scope` in `resource`.
    pub(crate) fn push(
        &mut self,
        resource: &Arc<ResourceHeader>,
        scope: &Arc<ScopeHeader>,
        records: &[u8],
    ) {
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
                run.scopes.push((Arc::clone(scope), Vec::new()));
                run.scopes.len() - 1
            });
        if let Some((_, gathered)) = run.scopes.get_mut(scope_index) {
            gathered.extend_from_slice(records);
        }
    }

    /// Appends the gathered spans to `out` as `ExportTraceServiceRequest.resource_spans` fields
    /// (appended to an encoded request, they add to it), and empties the release.
    pub(crate) fn write_into(&mut self, out: &mut Vec<u8>) {
        self.by_resource.clear();
        self.by_scope.clear();
        for run in self.resources.drain(..) {
            let scope_len = |header: &HeaderBytes, records: &[u8]| header.len() + records.len();
            let resource_len = run.header.bytes.len()
                + run
                    .scopes
                    .iter()
                    .map(|(scope, records)| framed_len(scope_len(&scope.bytes, records)))
                    .sum::<usize>();
            encode_key(REQUEST_RESOURCE_SPANS, WireType::LengthDelimited, out);
            encode_varint(resource_len as u64, out);
            out.extend_from_slice(run.header.bytes.message());
            for (scope, records) in &run.scopes {
                encode_key(RESOURCE_SPANS_SCOPE_SPANS, WireType::LengthDelimited, out);
                encode_varint(scope_len(&scope.bytes, records) as u64, out);
                out.extend_from_slice(scope.bytes.message());
                out.extend_from_slice(records);
                out.extend_from_slice(scope.bytes.schema_url());
            }
            out.extend_from_slice(run.header.bytes.schema_url());
        }
    }
}

/// Bytes of a length-delimited field numbered below 16 (a one-byte key) with `len` bytes of content.
fn framed_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}
