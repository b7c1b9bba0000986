//! The `tlscheck` receiver (otelcol-contrib's): how long until the certificates of TLS servers, or of PEM files,
//! expire, every `collection_interval`, as otelcol's `tlscheck.time_left`.
//!
//! ```yaml
//! receivers:
//!   tlscheck:
//!     targets:
//!       - endpoint: "example.com:443"
//!       - file_path: /etc/ssl/certs/internal.pem
//!     collection_interval: 1h
//! ```
//!
//! A server's certificate is the first of the chain it presents in a handshake whose certificate is taken as it is
//! (not verified: an expired or self-signed one is what the check is for); a file's, the first `CERTIFICATE` in
//! it. Each target is a resource (`tlscheck.target`: the endpoint or path) with one point: the seconds left,
//! negative once expired, with the certificate's issuer, common name and subject alternative names, as otelcol
//! reports them (`receiver/scraper/certificate.rs`). The targets are checked at once; one that cannot be read is
//! logged and reports nothing.

mod config;

pub use config::{CertificateTarget, TlsCheckConfig};

use super::RunningReceiver;
use super::scraper::certificate::Certificate;
use super::scraper::metric::{Builder, Clock, Enabled, Kind, Spec};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::tls::AnyServerCertificate;
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The metric, as otelcol's generated `documentation.md` lists it.
const SPECS: &[Spec] = &[Spec::on(
    "tlscheck.time_left",
    "Time in seconds until certificate expiry, as specified by `NotAfter` field in the x.509 certificate. \
     Negative values represent time in seconds since expiration.",
    "s",
    Kind::Gauge,
)];

/// The `tlscheck` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = TlsCheckConfig;
    const TYPE: &'static str = "tlscheck";

    fn validate(&self, config: &TlsCheckConfig) -> Result<(), Invalid> {
        config.validate(SPECS)
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &TlsCheckConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| context.start_error(format!("tls: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(provider)))
            .with_no_client_auth();
        let targets = config
            .targets
            .iter()
            .map(|target| match &target.file_path {
                Some(path) => Target::File(path.clone()),
                None => Target::Server(target.endpoint.clone()),
            })
            .collect();
        let scraper = TlsCheckScraper {
            targets,
            connector: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            timeout: config.timeout,
            enabled: Enabled::new(SPECS, &config.metrics),
            target_attribute: config.resource_attribute("tlscheck.target"),
            id: context.id.clone(),
        };
        Ok(scraper::start(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

/// Where a certificate is read.
enum Target {
    /// A TLS server, `host:port`.
    Server(String),
    /// A PEM file.
    File(PathBuf),
}

impl Target {
    /// How the resource names it: the endpoint, or the file's path.
    fn name(&self) -> String {
        match self {
            Target::Server(endpoint) => endpoint.clone(),
            Target::File(path) => path.display().to_string(),
        }
    }
}

struct TlsCheckScraper {
    targets: Vec<Target>,
    connector: tokio_rustls::TlsConnector,
    timeout: Duration,
    enabled: Enabled,
    target_attribute: bool,
    id: String,
}

impl TlsCheckScraper {
    /// The certificate at `target`; an error says what failed.
    async fn certificate(&self, target: &Target) -> Result<Certificate, String> {
        let der = match target {
            Target::File(path) => {
                let pem = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                CertificateDer::pem_slice_iter(&pem)
                    .next()
                    .ok_or_else(|| format!("{} holds no certificate", path.display()))?
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
            Target::Server(endpoint) => {
                let handshake = self.handshake(endpoint);
                tokio::time::timeout(self.timeout, handshake)
                    .await
                    .map_err(|_| format!("no handshake within {:?}", self.timeout))??
            }
        };
        Certificate::from_der(&der)
    }

    /// The first certificate `endpoint` presents.
    async fn handshake(&self, endpoint: &str) -> Result<CertificateDer<'static>, String> {
        let host = endpoint
            .rsplit_once(':')
            .map_or(endpoint, |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        // An IP address is no name to send: the handshake goes without SNI, as Go's does.
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("`{host}` is not a host name: {e}"))?;
        let tcp = tokio::net::TcpStream::connect(endpoint)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        let stream = self
            .connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let (_, session) = stream.get_ref();
        session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|der| der.clone().into_owned())
            .ok_or_else(|| "the server presented no certificate".to_owned())
    }

    /// The request of what the checks found at `now`: a resource per target that was read.
    fn request(
        &self,
        found: Vec<(String, Certificate)>,
        now: u64,
    ) -> Option<ExportMetricsServiceRequest> {
        let mut resource_metrics = Vec::new();
        for (name, certificate) in found {
            let mut out = Builder::new(SPECS, &self.enabled, Clock { now, start: 0 });
            out.record(
                "tlscheck.time_left",
                Value::AsInt(certificate.seconds_left(now)),
                certificate
                    .attributes([
                        "tlscheck.x509.issuer",
                        "tlscheck.x509.cn",
                        "tlscheck.x509.san",
                    ])
                    .into(),
            );
            let metrics = out.finish();
            if metrics.is_empty() {
                continue;
            }
            let resource = Resource {
                attributes: if self.target_attribute {
                    vec![key_value("tlscheck.target", string_value(name))]
                } else {
                    Vec::new()
                },
                ..Default::default()
            };
            resource_metrics.push(scraper::resource_metrics(
                resource,
                "receiver/tlscheckreceiver",
                metrics,
            ));
        }
        (!resource_metrics.is_empty()).then_some(ExportMetricsServiceRequest { resource_metrics })
    }
}

impl Scrape for TlsCheckScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let this = &*self;
        let checks = this.targets.iter().map(|target| async move {
            let read = this.certificate(target).await;
            (target.name(), read)
        });
        let mut found = Vec::new();
        for (name, read) in futures::future::join_all(checks).await {
            match read {
                Ok(certificate) => found.push((name, certificate)),
                Err(error) => tracing::warn!(receiver = %self.id, target = %name, %error,
                    "the certificate could not be read"),
            }
        }
        self.request(found, crate::clock::now_nanos())
    }
}

#[cfg(test)]
mod tests;
