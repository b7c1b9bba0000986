//! The unit of data that moves through a pipeline.
//!
//! A [`Batch`] holds the requests as they arrived, protobuf bytes checked once by
//! [`otlp_model::wire::scan`], for as long as nothing changes them: batching concatenates them (the
//! concatenation of encoded requests is itself a valid request), an `otlp` or `otlphttp` exporter sends them as
//! they are, and the file exporters read them in place into columns. The prost request is decoded only when
//! something asks for it ([`Batch::request`], [`Batch::get`]), and once a processor changes the batch
//! ([`Batch::edit`]) the decoded request is what it holds. prost stays the reference: the scanner accepts
//! exactly what prost decodes, so the two views never disagree.
//!
//! A batch also carries what its receiver knew of the client that sent it ([`Batch::client`]), when the receiver
//! was asked to keep it (`include_metadata`): request headers for `headers_setter`, the `batch` processor's
//! `metadata_keys` and `from_context` actions, as otelcol's `client.Info` travels in a request's context.

use crate::client::ClientInfo;
use bytes::Bytes;
use otlp_model::{AnyRequest, OtlpRequest, Signal};
use std::sync::{Arc, OnceLock};

/// One encoded request and its item count.
#[derive(Debug, Clone)]
struct Chunk {
    bytes: Bytes,
    items: usize,
}

/// Telemetry of one signal on its way through a pipeline, with its item count (spans, metric data points or log
/// records) computed once.
#[derive(Debug, Clone)]
pub struct Batch {
    signal: Signal,
    items: usize,
    /// The requests as received, while nothing has changed them.
    encoded: Option<Vec<Chunk>>,
    /// The decoded request: what the batch holds once changed, or a cache of `encoded` once asked for.
    decoded: OnceLock<AnyRequest>,
    /// Who sent the items, when that was kept; shared by the batches split from one request.
    client: Option<Arc<ClientInfo>>,
}

impl PartialEq for Batch {
    fn eq(&self, other: &Self) -> bool {
        self.signal == other.signal
            && self.items == other.items
            && self.client == other.client
            && self.request() == other.request()
    }
}

impl From<AnyRequest> for Batch {
    fn from(request: AnyRequest) -> Self {
        Batch {
            signal: request.signal(),
            items: request.item_count(),
            encoded: None,
            decoded: OnceLock::from(request),
            client: None,
        }
    }
}

impl Batch {
    /// A batch holding `request`.
    pub fn new<R: OtlpRequest>(request: R) -> Self {
        Batch::from(request.into_any())
    }

    /// A batch of one encoded `Export*ServiceRequest` of `signal` that [`otlp_model::wire::scan`] accepted and
    /// counted `items` in (and found no invalid item in: a request with invalid items is decoded and cleaned
    /// first).
    pub fn from_encoded(signal: Signal, bytes: Bytes, items: usize) -> Self {
        Batch {
            signal,
            items,
            encoded: Some(vec![Chunk { bytes, items }]),
            decoded: OnceLock::new(),
            client: None,
        }
    }

    /// An empty batch of `signal`.
    pub fn empty(signal: Signal) -> Self {
        Batch {
            signal,
            items: 0,
            encoded: Some(Vec::new()),
            decoded: OnceLock::new(),
            client: None,
        }
    }

    /// What the receiver kept of the client that sent these items (`include_metadata`); `None` when it kept
    /// nothing, or when the batch holds items of clients that differ (a `batch` processor without
    /// `metadata_keys`).
    pub fn client(&self) -> Option<&ClientInfo> {
        self.client.as_deref()
    }

    /// The client, shared, for a batch made from this one's items.
    pub fn shared_client(&self) -> Option<Arc<ClientInfo>> {
        self.client.clone()
    }

    /// The batch, sent by `client`.
    #[must_use]
    pub fn with_client(mut self, client: Option<Arc<ClientInfo>>) -> Self {
        self.client = client;
        self
    }

    /// Sets who sent the items: what the `batch` processor keeps of them (its `metadata_keys`), or nothing.
    pub fn set_client(&mut self, client: Option<Arc<ClientInfo>>) {
        self.client = client;
    }

