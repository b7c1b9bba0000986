//! The `syslog` exporter relaying to a real syslog server: util-linux's `logger` sends RFC 5424 to the `syslog`
//! receiver, the exporter writes each record on to Debian's rsyslog (started by the test on free loopback ports),
//! as RFC 5424 over TCP, octet-counted over TCP and RFC 3164 over UDP, and rsyslog's own parse of what arrived is
//! compared with what `logger` sent. A TLS exporter writes to a rustls listener of the test's.
//!
//! `rsyslogd` and `logger` come from Debian's `rsyslog` and `bsdutils` (`cargo xtask setup` installs them).

mod common;

use common::{TestCollector, free_port};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_collector::Batch;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// An rsyslogd of its own, taking syslog over TCP and UDP at `port` and writing each message's fields, as it
/// parsed them, as a line of `out`; stopped when dropped.
struct Rsyslog {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Rsyslog {
    fn start(dir: &Path) -> Rsyslog {
        let port = free_port();
        let out = dir.join("received.log");
        let config = dir.join("rsyslog.conf");
        std::fs::write(
            &config,
            format!(
                r#"global(workDirectory="{dir}")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" port="{port}" address="127.0.0.1")
input(type="imudp" port="{port}" address="127.0.0.1")
template(name="fields" type="string"
  string="pri=%pri%|host=%hostname%|app=%app-name%|procid=%procid%|msgid=%msgid%|sd=%structured-data%|msg=%msg%\n")
*.* action(type="omfile" file="{out}" template="fields")
"#,
                dir = dir.display(),
                out = out.display()
            ),
        )
        .unwrap();
        let child = Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(&config)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run rsyslogd: {e}; run `cargo xtask setup`"));
        let mut server = Rsyslog { child, port, out };
        for _ in 0..100 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("rsyslogd exited before it was ready: {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && udp_bound(port) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("rsyslogd does not listen on TCP and UDP after 10 s");
    }

    /// The lines rsyslog wrote, once there are `count` (at most 30 s).
    async fn received(&self, count: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let lines: Vec<String> = std::fs::read_to_string(&self.out)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            if lines.len() >= count || tokio::time::Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Whether a UDP socket is bound to 127.0.0.1:`port` (a datagram sent before would be lost unheard).
fn udp_bound(port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/udp").is_ok_and(|table| {
        table
            .lines()
            .any(|line| line.split_whitespace().nth(1) == Some(local.as_str()))
    })
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS listener with the test PKI's server certificate; the lines it receives arrive on the channel.
async fn tls_listener(pki: &Path) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let chain = vec![CertificateDer::from_pem_file(pki.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(pki.join("server-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (lines, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, lines) = (acceptor.clone(), lines.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut reader = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    let _ = lines.send(line);
                }
            });
        }
    });
    (port, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_writes_logger_s_messages_on_to_rsyslog_as_they_came() {
    let dir = tempfile::tempdir().unwrap();
    common::pki::write_pki(dir.path());
    let rsyslog = Rsyslog::start(dir.path());
    let (tls_port, mut tls_lines) = tls_listener(dir.path()).await;
    let port = rsyslog.port;
    let ca = dir.path().join("ca.pem");
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  syslog:
    protocol: rfc5424
    enable_octet_counting: true
    tcp: {{ listen_address: "127.0.0.1:0" }}
exporters:
  syslog/tcp: {{ endpoint: 127.0.0.1, port: {port}, tls: {{ insecure: true }} }}
  syslog/counted: {{ endpoint: 127.0.0.1, port: {port}, enable_octet_counting: true, tls: {{ insecure: true }} }}
  syslog/udp: {{ endpoint: 127.0.0.1, port: {port}, network: udp, protocol: rfc3164, tls: {{ insecure: true }} }}
  syslog/tls: {{ endpoint: localhost, port: {tls_port}, tls: {{ ca_file: "{ca}" }} }}
service:
  pipelines:
    logs: {{ receivers: [syslog], exporters: [syslog/tcp, syslog/counted, syslog/udp, syslog/tls] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        ca = ca.display()
    ))
    .await;
    let receiver = collector.collector.receiver_addr("syslog", "tcp").unwrap();
    let mut logger = Command::new("logger")
        .args(["--rfc5424", "--octet-count", "-T"])
        .args(["-n", "127.0.0.1", "-P", &receiver.port().to_string()])
        .args(["-t", "checkout", "-p", "local0.err", "--msgid", "PAY"])
        .args(["--sd-id", "order@32473", "--sd-param", r#"shop="eu-1""#])
        .stdin(Stdio::piped())
        .spawn()
        .expect("`logger` runs (cargo xtask setup installs bsdutils)");
    let mut stdin = logger.stdin.take().unwrap();
    for n in 0..3 {
        writeln!(stdin, "order {n} failed: card declined").unwrap();
    }
    drop(stdin);
    assert!(logger.wait().unwrap().success());
    // A record no syslog parser made (handed in as an embedding program would): its body is the message.
    collector
        .submit_retrying(Batch::new(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        time_unix_nano: 1_704_164_645_000_000_000,
                        body: Some(otlp_ottl::string_value("a record of no parser's")),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }))
        .await;

    // Four records, each sent by three exporters.
    let received = rsyslog.received(12).await;
    assert_eq!(received.len(), 12, "{received:#?}");
    let relayed: Vec<&String> = received
        .iter()
        .filter(|l| l.contains("app=checkout"))
        .collect();
    assert_eq!(relayed.len(), 9, "{received:#?}");
    for n in 0..3 {
        // logger adds its own `timeQuality` element; the receiver keeps the elements as a map, in key order.
        let message = format!("|msg=order {n} failed: card declined");
        assert_eq!(
            relayed
                .iter()
                .filter(|l| l.starts_with("pri=131|host=")
                    && l.contains(r#"|app=checkout|procid=-|msgid=PAY|sd=[order@32473 shop="eu-1"][timeQuality "#)
                    && l.ends_with(&message))
                .count(),
            2,
            "RFC 5424 over TCP, newline-framed and octet-counted, every field as logger sent it: {relayed:#?}"
        );
        // RFC 3164 has no message id or structured data.
        let rfc3164 =
            format!("|app=checkout|procid=-|msgid=-|sd=-|msg= order {n} failed: card declined");
        assert!(
            relayed
                .iter()
                .any(|l| l.starts_with("pri=131|host=") && l.ends_with(&rfc3164)),
            "RFC 3164 over UDP: {rfc3164} in {relayed:#?}"
        );
    }
    assert_eq!(
        received
            .iter()
            .filter(
                |l| *l == "pri=165|host=-|app=-|procid=-|msgid=-|sd=-|msg=a record of no parser's"
            )
            .count(),
        2,
        "otelcol's defaults, and the body as the message: {received:#?}"
    );
    assert_eq!(
        received
            .iter()
            .filter(|l| l.contains("a record of no parser's"))
            .count(),
        3
    );

    let mut over_tls = Vec::new();
    while over_tls.len() < 4 {
        let line = tokio::time::timeout(Duration::from_secs(30), tls_lines.recv())
            .await
            .expect("the TLS listener hears the relay")
            .unwrap();
        over_tls.push(line);
    }
    let relayed_over_tls = over_tls
        .iter()
        .filter(|l| {
            l.starts_with("<131>1 ")
                && l.contains(" checkout - PAY [order@32473 shop=\"eu-1\"][timeQuality ")
        })
        .count();
    assert_eq!(relayed_over_tls, 3, "{over_tls:#?}");
    collector.shut_down_cleanly().await;
}
