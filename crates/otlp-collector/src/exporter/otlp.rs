//! The `otlp` (gRPC) and `otlphttp` exporters, with otelcol's settings and the OTLP specification's rules for
//! which failures are retried.

use super::{Delivered, Export, ExportError, HelperSettings, QueueConfig, RetryConfig};
use crate::config::de;
use crate::pipeline::BoxFuture;
use crate::receiver::otlp::compression::{Compression, compress};
use crate::{Batch, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_types::StatusExt;

/// Client TLS settings (otelcol's `tls` block).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTlsSettings {
    /// Plain text: no TLS at all.
    pub insecure: bool,
    /// PEM file with the CA certificates that sign the server's certificate (default: the system's roots).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM client key, for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// The name to check the server's certificate against, when it differs from the endpoint's host.
    pub server_name_override: Option<String>,
}

/// The `otlp` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpGrpcExporterConfig {
    /// `host:port` (TLS unless `tls.insecure`), `http://host:port` (plain) or `https://host:port` (TLS).
    pub endpoint: String,
    /// TLS settings.
    #[serde(default)]
    pub tls: ClientTlsSettings,
    /// Request compression: `gzip` (default), `zstd` or `none`.
    #[serde(default = "gzip")]
    pub compression: Compression,
    /// Extra gRPC metadata sent with every request (e.g. an API key).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Time allowed for one export attempt.
    #[serde(default = "five_seconds", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The sending queue.
    #[serde(default)]
    pub sending_queue: QueueConfig,
    /// Retries.
    #[serde(default)]
    pub retry_on_failure: RetryConfig,
}

fn gzip() -> Compression {
    Compression::Gzip
}

fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

impl OtlpGrpcExporterConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.sending_queue.validate()?;
        self.retry_on_failure.validate()?;
        grpc_endpoint(&self.endpoint, &self.tls)?;
        metadata(&self.headers)?;
        if self.compression == Compression::Deflate {
            return Err("compression: gRPC supports gzip, zstd or none".into());
        }
        Ok(())
    }

    pub(crate) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
        }
    }
}

/// Resolves otelcol's endpoint forms to a URI and whether it uses TLS.
fn grpc_endpoint(endpoint: &str, tls: &ClientTlsSettings) -> Result<(String, bool), String> {
    let (uri, secure) = if let Some(rest) = endpoint.strip_prefix("http://") {
        (format!("http://{rest}"), false)
    } else if let Some(rest) = endpoint.strip_prefix("https://") {
        (format!("https://{rest}"), !tls.insecure)
    } else if endpoint.contains("://") {
        return Err(format!(
            "endpoint `{endpoint}`: use host:port, http://host:port or https://host:port"
        ));
    } else if tls.insecure {
        (format!("http://{endpoint}"), false)
    } else {
        (format!("https://{endpoint}"), true)
    };
    let parsed: http::Uri = uri
        .parse()
        .map_err(|e| format!("endpoint `{endpoint}` is not a valid address: {e}"))?;
    if parsed.host().is_none() {
        return Err(format!("endpoint `{endpoint}` has no host"));
    }
    let uri = if secure {
        uri
    } else {
        uri.replacen("https://", "http://", 1)
    };
    Ok((uri, secure))
}

fn metadata(headers: &BTreeMap<String, String>) -> Result<MetadataMap, String> {
    let mut map = MetadataMap::new();
    for (key, value) in headers {
        let key = MetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("headers: `{key}` is not a valid header name"))?;
        let value = MetadataValue::try_from(value.as_str())
            .map_err(|_| format!("headers: the value of `{key}` is not a valid header value"))?;
        map.insert(key, value);
    }
    Ok(map)
}

pub(crate) struct OtlpGrpcExporter {
    channel: Channel,
    compression: Option<CompressionEncoding>,
    metadata: MetadataMap,
}

