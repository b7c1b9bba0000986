//! The `collectd` receiver's settings, with otelcol-contrib's keys (its own and `confighttp`'s server keys).

use crate::auth::AuthSettings;
use crate::component::Invalid;
use crate::de;
use crate::receiver::otlp::CorsSettings;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;
use std::time::Duration;

/// The `collectd` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectdConfig {
    /// `host:port` to listen on (`localhost:8081`); port 0 picks a free one.
    pub endpoint: String,
    /// How long reading one request may take.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Query parameters starting with this become attributes of every point of the request, without it
    /// (`/?dim:env=prod` with `dim:` gives `env=prod`); none when empty.
    pub attributes_prefix: String,
    /// Only `json`: collectd's `write_http` with `Format "JSON"`.
    pub encoding: String,
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

impl Default for CollectdConfig {
    fn default() -> Self {
        CollectdConfig {
            endpoint: "localhost:8081".to_owned(),
            timeout: Duration::from_secs(30),
            attributes_prefix: String::new(),
            encoding: "json".to_owned(),
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}

impl CollectdConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if !self.encoding.eq_ignore_ascii_case("json") {
            problems.push(Invalid::at(
                "encoding",
                format!(
                    "`{}` is not supported: only json (collectd's write_http with Format \"JSON\")",
                    self.encoding
                ),
            ));
        }
        if self.timeout.is_zero() {
            problems.push(Invalid::at("timeout", "must be more than 0s"));
        }
        if let Some((key, message)) = self.tls.as_ref().and_then(ServerTlsSettings::problems) {
            problems.push(Invalid::at(format!("tls.{key}"), message));
        }
        Invalid::all(problems)
    }
}
