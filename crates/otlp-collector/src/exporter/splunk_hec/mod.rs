//! The `splunk_hec` exporter (otelcol-contrib's): logs, metrics and traces as Splunk HTTP Event Collector events,
//! to Splunk Enterprise, Splunk Cloud or anything that takes HEC (Cribl, Vector, the `splunk_hec` receiver).
//!
//! ```yaml
//! exporters:
//!   splunk_hec:
//!     endpoint: https://splunk:8088/services/collector
//!     token: ${env:SPLUNK_HEC_TOKEN}
//!     index: otel
//!     sourcetype: otel
//! ```
//!
//! How each signal becomes events is in `logs.rs`, `metrics.rs` and `traces.rs`, the event itself in `event.rs`.
//! A batch is sent in requests of at most `max_content_length_<signal>` bytes of events (before compression),
//! gzip'd unless `disable_compression` or shorter than 1500 bytes (as otelcol); a retry sends only the requests
//! not yet taken. Events of a resource that carries its client's token (`com.splunk.hec.access_token`) are sent
//! with that token. A `5xx` or `429` answer is retried, any other refusal (a bad token, a malformed event) is
//! permanent. An item HEC cannot take (a log record without a body, an exponential histogram, an event over
//! `max_event_size`) is counted as refused; the rest of its batch is sent.

mod config;
mod event;
mod logs;
mod metrics;
mod traces;

pub use config::{SeverityFields, SplunkHecExporterConfig};

use super::otlphttp::client::HttpClient;
use super::otlphttp::config::HttpConnections;
use super::{Delivered, Export, ExportError, Exporter};
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::compression::{Compression, compress};
use crate::receiver::splunk_hec::HecMetadataAttributes;
use crate::{AnyRequest, Batch, Signal};
use bytes::Bytes;
use event::{Metadata, MetadataKeys};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bodies shorter than this are sent uncompressed, as otelcol does: gzip would add more than it saves.
const MIN_COMPRESSED_LENGTH: usize = 1500;

/// The `splunk_hec` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = SplunkHecExporterConfig;
    const TYPE: &'static str = "splunk_hec";

    fn validate(&self, config: &SplunkHecExporterConfig) -> Result<(), Invalid> {
        Invalid::all_at(config.problems())
    }
}

impl ExporterFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];

    fn build(
        &self,
        config: &SplunkHecExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let mut headers = super::otlphttp::client::header_map(&config.headers)?;
        for (name, value) in [
            ("__splunk_app_name", &config.splunk_app_name),
            ("__splunk_app_version", &config.splunk_app_version),
        ] {
            if !value.is_empty() {
                headers.insert(
                    name,
                    http::HeaderValue::try_from(value.as_str())
                        .map_err(|e| format!("`{value}` cannot be a header value: {e}"))?,
                );
            }
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(if config.export_raw {
                "text/plain"
            } else {
                "application/json"
            }),
        );
        Ok(Exporter::new(
            SplunkHec {
                client: HttpClient::new(&config.tls, &HttpConnections::default(), config.timeout)?,
                url: super::otlphttp::client::http_url(&config.endpoint)?,
                headers,
                token: config.token.clone(),
                compress: !config.disable_compression,
                settings: Settings {
                    metadata_keys: config.metadata_attributes(),
                    defaults: Metadata {
                        source: config.source.clone(),
                        sourcetype: config.sourcetype.clone(),
                        index: config.index.clone(),
                        ..Metadata::default()
                    },
                    severity: config.otel_to_hec_fields.clone(),
                    multi_metric: config.use_multi_metric_format,
                },
                export_raw: config.export_raw,
                log_data_enabled: config.log_data_enabled,
                max_lengths: [
                    config.max_content_length_traces,
                    config.max_content_length_metrics,
                    config.max_content_length_logs,
                ],
                max_event_size: config.max_event_size,
            },
            config.helper(),
        ))
    }
}

