//! The `zipkin` receiver's settings, with otelcol-contrib's keys (its own and `confighttp`'s server keys).

use crate::auth::AuthSettings;
use crate::receiver::otlp::CorsSettings;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;

/// The `zipkin` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZipkinReceiverConfig {
    /// `host:port` to listen on (otelcol's default: `localhost:9411`); port 0 picks a free one.
    pub endpoint: String,
    /// Tags that read as integers, floats or booleans become attributes of those types; strings otherwise.
    pub parse_string_tags: bool,
    /// Largest request body accepted, compressed or not, in bytes.
    pub max_request_body_size: usize,
    /// Keep each request's headers with its data, for the components that read a client's metadata, as the
    /// `otlp` receiver's `include_metadata`.
    pub include_metadata: bool,
    /// TLS (mutual with `client_ca_file`); plaintext without it.
    pub tls: Option<ServerTlsSettings>,
    /// The authenticator extension requests must satisfy (401 otherwise).
    pub auth: Option<AuthSettings>,
    /// Which web origins may send from a browser (zipkin-js); none when absent.
    pub cors: Option<CorsSettings>,
}

impl Default for ZipkinReceiverConfig {
    fn default() -> Self {
        ZipkinReceiverConfig {
            endpoint: "localhost:9411".to_owned(),
            parse_string_tags: false,
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}
