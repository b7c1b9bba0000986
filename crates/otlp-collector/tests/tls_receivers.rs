//! The `otlp` receiver over TLS and mutual TLS, on gRPC and HTTP, with real clients: tonic's TLS channel, a raw
//! HTTP/1.1 request over rustls, and another collector's `otlp` and `otlphttp` exporters presenting a client
//! certificate.
//! Plaintext clients, clients without a certificate and clients with one from another CA are refused; the
//! right ones are answered and their spans written.

mod common;

use common::pki::write_pki;
use common::{TestCollector, forwarder_config, otlp_to_jsonl, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_testkit::{Generator, span_count};
use prost::Message;
use rustls::pki_types::ServerName;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A collector whose `otlp` receiver serves both transports over TLS with the test PKI in `pki`, requiring client
/// certificates when `mutual`, and writes traces to `{dir}/out.jsonl`.
fn receiver_config(pki: &Path, mutual: bool) -> String {
    let pki = pki.display();
    let client_ca = if mutual {
        format!(", client_ca_file: \"{pki}/ca.pem\"")
    } else {
        String::new()
    };
    let tls = format!(
        "tls: {{ cert_file: \"{pki}/server.pem\", key_file: \"{pki}/server-key.pem\"{client_ca} }}"
    );
    otlp_to_jsonl(&format!(
        "      grpc: {{ endpoint: \"127.0.0.1:0\", {tls} }}\n      http: {{ endpoint: \"127.0.0.1:0\", {tls} }}"
    ))
}

/// Exports one request of `spans` spans over gRPC with TLS, presenting the client certificate `identity`
/// (`client`, `stranger`) if given.
async fn grpc_export(
    port: u16,
    pki: &Path,
    identity: Option<&str>,
    spans: usize,
) -> Result<(), String> {
    let read = |name: &str| std::fs::read(pki.join(name)).unwrap();
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("ca.pem")))
        .domain_name("localhost");
    if let Some(name) = identity {
        tls = tls.identity(Identity::from_pem(
            read(&format!("{name}.pem")),
            read(&format!("{name}-key.pem")),
        ));
    }
    let channel = Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    TraceServiceClient::new(channel)
        .export(Generator::new(spans as u64).traces(spans))
        .await
        .map(|_| ())
        .map_err(|status| format!("export: {status:?}"))
}

/// POSTs `request` to `/v1/traces` over TLS (with the client certificate `identity` if given) and returns the
/// response's status line.
async fn https_post(
    port: u16,
    pki: &Path,
    identity: Option<&str>,
    request: &ExportTraceServiceRequest,
) -> Result<String, String> {
    let config = common::pki::client_tls(pki, identity);
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let body = request.encode_to_vec();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let written = async {
        tls.write_all(head.as_bytes()).await?;
        tls.write_all(&body).await?;
        tls.flush().await
    };
    written.await.map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    let mut chunk = [0_u8; 1024];
    while !response.windows(2).any(|w| w == b"\r\n") {
        match tls.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&response);
    text.lines()
        .next()
        .filter(|line| line.starts_with("HTTP/"))
        .map(str::to_owned)
        .ok_or_else(|| format!("no HTTP response: {text:?}"))
}

