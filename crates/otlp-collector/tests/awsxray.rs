//! The `awsxray` receiver as the X-Ray daemon's stand-in: the AWS X-Ray SDK for Python (`aws-xray-sdk`) sends a
//! traced request (HTTP, annotations, metadata; a remote call that raised, a DynamoDB call, a SQL query) to it as
//! to a daemon; datagrams that are not segments are dropped without touching the rest. Read back from the `file`
//! exporter's OTLP/JSON.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::json_recording::wait_for_traces;
use common::{TestCollector, attribute, hex, python, read_traces, spans};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode};
use std::process::Command;

const CONFIG: &str = r#"
receivers:
  awsxray:
    endpoint: "127.0.0.1:0"
exporters:
  file: { path: "{dir}/traces.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [awsxray], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

/// A request traced with the X-Ray SDK; prints the trace id and the segment's and subsegments' ids.
const TRACE: &str = r#"
import sys, traceback
from aws_xray_sdk.core import xray_recorder
xray_recorder.configure(service="checkout", daemon_address=sys.argv[1], context_missing="LOG_ERROR",
                        sampling=False, streaming_threshold=100)
segment = xray_recorder.begin_segment("checkout")
segment.put_http_meta("method", "POST")
segment.put_http_meta("url", "http://shop.example/cart")
segment.put_http_meta("client_ip", "10.0.0.7")
segment.put_http_meta("status", 502)
segment.put_annotation("customer", "ada")
segment.put_annotation("items", 3)
segment.put_metadata("cart", {"skus": ["a1", "b2"]}, "shop")
segment.set_user("ada@example.com")
payment = xray_recorder.begin_subsegment("payments", namespace="remote")
payment.put_http_meta("method", "POST")
payment.put_http_meta("url", "https://pay.example/charge")
try:
    raise ConnectionError("payment gateway timed out")
except ConnectionError as e:
    payment.add_exception(e, traceback.extract_stack())
xray_recorder.end_subsegment()
table = xray_recorder.begin_subsegment("DynamoDB", namespace="aws")
table.set_aws({"operation": "GetItem", "region": "eu-west-1", "table_name": "carts", "request_id": "R1"})
xray_recorder.end_subsegment()
query = xray_recorder.begin_subsegment("orders@db", namespace="remote")
query.set_sql({"url": "postgresql://db.example:5432/orders", "database_type": "PostgreSQL",
               "sanitized_query": "SELECT * FROM orders WHERE id = %s", "user": "app"})
xray_recorder.end_subsegment()
xray_recorder.end_segment()
print(segment.trace_id, segment.id, payment.id, table.id, query.id)
"#;

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_x_ray_sdks_segments_arrive_as_parented_spans() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.receiver_addr("awsxray", "udp").unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Not segments: dropped, and the segment after them still taken.
    socket.send_to(b"hello", addr).unwrap();
    socket
        .send_to(b"{\"format\":\"json\",\"version\":1}\n{\"id\":\"1\"}", addr)
        .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(["-c", TRACE, &addr.to_string()])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()))
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let printed = String::from_utf8_lossy(&output.stdout);
    let ids: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(ids.len(), 5, "{printed}{stderr}");
    let path = harness.path("traces.jsonl");
    wait_for_traces(&path, |requests| spans(requests).len() >= 4).await;
    let dir = harness.shut_down_cleanly().await;
    let requests = read_traces(&dir.path().join("traces.jsonl"), true);
    let all = spans(&requests);
    assert_eq!(all.len(), 4, "{all:?}");

    let resource = &requests[0].resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(text(attribute(resource, "service.name")), "checkout");
    assert_eq!(
        text(attribute(resource, "telemetry.sdk.name")),
        "X-Ray for Python"
    );
    assert_eq!(
        text(attribute(resource, "telemetry.sdk.language")),
        "python"
    );
    assert_eq!(text(attribute(resource, "process.runtime.name")), "CPython");

    // "1-6b171f5c-d671acd87465ebb2dea1ffee" is the trace id's 32 hex digits.
    let trace_id = ids[0].replace('-', "")[1..].to_owned();
    assert!(
        all.iter().all(|s| hex(&s.trace_id) == trace_id),
        "{trace_id}"
    );
    let by_id = |id: &str| all.iter().find(|s| hex(&s.span_id) == id).unwrap();
    let (root, payment, table, query) =
        (by_id(ids[1]), by_id(ids[2]), by_id(ids[3]), by_id(ids[4]));

    assert_eq!(root.name, "checkout");
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(
        attribute(&root.attributes, "http.status_code"),
        Some(&Value::IntValue(502))
    );
    assert_eq!(text(attribute(&root.attributes, "http.method")), "POST");
    assert_eq!(
        text(attribute(&root.attributes, "http.client_ip")),
        "10.0.0.7"
    );
    assert_eq!(
        text(attribute(&root.attributes, "enduser.id")),
        "ada@example.com"
    );
    assert_eq!(text(attribute(&root.attributes, "customer")), "ada");
    assert_eq!(
        attribute(&root.attributes, "items"),
        Some(&Value::IntValue(3))
    );
    assert_eq!(
        text(attribute(&root.attributes, "aws.xray.metadata.shop")),
        r#"{"cart":{"skus":["a1","b2"]}}"#
    );
    assert!(root.end_time_unix_nano > root.start_time_unix_nano);

    for child in [payment, table, query] {
        assert_eq!(child.parent_span_id, root.span_id);
        assert_eq!(child.kind, SpanKind::Client as i32);
        assert!(child.start_time_unix_nano >= root.start_time_unix_nano);
    }
    let status = payment.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "payment gateway timed out")
    );
    assert_eq!(payment.events[0].name, "exception");
    assert_eq!(
        text(attribute(&payment.events[0].attributes, "exception.type")),
        "ConnectionError"
    );
    assert!(
        text(attribute(
            &payment.events[0].attributes,
            "exception.stacktrace"
        ))
        .starts_with("ConnectionError: payment gateway timed out\n\tat ")
    );
    assert_eq!(
        text(attribute(&table.attributes, "aws.service")),
        "DynamoDB"
    );
    assert_eq!(
        text(attribute(&table.attributes, "aws.operation")),
        "GetItem"
    );
    assert_eq!(
        text(attribute(&table.attributes, "aws.table_name")),
        "carts"
    );
    assert_eq!(text(attribute(&query.attributes, "db.name")), "orders");
    assert_eq!(
        text(attribute(&query.attributes, "db.system")),
        "PostgreSQL"
    );
    assert_eq!(
        text(attribute(&query.attributes, "db.connection_string")),
        "postgresql://db.example:5432"
    );
}
