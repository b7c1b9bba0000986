use super::*;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status, span};
use otlp_ottl::{key_value, string_value};
use serde_json::json;

fn int(value: i64) -> AnyValue {
    AnyValue {
        value: Some(opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(value)),
    }
}

fn request(resource: Vec<KeyValue>, spans: Vec<OtlpSpan>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "checkout.lib".into(),
                    version: "2.1".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A client span with everything the mapping touches.
fn client_span() -> OtlpSpan {
    OtlpSpan {
        trace_id: (1..=16).collect(),
        span_id: vec![0xaa; 8],
        parent_span_id: vec![0xbb; 8],
        trace_state: "vendor=premium".into(),
        name: "charge".into(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: 1_700_000_000_123_456_789,
        end_time_unix_nano: 1_700_000_000_125_456_289,
        attributes: vec![
            key_value("card", string_value("visa")),
            key_value("attempt", int(2)),
            key_value("peer.service", string_value("payments")),
            key_value("net.peer.ip", string_value("10.0.0.7")),
            key_value("net.peer.port", string_value("8443")),
            key_value("net.host.ip", string_value("::1")),
        ],
        dropped_attributes_count: 3,
        events: vec![
            span::Event {
                time_unix_nano: 1_700_000_000_124_000_000,
                name: "retry".into(),
                attributes: vec![key_value("attempt", int(2))],
                dropped_attributes_count: 1,
            },
            span::Event {
                time_unix_nano: 1_700_000_000_124_500_000,
                name: "sent".into(),
                ..Default::default()
            },
        ],
        links: vec![span::Link {
            trace_id: vec![7; 16],
            span_id: vec![8; 8],
            trace_state: "a=b".into(),
            attributes: vec![key_value("reason", string_value("retry-of"))],
            ..Default::default()
        }],
        status: Some(Status {
            code: StatusCode::Error as i32,
            message: "card declined".into(),
        }),
        ..Default::default()
    }
}

fn as_json(request: &ExportTraceServiceRequest) -> serde_json::Value {
    let (spans, refused) = to_zipkin(request, "<missing service name>");
    assert_eq!(refused, 0);
    serde_json::from_slice(&crate::zipkin::to_json(&spans)).unwrap()
}

#[test]
fn a_span_is_written_as_otelcol_writes_it() {
    let resource = vec![
        key_value("service.name", string_value("checkout")),
        key_value("host.name", string_value("node-7")),
    ];
    let written = as_json(&request(resource, vec![client_span()]));
    assert_eq!(
        written,
        json!([{
            "traceId": "0102030405060708090a0b0c0d0e0f10",
            "parentId": "bbbbbbbbbbbbbbbb",
            "id": "aaaaaaaaaaaaaaaa",
            "kind": "CLIENT",
            "name": "charge",
            "timestamp": 1_700_000_000_123_457u64,
            "duration": 2000,
            "localEndpoint": { "serviceName": "checkout", "ipv6": "::1" },
            "remoteEndpoint": { "serviceName": "payments", "ipv4": "10.0.0.7", "port": 8443 },
            "annotations": [
                { "timestamp": 1_700_000_000_124_000u64, "value": "retry|{\"attempt\":2}|1" },
                { "timestamp": 1_700_000_000_124_500u64, "value": "sent" }
            ],
            "tags": {
                "attempt": "2",
                "card": "visa",
                "error": "card declined",
                "host.name": "node-7",
                "otel.dropped_attributes_count": "3",
                "otel.scope.name": "checkout.lib",
                "otel.scope.version": "2.1",
                "otel.status_code": "ERROR",
                "otel.status_description": "card declined",
                "otlp.link.0": "07070707070707070707070707070707|0808080808080808|a=b|{\"reason\":\"retry-of\"}|0",
                "w3c.tracestate": "vendor=premium"
            }
        }])
    );
}

#[test]
fn proto_carries_the_same_span() {
    let request = request(
        vec![key_value("service.name", string_value("checkout"))],
        vec![client_span()],
    );
    let (spans, _) = to_zipkin(&request, "unknown");
    let from_proto = crate::zipkin::from_proto(&crate::zipkin::to_proto(&spans)).unwrap();
    let from_json = crate::zipkin::from_json(&crate::zipkin::to_json(&spans)).unwrap();
    assert_eq!(from_proto, spans);
    assert_eq!(from_json, spans);
}

#[test]
fn a_trace_id_with_a_zero_high_half_is_written_in_sixteen_digits() {
    let mut span = client_span();
    span.trace_id = [[0; 8], [0x12; 8]].concat();
    let written = as_json(&request(Vec::new(), vec![span]));
    assert_eq!(written[0]["traceId"], "1212121212121212");
}

#[test]
fn an_internal_span_is_tagged_and_a_false_error_tag_is_left_out() {
    let mut span = client_span();
    span.kind = SpanKind::Internal as i32;
    span.status = Some(Status {
        code: StatusCode::Ok as i32,
        message: String::new(),
    });
    span.attributes
        .push(key_value("error", string_value("false")));
    let written = as_json(&request(Vec::new(), vec![span]));
    let tags = &written[0]["tags"];
    assert_eq!(written[0].get("kind"), None);
    assert_eq!(tags["span.kind"], "internal");
    assert_eq!(tags.get("error"), None);
    assert_eq!(tags["otel.status_code"], "OK");
    assert_eq!(tags.get("otel.status_description"), None);

    let mut unset = client_span();
    unset.status = None;
    let written = as_json(&request(Vec::new(), vec![unset]));
    assert_eq!(written[0]["tags"].get("otel.status_code"), None);
    assert_eq!(written[0]["tags"].get("error"), None);
}

#[test]
fn the_service_comes_from_fallbacks_or_the_configured_default() {
    let by_function = as_json(&request(
        vec![key_value("faas.name", string_value("resize-image"))],
        vec![client_span()],
    ));
    assert_eq!(
        by_function[0]["localEndpoint"]["serviceName"],
        "resize-image"
    );
    assert_eq!(
        by_function[0]["tags"]["otlp.service.name.source"],
        "faas.name"
    );
    assert_eq!(by_function[0]["tags"].get("faas.name"), None);

    let (spans, _) = to_zipkin(&request(Vec::new(), vec![client_span()]), "unknown-service");
    let endpoint = spans[0].local_endpoint.as_ref().unwrap();
    assert_eq!(endpoint.service_name, "unknown-service");
}

#[test]
fn times_are_rounded_microseconds_and_no_span_is_shorter_than_one() {
    let mut short = client_span();
    short.start_time_unix_nano = 1_700_000_000_000_000_499;
    short.end_time_unix_nano = 1_700_000_000_000_000_799;
    let mut open = client_span();
    open.end_time_unix_nano = 0;
    let mut unstarted = client_span();
    unstarted.start_time_unix_nano = 0;
    unstarted.end_time_unix_nano = 5_000;
    let written = as_json(&request(Vec::new(), vec![short, open, unstarted]));
    assert_eq!(written[0]["timestamp"], 1_700_000_000_000_000u64);
    assert_eq!(written[0]["duration"], 1);
    assert_eq!(written[1].get("duration"), None);
    assert_eq!(written[2].get("timestamp"), None);
    assert_eq!(written[2]["duration"], 5);
}

#[test]
fn a_span_without_ids_is_refused_and_the_rest_are_kept() {
    let mut no_trace = client_span();
    no_trace.trace_id = Vec::new();
    let mut zero_span = client_span();
    zero_span.span_id = vec![0; 8];
    let mut kept = client_span();
    kept.name = "kept".into();
    let (spans, refused) = to_zipkin(
        &request(Vec::new(), vec![no_trace, kept, zero_span]),
        "unknown",
    );
    assert_eq!(refused, 2);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "kept");
}
