//! The `loki` receiver as Loki's clients meet it: a Loki logging handler (`python-logging-loki`, JSON pushes that
//! must be answered `204` as Loki answers them), snappy-compressed protobuf pushes as Promtail and Grafana Alloy
//! send them (encoded by Google's protobuf library from Loki's `push.proto`, compressed by `cramjam`'s snappy), the
//! same request over gRPC (`grpcio`), and a bad push answered with what is wrong. Read back from the `file`
//! exporter's OTLP/JSON.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{TestCollector, attribute, log_records, python, read_logs};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::process::Command;

const CONFIG: &str = r#"
receivers:
  loki:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
      grpc: { endpoint: "127.0.0.1:0" }
  loki/incoming:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
    use_incoming_timestamp: true
exporters:
  file: { path: "{dir}/logs.jsonl", format: json }
service:
  pipelines:
    logs: { receivers: [loki, loki/incoming], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

/// Two records through the Loki handler: each a push, which the handler checks is answered `204`.
const HANDLER: &str = r#"
import logging, sys
import logging_loki
handler = logging_loki.LokiHandler(url=sys.argv[1], tags={"application": "shop"}, version="1")
log = logging.getLogger("shop")
log.propagate = False
log.addHandler(handler)
log.setLevel(logging.INFO)
log.warning("payment slow", extra={"tags": {"service": "billing"}})
log.info("order placed")
"#;

/// Loki's `push.proto`, built with Google's protobuf library; one stream with an internal label and an entry with
/// structured metadata, pushed over HTTP (snappy) or gRPC.
const PROTOBUF: &str = r#"
import sys
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
F = descriptor_pb2.FieldDescriptorProto
fd = descriptor_pb2.FileDescriptorProto(name="loki_push.proto", package="logproto", syntax="proto3",
                                        dependency=["google/protobuf/timestamp.proto"])
def message(name, *fields):
    m = fd.message_type.add(name=name)
    for (field, number, kind, label, type_name) in fields:
        f = m.field.add(name=field, number=number, type=kind, label=label)
        if type_name:
            f.type_name = type_name
message("PushRequest", ("streams", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".logproto.StreamAdapter"))
message("PushResponse")
message("StreamAdapter", ("labels", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("entries", 2, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".logproto.EntryAdapter"),
        ("hash", 3, F.TYPE_UINT64, F.LABEL_OPTIONAL, None))
message("LabelPairAdapter", ("name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("value", 2, F.TYPE_STRING, F.LABEL_OPTIONAL, None))
message("EntryAdapter", ("timestamp", 1, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, ".google.protobuf.Timestamp"),
        ("line", 2, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("structuredMetadata", 3, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".logproto.LabelPairAdapter"))
pool = descriptor_pool.Default()
pool.Add(fd)
factory = message_factory.MessageFactory(pool)
PushRequest = factory.GetPrototype(pool.FindMessageTypeByName("logproto.PushRequest"))
PushResponse = factory.GetPrototype(pool.FindMessageTypeByName("logproto.PushResponse"))

transport, address = sys.argv[1], sys.argv[2]
request = PushRequest()
stream = request.streams.add(labels='{job="checkout", level="error", __path__="/var/log/app.log"}')
entry = stream.entries.add(line="card declined via " + transport)
entry.timestamp.seconds = 1765130000
entry.timestamp.nanos = 123456789
entry.structuredMetadata.add(name="trace_id", value="0af7651916cd43dd8448eb211c80319c")
if transport == "http":
    import cramjam, requests
    answer = requests.post(address, data=bytes(cramjam.snappy.compress_raw(request.SerializeToString())),
                           headers={"Content-Type": "application/x-protobuf"})
    print(answer.status_code, answer.text)
else:
    import grpc
    with grpc.insecure_channel(address) as channel:
        push = channel.unary_unary("/logproto.Pusher/Push", request_serializer=PushRequest.SerializeToString,
                                   response_deserializer=PushResponse.FromString)
        push(request, timeout=10)
        print("OK")
"#;

fn run_python(program: &str, args: &[&str]) -> String {
    let output = Command::new(python())
        .args(["-c", program])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("Error"),
        "{}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lokis_clients_push_over_json_protobuf_and_grpc() {
    let harness = TestCollector::start(CONFIG).await;
    let http = harness.collector.receiver_addr("loki", "http").unwrap();
    let grpc = harness.collector.receiver_addr("loki", "grpc").unwrap();
    let incoming = harness
        .collector
        .receiver_addr("loki/incoming", "http")
        .unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    tokio::task::spawn_blocking(move || {
        run_python(HANDLER, &[&format!("http://{http}/loki/api/v1/push")]);
        let answer = run_python(
            PROTOBUF,
            &["http", &format!("http://{incoming}/loki/api/v1/push")],
        );
        assert_eq!(answer, "204", "Loki's answer to a push");
        assert_eq!(run_python(PROTOBUF, &["grpc", &grpc.to_string()]), "OK");
    })
    .await
    .unwrap();
    let dir = harness.shut_down_cleanly().await;
    let requests = read_logs(&dir.path().join("logs.jsonl"), true);
    let records = log_records(&requests);
    assert_eq!(records.len(), 4);
    let by_body = |body: &str| {
        records
            .iter()
            .find(|r| text(r.body.as_ref().and_then(|b| b.value.as_ref())) == body)
            .unwrap_or_else(|| panic!("no record `{body}` in {records:?}"))
    };

    // The handler's labels: its tags, the record's own, the level and the logger.
    let slow = by_body("payment slow");
    assert_eq!(text(attribute(&slow.attributes, "application")), "shop");
    assert_eq!(text(attribute(&slow.attributes, "service")), "billing");
    assert_eq!(text(attribute(&slow.attributes, "severity")), "warning");
    assert_eq!(text(attribute(&slow.attributes, "logger")), "shop");
    // Without `use_incoming_timestamp`, the time is when the push arrived.
    assert!(slow.time_unix_nano >= before && slow.time_unix_nano == slow.observed_time_unix_nano);
    assert_eq!(
        text(attribute(&by_body("order placed").attributes, "severity")),
        "info"
    );

    for transport in ["http", "grpc"] {
        let declined = by_body(&format!("card declined via {transport}"));
        assert_eq!(text(attribute(&declined.attributes, "job")), "checkout");
        assert_eq!(text(attribute(&declined.attributes, "level")), "error");
        assert_eq!(
            text(attribute(&declined.attributes, "trace_id")),
            "0af7651916cd43dd8448eb211c80319c",
            "structured metadata"
        );
        assert!(
            attribute(&declined.attributes, "__path__").is_none(),
            "Loki's internal labels are left out"
        );
        if transport == "http" {
            assert_eq!(declined.time_unix_nano, 1_765_130_000_123_456_789);
        } else {
            assert!(declined.time_unix_nano >= before);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_push_is_answered_with_what_is_wrong_and_loses_nothing_else() {
    let harness = TestCollector::start(CONFIG).await;
    let http = harness.collector.receiver_addr("loki", "http").unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://{http}/loki/api/v1/push");
    let push = |content_type: &str, body: Vec<u8>| {
        client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let bad = r#"{"streams": [{"stream": {"job": "a"}, "values": [["1765130000000000000", "kept? no"]]},
        {"stream": {"job": "b"}, "values": [["yesterday", "x"]]}]}"#;
    let answer = push("application/json", bad.into()).await.unwrap();
    assert_eq!(answer.status(), 400);
    let message = answer.text().await.unwrap();
    assert!(
        message.contains("stream 1, entry 0: time `yesterday` is not nanoseconds since 1970"),
        "{message}"
    );
    let answer = push("application/x-protobuf", b"not snappy".to_vec())
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("not snappy-compressed")
    );
    let answer = push("text/plain", b"hello".to_vec()).await.unwrap();
    assert_eq!(answer.status(), 415);

    let good =
        r#"{"streams": [{"stream": {"job": "a"}, "values": [["1765130000000000000", "taken"]]}]}"#;
    let answer = push("application/json", good.into()).await.unwrap();
    assert_eq!(answer.status(), 204);
    let dir = harness.shut_down_cleanly().await;
    let requests = read_logs(&dir.path().join("logs.jsonl"), true);
    let bodies: Vec<_> = log_records(&requests)
        .iter()
        .map(|r| text(r.body.as_ref().and_then(|b| b.value.as_ref())))
        .collect();
    assert_eq!(bodies, ["taken"]);
}
