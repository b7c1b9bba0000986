//! The `syslog` receiver fed by util-linux's `logger` (installed by `cargo xtask setup`): RFC 5424 octet-counted
//! over TCP and plain over UDP, and RFC 3164 over TCP, each message read into the record otelcol's syslog
//! parser makes.

mod common;

use common::{TestCollector, log_records};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

fn config(protocol: &str, octet_counting: bool, udp: bool) -> String {
    let udp = if udp {
        "\n    udp: { listen_address: \"127.0.0.1:0\", add_attributes: true }"
    } else {
        ""
    };
    format!(
        r#"
receivers:
  syslog:
    protocol: {protocol}
    enable_octet_counting: {octet_counting}
    tcp: {{ listen_address: "127.0.0.1:0", add_attributes: true }}{udp}
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [syslog], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

/// Sends each of `lines` as one message with `logger` (one connection for all of them over TCP).
fn logger(addr: SocketAddr, options: &[&str], lines: &[String]) {
    let mut child = Command::new("logger")
        .args(options)
        .args(["-n", &addr.ip().to_string(), "-P", &addr.port().to_string()])
        .args(["-t", "checkout", "-p", "local0.err"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("`logger` runs (cargo xtask setup installs bsdutils)");
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

fn attribute<'r>(record: &'r LogRecord, key: &str) -> Option<&'r Value> {
    record
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv: &KeyValue| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn text<'r>(record: &'r LogRecord, key: &str) -> &'r str {
    match attribute(record, key) {
        Some(Value::StringValue(s)) => s,
        other => panic!("{key}: {other:?}"),
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc5424_over_octet_counted_tcp_and_udp() {
    let harness = TestCollector::start(&config("rfc5424", true, true)).await;
    let tcp = harness.collector.receiver_addr("syslog", "tcp").unwrap();
    let udp = harness.collector.receiver_addr("syslog", "udp").unwrap();
    let sent = now_nanos();
    let over_tcp: Vec<String> = (0..300)
        .map(|n| format!("order {n} failed: card declined"))
        .collect();
    logger(
        tcp,
        &[
            "--rfc5424",
            "--octet-count",
            "-T",
            "--sd-id",
            "order@32473",
            "--sd-param",
            r#"shop="eu-1""#,
        ],
        &over_tcp,
    );
    let over_udp: Vec<String> = (0..20).map(|n| format!("datagram {n}")).collect();
    logger(udp, &["--rfc5424", "-d"], &over_udp);
    let requests = harness.drain_log_records("logs.jsonl", 320).await;

    let records = log_records(&requests);
    assert_eq!(records.len(), 320);
    let mut tcp_messages = Vec::new();
    let mut udp_messages = Vec::new();
    for record in &records {
        // local0.err: facility 16, severity 3.
        assert_eq!(
            (record.severity_number, record.severity_text.as_str()),
            (17, "err")
        );
        assert_eq!(attribute(record, "priority"), Some(&Value::IntValue(131)));
        assert_eq!(attribute(record, "facility"), Some(&Value::IntValue(16)));
        assert_eq!(attribute(record, "version"), Some(&Value::IntValue(1)));
        assert_eq!(text(record, "appname"), "checkout");
        assert!(!text(record, "hostname").is_empty());
        // logger's time, to the microsecond.
        assert!(record.time_unix_nano + 1_000_000 >= sent && record.time_unix_nano <= now_nanos());
        let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(Value::StringValue(body)) => body,
            other => panic!("{other:?}"),
        };
        assert!(
            body.starts_with("<131>1 "),
            "the body is the message as received: {body}"
        );
        let message = text(record, "message").to_owned();
        match text(record, "net.transport") {
            "IP.TCP" => {
                let Some(Value::KvlistValue(structured)) = attribute(record, "structured_data")
                else {
                    panic!("structured data");
                };
                let order = structured
                    .values
                    .iter()
                    .find(|kv| kv.key == "order@32473")
                    .unwrap();
                assert!(format!("{order:?}").contains("eu-1"), "{order:?}");
                tcp_messages.push(message);
            }
            "IP.UDP" => udp_messages.push(message),
            other => panic!("{other}"),
        }
        assert_eq!(text(record, "net.host.ip"), "127.0.0.1");
    }
    tcp_messages.sort();
    udp_messages.sort();
    let mut expected_tcp = over_tcp.clone();
    expected_tcp.sort();
    let mut expected_udp = over_udp.clone();
    expected_udp.sort();
    assert_eq!(tcp_messages, expected_tcp);
    assert_eq!(udp_messages, expected_udp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3164_over_newline_framed_tcp() {
    let harness = TestCollector::start(&config("rfc3164", false, false)).await;
    let tcp = harness.collector.receiver_addr("syslog", "tcp").unwrap();
    let lines: Vec<String> = (0..100).map(|n| format!("job {n} done")).collect();
    logger(tcp, &["--rfc3164", "-T"], &lines);
    let requests = harness.drain_log_records("logs.jsonl", 100).await;
    let records = log_records(&requests);
    let mut messages: Vec<&str> = records.iter().map(|r| text(r, "message")).collect();
    messages.sort();
    let mut expected: Vec<&str> = lines.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(messages, expected);
    for record in &records {
        assert_eq!(text(record, "appname"), "checkout");
        assert_eq!(
            (record.severity_number, record.severity_text.as_str()),
            (17, "err")
        );
        // A BSD time has whole seconds and no year: read in UTC, this year, within a minute of now.
        let now = now_nanos();
        assert!(
            record.time_unix_nano.abs_diff(now) < 60_000_000_000,
            "{}",
            record.time_unix_nano
        );
        assert!(attribute(record, "version").is_none());
    }
}

/// RFC 5425's syslog over TLS, as rsyslog's `gtls` driver sends it: octet-counted frames in a TLS stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc5424_over_tls() {
    use tokio::io::AsyncWriteExt;
    let pki = tempfile::tempdir().unwrap();
    common::pki::write_pki(pki.path());
    let yaml = config("rfc5424", true, false).replace(
        "add_attributes: true }",
        &format!(
            "add_attributes: true, tls: {{ cert_file: {0}/server.pem, key_file: {0}/server-key.pem }} }}",
            pki.path().display()
        ),
    );
    let harness = TestCollector::start(&yaml).await;
    let addr = harness.collector.receiver_addr("syslog", "tcp").unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(common::pki::client_tls(
        pki.path(),
        None,
    )));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    for n in 0..5 {
        let message = format!("<165>1 2026-12-06T10:00:00Z host app - - - secret {n}");
        tls.write_all(format!("{} {message}", message.len()).as_bytes())
            .await
            .unwrap();
    }
    tls.shutdown().await.unwrap();
    let requests = harness.drain_log_records("logs.jsonl", 5).await;
    let mut messages: Vec<&str> = log_records(&requests)
        .iter()
        .map(|r| text(r, "message"))
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        ["secret 0", "secret 1", "secret 2", "secret 3", "secret 4"]
    );
}

#[test]
fn octet_counting_needs_rfc5424_and_a_listener() {
    let error = otlp_collector::Config::from_yaml(
        "receivers: { syslog: { protocol: rfc3164, enable_octet_counting: true } }\n\
         exporters: { debug: }\n\
         service: { pipelines: { logs: { receivers: [syslog], exporters: [debug] } } }",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("octet counting frames RFC 5424 messages only"),
        "{error}"
    );
    assert!(
        error.contains("give `tcp: { listen_address: ... }`"),
        "{error}"
    );
}