    /// The client of `self` and `other` together: an empty batch has none of its own, and items of clients that
    /// differ have none in common, as otelcol's batching keeps no client for them.
    fn client_with(&self, other: &Batch) -> Option<Arc<ClientInfo>> {
        if self.is_empty() {
            return other.client.clone();
        }
        if other.is_empty() {
            return self.client.clone();
        }
        match (&self.client, &other.client) {
            (Some(mine), Some(theirs)) if Arc::ptr_eq(mine, theirs) || mine == theirs => {
                self.client.clone()
            }
            _ => None,
        }
    }

    /// Which signal this batch carries.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Spans, metric data points or log records in the batch.
    pub fn item_count(&self) -> usize {
        self.items
    }

    /// True when the batch holds no items.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// The requests as received, when nothing has changed them: encoded `Export*ServiceRequest`s whose
    /// concatenation is the batch.
    pub fn encoded(&self) -> Option<impl ExactSizeIterator<Item = &Bytes>> {
        self.encoded
            .as_ref()
            .map(|chunks| chunks.iter().map(|chunk| &chunk.bytes))
    }

    /// Size of the batch encoded as an OTLP protobuf request.
    pub fn encoded_len(&self) -> usize {
        match &self.encoded {
            Some(chunks) => chunks.iter().map(|chunk| chunk.bytes.len()).sum(),
            None => self.request().encoded_len(),
        }
    }

    /// The batch as one encoded OTLP protobuf `Export*ServiceRequest`: the bytes as received when the batch is
    /// one unchanged request (no copy), their concatenation when it is several, an encoding otherwise.
    pub fn to_protobuf(&self) -> Bytes {
        match self.encoded.as_deref() {
            Some([one]) => one.bytes.clone(),
            Some(chunks) => {
                let mut out = Vec::with_capacity(chunks.iter().map(|c| c.bytes.len()).sum());
                for chunk in chunks {
                    out.extend_from_slice(&chunk.bytes);
                }
                Bytes::from(out)
            }
            None => Bytes::from(self.request().encode_to_vec()),
        }
    }

    /// The batch as encoded `Export*ServiceRequest` parts whose concatenation is the whole request: the requests
    /// as received (shared, not copied) while nothing has changed them, one encoding otherwise. A writer that
    /// copies into its own buffer anyway (a gRPC frame) takes these instead of [`Batch::to_protobuf`], which
    /// would copy them once more.
    pub fn protobuf_parts(&self) -> Vec<Bytes> {
        match &self.encoded {
            Some(chunks) => chunks.iter().map(|chunk| chunk.bytes.clone()).collect(),
            None => vec![Bytes::from(self.request().encode_to_vec())],
        }
    }

