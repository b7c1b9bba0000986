//! Traces routed by trace id in their bytes: a batch still holding the requests as received is read in place,
//! each span's trace id hashed where it lies, and each backend's part written by copying its spans with their
//! resource and scope. No prost tree is built, cloned or encoded again; the parts hold the same spans, in the same
//! order and with the same resources and scopes, as splitting the decoded request gives
//! ([`split`](super::split::split)), and the hashes are the ones [`Keys`](super::routing::Keys) computes.

use crate::{Batch, Signal};
use bytes::Bytes;
use otlp_lb::hash_key;
use otlp_model::wire::{EncodedTraces, SpanEdits, WireError};

/// The spans of an encoded traces batch, found in place, request by request.
pub(super) struct EncodedSpans<'a> {
    requests: Vec<EncodedTraces<'a>>,
}

impl<'a> EncodedSpans<'a> {
    /// The spans of `batch` when it is a traces batch holding its requests as received; `None` when it is not,
    /// or when its requests do not read as the count says (the receivers' scan rules that out), for the decoded
    /// way to handle.
    pub(super) fn parse(batch: &'a Batch) -> Option<Self> {
        if batch.signal() != Signal::Traces {
            return None;
        }
        let requests = batch
            .encoded()?
            .map(|request| EncodedTraces::parse(request))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        let spans: usize = requests.iter().map(|request| request.spans().len()).sum();
        (spans == batch.item_count()).then_some(EncodedSpans { requests })
    }

    /// Appends the routing hash of every span's trace id to `out`, in span order.
    pub(super) fn trace_id_hashes(&self, out: &mut Vec<u64>) {
        out.extend(
            self.requests
                .iter()
                .flat_map(|request| request.spans())
                .map(|span| hash_key(span.trace_id())),
        );
    }

    /// One batch per part, still encoded: span `i` (in [`trace_id_hashes`](Self::trace_id_hashes)' order) goes to
    /// part `assign[i]`, which is below `parts`. A part that gets no span is an empty batch.
    pub(super) fn split(&self, assign: &[u32], parts: usize) -> Result<Vec<Batch>, WireError> {
        let mut out: Vec<Vec<(Bytes, usize)>> = vec![Vec::new(); parts];
        let mut edits = SpanEdits::new();
        // One buffer for every part of every request, each result copied out at its exact size: a part may wait
        // for retries, and a buffer sized for the whole request would hold the other parts' share of memory.
        let mut buffer = Vec::new();
        let mut first = 0;
        for request in &self.requests {
            let spans = request.spans().len();
            let assigned = assign.get(first..first + spans).unwrap_or_default();
            first += spans;
            for (part, requests) in out.iter_mut().enumerate() {
                let part = part as u32;
                if !assigned.contains(&part) {
                    continue;
                }
                edits.clear();
                for &to in assigned {
                    if to == part {
                        edits.keep();
                    } else {
                        edits.remove();
                    }
                }
                buffer.clear();
                let kept = request.rewrite(&edits, &mut buffer)?;
                requests.push((Bytes::copy_from_slice(&buffer), kept));
            }
        }
        Ok(out
            .into_iter()
            .map(|requests| {
                let mut batch = Batch::empty(Signal::Traces);
                batch.replace_encoded(requests);
                batch
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::RoutingKey;
    use super::super::routing::Keys;
    use super::super::split::split;
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, InstrumentationScope, KeyValue, any_value,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use otlp_model::{AnyRequest, ExportTraceServiceRequest};
    use prost::Message;

    /// A request of `resources`, each with `scopes` scopes of `spans` spans, whose trace ids repeat every
    /// `traces` spans, so that several spans share each trace.
    fn request(seed: u8, resources: usize, scopes: usize, spans: usize, traces: u8) -> Bytes {
        let mut next = 0_u8;
        let resource_spans = (0..resources)
            .map(|r| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("svc-{seed}-{r}"))),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: (0..scopes)
                    .map(|s| ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: format!("scope-{s}"),
                            ..Default::default()
                        }),
                        spans: (0..spans)
                            .map(|_| {
                                next = next.wrapping_add(1);
                                Span {
                                    trace_id: vec![
                                        seed,
                                        next % traces,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        7,
                                        1,
                                    ],
                                    span_id: vec![seed, next, 1, 1, 1, 1, 1, 1],
                                    name: format!("span-{next}"),
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            })
            .collect();
        Bytes::from(ExportTraceServiceRequest { resource_spans }.encode_to_vec())
    }

    fn batch_of(requests: &[Bytes]) -> Batch {
        let mut batch = Batch::empty(Signal::Traces);
        for bytes in requests {
            let items = otlp_model::wire::scan(Signal::Traces, bytes).unwrap().items;
            batch
                .append(Batch::from_encoded(Signal::Traces, bytes.clone(), items))
                .unwrap();
        }
        batch
    }

    #[test]
    fn parts_hold_what_splitting_the_decoded_request_gives_and_hashes_are_the_decoded_ones() {
        let batch = batch_of(&[
            request(1, 2, 2, 5, 3),
            request(2, 1, 3, 4, 4),
            request(3, 3, 1, 2, 2),
        ]);
        let spans = EncodedSpans::parse(&batch).unwrap();
        let mut hashes = Vec::new();
        spans.trace_id_hashes(&mut hashes);
        let mut decoded_hashes = Vec::new();
        Keys::new(None, Vec::new()).hashes(
            batch.request(),
            RoutingKey::TraceId,
            &mut decoded_hashes,
        );
        assert_eq!(hashes, decoded_hashes);

        // Three parts by hash: spans of one trace land together, and one part is left with nothing.
        let assign: Vec<u32> = hashes.iter().map(|hash| (hash % 2) as u32 * 2).collect();
        let parts = spans.split(&assign, 3).unwrap();
        let expected = split(batch.request().clone(), &assign, 3);
        assert_eq!(parts.len(), 3);
        for (part, expected) in parts.iter().zip(&expected) {
            assert!(part.encoded().is_some(), "a part stays encoded");
            assert_eq!(part.item_count(), expected.item_count());
            assert_eq!(part.request(), expected);
        }
        assert!(parts[1].is_empty());
        assert_eq!(
            parts[0].item_count() + parts[2].item_count(),
            batch.item_count()
        );
    }

    #[test]
    fn only_encoded_traces_batches_are_read_in_place() {
        let decoded = Batch::from(batch_of(&[request(1, 1, 1, 3, 2)]).into_request());
        assert!(EncodedSpans::parse(&decoded).is_none());
        let logs = Batch::from(AnyRequest::Logs(Default::default()));
        assert!(EncodedSpans::parse(&logs).is_none());
        let empty = Batch::empty(Signal::Traces);
        let spans = EncodedSpans::parse(&empty).unwrap();
        assert!(spans.split(&[], 2).unwrap().iter().all(Batch::is_empty));
    }
}