/// What turning items into events needs of the config.
pub(super) struct Settings {
    metadata_keys: HecMetadataAttributes,
    /// The configured `source`, `sourcetype` and `index`.
    defaults: Metadata,
    severity: SeverityFields,
    multi_metric: bool,
}

impl Settings {
    fn keys(&self) -> MetadataKeys<'_> {
        MetadataKeys {
            host: &self.metadata_keys.host,
            source: &self.metadata_keys.source,
            sourcetype: &self.metadata_keys.sourcetype,
            index: &self.metadata_keys.index,
        }
    }

    /// A resource's metadata (the configured defaults, overridden by its attributes) and its other attributes as
    /// fields.
    fn resource<'a>(
        &self,
        attributes: impl Iterator<Item = &'a KeyValue>,
    ) -> (Metadata, Map<String, Value>) {
        let mut metadata = self.defaults.clone();
        let mut fields = Map::new();
        let keys = self.keys();
        for attribute in attributes {
            keys.sort(attribute, &mut metadata, &mut fields);
        }
        (metadata, fields)
    }
}

struct SplunkHec {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    token: String,
    compress: bool,
    settings: Settings,
    export_raw: bool,
    log_data_enabled: bool,
    /// By [`Signal::index`].
    max_lengths: [usize; 3],
    max_event_size: usize,
}

/// One request: its token and body, compressed or not.
struct Request {
    token: Option<String>,
    body: Bytes,
    gzip: bool,
}

/// A batch as requests, how many are taken, and what could not be an event.
struct Payloads {
    requests: Vec<Request>,
    taken: AtomicUsize,
    refused: usize,
}

impl Export for SplunkHec {
    type Payload = Payloads;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Payloads, ExportError> {
        let settings = &self.settings;
        let (events, refused) = match batch.request() {
            AnyRequest::Traces(request) => (traces::events(request, settings), 0),
            AnyRequest::Metrics(request) => metrics::events(request, settings),
            AnyRequest::Logs(_) if !self.log_data_enabled => (Vec::new(), 0),
            AnyRequest::Logs(request) if self.export_raw => logs::raw_lines(request, settings),
            AnyRequest::Logs(request) => logs::events(request, settings),
        };
        let (bodies, oversized) = event::bodies(
            events,
            self.max_lengths[batch.signal().index()],
            self.max_event_size,
        );
        let mut requests = Vec::with_capacity(bodies.len());
        for (token, body) in bodies {
            let gzip = self.compress && body.len() >= MIN_COMPRESSED_LENGTH;
            let body = if gzip {
                compress(Compression::Gzip, &body)
                    .map_err(|e| ExportError::permanent(format!("cannot compress: {e}")))?
            } else {
                body
            };
            requests.push(Request {
                token,
                body: Bytes::from(body),
                gzip,
            });
        }
        Ok(Payloads {
            requests,
            taken: AtomicUsize::new(0),
            refused: refused + oversized,
        })
    }

    async fn send(&self, payloads: &Payloads) -> Result<Delivered, ExportError> {
        for request in &payloads.requests[payloads.taken.load(Ordering::Acquire)..] {
            let mut headers = self.headers.clone();
            let token = request.token.as_deref().unwrap_or(&self.token);
            headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::try_from(format!("Splunk {token}")).map_err(|e| {
                    ExportError::permanent(format!("the token cannot be a header: {e}"))
                })?,
            );
            if request.gzip {
                headers.insert(
                    http::header::CONTENT_ENCODING,
                    http::HeaderValue::from_static("gzip"),
                );
            }
            super::otlphttp::post_expecting_success(
                &self.client,
                &self.url,
                &headers,
                request.body.clone(),
            )
            .await?;
            payloads.taken.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Delivered {
            rejected: payloads.refused,
            message: if payloads.refused == 0 {
                String::new()
            } else {
                "items HEC cannot take (log records without a body, exponential histograms, events over \
                 max_event_size)"
                    .to_owned()
            },
        })
    }
}

#[cfg(test)]
mod tests;
