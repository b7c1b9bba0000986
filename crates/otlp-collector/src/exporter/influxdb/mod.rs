//! The `influxdb` exporter (otelcol-contrib's): traces, metrics and logs as InfluxDB line protocol, in
//! otel2influx's schema, to InfluxDB 2 (`/api/v2/write`, an org, a bucket, a token) or 1.x (`/write`, a database,
//! basic authentication).
//!
//! ```yaml
//! exporters:
//!   influxdb:
//!     endpoint: http://influxdb:8086
//!     org: my-org
//!     bucket: telemetry
//!     token: ${env:INFLUX_TOKEN}
//!   influxdb/v1:
//!     endpoint: http://influxdb-1:8086
//!     v1_compatibility: { enabled: true, db: telemetry }
//! ```
//!
//! How each signal becomes lines is in `traces.rs`, `metrics.rs` and `logs.rs`; the encoding in `line.rs`. A batch
//! is sent in requests of at most `payload_max_lines` lines and `payload_max_bytes` bytes; a retry sends only the
//! requests not yet written. A `5xx` or `429` answer is retried, any other refusal is permanent.

mod config;
mod line;
mod logs;
mod metrics;
mod traces;

pub use config::{InfluxdbExporterConfig, V1Compatibility};

use super::otlphttp::client::HttpClient;
use super::otlphttp::config::HttpConnections;
use super::{Delivered, Export, ExportError, Exporter};
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::{AnyRequest, Batch, Signal};
use base64::Engine as _;
use bytes::Bytes;
use line::Line;
use metrics::Schema;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The `influxdb` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = InfluxdbExporterConfig;
    const TYPE: &'static str = "influxdb";

    fn validate(&self, config: &InfluxdbExporterConfig) -> Result<(), Invalid> {
        Invalid::all_at(config.problems())
    }
}

impl ExporterFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];

    fn build(
        &self,
        config: &InfluxdbExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static("OpenTelemetry -> Influx"),
        );
        headers.extend(super::otlphttp::client::header_map(&config.headers)?);
        let v1 = &config.v1_compatibility;
        let authorization = if v1.enabled {
            (!v1.username.is_empty() && !v1.password.is_empty()).then(|| {
                let credentials = format!("{}:{}", v1.username, v1.password);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                )
            })
        } else {
            (!config.token.is_empty()).then(|| format!("Token {}", config.token))
        };
        if let Some(authorization) = authorization {
            headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::try_from(authorization)
                    .map_err(|e| format!("the credentials do not fit a header: {e}"))?,
            );
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Ok(Exporter::new(
            Influx {
                client: HttpClient::new(&config.tls, &HttpConnections::default(), config.timeout)?,
                url: config.write_url()?,
                headers,
                schema: if config.metrics_schema == "telegraf-prometheus-v2" {
                    Schema::TelegrafPrometheusV2
                } else {
                    Schema::TelegrafPrometheusV1
                },
                span_dimensions: config.span_dimensions.clone(),
                log_record_dimensions: config.log_record_dimensions.clone(),
                max_lines: config.payload_max_lines,
                max_bytes: config.payload_max_bytes,
            },
            config.helper(),
        ))
    }
}

struct Influx {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    schema: Schema,
    span_dimensions: Vec<String>,
    log_record_dimensions: Vec<String>,
    max_lines: usize,
    max_bytes: usize,
}

/// A batch as request bodies, how many of them are written, and what could not be converted.
struct Payloads {
    bodies: Vec<Bytes>,
    written: AtomicUsize,
    refused: usize,
}

impl Export for Influx {
    type Payload = Payloads;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Payloads, ExportError> {
        let (lines, refused) = match batch.request() {
            AnyRequest::Traces(request) => traces::lines(request, &self.span_dimensions),
            AnyRequest::Metrics(request) => metrics::lines(request, self.schema),
            AnyRequest::Logs(request) => logs::lines(request, &self.log_record_dimensions),
        };
        Ok(Payloads {
            bodies: bodies(&lines, self.max_lines, self.max_bytes),
            written: AtomicUsize::new(0),
            refused,
        })
    }

    async fn send(&self, payloads: &Payloads) -> Result<Delivered, ExportError> {
        for body in &payloads.bodies[payloads.written.load(Ordering::Acquire)..] {
            super::otlphttp::post_expecting_success(
                &self.client,
                &self.url,
                &self.headers,
                body.clone(),
            )
            .await?;
            payloads.written.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Delivered {
            rejected: payloads.refused,
            message: if payloads.refused == 0 {
                String::new()
            } else {
                "items InfluxDB cannot store (no time or id, exponential histograms, bucket counts that do not fit \
                 their bounds)"
                    .to_owned()
            },
        })
    }
}

/// The lines as request bodies of at most `max_lines` lines and `max_bytes` bytes (a longer line alone).
fn bodies(lines: &[Line], max_lines: usize, max_bytes: usize) -> Vec<Bytes> {
    let mut bodies = Vec::new();
    let (mut body, mut count) = (String::new(), 0);
    let mut next = String::new();
    for line in lines {
        next.clear();
        if !line.write(&mut next) {
            continue;
        }
        if count > 0 && (count == max_lines || body.len() + next.len() > max_bytes) {
            bodies.push(Bytes::from(std::mem::take(&mut body)));
            count = 0;
        }
        body.push_str(&next);
        count += 1;
    }
    if count > 0 {
        bodies.push(Bytes::from(body));
    }
    bodies
}

#[cfg(test)]
mod tests;
