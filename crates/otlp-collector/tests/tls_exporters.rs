//! The `otlphttp` and `otlp` (gRPC) exporters over TLS: against real servers that demand a client certificate,
//! everything arrives; without the CA that signed the server, nothing does and every item is counted as failed.

mod common;

use bytes::Bytes;
use common::{TestCollector, forwarder_config};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_testkit::{Generator, data_point_count, log_record_count, span_count};
use prost::Message;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// A CA, a server certificate for `localhost` and a client certificate, as PEM files in `dir`; returns the server's
/// rustls configuration, which requires a client certificate from that CA.
fn pki(dir: &Path) -> Arc<ServerConfig> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server_params.signed_by(&server_key, &ca).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca).unwrap();

    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server-key.pem"), server_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
    std::fs::write(dir.join("client-key.pem"), client_key.serialize_pem()).unwrap();

    let crypto = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&crypto))
            .build()
            .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    Arc::new(
        ServerConfig::builder_with_provider(crypto)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server.der().clone()], key)
            .unwrap(),
    )
}

/// What the HTTPS backend decoded.
#[derive(Default)]
struct Received {
    spans: AtomicUsize,
    points: AtomicUsize,
    records: AtomicUsize,
    handshakes_refused: AtomicUsize,
}

/// An OTLP/HTTP (protobuf) backend behind rustls on a loopback port; returns its port.
async fn https_backend(config: Arc<ServerConfig>, received: Arc<Received>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, received) = (acceptor.clone(), received.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    received.handshakes_refused.fetch_add(1, Ordering::SeqCst);
                    return;
                };
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let received = received.clone();
                    async move {
                        let path = request.uri().path().to_owned();
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let answer = match path.as_str() {
                            "/v1/traces" => {
                                let r = ExportTraceServiceRequest::decode(body).unwrap();
                                received.spans.fetch_add(span_count(&r), Ordering::SeqCst);
                                ExportTraceServiceResponse::default().encode_to_vec()
                            }
                            "/v1/metrics" => {
                                let r = ExportMetricsServiceRequest::decode(body).unwrap();
                                received
                                    .points
                                    .fetch_add(data_point_count(&r), Ordering::SeqCst);
                                ExportMetricsServiceResponse::default().encode_to_vec()
                            }
                            "/v1/logs" => {
                                let r = ExportLogsServiceRequest::decode(body).unwrap();
                                received
                                    .records
                                    .fetch_add(log_record_count(&r), Ordering::SeqCst);
                                ExportLogsServiceResponse::default().encode_to_vec()
                            }
                            other => panic!("unexpected path {other}"),
                        };
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "application/x-protobuf")
                                .body(Full::new(Bytes::from(answer)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

fn forwarder(port: u16, tls: &str) -> String {
    forwarder_config(
        "otlphttp",
        &format!(
            "{{ endpoint: \"https://localhost:{port}\", compression: none, tls: {tls}, \
             retry_on_failure: {{ enabled: false }} }}"
        ),
    )
}

async fn send_traces(collector: &TestCollector) -> usize {
    let mut client = TraceServiceClient::connect(collector.grpc_endpoint())
        .await
        .unwrap();
    let mut generator = Generator::new(21);
    let mut sent = 0;
    for _ in 0..5 {
        let request = generator.traces(60);
        sent += span_count(&request);
        client.export(request).await.unwrap();
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlphttp_exports_over_mutual_tls() {
    let pki_dir = tempfile::tempdir().unwrap();
    let received = Arc::new(Received::default());
    let port = https_backend(pki(pki_dir.path()), received.clone()).await;
    let dir = pki_dir.path().display();
    let tls = format!(
        "{{ ca_file: \"{dir}/ca.pem\", cert_file: \"{dir}/client.pem\", key_file: \"{dir}/client-key.pem\" }}"
    );
    let forwarder = TestCollector::start(&forwarder(port, &tls)).await;
    let sent = send_traces(&forwarder).await;
    let TestCollector { collector, .. } = forwarder;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(received.spans.load(Ordering::SeqCst), sent);
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), sent as u64);
    assert_eq!(telemetry.total("otelcol_exporter_send_failed_spans"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlphttp_refuses_a_server_it_cannot_verify_and_counts_the_loss() {
    let pki_dir = tempfile::tempdir().unwrap();
    let received = Arc::new(Received::default());
    let port = https_backend(pki(pki_dir.path()), received.clone()).await;
    // The system roots do not know the test CA: the handshake must fail, and nothing may arrive.
    let forwarder = TestCollector::start(&forwarder(port, "{}")).await;
    let sent = send_traces(&forwarder).await;
    let TestCollector { collector, .. } = forwarder;
    let telemetry = collector.telemetry().clone();
    collector.shutdown(Duration::from_secs(10)).await;
    assert_eq!(received.spans.load(Ordering::SeqCst), 0);
    assert!(received.handshakes_refused.load(Ordering::SeqCst) > 0);
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 0);
    assert_eq!(
        telemetry.total("otelcol_exporter_send_failed_spans"),
        sent as u64
    );
}

/// An OTLP/gRPC trace backend that counts spans.
struct CountingTraces(Arc<Received>);

#[tonic::async_trait]
impl TraceService for CountingTraces {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0
            .spans
            .fetch_add(span_count(request.get_ref()), Ordering::SeqCst);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The same backend over gRPC with tonic's own TLS (server certificate, client certificate required).
async fn grpcs_backend(dir: &Path, received: Arc<Received>) -> u16 {
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
    pki(pki_dir.path());
    let received = Arc::new(Received::default());
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
    let sent = send_traces(&forwarder).await;
    let TestCollector { collector, .. } = forwarder;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(received.spans.load(Ordering::SeqCst), sent);
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), sent as u64);
}
