//! One trait over the three OTLP export requests, and one over their responses.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{AnyRequest, Signal};

/// Items a receiver refused while accepting the rest of a request: what OTLP's partial success reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rejected {
    /// How many spans, data points or log records were refused.
    pub items: u64,
    /// Why, for the client.
    pub message: String,
}

/// An OTLP `Export*ServiceRequest`: the unit of data on the wire, implemented for
/// [`ExportTraceServiceRequest`](opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest),
/// [`ExportMetricsServiceRequest`](opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest)
/// and [`ExportLogsServiceRequest`](opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest).
///
/// Code that handles requests is written once, generically over `R: OtlpRequest`; code that holds a request of
/// any signal uses [`AnyRequest`] and reaches the generic code through [`with_request!`](crate::with_request).
///
/// Items are what OTLP counts: spans, metric data points (every point of every metric type) and log records.
pub trait OtlpRequest:
    prost::Message
    + Default
    + Clone
    + PartialEq
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The signal this request carries.
    const SIGNAL: Signal;
    /// The protobuf message name, for error messages (`ExportTraceServiceRequest`).
    const MESSAGE_NAME: &'static str;
    /// The gRPC service that takes this request (`opentelemetry.proto.collector.trace.v1.TraceService`).
    const GRPC_SERVICE: &'static str;
    /// The full gRPC method path (`/opentelemetry.proto.collector.trace.v1.TraceService/Export`).
    const GRPC_METHOD: &'static str;

    /// The response a receiver answers this request with.
    type Response: OtlpResponse;

    /// Spans, metric data points or log records in the request.
    fn item_count(&self) -> usize;

    /// Moves every item of `other` to the end of `self`, keeping each item's resource and scope.
    fn append(&mut self, other: Self);

    /// Removes the first `max_items` items (all of them, if there are fewer) and returns them as a request of
    /// their own. Each half keeps its items' resource and scope (and a split metric keeps its name, unit and
    /// aggregation), so both are valid requests; the order of items is kept.
    fn split_front(&mut self, max_items: usize) -> Self;

    /// Removes the items a backend could not take (malformed ids), so that one bad item cannot make a whole
    /// request fail; returns how many were removed and why, for the partial-success answer.
    fn remove_invalid(&mut self) -> Option<Rejected>;

    /// Wraps the request for code that holds any signal.
    fn into_any(self) -> AnyRequest;

    /// Unwraps a request of this signal, handing any other back.
    fn try_from_any(any: AnyRequest) -> Result<Self, AnyRequest>;

    /// Borrows the request when `any` is of this signal.
    fn from_any_ref(any: &AnyRequest) -> Option<&Self>;

    /// Borrows the request mutably when `any` is of this signal.
    fn from_any_mut(any: &mut AnyRequest) -> Option<&mut Self>;
}

/// An OTLP `Export*ServiceResponse`: success, with an optional partial success.
pub trait OtlpResponse:
    prost::Message
    + Default
    + Clone
    + PartialEq
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The response that reports `rejected` (or plain success).
    fn with_rejected(rejected: Option<Rejected>) -> Self;

    /// What the response reports as rejected; `None` for full success (a partial success that rejects nothing
    /// and says nothing is full success).
    fn rejected(&self) -> Option<Rejected>;
}

/// Reads a partial success's fields into a [`Rejected`], or `None` when it reports nothing.
pub(crate) fn rejected_of(items: i64, message: &str) -> Option<Rejected> {
    let items = u64::try_from(items).unwrap_or(0);
    (items > 0 || !message.is_empty()).then(|| Rejected {
        items,
        message: message.to_owned(),
    })
}

/// The partial-success count field for `rejected`, saturating at `i64::MAX`.
pub(crate) fn rejected_count(rejected: &Rejected) -> i64 {
    i64::try_from(rejected.items).unwrap_or(i64::MAX)
}
