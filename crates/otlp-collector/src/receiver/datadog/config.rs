//! The `datadog` receiver's settings, with otelcol-contrib's keys (its own and `confighttp`'s server keys).

use crate::auth::AuthSettings;
use crate::component::Invalid;
use crate::de;
use crate::receiver::otlp::CorsSettings;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;
use std::time::Duration;

/// The `datadog` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatadogReceiverConfig {
    /// `host:port` to listen on (`localhost:8126`, otelcol's default and the Datadog Agent's trace port); port 0
    /// picks a free one.
    pub endpoint: String,
    /// How long reading one request may take.
    #[serde(deserialize_with = "de::duration")]
    pub read_timeout: Duration,
    /// How many traces' upper 64 id bits are remembered. A tracer sends the upper half of a 128-bit trace id
    /// (`_dd.p.tid`) on the first span of a trace it flushes; spans of the same trace flushed later carry only the
    /// lower half and take the upper one from here.
    pub trace_id_cache_size: usize,
    /// otelcol's proxy of the Agent's metadata intake: refused with the reason.
    pub intake: Option<serde_norway::Value>,
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

impl Default for DatadogReceiverConfig {
    fn default() -> Self {
        DatadogReceiverConfig {
            endpoint: "localhost:8126".to_owned(),
            read_timeout: Duration::from_secs(60),
            trace_id_cache_size: 100,
            intake: None,
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}

impl DatadogReceiverConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.intake.is_some() {
            problems.push(Invalid::at(
                "intake",
                "the Agent's metadata intake is not supported: remove `intake`; host metadata is not telemetry \
                 this receiver hands on, and `/intake` is answered 404",
            ));
        }
        if self.read_timeout.is_zero() {
            problems.push(Invalid::at("read_timeout", "must be more than 0s"));
        }
        if let Some((key, message)) = self.tls.as_ref().and_then(ServerTlsSettings::problems) {
            problems.push(Invalid::at(format!("tls.{key}"), message));
        }
        Invalid::all(problems)
    }
}