    /// Appends the batch as an OTLP/JSON `Export*ServiceRequest` document to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        otlp_model::with_request!(self.request(), request => serde_json::to_writer(out, request))
    }

    /// The request, of whatever signal (decoded on first use when the batch holds encoded requests).
    pub fn request(&self) -> &AnyRequest {
        self.decoded.get_or_init(|| self.decode())
    }

    /// The typed request, when the batch is of `R`'s signal.
    pub fn get<R: OtlpRequest>(&self) -> Option<&R> {
        self.request().get()
    }

    /// Takes the request out of the batch.
    pub fn into_request(mut self) -> AnyRequest {
        match self.decoded.take() {
            Some(request) => request,
            None => self.decode(),
        }
    }

    /// A batch of the same items that shares the received requests' bytes: unlike `clone`, it leaves the decoded
    /// cache behind, so that copying a batch other consumers have decoded stays a count of references. A batch
    /// holding no received requests (changed by a processor) is cloned.
    pub fn share(&self) -> Batch {
        match &self.encoded {
            Some(chunks) => Batch {
                signal: self.signal,
                items: self.items,
                encoded: Some(chunks.clone()),
                decoded: OnceLock::new(),
                client: self.client.clone(),
            },
            None => self.clone(),
        }
    }

    /// Changes the request in place through `edit`, then counts its items again: for processors that remove or
    /// add items. The batch holds the decoded request from then on.
    pub fn edit<T>(&mut self, edit: impl FnOnce(&mut AnyRequest) -> T) -> T {
        let mut request = match self.decoded.take() {
            Some(request) => request,
            None => self.decode(),
        };
        let result = edit(&mut request);
        self.items = request.item_count();
        self.encoded = None;
        self.decoded = OnceLock::from(request);
        result
    }

    /// Replaces what the batch holds with encoded requests, each given with its item count, and keeps it encoded:
    /// for a processor that edits the requests' bytes (removing items, changing a field) instead of decoding them.
    /// Each request must be an `Export*ServiceRequest` of the batch's signal that [`otlp_model::wire::scan`] accepts,
    /// holding that many items and no invalid one, as for [`Batch::from_encoded`].
    pub fn replace_encoded(&mut self, requests: impl IntoIterator<Item = (Bytes, usize)>) {
        let chunks: Vec<Chunk> = requests
            .into_iter()
            .map(|(bytes, items)| Chunk { bytes, items })
            .collect();
        self.items = chunks.iter().map(|chunk| chunk.items).sum();
        self.encoded = Some(chunks);
        self.decoded = OnceLock::new();
    }

    /// Moves every item of `other` into `self`. Batches of different signals are not merged: `other` is handed
    /// back so that nothing is lost.
    pub fn append(&mut self, mut other: Batch) -> Result<(), Batch> {
        if other.signal != self.signal {
            return Err(other);
        }
        let client = self.client_with(&other);
        let appended = match (&mut self.encoded, other.encoded.take()) {
            (Some(mine), Some(theirs)) => {
                mine.extend(theirs);
                self.decoded = OnceLock::new();
                self.items += other.items;
                Ok(())
            }
            (_, theirs) => {
                other.encoded = theirs;
                let other_client = other.client.clone();
                let other = other.into_request();
                // `edit` counts the items again, the appended ones included.
                self.edit(|request| request.append(other))
                    .map_err(|other| Batch::from(other).with_client(other_client))
            }
        };
        if appended.is_ok() {
            self.client = client;
        }
        appended
    }

    /// Removes the first `max_items` items (or all, if fewer) and returns them as a batch of their own, keeping
    /// each item's resource and scope. Splits between received requests when the boundary falls there, and
    /// otherwise inside a scope (or a metric's data points), which decodes the batch.
    pub fn split_front(&mut self, max_items: usize) -> Batch {
        if max_items >= self.items {
            let empty = Batch::empty(self.signal);
            return std::mem::replace(self, empty);
        }
        if let Some(chunks) = &mut self.encoded {
            let mut taken = 0;
            let whole = chunks
                .iter()
                .take_while(|chunk| {
                    let fits = taken + chunk.items <= max_items;
                    if fits {
                        taken += chunk.items;
                    }
                    fits
                })
                .count();
            if taken == max_items {
                let head: Vec<Chunk> = chunks.drain(..whole).collect();
                self.items -= taken;
                self.decoded = OnceLock::new();
                return Batch {
                    signal: self.signal,
                    items: taken,
                    encoded: Some(head),
                    decoded: OnceLock::new(),
                    client: self.client.clone(),
                };
            }
        }
        let client = self.client.clone();
        Batch::from(self.edit(|request| request.split_front(max_items))).with_client(client)
    }

    /// Removes whole received requests from the front until they hold at least `min_items` items (or all there
    /// are) and returns them as a batch of their own: a batch of about `min_items` that never cuts a request, as
    /// otelcol's batch processor sends when `send_batch_max_size` is unset. A batch already decoded into one
    /// request has no received requests left to keep whole, so it is cut at `min_items`.
    pub fn split_front_requests(&mut self, min_items: usize) -> Batch {
        let Some(chunks) = &self.encoded else {
            return self.split_front(min_items);
        };
        let mut taken = 0;
        let whole = chunks
            .iter()
            .take_while(|chunk| {
                let more = taken < min_items;
                if more {
                    taken += chunk.items;
                }
                more
            })
            .count();
        self.split_front(chunks[..whole].iter().map(|chunk| chunk.items).sum())
    }

    /// Decodes the encoded requests into one request. The scanner accepted every chunk and accepts only what
    /// prost decodes, so a failure here is a broken invariant: it is logged, and the chunk counts as lost.
    fn decode(&self) -> AnyRequest {
        let mut request = AnyRequest::empty(self.signal);
        for chunk in self.encoded.iter().flatten() {
            match AnyRequest::decode(self.signal, &chunk.bytes) {
                Ok(decoded) => {
                    let _ = request.append(decoded);
                }
                Err(error) => tracing::error!(signal = %self.signal, items = chunk.items, %error,
                    "a scanned request did not decode; its items are lost"),
            }
        }
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use otlp_model::ExportTraceServiceRequest;
    use prost::Message;

    fn request(shape: &[&[usize]], first_id: u8) -> ExportTraceServiceRequest {
        let mut id = first_id;
        let resource_spans = shape
            .iter()
            .map(|scopes| ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: scopes
                    .iter()
                    .map(|&n| ScopeSpans {
                        spans: (0..n)
                            .map(|_| {
                                id += 1;
                                Span {
                                    span_id: vec![id; 8],
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect();
        ExportTraceServiceRequest { resource_spans }
    }

    fn traces(shape: &[&[usize]]) -> Batch {
        Batch::new(request(shape, 0))
    }

    fn encoded(shape: &[&[usize]], first_id: u8) -> Batch {
        let request = request(shape, first_id);
        let bytes = Bytes::from(request.encode_to_vec());
        let scan = otlp_model::wire::scan(Signal::Traces, &bytes).unwrap();
        Batch::from_encoded(Signal::Traces, bytes, scan.items)
    }

    fn span_ids(batch: &Batch) -> Vec<u8> {
        batch
            .get::<ExportTraceServiceRequest>()
            .unwrap()
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| s.span_id[0])
            .collect()
    }

    #[test]
    fn split_front_keeps_order_and_counts_at_every_boundary() {
        for max in 0..=12 {
            for mut batch in [traces(&[&[2, 3], &[], &[4], &[1, 0, 2]]), {
                let mut rope = encoded(&[&[2, 3]], 0);
                rope.append(encoded(&[&[], &[4]], 5)).unwrap();
                rope.append(encoded(&[&[1, 0, 2]], 9)).unwrap();
                rope
            }] {
                let all = span_ids(&batch);
                let head = batch.split_front(max);
                assert_eq!(head.item_count(), max.min(12));
                assert_eq!(head.request().item_count(), head.item_count());
                assert_eq!(batch.request().item_count(), batch.item_count());
                let mut rejoined = span_ids(&head);
                rejoined.extend(span_ids(&batch));
                assert_eq!(rejoined, all, "max {max}");
            }
        }
    }

    #[test]
    fn split_front_requests_takes_whole_requests_up_to_the_first_that_reaches_the_size() {
        let rope = || {
            let mut rope = encoded(&[&[2, 3]], 0);
            rope.append(encoded(&[&[], &[4]], 5)).unwrap();
            rope.append(encoded(&[&[1, 0, 2]], 9)).unwrap();
            rope
        };
        // Requests of 5, 4 and 3 items: a size inside a request takes that request whole.
        for (min, expected) in [(0, 0), (1, 5), (5, 5), (6, 9), (9, 9), (10, 12), (100, 12)] {
            let mut batch = rope();
            let all = span_ids(&batch);
            let head = batch.split_front_requests(min);
            assert_eq!(head.item_count(), expected, "min {min}");
            assert_eq!(
                head.encoded().map_or(0, |chunks| chunks.len()) > 0,
                expected > 0
            );
            let mut rejoined = span_ids(&head);
            rejoined.extend(span_ids(&batch));
            assert_eq!(rejoined, all, "min {min}");
        }
        // Decoded, the received requests are gone: the cut falls at the size.
        let mut decoded = traces(&[&[2, 3], &[4]]);
        assert_eq!(decoded.split_front_requests(6).item_count(), 6);
        assert_eq!(decoded.item_count(), 3);
    }

    #[test]
    fn protobuf_parts_are_the_request_shared_or_encoded_once() {
        let mut rope = encoded(&[&[2]], 0);
        rope.append(encoded(&[&[1, 3]], 2)).unwrap();
        let parts = rope.protobuf_parts();
        // The received requests themselves, not copies.
        let received: Vec<&Bytes> = rope.encoded().unwrap().collect();
        assert_eq!(parts.len(), 2);
        for (part, chunk) in parts.iter().zip(received) {
            assert_eq!(part.as_ptr(), chunk.as_ptr());
        }
        assert_eq!(parts.concat(), rope.to_protobuf());
        let decoded = traces(&[&[2], &[1, 3]]);
        let parts = decoded.protobuf_parts();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts.concat(), decoded.to_protobuf());
    }

    #[test]
    fn encoded_requests_stay_encoded_until_changed() {
        let mut batch = encoded(&[&[2]], 0);
        batch.append(encoded(&[&[3]], 2)).unwrap();
        assert_eq!(batch.item_count(), 5);
        assert_eq!(batch.encoded().map(|chunks| chunks.len()), Some(2));
        // The concatenation is one valid request holding both.
        let whole = ExportTraceServiceRequest::decode(batch.to_protobuf()).unwrap();
        assert_eq!(whole.item_count(), 5);
        assert_eq!(span_ids(&batch), [1, 2, 3, 4, 5]);
        // A split at a request boundary keeps both halves encoded.
        let head = batch.split_front(2);
        assert!(head.encoded().is_some() && batch.encoded().is_some());
        // A change drops the encoding.
        batch.edit(|request| request.split_front(1));
        assert!(batch.encoded().is_none());
        assert_eq!(batch.item_count(), 2);
    }

    #[test]
    fn a_shared_batch_shares_the_received_bytes_and_leaves_the_decoded_cache_behind() {
        let batch = encoded(&[&[2], &[1]], 0);
        batch.request();
        let shared = batch.share();
        assert!(shared.decoded.get().is_none());
        assert_eq!(shared.item_count(), 3);
        let (mine, theirs) = (batch.protobuf_parts(), shared.protobuf_parts());
        assert_eq!(mine[0].as_ptr(), theirs[0].as_ptr());
        assert_eq!(span_ids(&shared), span_ids(&batch));
        // A changed batch has nothing received to share: it is a copy of the request.
        let decoded = traces(&[&[2]]);
        assert_eq!(decoded.share(), decoded);
    }

    #[test]
    fn append_refuses_another_signal_and_hands_it_back() {
        let mut traces_batch = traces(&[&[2]]);
        let logs = Batch::empty(Signal::Logs);
        let back = traces_batch.append(logs).unwrap_err();
        assert_eq!(back.signal(), Signal::Logs);
        assert_eq!(traces_batch.item_count(), 2);
        traces_batch.append(traces(&[&[3]])).unwrap();
        assert_eq!(traces_batch.item_count(), 5);
        traces_batch.append(encoded(&[&[1]], 9)).unwrap();
        assert_eq!(traces_batch.item_count(), 6);
        assert_eq!(span_ids(&traces_batch).len(), 6);
    }

    #[test]
    fn replaced_requests_keep_the_batch_encoded_with_their_counts() {
        let mut batch = encoded(&[&[2]], 0);
        batch.request(); // a decoded cache of the old requests must not survive the replacement
        let first = request(&[&[1]], 10).encode_to_vec();
        let second = request(&[&[2], &[1]], 20).encode_to_vec();
        batch.replace_encoded([(Bytes::from(first), 1), (Bytes::from(second), 3)]);
        assert_eq!(batch.item_count(), 4);
        assert_eq!(batch.encoded().map(|chunks| chunks.len()), Some(2));
        assert_eq!(span_ids(&batch), [11, 21, 22, 23]);
        batch.replace_encoded([]);
        assert!(batch.is_empty());
        assert_eq!(span_ids(&batch), [0u8; 0]);
    }

    #[test]
    fn edit_counts_again() {
        let mut batch = traces(&[&[3]]);
        batch.edit(|request| {
            if let Some(traces) = request.get_mut::<ExportTraceServiceRequest>() {
                traces.resource_spans[0].scope_spans[0].spans.pop();
            }
        });
        assert_eq!(batch.item_count(), 2);
    }
}
