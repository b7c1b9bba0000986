//! The `loki` receiver's settings, with otelcol-contrib's keys and default ports.

use crate::auth::AuthSettings;
use crate::de;
use crate::receiver::otlp::{CorsSettings, GrpcServerConfig};
use crate::tls::ServerTlsSettings;
use serde::{Deserialize, Deserializer};

/// The `loki` receiver's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LokiReceiverConfig {
    /// Each present key enables that protocol (`http:` alone means "with defaults").
    #[serde(default)]
    pub protocols: LokiProtocols,
    /// A record's time is the entry's own timestamp; else (otelcol's default) the time it was received.
    #[serde(default)]
    pub use_incoming_timestamp: bool,
}

/// `protocols`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LokiProtocols {
    /// Loki's push API, `POST /loki/api/v1/push` (`localhost:3500`).
    #[serde(default, deserialize_with = "http")]
    pub http: Option<LokiHttpConfig>,
    /// `logproto.Pusher/Push` (`localhost:3600`), with the `otlp` receiver's gRPC settings.
    #[serde(default, deserialize_with = "grpc")]
    pub grpc: Option<GrpcServerConfig>,
}

/// `protocols.http`: `confighttp`'s server keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LokiHttpConfig {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// Largest request body accepted, compressed or not, in bytes.
    pub max_request_body_size: usize,
    /// Keep each request's headers with its data, for the components that read a client's metadata, as the
    /// `otlp` receiver's `include_metadata`.
    pub include_metadata: bool,
    /// TLS (mutual with `client_ca_file`); plaintext without it.
    pub tls: Option<ServerTlsSettings>,
    /// The authenticator extension requests must satisfy (401 otherwise).
    pub auth: Option<AuthSettings>,
    /// Which web origins may send from a browser.
    pub cors: Option<CorsSettings>,
}

impl Default for LokiHttpConfig {
    fn default() -> Self {
        LokiHttpConfig {
            endpoint: "localhost:3500".to_owned(),
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}

fn http<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LokiHttpConfig>, D::Error> {
    de::present_with_endpoint(d, "localhost:3500")
}

fn grpc<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GrpcServerConfig>, D::Error> {
    de::present_with_endpoint(d, "localhost:3600")
}

impl LokiReceiverConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        let p = &self.protocols;
        if p.http.is_none() && p.grpc.is_none() {
            return Err("enable at least one protocol: http or grpc".into());
        }
        if let Some((key, message)) = p
            .http
            .as_ref()
            .and_then(|http| http.tls.as_ref())
            .and_then(ServerTlsSettings::problems)
        {
            return Err(format!("http.tls.{key}: {message}"));
        }
        Ok(())
    }
}