/// Sends plain HTTP/1.1 to a TLS port; returns what came back (a TLS server answers with a TLS alert or closes).
async fn plaintext_post(port: u16) -> Vec<u8> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = tcp
        .write_all(b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_only_receivers_refuse_plaintext_and_take_tls_clients() {
    let pki = tempfile::tempdir().unwrap();
    write_pki(pki.path());
    let collector = TestCollector::start(&receiver_config(pki.path(), false)).await;
    let grpc = collector.collector.grpc_addr("otlp").unwrap().port();
    let http = collector.collector.http_addr("otlp").unwrap().port();

    // Plaintext is refused on both transports.
    let mut plain = TraceServiceClient::connect(format!("http://127.0.0.1:{grpc}"))
        .await
        .unwrap();
    assert!(plain.export(Generator::new(1).traces(5)).await.is_err());
    assert!(!plaintext_post(http).await.starts_with(b"HTTP/"));

    // TLS clients are answered, with or without a certificate (none is asked for).
    grpc_export(grpc, pki.path(), None, 7).await.unwrap();
    let request = Generator::new(2).traces(11);
    let status = https_post(http, pki.path(), None, &request).await.unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    assert_eq!(collector.drain_and_count_spans("out.jsonl").await, 7 + 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_receivers_take_only_certificates_from_their_ca() {
    let pki = tempfile::tempdir().unwrap();
    write_pki(pki.path());
    let collector = TestCollector::start(&receiver_config(pki.path(), true)).await;
    let grpc = collector.collector.grpc_addr("otlp").unwrap().port();
    let http = collector.collector.http_addr("otlp").unwrap().port();

    for identity in [None, Some("stranger")] {
        let refused = grpc_export(grpc, pki.path(), identity, 3).await;
        assert!(refused.is_err(), "gRPC with {identity:?} was accepted");
        let refused = https_post(http, pki.path(), identity, &Generator::new(3).traces(3)).await;
        assert!(refused.is_err(), "HTTP with {identity:?} got {refused:?}");
    }
    grpc_export(grpc, pki.path(), Some("client"), 13)
        .await
        .unwrap();
    let status = https_post(
        http,
        pki.path(),
        Some("client"),
        &Generator::new(4).traces(17),
    )
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    // Another collector's `otlp` and `otlphttp` exporters, presenting the client certificate, deliver everything.
    let dir = pki.path().display();
    let tls = format!(
        "tls: {{ ca_file: \"{dir}/ca.pem\", cert_file: \"{dir}/client.pem\", key_file: \"{dir}/client-key.pem\" }}"
    );
    let mut forwarded = 0;
    for (exporter, endpoint) in [
        ("otlp", format!("localhost:{grpc}")),
        ("otlphttp", format!("https://localhost:{http}")),
    ] {
        let forwarder = TestCollector::start(&forwarder_config(
            exporter,
            &format!("{{ endpoint: \"{endpoint}\", {tls} }}"),
        ))
        .await;
        let mut client = TraceServiceClient::connect(forwarder.grpc_endpoint())
            .await
            .unwrap();
        let mut generator = Generator::new(5);
        for _ in 0..4 {
            let request = generator.traces(25);
            forwarded += span_count(&request);
            client.export(request).await.unwrap();
        }
        let telemetry = forwarder.collector.telemetry().clone();
        assert!(
            forwarder
                .collector
                .shutdown(Duration::from_secs(10))
                .await
                .is_clean()
        );
        assert_eq!(
            telemetry.total("otelcol_exporter_send_failed_spans"),
            0,
            "{exporter}"
        );
    }

    let TestCollector { collector, dir } = collector;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(
        spans(&read_traces(&dir.path().join("out.jsonl"), true)).len(),
        13 + 17 + forwarded
    );
}

#[test]
fn tls_settings_are_checked_when_the_config_is_read() {
    for (tls, expected) in [
        ("{ cert_file: a.pem }", "grpc.tls.cert_file"),
        (
            "{ cert_file: a.pem, key_file: b.pem, min_version: \"1.3\", max_version: \"1.2\" }",
            "min_version",
        ),
        (
            "{ cert_file: a.pem, key_file: b.pem, min_version: \"1.1\", max_version: \"1.1\" }",
            "1.2 or 1.3",
        ),
        (
            "{ cert_file: a.pem, key_file: b.pem, ca_file: c.pem }",
            "ca_file",
        ),
    ] {
        let yaml = format!(
            "receivers:\n  otlp: {{ protocols: {{ grpc: {{ endpoint: '127.0.0.1:0', tls: {tls} }} }} }}\n\
             exporters:\n  debug:\nservice:\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [debug] }}\n"
        );
        let error = otlp_collector::Config::from_yaml(&yaml)
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{tls}: {error}");
    }
}

#[tokio::test]
async fn a_certificate_that_cannot_be_read_fails_the_start() {
    let pki = tempfile::tempdir().unwrap();
    write_pki(pki.path());
    let yaml = receiver_config(pki.path(), false)
        .replace("server-key.pem", "client-key.pem")
        .replace("{dir}", &pki.path().display().to_string());
    let config = otlp_collector::Config::from_yaml(&yaml).unwrap();
    let error = otlp_collector::Collector::new(config)
        .start()
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("does not match"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_after_the_reload_interval() {
    let pki = tempfile::tempdir().unwrap();
    write_pki(pki.path());
    let yaml = receiver_config(pki.path(), false)
        .replace("key_file: ", "reload_interval: 100ms, key_file: ");
    let collector = TestCollector::start(&yaml).await;
    let grpc = collector.collector.grpc_addr("otlp").unwrap().port();
    grpc_export(grpc, pki.path(), None, 2).await.unwrap();

    // A new CA and server certificate replace the files: once the interval has passed, clients that trust only
    // the new CA are answered, which they could not be with the old certificate.
    let renewed = tempfile::tempdir().unwrap();
    write_pki(renewed.path());
    assert!(grpc_export(grpc, renewed.path(), None, 2).await.is_err());
    for name in ["server.pem", "server-key.pem"] {
        std::fs::copy(renewed.path().join(name), pki.path().join(name)).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    grpc_export(grpc, renewed.path(), None, 3).await.unwrap();
    assert!(grpc_export(grpc, pki.path(), None, 2).await.is_err());
    assert!(
        collector
            .collector
            .shutdown(Duration::from_secs(10))
            .await
            .is_clean()
    );
}
