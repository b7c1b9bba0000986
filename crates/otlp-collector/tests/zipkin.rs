//! The `zipkin` receiver as Zipkin tracers meet it: spans sent by OpenTelemetry Python's Zipkin exporters (JSON
//! and protobuf, the `opentelemetry-exporter-zipkin-*` packages `cargo xtask setup` installs), and Zipkin's own
//! documented example sent as a tracer would, compressed; read back from the `file` exporter's OTLP/JSON.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{TestCollector, attribute, hex, python, read_traces, spans};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode};
use std::io::Write as _;
use std::process::Command;

const CONFIG: &str = r#"
receivers:
  zipkin:
    endpoint: "127.0.0.1:0"
exporters:
  file: { path: "{dir}/out.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [zipkin], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

/// Sends a server span with a client child (an event, an error) through OpenTelemetry Python's Zipkin exporter
/// (`json` or `proto`); prints the trace id.
const SEND: &str = r#"
import sys
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
encoding, url = sys.argv[1], sys.argv[2]
if encoding == "json":
    from opentelemetry.exporter.zipkin.json import ZipkinExporter
else:
    from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter
provider = TracerProvider(resource=Resource.create({"service.name": "checkout-" + encoding, "host.name": "node-7"}))
provider.add_span_processor(SimpleSpanProcessor(ZipkinExporter(endpoint=url)))
tracer = provider.get_tracer("checkout.lib", "2.1")
with tracer.start_as_current_span("place-order", kind=SpanKind.SERVER, attributes={"order.items": 3}) as parent:
    with tracer.start_as_current_span("charge", kind=SpanKind.CLIENT, attributes={"card": "visa"}) as child:
        child.add_event("retry", {"attempt": 2})
        child.set_status(Status(StatusCode.ERROR, "card declined"))
    print(format(parent.get_span_context().trace_id, "032x"))
provider.shutdown()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_s_zipkin_exporters_spans_arrive_as_they_were_sent() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.receiver_addr("zipkin", "http").unwrap();
    let url = format!("http://{addr}/api/v2/spans");
    let mut trace_ids = Vec::new();
    for encoding in ["json", "proto"] {
        let output = Command::new(python())
            .args(["-c", SEND, encoding, &url])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
        assert!(
            output.status.success(),
            "{encoding}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("Failed"),
            "the exporter reported a failure: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        trace_ids.push((
            encoding,
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        ));
    }
    let dir = harness.shut_down_cleanly().await;
    let requests = read_traces(&dir.path().join("out.jsonl"), true);
    assert_eq!(spans(&requests).len(), 4);
    for (encoding, trace_id) in trace_ids {
        let service = format!("checkout-{encoding}");
        let resource_spans: Vec<_> = requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .filter(|rs| {
                attribute(&rs.resource.as_ref().unwrap().attributes, "service.name")
                    == Some(&Value::StringValue(service.clone()))
            })
            .collect();
        assert!(!resource_spans.is_empty(), "{service}");
        for rs in &resource_spans {
            let resource = &rs.resource.as_ref().unwrap().attributes;
            assert_eq!(
                attribute(resource, "host.name"),
                Some(&Value::StringValue("node-7".into())),
                "{encoding}: the resource comes back from the tags"
            );
            assert!(attribute(resource, "telemetry.sdk.language").is_some());
        }
        let spans: Vec<_> = resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .inspect(|ss| {
                let scope = ss.scope.as_ref().unwrap();
                assert_eq!(
                    (scope.name.as_str(), scope.version.as_str()),
                    ("checkout.lib", "2.1")
                );
            })
            .flat_map(|ss| &ss.spans)
            .collect();
        let parent = spans.iter().find(|s| s.name == "place-order").unwrap();
        let child = spans.iter().find(|s| s.name == "charge").unwrap();
        assert_eq!(hex(&parent.trace_id), trace_id, "{encoding}");
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.parent_span_id, parent.span_id, "{encoding}");
        assert!(parent.parent_span_id.is_empty());
        assert_eq!(parent.kind, SpanKind::Server as i32);
        assert_eq!(child.kind, SpanKind::Client as i32);
        assert!(parent.end_time_unix_nano >= child.end_time_unix_nano);
        assert!(child.start_time_unix_nano >= parent.start_time_unix_nano);
        // Python's exporter writes every attribute as a string tag.
        assert_eq!(
            attribute(&parent.attributes, "order.items"),
            Some(&Value::StringValue("3".into()))
        );
        let status = child.status.as_ref().unwrap();
        assert_eq!(status.code, StatusCode::Error as i32, "{encoding}");
        assert_eq!(status.message, "card declined");
        assert_eq!(child.events.len(), 1);
        assert_eq!(child.events[0].name, "retry");
        assert_eq!(
            attribute(&child.events[0].attributes, "attempt"),
            Some(&Value::IntValue(2))
        );
    }
}

/// The example of Zipkin's API documentation.
const ZIPKIN_EXAMPLE: &str = r#"[{
  "id": "352bff9a74ca9ad2", "traceId": "5af7183fb1d4cf5f", "parentId": "6b221d5bc9e6496c",
  "name": "get /api", "timestamp": 1556604172355737, "duration": 1431, "kind": "SERVER",
  "localEndpoint": { "serviceName": "backend", "ipv4": "192.168.99.1", "port": 3306 },
  "remoteEndpoint": { "ipv4": "172.19.0.2", "port": 58648 },
  "tags": { "http.method": "GET", "http.path": "/api" }
}]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_answered_with_what_is_wrong_and_lose_nothing_else() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.receiver_addr("zipkin", "http").unwrap();
    let client = reqwest::Client::new();
    let post = |path: &str, content_type: &str, encoding: Option<&str>, body: Vec<u8>| {
        let mut request = client
            .post(format!("http://{addr}{path}"))
            .header("content-type", content_type)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        request.send()
    };
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(ZIPKIN_EXAMPLE.as_bytes()).unwrap();
    let answer = post(
        "/api/v2/spans",
        "application/json",
        Some("gzip"),
        gzip.finish().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 202);

    let bad = r#"[{"traceId": "5af7183fb1d4cf5f", "id": "1"}, {"traceId": "not-hex", "id": "2"}]"#;
    let answer = post("/api/v2/spans", "application/json", None, bad.into())
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let message = answer.text().await.unwrap();
    assert!(
        message.contains("span 1: `traceId` `not-hex` is not hexadecimal"),
        "{message}"
    );

    let answer = post("/api/v1/spans", "application/json", None, "[]".into())
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("send v2 to /api/v2/spans")
    );

    let answer = post("/api/v2/span", "application/json", None, "[]".into())
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("takes POST /api/v2/spans")
    );

    let answer = post("/api/v2/spans", "text/plain", None, ZIPKIN_EXAMPLE.into())
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);

    let answer = post("/api/v2/spans", "application/json", None, "[]".into())
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        202,
        "an empty list is a success, as in Zipkin"
    );

    let dir = harness.shut_down_cleanly().await;
    let requests = read_traces(&dir.path().join("out.jsonl"), true);
    let spans = spans(&requests);
    assert_eq!(spans.len(), 1, "only the good request's span");
    let span = &spans[0];
    assert_eq!(span.name, "get /api");
    assert_eq!(span.start_time_unix_nano, 1_556_604_172_355_737_000);
    assert_eq!(
        attribute(&span.attributes, "net.host.ip"),
        Some(&Value::StringValue("192.168.99.1".into()))
    );
    assert_eq!(
        attribute(&span.attributes, "net.peer.port"),
        Some(&Value::IntValue(58648))
    );
}
