//! The OTLP model every otlp-suite crate shares: the three [`Signal`]s, one trait over their export requests
//! ([`OtlpRequest`]: signal, item count, validation and partial success, split and append, response type), an
//! [`AnyRequest`] for code that holds any signal, and otelcol's [`duration`] format.
//!
//! Code that handles requests is written once, over `R: OtlpRequest`, and serves traces, metrics and logs alike:
//!
//! ```
//! use otlp_model::{AnyRequest, OtlpRequest, OtlpResponse, with_request};
//! use otlp_model::ExportTraceServiceRequest;
//! use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
//!
//! /// What a receiver does with any request: drop what is malformed, keep the rest, answer with partial success.
//! fn accept<R: OtlpRequest>(mut request: R, batch: &mut R) -> R::Response {
//!     let rejected = request.remove_invalid();
//!     batch.append(request);
//!     R::Response::with_rejected(rejected)
//! }
//!
//! let span = |id: u8| Span { trace_id: vec![7; 16], span_id: vec![id; 8], ..Default::default() };
//! let request = ExportTraceServiceRequest {
//!     resource_spans: vec![ResourceSpans {
//!         scope_spans: vec![ScopeSpans {
//!             spans: vec![span(1), span(0), span(2)], // span id 0 is invalid
//!             ..Default::default()
//!         }],
//!         ..Default::default()
//!     }],
//! };
//! let mut batch = ExportTraceServiceRequest::default();
//! let response = accept(request, &mut batch);
//! assert_eq!(response.rejected().map(|r| r.items), Some(1));
//! assert_eq!(batch.item_count(), 2);
//!
//! // Split at an item boundary: both halves keep their resource and scope.
//! let head = batch.split_front(1);
//! assert_eq!((head.item_count(), batch.item_count()), (1, 1));
//!
//! // Code holding any signal reaches the generic code through `with_request!`.
//! let any = AnyRequest::from(head);
//! assert_eq!(with_request!(&any, r => r.item_count()), 1);
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod any;
pub mod duration;
mod error;
mod logs;
mod metrics;
mod request;
mod signal;
mod split;
mod traces;
pub mod wire;

pub use any::AnyRequest;
pub use error::{Error, Result};
pub use metrics::data_points;
pub use request::{OtlpRequest, OtlpResponse, Rejected};
pub use signal::Signal;

pub use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
pub use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
pub use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
