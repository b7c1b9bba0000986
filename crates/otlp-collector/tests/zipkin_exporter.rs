//! The `zipkin` exporter: spans from the real `opentelemetry-otlp` exporter, sent on as Zipkin v2 JSON and as
//! protobuf (gzip'd), read by Zipkin's own protobuf classes (the `zipkin_pb2` OpenTelemetry Python's Zipkin
//! exporter is generated with) and a JSON parser in a Python server, and read back by our `zipkin` receiver into
//! OTLP that matches what was sent.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{
    TestCollector, attribute, free_port, grpc_tracer_provider, python_server, read_traces,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind as SdkKind, Status, TraceContextExt as _, Tracer as _,
    TracerProvider as _,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use std::time::Duration;

/// A Zipkin server's reading of what it is sent: every span of every POST, decoded by its `Content-Type` (protobuf
/// with Zipkin's generated classes), written to `argv[1]` as one JSON list in Zipkin v2's JSON shape, with the
/// format it came in. Prints its port.
const ZIPKIN_READER: &str = r#"
import gzip, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from opentelemetry.exporter.zipkin.proto.http.v2.gen import zipkin_pb2
out, spans = sys.argv[1], []
KINDS = {0: None, 1: "CLIENT", 2: "SERVER", 3: "PRODUCER", 4: "CONSUMER"}
def endpoint(e):
    found = {"serviceName": e.service_name}
    if e.ipv4: found["ipv4"] = ".".join(str(b) for b in e.ipv4)
    if e.port: found["port"] = e.port
    return found
def from_proto(s):
    span = {"traceId": s.trace_id.hex(), "id": s.id.hex(), "name": s.name, "timestamp": s.timestamp,
            "duration": s.duration, "tags": dict(s.tags),
            "annotations": [{"timestamp": a.timestamp, "value": a.value} for a in s.annotations]}
    if s.parent_id: span["parentId"] = s.parent_id.hex()
    if KINDS[s.kind]: span["kind"] = KINDS[s.kind]
    if s.HasField("local_endpoint"): span["localEndpoint"] = endpoint(s.local_endpoint)
    if s.HasField("remote_endpoint"): span["remoteEndpoint"] = endpoint(s.remote_endpoint)
    return span
class Zipkin(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.headers["Content-Type"] == "application/x-protobuf":
            listed = zipkin_pb2.ListOfSpans()
            listed.ParseFromString(body)
            received = [dict(from_proto(s), format="proto") for s in listed.spans]
        else:
            received = [dict(s, format="json") for s in json.loads(body)]
        for span in received:
            span["traceId"] = span["traceId"].rjust(32, "0")
            span.setdefault("annotations", [])
        spans.extend(received)
        with open(out + ".tmp", "w") as f:
            json.dump(spans, f)
        import os; os.replace(out + ".tmp", out)
        self.send_response(202)
        self.end_headers()
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", 0), Zipkin)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A server span with a client child that failed: attributes of several types, an event with attributes, a link.
/// Returns the trace id in hex.
fn send_checkout(endpoint: String) -> String {
    let provider = grpc_tracer_provider(
        endpoint,
        opentelemetry_sdk::Resource::builder()
            .with_service_name("checkout")
            .with_attribute(KeyValue::new("host.name", "node-7"))
            .build(),
    );
    let tracer = provider.tracer_with_scope(
        opentelemetry::InstrumentationScope::builder("checkout.lib")
            .with_version("2.1")
            .build(),
    );
    let linked = SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes([7; 16]),
        opentelemetry::trace::SpanId::from_bytes([8; 8]),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        Default::default(),
    );
    let parent = tracer
        .span_builder("place-order")
        .with_kind(SdkKind::Server)
        .with_attributes([KeyValue::new("order.items", 3)])
        .start(&tracer);
    let trace_id = parent.span_context().trace_id().to_string();
    let context = opentelemetry::Context::current_with_span(parent);
    let mut child = tracer
        .span_builder("charge")
        .with_kind(SdkKind::Client)
        .with_attributes([
            KeyValue::new("card", "visa"),
            KeyValue::new("peer.service", "payments"),
            KeyValue::new("amount", 12.5),
        ])
        .with_links(vec![opentelemetry::trace::Link::with_context(linked)])
        .start_with_context(&tracer, &context);
    child.add_event("retry", vec![KeyValue::new("attempt", 2)]);
    child.set_status(Status::error("card declined"));
    child.end();
    context.span().end();
    provider.shutdown().unwrap();
    trace_id
}

