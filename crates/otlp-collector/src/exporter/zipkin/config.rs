//! The `zipkin` exporter's settings, with otelcol-contrib's keys and defaults.

use crate::ClientTlsSettings;
use crate::auth::AuthSettings;
use crate::compression::Compression;
use crate::de;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `zipkin` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZipkinExporterConfig {
    /// Where spans are posted, path included: `http://zipkin:9411/api/v2/spans`.
    pub endpoint: String,
    /// `json` (Zipkin v2's JSON list) or `proto` (`zipkin.proto3.ListOfSpans`).
    pub format: ZipkinFormat,
    /// The local service of spans whose resource names none.
    pub default_service_name: String,
    /// TLS for an `https://` endpoint.
    pub tls: ClientTlsSettings,
    /// The authenticator extension whose credentials every request carries.
    pub auth: Option<AuthSettings>,
    /// Extra HTTP headers on every request.
    pub headers: BTreeMap<String, String>,
    /// Body compression: `none` (default), `gzip`, `zstd` or `deflate`.
    pub compression: Compression,
    /// Time allowed for one request.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The sending queue.
    pub sending_queue: QueueConfig,
    /// Retries of refusals worth retrying (a `5xx`, `429`, no connection).
    pub retry_on_failure: RetryConfig,
    /// Stop calling a failing server for a while (not in otelcol).
    pub circuit_breaker: CircuitBreakerConfig,
}

/// How spans are encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZipkinFormat {
    /// Zipkin v2's JSON list (`application/json`).
    #[default]
    Json,
    /// `zipkin.proto3.ListOfSpans` (`application/x-protobuf`).
    Proto,
}

impl Default for ZipkinExporterConfig {
    fn default() -> Self {
        ZipkinExporterConfig {
            endpoint: String::new(),
            format: ZipkinFormat::Json,
            default_service_name: "<missing service name>".to_owned(),
            tls: ClientTlsSettings::default(),
            auth: None,
            headers: BTreeMap::new(),
            compression: Compression::None,
            timeout: Duration::from_secs(5),
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
        }
    }
}

impl ZipkinExporterConfig {
    /// Each problem of the settings, with the key it is about.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push((
                "endpoint",
                "is required: the URL spans are posted to, such as http://zipkin:9411/api/v2/spans"
                    .to_owned(),
            ));
        } else if let Err(e) = crate::exporter::otlphttp::client::http_url(&self.endpoint) {
            problems.push(("endpoint", e));
        }
        problems.extend(self.helper().problems());
        problems
    }

    pub(super) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}
