//! [`OtlpRequest`] for traces.

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use crate::any::any_conversions;
use crate::request::{rejected_count, rejected_of};
use crate::split::{Layout, split_front, take_front};
use crate::{AnyRequest, OtlpRequest, OtlpResponse, Rejected, Signal};

const LAYOUT: Layout<ResourceSpans, ScopeSpans> = Layout {
    scopes: |resource| &mut resource.scope_spans,
    scope_items: |scope| scope.spans.len(),
    split_scope: |scope, n| ScopeSpans {
        scope: scope.scope.clone(),
        spans: take_front(&mut scope.spans, n),
        schema_url: scope.schema_url.clone(),
    },
};

/// Why a span cannot be passed on, if it cannot.
fn invalid_span(span: &Span) -> Option<&'static str> {
    if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
        Some("trace_id must be 16 bytes and not all zero")
    } else if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
        Some("span_id must be 8 bytes and not all zero")
    } else if !(span.parent_span_id.is_empty() || span.parent_span_id.len() == 8) {
        Some("parent_span_id must be empty or 8 bytes")
    } else {
        None
    }
}

impl OtlpRequest for ExportTraceServiceRequest {
    const SIGNAL: Signal = Signal::Traces;
    const MESSAGE_NAME: &'static str = "ExportTraceServiceRequest";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const GRPC_METHOD: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    type Response = ExportTraceServiceResponse;

    fn item_count(&self) -> usize {
        self.resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum()
    }

    fn append(&mut self, other: Self) {
        self.resource_spans.extend(other.resource_spans);
    }

    fn split_front(&mut self, max_items: usize) -> Self {
        ExportTraceServiceRequest {
            resource_spans: split_front(&mut self.resource_spans, max_items, &LAYOUT),
        }
    }

    fn remove_invalid(&mut self) -> Option<Rejected> {
        let mut removed = 0u64;
        let mut first_reason = None;
        for scope in self
            .resource_spans
            .iter_mut()
            .flat_map(|resource| &mut resource.scope_spans)
        {
            scope.spans.retain(|span| match invalid_span(span) {
                Some(reason) => {
                    removed += 1;
                    first_reason.get_or_insert(reason);
                    false
                }
                None => true,
            });
        }
        first_reason.map(|reason| Rejected {
            items: removed,
            message: format!("{removed} span(s) rejected: {reason}"),
        })
    }

    any_conversions!(Traces);
}

impl OtlpResponse for ExportTraceServiceResponse {
    fn with_rejected(rejected: Option<Rejected>) -> Self {
        ExportTraceServiceResponse {
            partial_success: rejected.map(|rejected| ExportTracePartialSuccess {
                rejected_spans: rejected_count(&rejected),
                error_message: rejected.message,
            }),
        }
    }

    fn rejected(&self) -> Option<Rejected> {
        let partial = self.partial_success.as_ref()?;
        rejected_of(partial.rejected_spans, &partial.error_message)
    }
}
