//! End to end through the tower layer over real mTLS: rcgen issues a CA, a server certificate and a
//! client certificate with the SPIFFE URI SAN `spiffe://cluster.local/ns/shop/sa/cart`; a rustls
//! (ring) server runs `MeshTraceLayer::server`, a rustls client runs `MeshTraceLayer::client`, and the
//! spans land in the SDK's `InMemorySpanExporter`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use opentelemetry::trace::{SpanKind, TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use otlp_mesh::{MeshPropagator, MeshTraceLayer, PeerIdentity};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tower::{Layer, ServiceBuilder, ServiceExt, service_fn};

const SPIFFE_ID: &str = "spiffe://cluster.local/ns/shop/sa/cart";

struct Pki {
    ca: rustls::pki_types::CertificateDer<'static>,
    server: (
        rustls::pki_types::CertificateDer<'static>,
        PrivateKeyDer<'static>,
    ),
    client: (
        rustls::pki_types::CertificateDer<'static>,
        PrivateKeyDer<'static>,
    ),
}

fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mesh test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params
        .distinguished_name
        .push(DnType::CommonName, "checkout");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server_params.signed_by(&server_key, &ca).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "cart");
    client_params
        .distinguished_name
        .push(DnType::OrganizationName, "shop");
    client_params.subject_alt_names = vec![SanType::URI(SPIFFE_ID.try_into().unwrap())];
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca).unwrap();

    Pki {
        ca: ca.der().clone(),
        server: (server.der().clone(), key_der(&server_key)),
        client: (client.der().clone(), key_der(&client_key)),
    }
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    match attribute(span, key) {
        Some(value) => value.as_str().into_owned(),
        None => panic!(
            "span {:?} has no attribute {key}: {:?}",
            span.name, span.attributes
        ),
    }
}