impl OtlpGrpcExporter {
    pub(crate) fn new(config: &OtlpGrpcExporterConfig) -> Result<Self, String> {
        let (uri, secure) = grpc_endpoint(&config.endpoint, &config.tls)?;
        let mut endpoint = Endpoint::from_shared(uri)
            .map_err(|e| format!("endpoint `{}`: {e}", config.endpoint))?
            .connect_timeout(config.timeout)
            .tcp_nodelay(true);
        if secure {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(ca) = &config.tls.ca_file {
                let pem =
                    std::fs::read(ca).map_err(|e| format!("tls.ca_file {}: {e}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            match (&config.tls.cert_file, &config.tls.key_file) {
                (Some(cert), Some(key)) => {
                    let cert = std::fs::read(cert)
                        .map_err(|e| format!("tls.cert_file {}: {e}", cert.display()))?;
                    let key = std::fs::read(key)
                        .map_err(|e| format!("tls.key_file {}: {e}", key.display()))?;
                    tls = tls.identity(Identity::from_pem(cert, key));
                }
                (None, None) => {}
                _ => return Err("tls.cert_file and tls.key_file go together".into()),
            }
            if let Some(name) = &config.tls.server_name_override {
                tls = tls.domain_name(name.clone());
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| format!("tls: {e}"))?;
        }
        let compression = match config.compression {
            Compression::Gzip => Some(CompressionEncoding::Gzip),
            Compression::Zstd => Some(CompressionEncoding::Zstd),
            Compression::None | Compression::Deflate => None,
        };
        Ok(OtlpGrpcExporter {
            // Lazy: the collector starts while its backend is down, and the queue absorbs the outage.
            channel: endpoint.connect_lazy(),
            compression,
            metadata: metadata(&config.headers)?,
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = self.metadata.clone();
        request
    }
}

/// The OTLP specification's retry rules for gRPC status codes.
pub(crate) fn grpc_error(status: &tonic::Status) -> ExportError {
    use tonic::Code;
    let message = format!("{:?}: {}", status.code(), status.message());
    let retry_after = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay);
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => ExportError::Retryable {
            message,
            retry_after,
        },
        // RESOURCE_EXHAUSTED is only worth retrying when the server says when.
        Code::ResourceExhausted if retry_after.is_some() => ExportError::Retryable {
            message,
            retry_after,
        },
        _ => ExportError::Permanent { message },
    }
}

fn rejected(count: i64, message: String) -> Delivered {
    Delivered {
        rejected: usize::try_from(count).unwrap_or(0),
        message,
    }
}

impl Export for OtlpGrpcExporter {
    fn export<'a>(
        &'a self,
        batch: &'a Arc<Batch>,
    ) -> BoxFuture<'a, Result<Delivered, ExportError>> {
        // The three signals differ only in their client type, request accessor and partial-success field.
        macro_rules! export_with {
            ($client:ident, $request:expr, $rejected:ident) => {{
                let mut client = $client::new(self.channel.clone());
                if let Some(c) = self.compression {
                    client = client.send_compressed(c);
                }
                let request = self.request($request.cloned().unwrap_or_default());
                let response = client
                    .export(request)
                    .await
                    .map_err(|s| grpc_error(&s))?
                    .into_inner();
                response
                    .partial_success
                    .map(|p| rejected(p.$rejected, p.error_message))
            }};
        }
        Box::pin(async move {
            let delivered = match batch.signal() {
                Signal::Traces => {
                    export_with!(TraceServiceClient, batch.as_traces(), rejected_spans)
                }
                Signal::Metrics => export_with!(
                    MetricsServiceClient,
                    batch.as_metrics(),
                    rejected_data_points
                ),
                Signal::Logs => {
                    export_with!(LogsServiceClient, batch.as_logs(), rejected_log_records)
                }
            };
            Ok(delivered.unwrap_or_default())
        })
    }
}

/// How the `otlphttp` exporter encodes requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpEncoding {
    /// `application/x-protobuf`.
    #[default]
    Proto,
    /// `application/json`.
    Json,
}

