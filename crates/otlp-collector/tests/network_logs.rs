//! The `tcplog` and `udplog` receivers fed by a Python program writing JSON lines to a socket, as applications
//! with a TCP or UDP log appender do.

mod common;

use common::{TestCollector, log_records, python};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::net::SocketAddr;

/// Sends JSON lines `{"level": ..., "n": ...}` to the address given: over one TCP connection, or as datagrams of
/// two lines each.
const SENDER: &str = r#"
import json, socket, sys
transport, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = [json.dumps({"level": "warn" if n % 10 == 0 else "info", "n": n}) + "\n" for n in range(count)]
if transport == "tcp":
    with socket.create_connection((host, port)) as s:
        s.sendall("".join(lines).encode())
else:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(0, count, 2):
            s.sendto("".join(lines[i:i + 2]).encode(), (host, port))
"#;

fn send(transport: &str, addr: SocketAddr, count: usize) {
    let status = std::process::Command::new(python())
        .args([
            "-c",
            SENDER,
            transport,
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ])
        .arg(count.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn config(receiver: &str) -> String {
    format!(
        r#"
receivers:
  {receiver}:
    listen_address: "127.0.0.1:0"
    add_attributes: true
    resource: {{ service.name: shop }}
    operators:
      - {{ type: json_parser, parse_ints: true }}
      - {{ type: severity_parser, parse_from: attributes.level }}
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [{receiver}], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

fn attribute<'r>(record: &'r LogRecord, key: &str) -> Option<&'r Value> {
    record
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

/// Each record parsed, numbered 0..count once, with its severity and the network attributes.
fn check(records: &[&LogRecord], count: usize, transport: &str) {
    let mut numbers: Vec<i64> = records
        .iter()
        .map(|record| match attribute(record, "n") {
            Some(Value::IntValue(n)) => *n,
            other => panic!("n: {other:?}"),
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..count as i64).collect::<Vec<_>>());
    for record in records {
        let n = match attribute(record, "n") {
            Some(Value::IntValue(n)) => *n,
            _ => unreachable!("checked above"),
        };
        let expected = if n % 10 == 0 {
            (13, "warn")
        } else {
            (9, "info")
        };
        assert_eq!(
            (record.severity_number, record.severity_text.as_str()),
            expected
        );
        assert_eq!(
            attribute(record, "net.transport"),
            Some(&Value::StringValue(transport.into()))
        );
        assert_eq!(
            attribute(record, "net.peer.ip"),
            Some(&Value::StringValue("127.0.0.1".into()))
        );
        match record.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(Value::StringValue(body)) => assert!(body.starts_with("{\"level\""), "{body}"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_over_tcp() {
    let harness = TestCollector::start(&config("tcplog")).await;
    let addr = harness.collector.receiver_addr("tcplog", "tcp").unwrap();
    send("tcp", addr, 2000);
    let requests = harness.drain_log_records("logs.jsonl", 2000).await;
    check(&log_records(&requests), 2000, "IP.TCP");
    let resource = requests[0].resource_logs[0].resource.as_ref().unwrap();
    assert_eq!(resource.attributes[0].key, "service.name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_in_datagrams() {
    let harness = TestCollector::start(&config("udplog")).await;
    let addr = harness.collector.receiver_addr("udplog", "udp").unwrap();
    send("udp", addr, 100);
    let requests = harness.drain_log_records("logs.jsonl", 100).await;
    check(&log_records(&requests), 100, "IP.UDP");
}