#[tokio::test]
async fn mtls_peer_identity_and_mesh_facts_reach_the_span() {
    let pki = pki();
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("mtls-test");
    let crypto = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let roots = Arc::new(roots);

    // Server: rustls with a required client certificate, the peer identity parsed once per
    // connection and handed to every request through the extensions.
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&crypto))
            .build()
            .unwrap();
    let server_config = ServerConfig::builder_with_provider(Arc::clone(&crypto))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server_layer = MeshTraceLayer::server(tracer.clone(), MeshPropagator::default())
        .with_route_resolver(|parts| {
            parts
                .uri
                .path()
                .starts_with("/cart/")
                .then(|| "/cart/{id}".to_owned())
        });
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let peer = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|der| PeerIdentity::from_der(der).unwrap());
        let service = ServiceBuilder::new()
            .map_request(move |mut request: Request<Incoming>| {
                if let Some(peer) = peer.clone() {
                    request.extensions_mut().insert(peer);
                }
                request
            })
            .layer(server_layer)
            .service(service_fn(|request: Request<Incoming>| async move {
                // The handler runs inside the server span's context.
                let in_span = Context::current().span().span_context().is_valid();
                let body = if in_span { "in span" } else { "no span" };
                let _ = request.into_body().collect().await;
                Ok::<_, Infallible>(
                    Response::builder()
                        .header("x-envoy-upstream-service-time", "7")
                        .body(Full::new(Bytes::from(body)))
                        .unwrap(),
                )
            }));
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
            .await
            .unwrap();
    });

    // Client: rustls with the SPIFFE client certificate, the client layer over hyper's sender.
    let client_config = ClientConfig::builder_with_provider(Arc::clone(&crypto))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(Arc::clone(&roots))
        .with_client_auth_cert(vec![pki.client.0.clone()], pki.client.1.clone_key())
        .unwrap();
    let tcp = TcpStream::connect(address).await.unwrap();
    let tls = TlsConnector::from(Arc::new(client_config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let server_identity = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|der| PeerIdentity::from_der(der).unwrap())
        .unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let sender = Arc::new(tokio::sync::Mutex::new(sender));
    let client = MeshTraceLayer::client(tracer.clone(), MeshPropagator::default()).layer(
        service_fn(move |request: Request<Full<Bytes>>| {
            let sender = Arc::clone(&sender);
            async move { sender.lock().await.send_request(request).await }
        }),
    );

    let mut request = Request::get(format!("https://localhost:{}/cart/42", address.port()))
        .header("host", "localhost")
        .header("x-envoy-attempt-count", "2")
        .header("x-envoy-decorator-operation", "cart.shop.svc:8080/*")
        .header("x-envoy-fault-delay-request", "50")
        .header("x-request-id", "125a4afb-6f55-94ba-ad80-413f09f48a28")
        .header("l5d-dst-canonical", "checkout.shop.svc.cluster.local:8443")
        .header("x-canary", "true")
        .header("baggage", "version=v2,ab_group=b")
        .body(Full::new(Bytes::new()))
        .unwrap();
    request.extensions_mut().insert(server_identity);
    let response = client.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"in span");

    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let server = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .unwrap();
    let client = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Client)
        .unwrap();

    // The server span continues the client span's trace (propagated over the TLS connection).
    assert_eq!(
        server.span_context.trace_id(),
        client.span_context.trace_id()
    );
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(server.name, "GET /cart/{id}");
    // Clients have no route template here, so semantic conventions name the span by method only.
    assert_eq!(client.name, "GET");

    // The peer identity, from the client certificate.
    assert!(
        text(server, "tls.client.subject").contains("CN=cart"),
        "{}",
        text(server, "tls.client.subject")
    );
    assert!(text(server, "tls.client.subject").contains("O=shop"));
    assert!(text(server, "tls.client.issuer").contains("CN=mesh test CA"));
    assert_eq!(text(server, "mesh.peer.spiffe_id"), SPIFFE_ID);
    assert_eq!(text(server, "mesh.peer.trust_domain"), "cluster.local");
    assert_eq!(text(server, "mesh.peer.namespace"), "shop");
    assert_eq!(text(server, "mesh.peer.service_account"), "cart");
    // And the client saw the server's certificate, which has no SPIFFE ID.
    assert!(text(client, "tls.server.subject").contains("CN=checkout"));
    assert!(attribute(client, "mesh.peer.spiffe_id").is_none());

    // Mesh facts from the request headers, baggage and the Envoy request ID.
    assert_eq!(
        attribute(server, "envoy.attempt_count"),
        Some(&Value::I64(2))
    );
    assert_eq!(
        text(server, "envoy.decorator_operation"),
        "cart.shop.svc:8080/*"
    );
    assert_eq!(
        attribute(server, "envoy.fault.delay_ms"),
        Some(&Value::I64(50))
    );
    assert_eq!(
        attribute(server, "mesh.fault_injection"),
        Some(&Value::Bool(true))
    );
    assert_eq!(text(server, "envoy.trace_reason"), "sampled");
    assert_eq!(
        text(server, "linkerd.dst_canonical"),
        "checkout.shop.svc.cluster.local:8443"
    );
    assert_eq!(attribute(server, "mesh.canary"), Some(&Value::Bool(true)));
    assert_eq!(text(server, "mesh.version"), "v2");
    assert_eq!(text(server, "mesh.ab_group"), "b");
    assert_eq!(text(server, "mesh.propagation.format"), "tracecontext");
    assert_eq!(text(server, "http.route"), "/cart/{id}");
    assert_eq!(
        attribute(server, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    // A response header seen by the client.
    assert_eq!(
        attribute(client, "envoy.upstream_service_time_ms"),
        Some(&Value::I64(7))
    );
}

#[test]
fn certificate_errors_say_what_was_wrong() {
    let error = PeerIdentity::from_der(b"not a certificate").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("peer certificate is not valid DER-encoded X.509"),
        "{error}"
    );
}