/// The `otlphttp` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpHttpExporterConfig {
    /// Base URL; `/v1/traces`, `/v1/metrics` and `/v1/logs` are appended.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Full URL for traces, overriding `endpoint`.
    #[serde(default)]
    pub traces_endpoint: Option<String>,
    /// Full URL for metrics, overriding `endpoint`.
    #[serde(default)]
    pub metrics_endpoint: Option<String>,
    /// Full URL for logs, overriding `endpoint`.
    #[serde(default)]
    pub logs_endpoint: Option<String>,
    /// `proto` (default) or `json`.
    #[serde(default)]
    pub encoding: HttpEncoding,
    /// Body compression: `gzip` (default), `zstd`, `deflate` or `none`.
    #[serde(default = "gzip")]
    pub compression: Compression,
    /// Extra HTTP headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Time allowed for one export attempt.
    #[serde(default = "thirty_seconds", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The sending queue.
    #[serde(default)]
    pub sending_queue: QueueConfig,
    /// Retries.
    #[serde(default)]
    pub retry_on_failure: RetryConfig,
}

impl OtlpHttpExporterConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.sending_queue.validate()?;
        self.retry_on_failure.validate()?;
        for signal in Signal::ALL {
            let url = self.url(signal).ok_or_else(|| {
                format!("`endpoint` (or `{}_endpoint`) is required", signal.as_str())
            })?;
            let parsed: reqwest::Url = url.parse().map_err(|e| format!("endpoint `{url}`: {e}"))?;
            if parsed.scheme() == "https" {
                return Err(format!(
                    "endpoint `{url}`: https is not supported by otlphttp in this build; \
                     use the `otlp` (gRPC) exporter for TLS"
                ));
            }
            if parsed.scheme() != "http" {
                return Err(format!("endpoint `{url}`: the scheme must be http"));
            }
        }
        for (key, value) in &self.headers {
            http::HeaderName::try_from(key.as_str())
                .map_err(|_| format!("headers: `{key}` is not a valid header name"))?;
            http::HeaderValue::try_from(value.as_str()).map_err(|_| {
                format!("headers: the value of `{key}` is not a valid header value")
            })?;
        }
        Ok(())
    }

    fn url(&self, signal: Signal) -> Option<String> {
        let specific = match signal {
            Signal::Traces => &self.traces_endpoint,
            Signal::Metrics => &self.metrics_endpoint,
            Signal::Logs => &self.logs_endpoint,
        };
        specific.clone().or_else(|| {
            self.endpoint
                .as_ref()
                .map(|base| format!("{}/v1/{}", base.trim_end_matches('/'), signal.as_str()))
        })
    }

    pub(crate) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
        }
    }
}

pub(crate) struct OtlpHttpExporter {
    client: reqwest::Client,
    urls: [String; 3],
    encoding: HttpEncoding,
    compression: Compression,
    headers: http::HeaderMap,
}

impl OtlpHttpExporter {
    pub(crate) fn new(config: &OtlpHttpExporterConfig) -> Result<Self, String> {
        let url = |s| {
            config
                .url(s)
                .ok_or_else(|| "`endpoint` is required".to_string())
        };
        let mut headers = http::HeaderMap::new();
        for (key, value) in &config.headers {
            let name =
                http::HeaderName::try_from(key.as_str()).map_err(|e| format!("headers: {e}"))?;
            let value =
                http::HeaderValue::try_from(value.as_str()).map_err(|e| format!("headers: {e}"))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(OtlpHttpExporter {
            client,
            urls: [
                url(Signal::Traces)?,
                url(Signal::Metrics)?,
                url(Signal::Logs)?,
            ],
            encoding: config.encoding,
            compression: config.compression,
            headers,
        })
    }
}

/// `Retry-After` as seconds; an HTTP date is not worth a date parser here, the backoff covers it.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn partial_success(signal: Signal, encoding: HttpEncoding, body: &[u8]) -> Delivered {
    if body.is_empty() {
        return Delivered::default();
    }
    let parsed = match (signal, encoding) {
        (Signal::Traces, HttpEncoding::Proto) => ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| rejected(p.rejected_spans, p.error_message)),
        (Signal::Traces, HttpEncoding::Json) => {
            serde_json::from_slice::<ExportTraceServiceResponse>(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map(|p| rejected(p.rejected_spans, p.error_message))
        }
        (Signal::Metrics, HttpEncoding::Proto) => ExportMetricsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| rejected(p.rejected_data_points, p.error_message)),
        (Signal::Metrics, HttpEncoding::Json) => {
            serde_json::from_slice::<ExportMetricsServiceResponse>(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map(|p| rejected(p.rejected_data_points, p.error_message))
        }
        (Signal::Logs, HttpEncoding::Proto) => ExportLogsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| rejected(p.rejected_log_records, p.error_message)),
        (Signal::Logs, HttpEncoding::Json) => {
            serde_json::from_slice::<ExportLogsServiceResponse>(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map(|p| rejected(p.rejected_log_records, p.error_message))
        }
    };
    parsed.unwrap_or_default()
}

