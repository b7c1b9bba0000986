//! TLS settings of servers (otelcol's `tls` block of a receiver's `grpc` or `http` settings) and the rustls
//! configuration they make: the certificate reloaded from its files every `reload_interval`, client certificates
//! required and verified against `client_ca_file` for mutual TLS.

use crate::de;
use parking_lot::RwLock;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

/// A TLS protocol version, as otelcol writes it (`"1.2"`, `"1.3"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.0: accepted in a config for otelcol compatibility, refused when used (rustls has no TLS 1.0).
    #[serde(rename = "1.0")]
    V1_0,
    /// TLS 1.1: as TLS 1.0.
    #[serde(rename = "1.1")]
    V1_1,
    /// TLS 1.2.
    #[serde(rename = "1.2")]
    V1_2,
    /// TLS 1.3.
    #[serde(rename = "1.3")]
    V1_3,
}

/// Server TLS settings (otelcol's `tls` block of a receiver's transport).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerTlsSettings {
    /// PEM certificate chain the server presents (leaf first).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of that certificate.
    pub key_file: Option<PathBuf>,
    /// PEM CA certificates that sign client certificates: when set, every client must present one (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
    /// Oldest TLS version accepted (default 1.2).
    pub min_version: Option<TlsVersion>,
    /// Newest TLS version accepted (default 1.3).
    pub max_version: Option<TlsVersion>,
    /// How often the certificate and key are read again from their files (default 0s: never), so a renewed
    /// certificate is served without a restart; connections already open keep theirs.
    #[serde(deserialize_with = "de::duration")]
    pub reload_interval: Duration,
}

impl ServerTlsSettings {
    /// Why these settings cannot work, as `(key, message)`; files are read when the receiver starts.
    pub(crate) fn problems(&self) -> Option<(&'static str, String)> {
        if self.cert_file.is_none() || self.key_file.is_none() {
            return Some((
                "cert_file",
                "a TLS server needs both cert_file and key_file".into(),
            ));
        }
        if let Err(message) = self.versions() {
            return Some(("min_version", message));
        }
        None
    }

    /// The protocol versions between `min_version` and `max_version`.
    fn versions(&self) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
        let min = self.min_version.unwrap_or(TlsVersion::V1_2);
        let max = self.max_version.unwrap_or(TlsVersion::V1_3);
        if min > max {
            return Err(format!(
                "min_version {min:?} is newer than max_version {max:?}"
            ));
        }
        let versions: Vec<_> = [
            (TlsVersion::V1_2, &rustls::version::TLS12),
            (TlsVersion::V1_3, &rustls::version::TLS13),
        ]
        .into_iter()
        .filter(|(version, _)| (min..=max).contains(version))
        .map(|(_, supported)| supported)
        .collect();
        if versions.is_empty() {
            return Err("TLS 1.0 and 1.1 are not supported: use 1.2 or 1.3".into());
        }
        Ok(versions)
    }

    /// The acceptor these settings make, offering `alpn` (`h2` for gRPC, `http/1.1` for OTLP/HTTP).
    pub(crate) fn acceptor(&self, alpn: &[&[u8]]) -> Result<TlsAcceptor, String> {
        let (Some(cert_file), Some(key_file)) = (&self.cert_file, &self.key_file) else {
            return Err("a TLS server needs both cert_file and key_file".into());
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&self.versions()?)
            .map_err(|e| format!("TLS versions: {e}"))?;
        let builder = match &self.client_ca_file {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for certificate in read_certificates(path)? {
                    roots
                        .add(certificate)
                        .map_err(|e| format!("client_ca_file {}: {e}", path.display()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| format!("client_ca_file {}: {e}", path.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let certificate = ReloadingCertificate::load(
            cert_file.clone(),
            key_file.clone(),
            self.reload_interval,
            provider,
        )?;
        let mut config = builder.with_cert_resolver(Arc::new(certificate));
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certificates)
}

/// The server's certificate and key, read again from their files once `interval` has passed (checked at a
/// handshake); a read that fails keeps the previous pair and says why in the log.
#[derive(Debug)]
struct ReloadingCertificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    interval: Duration,
    provider: Arc<CryptoProvider>,
    current: RwLock<(Arc<CertifiedKey>, Instant)>,
}

impl ReloadingCertificate {
    fn load(
        cert_file: PathBuf,
        key_file: PathBuf,
        interval: Duration,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        let key = certified_key(&cert_file, &key_file, &provider)?;
        Ok(ReloadingCertificate {
            cert_file,
            key_file,
            interval,
            provider,
            current: RwLock::new((key, Instant::now())),
        })
    }

    fn reload_if_due(&self) {
        if self.interval.is_zero() || self.current.read().1.elapsed() < self.interval {
            return;
        }
        let mut current = self.current.write();
        if current.1.elapsed() < self.interval {
            return;
        }
        current.1 = Instant::now();
        match certified_key(&self.cert_file, &self.key_file, &self.provider) {
            Ok(key) => current.0 = key,
            Err(error) => {
                tracing::warn!(%error, "could not reload the TLS certificate; serving the previous one");
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.reload_if_due();
        Some(Arc::clone(&self.current.read().0))
    }
}

fn certified_key(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let chain = read_certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("{}: {e}", key_file.display()))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("{}: {e}", key_file.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        format!(
            "{} does not match {}: {e}",
            key_file.display(),
            cert_file.display()
        )
    })?;
    Ok(Arc::new(certified))
}
