//! The `influxdb` receiver's settings, with otelcol-contrib's keys (`confighttp`'s server keys).

use crate::auth::AuthSettings;
use crate::component::Invalid;
use crate::de;
use crate::receiver::otlp::CorsSettings;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;
use std::time::Duration;

/// The `influxdb` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InfluxdbConfig {
    /// `host:port` to listen on (`0.0.0.0:8086`, InfluxDB's own); port 0 picks a free one.
    pub endpoint: String,
    /// How long reading one request may take.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Largest request body accepted, compressed or not, in bytes.
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

impl Default for InfluxdbConfig {
    fn default() -> Self {
        InfluxdbConfig {
            endpoint: "0.0.0.0:8086".to_owned(),
            timeout: Duration::from_secs(30),
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}

impl InfluxdbConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.timeout.is_zero() {
            problems.push(Invalid::at("timeout", "must be more than 0s"));
        }
        if let Some((key, message)) = self.tls.as_ref().and_then(ServerTlsSettings::problems) {
            problems.push(Invalid::at(format!("tls.{key}"), message));
        }
        Invalid::all(problems)
    }
}
