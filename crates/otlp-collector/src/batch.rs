//! The unit of data that moves through a pipeline.
//!
//! [`Batch`] is deliberately opaque: receivers build one, processors and exporters use its accessors. Its
//! representation is an OTLP request of any signal today; keeping it behind this type lets it move to columns
//! later without touching receivers and exporters. Code that needs the typed request reaches it with
//! [`Batch::get`] or, for every signal at once, through [`with_request!`](otlp_model::with_request) on
//! [`Batch::request`].

use otlp_model::{AnyRequest, OtlpRequest, Signal};

/// Telemetry of one signal on its way through a pipeline, with its item count (spans, metric data points or log
/// records) computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    request: AnyRequest,
    items: usize,
}

impl From<AnyRequest> for Batch {
    fn from(request: AnyRequest) -> Self {
        let items = request.item_count();
        Batch { request, items }
    }
}

impl Batch {
    /// A batch holding `request`.
    pub fn new<R: OtlpRequest>(request: R) -> Self {
        let items = request.item_count();
        Batch {
            request: request.into_any(),
            items,
        }
    }

    /// An empty batch of `signal`.
    pub fn empty(signal: Signal) -> Self {
        Batch {
            request: AnyRequest::empty(signal),
            items: 0,
        }
    }

    /// Which signal this batch carries.
    pub fn signal(&self) -> Signal {
        self.request.signal()
    }

    /// Spans, metric data points or log records in the batch.
    pub fn item_count(&self) -> usize {
        self.items
    }

    /// True when the batch holds no items.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Size of the batch encoded as an OTLP protobuf request.
    pub fn encoded_len(&self) -> usize {
        self.request.encoded_len()
    }

    /// The batch as an OTLP protobuf `Export*ServiceRequest`.
    pub fn to_protobuf(&self) -> Vec<u8> {
        self.request.encode_to_vec()
    }

    /// Appends the batch as an OTLP/JSON `Export*ServiceRequest` document to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        otlp_model::with_request!(&self.request, request => serde_json::to_writer(out, request))
    }

    /// The request, of whatever signal.
    pub fn request(&self) -> &AnyRequest {
        &self.request
    }

    /// The typed request, when the batch is of `R`'s signal.
    pub fn get<R: OtlpRequest>(&self) -> Option<&R> {
        self.request.get()
    }

    /// Takes the request out of the batch.
    pub fn into_request(self) -> AnyRequest {
        self.request
    }

    /// Changes the request in place through `edit`, then counts its items again: for processors that remove or
    /// add items.
    pub fn edit<T>(&mut self, edit: impl FnOnce(&mut AnyRequest) -> T) -> T {
        let result = edit(&mut self.request);
        self.items = self.request.item_count();
        result
    }

    /// Moves every item of `other` into `self`. Batches of different signals are not merged: `other` is handed
    /// back so that nothing is lost.
    pub fn append(&mut self, other: Batch) -> Result<(), Batch> {
        let items = other.items;
        self.request.append(other.request).map_err(Batch::from)?;
        self.items += items;
        Ok(())
    }

    /// Removes the first `max_items` items (or all, if fewer) and returns them as a batch of their own, keeping
    /// each item's resource and scope. Splits inside a scope, and inside a metric's data points, when needed.
    pub fn split_front(&mut self, max_items: usize) -> Batch {
        if max_items >= self.items {
            let empty = Batch::empty(self.signal());
            return std::mem::replace(self, empty);
        }
        let head = Batch::from(self.request.split_front(max_items));
        self.items -= head.items;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use otlp_model::ExportTraceServiceRequest;

    fn traces(shape: &[&[usize]]) -> Batch {
        let mut id = 0u8;
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
        Batch::new(ExportTraceServiceRequest { resource_spans })
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
            let mut batch = traces(&[&[2, 3], &[], &[4], &[1, 0, 2]]);
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

    #[test]
    fn append_refuses_another_signal_and_hands_it_back() {
        let mut traces_batch = traces(&[&[2]]);
        let logs = Batch::empty(Signal::Logs);
        let back = traces_batch.append(logs).unwrap_err();
        assert_eq!(back.signal(), Signal::Logs);
        assert_eq!(traces_batch.item_count(), 2);
        traces_batch.append(traces(&[&[3]])).unwrap();
        assert_eq!(traces_batch.item_count(), 5);
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
