//! Partial success: what `remove_invalid` removes, and how responses report it on the wire.

use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_model::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    ExportTraceServiceRequest, ExportTraceServiceResponse, OtlpRequest, OtlpResponse, Rejected,
};

fn span(trace_id: Vec<u8>, span_id: Vec<u8>, parent: Vec<u8>) -> Span {
    Span {
        trace_id,
        span_id,
        parent_span_id: parent,
        ..Default::default()
    }
}

#[test]
fn malformed_span_ids_are_removed_and_counted_with_the_first_reason() {
    let mut request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span(vec![1; 16], vec![1; 8], vec![]),
                    span(vec![0; 16], vec![2; 8], vec![]),
                    span(vec![1; 15], vec![3; 8], vec![]),
                    span(vec![1; 16], vec![0; 8], vec![]),
                    span(vec![1; 16], vec![5; 8], vec![9; 7]),
                    span(vec![1; 16], vec![6; 8], vec![9; 8]),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let rejected = request.remove_invalid().unwrap();
    assert_eq!(rejected.items, 4);
    assert_eq!(
        rejected.message,
        "4 span(s) rejected: trace_id must be 16 bytes and not all zero"
    );
    let kept: Vec<u8> = request.resource_spans[0].scope_spans[0]
        .spans
        .iter()
        .map(|s| s.span_id[0])
        .collect();
    assert_eq!(kept, [1, 6]);
    assert_eq!(request.remove_invalid(), None, "nothing left to remove");
}

#[test]
fn log_records_need_well_formed_ids_only_when_they_have_them() {
    let record = |trace_id: Vec<u8>, span_id: Vec<u8>| LogRecord {
        trace_id,
        span_id,
        ..Default::default()
    };
    let mut request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    record(vec![], vec![]),
                    record(vec![1; 16], vec![1; 8]),
                    record(vec![1; 3], vec![]),
                    record(vec![], vec![1; 9]),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let rejected = request.remove_invalid().unwrap();
    assert_eq!(rejected.items, 2);
    assert_eq!(request.item_count(), 2);
    assert_eq!(
        ExportMetricsServiceRequest::default().remove_invalid(),
        None
    );
}

#[test]
fn responses_carry_partial_success_in_the_signal_s_own_field() {
    let rejected = Rejected {
        items: 3,
        message: "3 span(s) rejected".into(),
    };
    let response = ExportTraceServiceResponse::with_rejected(Some(rejected.clone()));
    assert_eq!(response.partial_success.as_ref().unwrap().rejected_spans, 3);
    assert_eq!(response.rejected(), Some(rejected));
    let json = serde_json::to_string(&response).unwrap();
    assert!(json.contains("rejectedSpans"), "{json}");

    assert_eq!(
        ExportMetricsServiceResponse::with_rejected(None).rejected(),
        None
    );
    // A partial success that rejects nothing and says nothing is full success, as the specification says.
    let empty = ExportMetricsServiceResponse {
        partial_success: Some(Default::default()),
    };
    assert_eq!(empty.rejected(), None);
}
