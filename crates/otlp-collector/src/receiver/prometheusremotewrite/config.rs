//! The `prometheusremotewrite` receiver's settings: otelcol-contrib's keys (`confighttp`'s server keys).

use crate::auth::AuthSettings;
use crate::receiver::otlp::CorsSettings;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;

/// The `prometheusremotewrite` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusRemoteWriteConfig {
    /// `host:port` to listen on (`localhost:9090`, otelcol's default); port 0 picks a free one.
    pub endpoint: String,
    /// Largest request body accepted, in bytes, compressed or not.
    pub max_request_body_size: usize,
    /// Keep each request's headers with its data, for the components that read a client's metadata, as the
    /// `otlp` receiver's `include_metadata`.
    pub include_metadata: bool,
    /// TLS (mutual with `client_ca_file`); plaintext without it.
    pub tls: Option<ServerTlsSettings>,
    /// The authenticator extension requests must satisfy (401 otherwise).
    pub auth: Option<AuthSettings>,
    /// Which web origins may send from a browser; none when absent.
    pub cors: Option<CorsSettings>,
}

impl Default for PrometheusRemoteWriteConfig {
    fn default() -> Self {
        PrometheusRemoteWriteConfig {
            endpoint: "localhost:9090".to_owned(),
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}
