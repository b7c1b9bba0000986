//! The `splunk_hec` receiver's settings, with otelcol-contrib's keys (its own and `confighttp`'s server keys).

use crate::auth::AuthSettings;
use crate::component::Invalid;
use crate::de;
use crate::receiver::otlp::CorsSettings;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;
use std::time::Duration;

/// The `splunk_hec` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplunkHecConfig {
    /// `host:port` to listen on (`localhost:8088`, otelcol's default; Splunk's HEC port); port 0 picks a free one.
    pub endpoint: String,
    /// Where raw text is posted, a log record per line (`/services/collector/raw`).
    pub raw_path: String,
    /// Where `GET` answers that HEC is healthy (`/services/collector/health`, and the same with `/1.0`).
    pub health_path: String,
    /// How the raw path's body becomes records: `line` (one per line) or `none` (the whole body).
    pub splitting: Splitting,
    /// The token a client sends (`Authorization: Splunk <token>`) kept on the resource as
    /// `com.splunk.hec.access_token`, for an exporter that sends on with the client's own token.
    pub access_token_passthrough: bool,
    /// The attributes the events' `host`, `source`, `sourcetype` and `index` become.
    pub hec_metadata_to_otel_attrs: HecMetadataAttributes,
    /// otelcol's indexer acknowledgement extension: refused with the reason, acknowledgements are not kept.
    pub ack: Option<serde_norway::Value>,
    /// How long reading one request may take.
    #[serde(deserialize_with = "de::duration")]
    pub read_timeout: Duration,
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

/// `splitting`: how the raw path's body is cut into records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Splitting {
    /// A record per line, as Splunk indexes raw text by default.
    #[default]
    Line,
    /// The whole body as one record.
    None,
}

/// `hec_metadata_to_otel_attrs`: the resource attribute each HEC metadata field becomes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HecMetadataAttributes {
    /// The event's `source` (`com.splunk.source`).
    pub source: String,
    /// The event's `sourcetype` (`com.splunk.sourcetype`).
    pub sourcetype: String,
    /// The event's `index` (`com.splunk.index`).
    pub index: String,
    /// The event's `host` (`host.name`).
    pub host: String,
}

impl Default for HecMetadataAttributes {
    fn default() -> Self {
        HecMetadataAttributes {
            source: "com.splunk.source".to_owned(),
            sourcetype: "com.splunk.sourcetype".to_owned(),
            index: "com.splunk.index".to_owned(),
            host: "host.name".to_owned(),
        }
    }
}

impl Default for SplunkHecConfig {
    fn default() -> Self {
        SplunkHecConfig {
            endpoint: "localhost:8088".to_owned(),
            raw_path: "/services/collector/raw".to_owned(),
            health_path: "/services/collector/health".to_owned(),
            splitting: Splitting::Line,
            access_token_passthrough: false,
            hec_metadata_to_otel_attrs: HecMetadataAttributes::default(),
            ack: None,
            read_timeout: Duration::from_secs(20),
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}

impl SplunkHecConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        for (key, path) in [
            ("raw_path", &self.raw_path),
            ("health_path", &self.health_path),
        ] {
            if !path.starts_with('/') {
                problems.push(Invalid::at(
                    key,
                    format!("`{path}` is not a path: start it with `/`"),
                ));
            }
        }
        if self.raw_path == self.health_path {
            problems.push(Invalid::at("health_path", "must differ from `raw_path`"));
        }
        let attributes = &self.hec_metadata_to_otel_attrs;
        for (key, attribute) in [
            ("source", &attributes.source),
            ("sourcetype", &attributes.sourcetype),
            ("index", &attributes.index),
            ("host", &attributes.host),
        ] {
            if attribute.is_empty() {
                problems.push(Invalid::at(
                    format!("hec_metadata_to_otel_attrs.{key}"),
                    "must name an attribute",
                ));
            }
        }
        if self.ack.is_some() {
            problems.push(Invalid::at(
                "ack",
                "indexer acknowledgement is not supported: remove `ack`; a request is answered once its \
                 events are in the pipeline (or refused with a retryable answer), and the exporters' \
                 `sending_queue` with `storage` keeps them across restarts",
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
