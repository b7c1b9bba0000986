//! The test PKI (otlp-testkit's): a CA, a server certificate for `localhost` and a client certificate it signs,
//! and a client certificate from another CA (`stranger`), which a server trusting only the first must refuse.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Writes `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem`, `stranger.pem` and
/// `stranger-key.pem` into `dir`.
pub fn write_pki(dir: &Path) {
    otlp_testkit::pki::write_pki(dir).expect("writing the test PKI");
}

/// A client's TLS settings that trust only the test CA in `pki` and present the client certificate `identity`
/// (`client`, `stranger`) when given.
pub fn client_tls(pki: &Path, identity: Option<&str>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pki.join("ca.pem")).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    match identity {
        Some(name) => {
            let chain = CertificateDer::pem_file_iter(pki.join(format!("{name}.pem")))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(pki.join(format!("{name}-key.pem"))).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    }
}

/// An HTTPS/1.1 client for the test servers, with [`client_tls`]'s settings.
pub fn https_client(
    pki: &Path,
    identity: Option<&str>,
) -> hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Empty<bytes::Bytes>,
> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_tls(pki, identity))
        .https_only()
        .enable_http1()
        .build();
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector)
}
