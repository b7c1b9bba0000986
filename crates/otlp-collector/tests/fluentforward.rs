//! The `fluentforward` receiver taking what Fluentd's Python client (`fluent-logger`) sends, Message mode with
//! EventTime, and a gzip'd PackedForward event asking for an acknowledgement as Fluent Bit's `forward` output
//! sends it (written with the `msgpack` library); then bytes that are not the protocol, on a connection of their
//! own.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes).

mod common;

use common::{TestCollector, attribute, python};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::process::Command;
use std::time::Duration;

const CONFIG: &str = r#"
receivers:
  fluentforward:
    endpoint: "127.0.0.1:0"
exporters:
  file: { path: "{dir}/logs.jsonl", format: json }
service:
  pipelines:
    logs: { receivers: [fluentforward], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

const SEND: &str = r#"
import gzip, socket, sys, time
import msgpack
from fluent import sender

port = int(sys.argv[1])
logger = sender.FluentSender("app", host="127.0.0.1", port=port, nanosecond_precision=True)
assert logger.emit("web", {"log": "GET /cart 200", "status": 200, "latency": 0.25, "user": {"id": 7}}), logger.last_error
assert logger.emit_with_time("web", 1700000000, {"message": "older"}), logger.last_error
logger.close()

entries = b"".join(msgpack.packb([int(time.time()), {"log": "line %d" % i, "stream": "stdout"}]) for i in range(100))
event = ["kube.var.log", gzip.compress(entries), {"size": 100, "chunk": "Y2h1bmsxMjM=", "compressed": "gzip"}]
conn = socket.create_connection(("127.0.0.1", port))
conn.sendall(msgpack.packb(event, use_bin_type=True))
unpacker = msgpack.Unpacker(raw=False)
conn.settimeout(30)
while True:
    unpacker.feed(conn.recv(1024))
    answers = list(unpacker)
    if answers:
        print(answers[0]["ack"])
        break
conn.close()

bad = socket.create_connection(("127.0.0.1", port))
bad.sendall(b"\xc1 this is not MessagePack")
bad.settimeout(30)
print("closed" if bad.recv(1) == b"" else "open")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fluentd_and_fluent_bit_events_arrive_as_logs_and_are_acknowledged() {
    let harness = TestCollector::start(CONFIG).await;
    let port = harness
        .collector
        .receiver_addr("fluentforward", "tcp")
        .unwrap()
        .port();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(["-c", SEND, &port.to_string()])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        answers,
        ["Y2h1bmsxMjM=", "closed"],
        "the chunk acknowledged; the nonsense connection closed"
    );
    let logs = harness.drain_log_records("logs.jsonl", 102).await;
    let records: Vec<_> = common::log_records(&logs);
    assert_eq!(records.len(), 102);

    let body = |r: &&opentelemetry_proto::tonic::logs::v1::LogRecord| match r
        .body
        .as_ref()
        .and_then(|b| b.value.as_ref())
    {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    };
    let web = records
        .iter()
        .find(|r| body(r) == "GET /cart 200")
        .expect("the first message");
    assert_eq!(
        attribute(&web.attributes, "fluent.tag"),
        Some(&Value::StringValue("app.web".into()))
    );
    assert_eq!(
        attribute(&web.attributes, "status"),
        Some(&Value::IntValue(200))
    );
    assert_eq!(
        attribute(&web.attributes, "latency"),
        Some(&Value::DoubleValue(0.25))
    );
    assert!(matches!(
        attribute(&web.attributes, "user"),
        Some(Value::KvlistValue(_))
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    // Its EventTime: now, to the nanosecond (the unit tests check the encoding).
    assert!(now.abs_diff(web.time_unix_nano) < Duration::from_secs(600).as_nanos() as u64);
    let older = records
        .iter()
        .find(|r| body(r) == "older")
        .expect("the message with its own time");
    assert_eq!(older.time_unix_nano, 1_700_000_000_000_000_000);
    let tailed: Vec<_> = records
        .iter()
        .filter(|r| {
            attribute(&r.attributes, "fluent.tag")
                == Some(&Value::StringValue("kube.var.log".into()))
        })
        .collect();
    assert_eq!(tailed.len(), 100);
    assert_eq!(body(tailed[99]), "line 99");
    assert_eq!(
        attribute(&tailed[0].attributes, "stream"),
        Some(&Value::StringValue("stdout".into()))
    );
}
