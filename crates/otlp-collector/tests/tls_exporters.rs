//! Exporters over TLS. The `otlp` (gRPC) exporter over mutual TLS: against a tonic server that demands a client
//! certificate from the test CA, everything arrives. The `otlphttp` exporter against a backend whose CA it does not
//! know: refused, unless `tls.insecure_skip_verify` says to take the certificate unverified.

mod common;

use common::pki::write_pki;
use common::{TestCollector, forwarder_config, otlp_to_jsonl};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_testkit::{Generator, span_count};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// An OTLP/gRPC trace backend that counts spans.
struct CountingTraces(Arc<AtomicUsize>);

#[tonic::async_trait]
impl TraceService for CountingTraces {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0
            .fetch_add(span_count(request.get_ref()), Ordering::SeqCst);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The backend behind tonic's TLS: the server certificate, and a client certificate from the CA required.
async fn grpcs_backend(dir: &Path, received: Arc<AtomicUsize>) -> u16 {
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(
            read("server.pem"),
            read("server-key.pem"),
        ))
        .client_ca_root(Certificate::from_pem(read("ca.pem")));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tonic::transport::Server::builder()
        .tls_config(tls)
        .unwrap()
        // The exporter sends gzip by default, as real OTLP backends expect.
        .add_service(
            TraceServiceServer::new(CountingTraces(received))
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        );
    tokio::spawn(server.serve_with_incoming(TcpIncoming::from(listener)));
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_exports_over_mutual_tls() {
    let pki_dir = tempfile::tempdir().unwrap();
    write_pki(pki_dir.path());
    let received = Arc::new(AtomicUsize::new(0));
    let port = grpcs_backend(pki_dir.path(), received.clone()).await;
    let dir = pki_dir.path().display();
    let forwarder = TestCollector::start(&forwarder_config(
        "otlp",
        &format!(
            "{{ endpoint: \"localhost:{port}\", tls: {{ ca_file: \"{dir}/ca.pem\", \
             cert_file: \"{dir}/client.pem\", key_file: \"{dir}/client-key.pem\" }} }}"
        ),
    ))
    .await;
    let mut client = TraceServiceClient::connect(forwarder.grpc_endpoint())
        .await
        .unwrap();
    let mut generator = Generator::new(21);
    let mut sent = 0;
    for _ in 0..5 {
        let request = generator.traces(60);
        sent += span_count(&request);
        client.export(request).await.unwrap();
    }
    let TestCollector { collector, .. } = forwarder;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(received.load(Ordering::SeqCst), sent);
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), sent as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlphttp_takes_an_unknown_certificate_only_with_insecure_skip_verify() {
    let pki = tempfile::tempdir().unwrap();
    write_pki(pki.path());
    let dir = pki.path().display();
    let backend = TestCollector::start(&otlp_to_jsonl(&format!(
        "      http: {{ endpoint: \"127.0.0.1:0\", tls: {{ cert_file: \"{dir}/server.pem\", key_file: \"{dir}/server-key.pem\" }} }}"
    )))
    .await;
    let port = backend.collector.http_addr("otlp").unwrap().port();
    for skip in [false, true] {
        let forwarder = TestCollector::start(&forwarder_config(
            "otlphttp",
            &format!(
                "{{ endpoint: \"https://localhost:{port}\", tls: {{ insecure_skip_verify: {skip} }}, \
                 retry_on_failure: {{ initial_interval: 50ms, max_elapsed_time: 1s }} }}"
            ),
        ))
        .await;
        let mut client = TraceServiceClient::connect(forwarder.grpc_endpoint())
            .await
            .unwrap();
        client.export(Generator::new(3).traces(5)).await.unwrap();
        let TestCollector { collector, .. } = forwarder;
        let telemetry = collector.telemetry().clone();
        // Without the option every handshake fails on the unknown issuer, until the retries give the spans up.
        collector.shutdown(Duration::from_secs(10)).await;
        let (sent, failed) = if skip { (5, 0) } else { (0, 5) };
        assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), sent);
        assert_eq!(
            telemetry.total("otelcol_exporter_send_failed_spans"),
            failed
        );
    }
    assert_eq!(backend.drain_and_count_spans("out.jsonl").await, 5);
}