impl Export for OtlpHttpExporter {
    fn export<'a>(
        &'a self,
        batch: &'a Arc<Batch>,
    ) -> BoxFuture<'a, Result<Delivered, ExportError>> {
        Box::pin(async move {
            let signal = batch.signal();
            let (body, content_type) = match self.encoding {
                HttpEncoding::Proto => (batch.to_protobuf(), "application/x-protobuf"),
                HttpEncoding::Json => {
                    let mut out = Vec::with_capacity(batch.encoded_len() * 2);
                    batch.write_json(&mut out).map_err(|e| {
                        ExportError::permanent(format!("cannot encode as JSON: {e}"))
                    })?;
                    (out, "application/json")
                }
            };
            let body = compress(self.compression, body)
                .map_err(|e| ExportError::permanent(format!("cannot compress: {e}")))?;
            let index = signal.index();
            let mut request = self
                .client
                .post(&self.urls[index])
                .headers(self.headers.clone())
                .header(http::header::CONTENT_TYPE, content_type);
            if let Some(encoding) = self.compression.content_encoding() {
                request = request.header(http::header::CONTENT_ENCODING, encoding);
            }
            let response =
                request.body(body).send().await.map_err(|e| {
                    ExportError::retryable(format!("POST {}: {e}", self.urls[index]))
                })?;
            let status = response.status();
            let hint = retry_after(response.headers());
            let bytes = response.bytes().await.unwrap_or_default();
            if status.is_success() {
                return Ok(partial_success(signal, self.encoding, &bytes));
            }
            let message = format!(
                "POST {} answered {status}: {}",
                self.urls[index],
                String::from_utf8_lossy(&bytes[..bytes.len().min(512)])
            );
            // The OTLP/HTTP specification's retryable answers.
            match status.as_u16() {
                429 | 502 | 503 | 504 => Err(ExportError::Retryable {
                    message,
                    retry_after: hint,
                }),
                _ => Err(ExportError::Permanent { message }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms_follow_otelcol() {
        let secure = ClientTlsSettings::default();
        let insecure = ClientTlsSettings {
            insecure: true,
            ..Default::default()
        };
        assert_eq!(
            grpc_endpoint("backend:4317", &secure).unwrap(),
            ("https://backend:4317".into(), true)
        );
        assert_eq!(
            grpc_endpoint("backend:4317", &insecure).unwrap(),
            ("http://backend:4317".into(), false)
        );
        assert_eq!(
            grpc_endpoint("http://backend:4317", &secure).unwrap(),
            ("http://backend:4317".into(), false)
        );
        assert!(grpc_endpoint("ftp://backend", &secure).is_err());
    }

    #[test]
    fn retry_rules_follow_the_otlp_specification() {
        let retryable = |s: tonic::Status| matches!(grpc_error(&s), ExportError::Retryable { .. });
        assert!(retryable(tonic::Status::unavailable("down")));
        assert!(retryable(tonic::Status::deadline_exceeded("slow")));
        assert!(!retryable(tonic::Status::invalid_argument("bad")));
        assert!(!retryable(tonic::Status::resource_exhausted("no hint")));
        let with_hint = tonic::Status::with_error_details(
            tonic::Code::ResourceExhausted,
            "full",
            tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_secs(2))),
        );
        match grpc_error(&with_hint) {
            ExportError::Retryable { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(2)))
            }
            other => panic!("{other:?}"),
        }
    }
}
