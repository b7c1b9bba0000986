//! The `jaeger` receiver as Jaeger clients meet it: spans sent by OpenTelemetry Python's Jaeger exporters over
//! the agent's UDP port (Thrift compact), the collector's HTTP endpoint (Thrift binary) and gRPC (`PostSpans`),
//! and an `emitBatch` in Thrift's binary protocol written by Apache Thrift's own Python library, as old agents'
//! clients send it; read back from the `file` exporter's OTLP/JSON. The packages are those `cargo xtask setup`
//! installs (`$OTLP_SUITE_PYTHON`, else `python3`).

mod common;

use common::{TestCollector, attribute, hex, python, read_traces, spans};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode};
use std::process::Command;
use std::time::Duration;

const CONFIG: &str = r#"
receivers:
  jaeger:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
      thrift_http: { endpoint: "127.0.0.1:0" }
      thrift_compact: { endpoint: "127.0.0.1:0" }
      thrift_binary: { endpoint: "127.0.0.1:0" }
exporters:
  file: { path: "{dir}/out.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [jaeger], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

/// Sends a server span with a client child (an event, an error) through one of OpenTelemetry Python's Jaeger
/// exporters: `agent` (UDP, compact), `collector` (HTTP, binary) or `grpc`.
const SEND: &str = r#"
import sys, warnings
warnings.simplefilter("ignore")
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
how, address = sys.argv[1], sys.argv[2]
host, port = address.rsplit(":", 1)
if how == "agent":
    from opentelemetry.exporter.jaeger.thrift import JaegerExporter
    exporter = JaegerExporter(agent_host_name=host, agent_port=int(port))
elif how == "collector":
    from opentelemetry.exporter.jaeger.thrift import JaegerExporter
    exporter = JaegerExporter(collector_endpoint=f"http://{address}/api/traces")
else:
    from opentelemetry.exporter.jaeger.proto.grpc import JaegerExporter
    exporter = JaegerExporter(collector_endpoint=address, insecure=True)
provider = TracerProvider(resource=Resource.create({"service.name": "legacy-" + how, "host.name": "node-7"}))
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("legacy.lib", "3.2")
with tracer.start_as_current_span("place-order", kind=SpanKind.SERVER, attributes={"order.items": 3}) as parent:
    with tracer.start_as_current_span("charge", kind=SpanKind.CLIENT, attributes={"paid": True}) as child:
        child.add_event("retry", {"attempt": 2})
        child.set_status(Status(StatusCode.ERROR, "card declined"))
    print(format(parent.get_span_context().trace_id, "032x"))
provider.shutdown()
"#;

/// An old client's `emitBatch` in Thrift's binary protocol, written by Apache Thrift's Python library.
const SEND_BINARY: &str = r#"
import socket, sys
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport
from opentelemetry.exporter.jaeger.thrift.gen.agent import Agent
from opentelemetry.exporter.jaeger.thrift.gen.jaeger import ttypes as j
host, port = sys.argv[1].rsplit(":", 1)
buffer = TTransport.TMemoryBuffer()
span = j.Span(traceIdLow=0x0102030405060708, traceIdHigh=0x1112131415161718, spanId=0x2122232425262728,
    parentSpanId=0, operationName="legacy-op", flags=1, startTime=1700000000000000, duration=1500,
    tags=[j.Tag(key="error", vType=j.TagType.BOOL, vBool=True), j.Tag(key="span.kind", vType=j.TagType.STRING, vStr="consumer"),
          j.Tag(key="retries", vType=j.TagType.LONG, vLong=4), j.Tag(key="ratio", vType=j.TagType.DOUBLE, vDouble=0.5)],
    logs=[j.Log(timestamp=1700000000000100, fields=[j.Tag(key="event", vType=j.TagType.STRING, vStr="redelivered"),
          j.Tag(key="queue", vType=j.TagType.STRING, vStr="orders")])],
    references=[j.SpanRef(refType=j.SpanRefType.FOLLOWS_FROM, traceIdLow=9, traceIdHigh=0, spanId=10)])
batch = j.Batch(process=j.Process(serviceName="binary-agent", tags=[j.Tag(key="ip", vType=j.TagType.STRING, vStr="10.0.0.9")]), spans=[span])
Agent.Client(TBinaryProtocol.TBinaryProtocol(buffer)).emitBatch(batch)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(buffer.getvalue(), (host, int(port)))
sock.sendto(b"\x80\x01\x00\x04 not a batch", (host, int(port)))
"#;

fn run(script: &str, args: &[&str]) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_clients_spans_arrive_over_every_protocol() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = |transport: &str| {
        harness
            .collector
            .receiver_addr("jaeger", transport)
            .unwrap()
            .to_string()
    };
    let (agent, collector, grpc, binary) = (
        addr("thrift_compact"),
        addr("thrift_http"),
        addr("grpc"),
        addr("thrift_binary"),
    );
    let mut sent = Vec::new();
    for (how, address) in [
        ("agent", &agent),
        ("collector", &collector),
        ("grpc", &grpc),
    ] {
        let trace_id = run(SEND, &[how, address]);
        sent.push((how, trace_id));
    }
    run(SEND_BINARY, &[&binary]);
    // UDP is not answered: wait until the pipeline has it all (7 spans), and the bad datagram counted.
    let telemetry = harness.collector.telemetry().clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while telemetry.total("otelcol_receiver_accepted_spans") < 7
        || telemetry.total_with_label(
            "otelcol_receiver_refused_spans",
            "transport",
            "thrift_binary",
        ) < 1
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans or the refusal never counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = harness.shut_down_cleanly().await;
    let requests = read_traces(&dir.path().join("out.jsonl"), true);
    assert_eq!(spans(&requests).len(), 7);
    for (how, trace_id) in sent {
        let service = format!("legacy-{how}");
        let resource_spans: Vec<_> = requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .filter(|rs| {
                attribute(&rs.resource.as_ref().unwrap().attributes, "service.name")
                    == Some(&Value::StringValue(service.clone()))
            })
            .collect();
        assert!(!resource_spans.is_empty(), "{how}");
        for rs in &resource_spans {
            assert_eq!(
                attribute(&rs.resource.as_ref().unwrap().attributes, "host.name"),
                Some(&Value::StringValue("node-7".into())),
                "{how}: the process tags are the resource"
            );
        }
        let spans: Vec<_> = resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .inspect(|ss| {
                let scope = ss.scope.as_ref().unwrap();
                assert_eq!(
                    (scope.name.as_str(), scope.version.as_str()),
                    ("legacy.lib", "3.2"),
                    "{how}"
                );
            })
            .flat_map(|ss| &ss.spans)
            .collect();
        let parent = spans.iter().find(|s| s.name == "place-order").unwrap();
        let child = spans.iter().find(|s| s.name == "charge").unwrap();
        assert_eq!(hex(&parent.trace_id), trace_id, "{how}");
        assert_eq!(child.parent_span_id, parent.span_id, "{how}");
        assert!(parent.parent_span_id.is_empty(), "{how}");
        assert_eq!(parent.kind, SpanKind::Server as i32, "{how}");
        assert_eq!(child.kind, SpanKind::Client as i32, "{how}");
        assert_eq!(
            attribute(&parent.attributes, "order.items"),
            Some(&Value::IntValue(3)),
            "{how}: typed tags stay typed"
        );
        assert_eq!(
            attribute(&child.attributes, "paid"),
            Some(&Value::BoolValue(true))
        );
        let status = child.status.as_ref().unwrap();
        assert_eq!(status.code, StatusCode::Error as i32, "{how}");
        assert_eq!(status.message, "card declined", "{how}");
        assert_eq!(child.events.len(), 1);
        assert_eq!(child.events[0].name, "retry", "{how}");
        assert_eq!(
            attribute(&child.events[0].attributes, "attempt"),
            Some(&Value::IntValue(2))
        );
        assert!(child.end_time_unix_nano > child.start_time_unix_nano);
    }
    let old = spans(&requests)
        .into_iter()
        .find(|s| s.name == "legacy-op")
        .unwrap();
    assert_eq!(hex(&old.trace_id), "11121314151617180102030405060708");
    assert_eq!(hex(&old.span_id), "2122232425262728");
    assert_eq!(old.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(old.end_time_unix_nano, 1_700_000_000_001_500_000);
    assert_eq!(old.kind, SpanKind::Consumer as i32);
    assert_eq!(old.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(
        attribute(&old.attributes, "retries"),
        Some(&Value::IntValue(4))
    );
    assert_eq!(
        attribute(&old.attributes, "ratio"),
        Some(&Value::DoubleValue(0.5))
    );
    assert_eq!(old.events[0].name, "redelivered");
    assert_eq!(old.links.len(), 1, "FOLLOWS_FROM another trace is a link");
    assert_eq!(hex(&old.links[0].span_id), "000000000000000a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_a_batch_is_answered_400_with_why() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness
        .collector
        .receiver_addr("jaeger", "thrift_http")
        .unwrap();
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("http://{addr}/api/traces"))
        .header("content-type", "application/x-thrift")
        .body(vec![
            0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff,
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let message = answer.text().await.unwrap();
    assert!(
        message.contains("body is not a Thrift binary jaeger.Batch"),
        "{message}"
    );
    let answer = client
        .post(format!("http://{addr}/api/traces"))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);
    harness.shut_down_cleanly().await;
}
