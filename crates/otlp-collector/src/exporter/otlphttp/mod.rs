//! The `otlphttp` exporter: OTLP over HTTP (protobuf or JSON), with otelcol's settings and the OTLP/HTTP
//! specification's rules for which answers are retried. A batch is encoded and compressed once; every retry
//! sends the same body.

pub(crate) mod client;
pub(crate) mod config;

use client::HttpClient;
pub use config::{HttpEncoding, OtlpHttpExporterConfig};

use super::otlp::delivered;
use super::{Delivered, Export, ExportError, Exporter};
use crate::Batch;
use crate::auth::{ClientAuth, client_auth};
use crate::client::ClientInfo;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::compression::{Compression, compress};
use bytes::Bytes;
use otlp_model::{OtlpRequest, OtlpResponse, Rejected, Signal, with_signal};
use prost::Message;
use std::sync::Arc;
use std::time::Duration;

/// The `otlphttp` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = OtlpHttpExporterConfig;
    const TYPE: &'static str = "otlphttp";

    fn validate(&self, config: &OtlpHttpExporterConfig) -> Result<(), Invalid> {
        Ok(config.validate()?)
    }

    fn warnings(&self, config: &OtlpHttpExporterConfig) -> Vec<(String, String)> {
        config.warnings()
    }
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        config: &OtlpHttpExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let auth = client_auth(config.auth.as_ref(), context.authenticators)?;
        Ok(Exporter::new(
            OtlpHttpExport::new(config, auth)?,
            config.helper(),
        ))
    }
}

struct OtlpHttpExport {
    client: HttpClient,
    urls: [http::Uri; 3],
    encoding: HttpEncoding,
    compression: Compression,
    headers: http::HeaderMap,
    auth: Option<ClientAuth>,
}

impl OtlpHttpExport {
    fn new(config: &OtlpHttpExporterConfig, auth: Option<ClientAuth>) -> Result<Self, String> {
        let url = |signal: Signal| -> Result<http::Uri, String> {
            let url = config
                .url(signal)
                .ok_or_else(|| "`endpoint` is required".to_string())?;
            url.parse().map_err(|e| format!("endpoint `{url}`: {e}"))
        };
        let headers = client::header_map(&config.headers)?;
        let client = HttpClient::new(&config.tls, &config.connections(), config.timeout)?;
        Ok(OtlpHttpExport {
            client,
            urls: [
                url(Signal::Traces)?,
                url(Signal::Metrics)?,
                url(Signal::Logs)?,
            ],
            encoding: config.encoding,
            compression: config.compression,
            headers,
            auth,
        })
    }

    fn content_type(&self) -> &'static str {
        match self.encoding {
            HttpEncoding::Proto => "application/x-protobuf",
            HttpEncoding::Json => "application/json",
        }
    }
}

/// `Retry-After` as seconds; an HTTP date is not worth a date parser here, the backoff covers it.
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// POSTs `body` to `url` for an exporter whose backend answers with a status alone (remote write, InfluxDB): a
/// 2xx is delivered, a 5xx or 429 worth retrying (after `Retry-After`), anything else refused for good; the
/// error quotes the start of the answer.
pub(crate) async fn post_expecting_success(
    client: &client::HttpClient,
    url: &http::Uri,
    headers: &http::HeaderMap,
    body: bytes::Bytes,
) -> Result<(), crate::exporter::ExportError> {
    use crate::exporter::ExportError;
    let answer = client
        .post(url, headers, body)
        .await
        .map_err(|e| ExportError::retryable(format!("POST {url}: {e}")))?;
    let status = answer.status;
    if status.is_success() {
        return Ok(());
    }
    let message = format!(
        "POST {url} answered {status}: {}",
        String::from_utf8_lossy(&answer.body[..answer.body.len().min(512)]).trim_end()
    );
    if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS {
        Err(ExportError::Retryable {
            message,
            retry_after: retry_after(&answer.headers),
        })
    } else {
        Err(ExportError::Permanent { message })
    }
}

/// The partial success a response body reports, in the request's encoding; nothing when it cannot be read.
fn rejected<R: OtlpRequest>(encoding: HttpEncoding, body: &[u8]) -> Option<Rejected> {
    if body.is_empty() {
        return None;
    }
    let response = match encoding {
        HttpEncoding::Proto => R::Response::decode(body).ok()?,
        HttpEncoding::Json => serde_json::from_slice::<R::Response>(body).ok()?,
    };
    response.rejected()
}

/// A batch encoded and compressed for one signal's URL, and the client whose data it is.
struct Body {
    signal: Signal,
    bytes: Bytes,
    client: Option<Arc<ClientInfo>>,
}

impl Export for OtlpHttpExport {
    type Payload = Body;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Body, ExportError> {
        let encoded = match self.encoding {
            // The bytes as received, when nothing changed them.
            HttpEncoding::Proto => batch.to_protobuf(),
            HttpEncoding::Json => {
                let mut out = Vec::with_capacity(batch.encoded_len() * 2);
                batch
                    .write_json(&mut out)
                    .map_err(|e| ExportError::permanent(format!("cannot encode as JSON: {e}")))?;
                Bytes::from(out)
            }
        };
        let bytes = match self.compression {
            Compression::None => encoded,
            compression => Bytes::from(
                compress(compression, &encoded)
                    .map_err(|e| ExportError::permanent(format!("cannot compress: {e}")))?,
            ),
        };
        Ok(Body {
            signal: batch.signal(),
            bytes,
            client: batch.shared_client(),
        })
    }

    async fn send(&self, body: &Body) -> Result<Delivered, ExportError> {
        let url = &self.urls[body.signal.index()];
        let mut headers = self.headers.clone();
        if let Some(auth) = &self.auth {
            auth.apply(&mut headers, body.client.as_deref()).await?;
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(self.content_type()),
        );
        if let Some(encoding) = self.compression.content_encoding() {
            headers.insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static(encoding),
            );
        }
        let response = self
            .client
            .post(url, &headers, body.bytes.clone())
            .await
            .map_err(|e| ExportError::retryable(format!("POST {url}: {e}")))?;
        let status = response.status;
        let hint = retry_after(&response.headers);
        let answer = response.body;
        if status.is_success() {
            let rejected = with_signal!(body.signal, R => rejected::<R>(self.encoding, &answer));
            return Ok(delivered(rejected));
        }
        let message = format!(
            "POST {url} answered {status}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(512)])
        );
        // The OTLP/HTTP specification's retryable answers.
        match status.as_u16() {
            429 | 502 | 503 | 504 => Err(ExportError::Retryable {
                message,
                retry_after: hint,
            }),
            413 => Err(ExportError::TooLarge { message }),
            _ => Err(ExportError::Permanent { message }),
        }
    }
}
