//! TLS settings of clients (otelcol's `tls` block of an exporter).

use super::AnyServerCertificate;
use super::seen::{Seeing, SeenCertificates};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Client TLS settings (otelcol's `tls` block).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTlsSettings {
    /// Plain text: no TLS at all.
    pub insecure: bool,
    /// PEM file with the CA certificates that sign the server's certificate (default: the system's roots).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM client key, for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// The name to check the server's certificate against, when it differs from the endpoint's host.
    pub server_name_override: Option<String>,
    /// Take any server certificate, checking neither its signer nor its name (not for `otlp`, whose gRPC client
    /// cannot; for tests against self-signed backends: anyone on the path can then read and change the
    /// telemetry).
    pub insecure_skip_verify: bool,
}

impl ClientTlsSettings {
    /// A rustls client config verifying servers against `ca_file` (the system's roots without it), presenting
    /// `cert_file`/`key_file` when a server asks for a client certificate; an error names the file at fault.
    pub(crate) fn rustls_config(&self) -> Result<ClientConfig, String> {
        self.config_with(|verifier| verifier)
    }

    /// [`rustls_config`](Self::rustls_config) that also keeps each server certificate it accepts in `seen`.
    pub(crate) fn rustls_config_seeing(
        &self,
        seen: Arc<SeenCertificates>,
    ) -> Result<ClientConfig, String> {
        self.config_with(|inner| Arc::new(Seeing { inner, seen }))
    }

    /// The config, with the server certificate verifier the settings ask for passed through `verifier`.
    fn config_with(
        &self,
        verifier: impl FnOnce(Arc<dyn ServerCertVerifier>) -> Arc<dyn ServerCertVerifier>,
    ) -> Result<ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                let certificates = CertificateDer::pem_file_iter(path)
                    .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("tls.ca_file {}: {e}", path.display()))?;
                for certificate in certificates {
                    roots
                        .add(certificate)
                        .map_err(|e| format!("tls.ca_file {}: {e}", path.display()))?;
                }
            }
            None => {
                // Unreadable system certificates are skipped, as every client does; an https endpoint then fails
                // its handshakes with a message that says so.
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
            }
        }
        let checked: Arc<dyn ServerCertVerifier> = if self.insecure_skip_verify {
            tracing::warn!(
                "tls.insecure_skip_verify is set: the server's certificate is not verified"
            );
            Arc::new(AnyServerCertificate(provider.clone()))
        } else {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("tls: {e}"))?
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier(checked));
        let config = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("tls.cert_file {}: {e}", cert.display()))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("tls.key_file {}: {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("tls.cert_file: {e}"))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("tls.cert_file and tls.key_file go together".into()),
        };
        Ok(config)
    }
}