fn exporters(json: &str, proto: &str) -> String {
    format!(
        r#"
  zipkin/json: {{ endpoint: "{json}" }}
  zipkin/proto: {{ endpoint: "{proto}", format: proto, compression: gzip }}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zipkin_s_protobuf_classes_and_a_json_parser_read_what_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.json");
    let (mut reader, port) = python_server(ZIPKIN_READER, &[out.to_str().unwrap()]);
    let url = format!("http://127.0.0.1:{port}/api/v2/spans");
    let config = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:{}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [zipkin/json, zipkin/proto] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        exporters(&url, &url)
    );
    let collector = TestCollector::start(&config).await;
    let endpoint = collector.grpc_endpoint();
    let trace_id = tokio::task::spawn_blocking(move || send_checkout(endpoint))
        .await
        .unwrap();
    assert!(collector.collector.flush(Duration::from_secs(10)).await);
    collector.shut_down_cleanly().await;
    let received: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = reader.kill();
    let _ = reader.wait();

    assert_eq!(received.len(), 4, "two spans in each format: {received:#?}");
    for format in ["json", "proto"] {
        let spans: Vec<_> = received.iter().filter(|s| s["format"] == format).collect();
        let parent = spans.iter().find(|s| s["name"] == "place-order").unwrap();
        let child = spans.iter().find(|s| s["name"] == "charge").unwrap();
        assert_eq!(parent["traceId"], trace_id.as_str(), "{format}");
        assert_eq!(child["traceId"], trace_id.as_str(), "{format}");
        assert_eq!(child["parentId"], parent["id"], "{format}");
        assert_eq!(parent.get("parentId"), None, "{format}");
        assert_eq!(parent["kind"], "SERVER", "{format}");
        assert_eq!(child["kind"], "CLIENT", "{format}");
        assert_eq!(
            parent["localEndpoint"]["serviceName"], "checkout",
            "{format}"
        );
        assert_eq!(
            child["remoteEndpoint"]["serviceName"], "payments",
            "{format}"
        );
        let (start, duration) = (
            parent["timestamp"].as_u64().unwrap(),
            parent["duration"].as_u64().unwrap(),
        );
        let child_start = child["timestamp"].as_u64().unwrap();
        assert!(
            child_start >= start && child_start <= start + duration,
            "{format}"
        );
        let tags = &child["tags"];
        assert_eq!(tags["card"], "visa", "{format}");
        assert_eq!(tags["amount"], "12.5", "{format}");
        assert_eq!(tags["host.name"], "node-7", "{format}");
        assert_eq!(tags["otel.scope.name"], "checkout.lib", "{format}");
        assert_eq!(tags["otel.scope.version"], "2.1", "{format}");
        assert_eq!(tags["error"], "card declined", "{format}");
        assert_eq!(tags["otel.status_code"], "ERROR", "{format}");
        assert_eq!(
            tags["otlp.link.0"], "07070707070707070707070707070707|0808080808080808||{}|0",
            "{format}"
        );
        assert_eq!(tags.get("peer.service"), None, "{format}");
        assert_eq!(parent["tags"]["order.items"], "3", "{format}");
        let annotations = child["annotations"].as_array().unwrap();
        assert_eq!(annotations.len(), 1, "{format}");
        assert_eq!(
            annotations[0]["value"], "retry|{\"attempt\":2}|0",
            "{format}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_sent_to_a_zipkin_receiver_come_back_as_they_were() {
    let (json_port, proto_port) = (free_port(), free_port());
    let config = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
  zipkin/json: {{ endpoint: "127.0.0.1:{json_port}", parse_string_tags: true }}
  zipkin/proto: {{ endpoint: "127.0.0.1:{proto_port}", parse_string_tags: true }}
exporters:{}
  file/json: {{ path: "{{dir}}/json.jsonl", format: json }}
  file/proto: {{ path: "{{dir}}/proto.jsonl", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [zipkin/json, zipkin/proto] }}
    traces/json: {{ receivers: [zipkin/json], exporters: [file/json] }}
    traces/proto: {{ receivers: [zipkin/proto], exporters: [file/proto] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        exporters(
            &format!("http://127.0.0.1:{json_port}/api/v2/spans"),
            &format!("http://127.0.0.1:{proto_port}/api/v2/spans")
        )
    );
    let collector = TestCollector::start(&config).await;
    let endpoint = collector.grpc_endpoint();
    let trace_id = tokio::task::spawn_blocking(move || send_checkout(endpoint))
        .await
        .unwrap();
    assert!(collector.collector.flush(Duration::from_secs(10)).await);
    // The second hop's batches are flushed once the first hop's exports have landed.
    assert!(collector.collector.flush(Duration::from_secs(10)).await);
    let dir = collector.shut_down_cleanly().await;

    for file in ["json.jsonl", "proto.jsonl"] {
        let requests = read_traces(&dir.path().join(file), true);
        let resource_spans: Vec<_> = requests.iter().flat_map(|r| &r.resource_spans).collect();
        let spans: Vec<&Span> = resource_spans
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
        assert_eq!(spans.len(), 2, "{file}");
        for rs in &resource_spans {
            let resource = &rs.resource.as_ref().unwrap().attributes;
            assert_eq!(
                attribute(resource, "service.name"),
                Some(&Value::StringValue("checkout".into())),
                "{file}"
            );
            assert_eq!(
                attribute(resource, "host.name"),
                Some(&Value::StringValue("node-7".into())),
                "{file}"
            );
        }
        let parent = spans.iter().find(|s| s.name == "place-order").unwrap();
        let child = spans.iter().find(|s| s.name == "charge").unwrap();
        assert_eq!(hex::encode(&parent.trace_id), trace_id, "{file}");
        assert_eq!(child.parent_span_id, parent.span_id, "{file}");
        assert_eq!(parent.kind, SpanKind::Server as i32, "{file}");
        assert_eq!(child.kind, SpanKind::Client as i32, "{file}");
        assert_eq!(
            attribute(&parent.attributes, "order.items"),
            Some(&Value::IntValue(3)),
            "{file}: parse_string_tags types it again"
        );
        assert_eq!(
            attribute(&child.attributes, "amount"),
            Some(&Value::DoubleValue(12.5)),
            "{file}"
        );
        assert_eq!(
            attribute(&child.attributes, "peer.service"),
            Some(&Value::StringValue("payments".into())),
            "{file}"
        );
        let status = child.status.as_ref().unwrap();
        assert_eq!(status.code, StatusCode::Error as i32, "{file}");
        assert_eq!(status.message, "card declined", "{file}");
        assert_eq!(child.events.len(), 1, "{file}");
        assert_eq!(child.events[0].name, "retry", "{file}");
        assert_eq!(
            attribute(&child.events[0].attributes, "attempt"),
            Some(&Value::IntValue(2)),
            "{file}"
        );
        assert_eq!(child.links.len(), 1, "{file}");
        assert_eq!(child.links[0].trace_id, vec![7; 16], "{file}");
        assert_eq!(child.links[0].span_id, vec![8; 8], "{file}");
        assert!(
            child.start_time_unix_nano >= parent.start_time_unix_nano,
            "{file}"
        );
        assert!(
            child.end_time_unix_nano <= parent.end_time_unix_nano,
            "{file}"
        );
    }
}

#[test]
fn the_endpoint_is_required_and_the_format_named() {
    let problems = common::config_problems(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
exporters:
  zipkin:
  zipkin/2: { endpoint: "http://zipkin:9411/api/v2/spans", format: thrift }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [zipkin, zipkin/2] }
"#,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    let about = |path: &str| {
        problems
            .iter()
            .find(|(at, _)| at == path)
            .map(|(_, message)| message.as_str())
            .unwrap_or_else(|| panic!("nothing about {path}: {problems:?}"))
    };
    assert!(about("exporters.zipkin.endpoint").contains("is required"));
    let format = about("exporters.zipkin/2.format");
    assert!(
        format.contains("thrift") && format.contains("json"),
        "{format}"
    );
}
