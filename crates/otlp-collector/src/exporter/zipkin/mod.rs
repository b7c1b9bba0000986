//! The `zipkin` exporter (otelcol's): spans to a Zipkin server, or anything that takes Zipkin v2 (Jaeger, Grafana
//! Tempo, many APM vendors), as its JSON list or protobuf `ListOfSpans`.
//!
//! ```yaml
//! exporters:
//!   zipkin:
//!     endpoint: http://zipkin:9411/api/v2/spans
//!     format: proto
//!     default_service_name: unknown-service
//! ```
//!
//! How OTLP becomes Zipkin is in `translate.rs`; the encodings in `crate::zipkin`, which the `zipkin` receiver
//! reads with. A batch is one request. A `5xx` or `429` answer is retried, any other refusal is permanent; a span
//! without a trace or span id cannot be a Zipkin span and is counted as refused, the rest of its batch is sent.

mod config;
mod translate;

pub use config::{ZipkinExporterConfig, ZipkinFormat};

use super::otlphttp::client::HttpClient;
use super::otlphttp::config::HttpConnections;
use super::{Delivered, Export, ExportError, Exporter};
use crate::auth::{ClientAuth, client_auth};
use crate::client::ClientInfo;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::compression::{Compression, compress};
use crate::{Batch, Signal};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::sync::Arc;

/// The `zipkin` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = ZipkinExporterConfig;
    const TYPE: &'static str = "zipkin";

    fn validate(&self, config: &ZipkinExporterConfig) -> Result<(), Invalid> {
        Invalid::all_at(config.problems())
    }
}

impl ExporterFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    fn build(
        &self,
        config: &ZipkinExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let mut headers = super::otlphttp::client::header_map(&config.headers)?;
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(match config.format {
                ZipkinFormat::Json => "application/json",
                ZipkinFormat::Proto => "application/x-protobuf",
            }),
        );
        if let Some(encoding) = config.compression.content_encoding() {
            headers.insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static(encoding),
            );
        }
        Ok(Exporter::new(
            Zipkin {
                client: HttpClient::new(&config.tls, &HttpConnections::default(), config.timeout)?,
                url: super::otlphttp::client::http_url(&config.endpoint)?,
                headers,
                auth: client_auth(config.auth.as_ref(), context.authenticators)?,
                format: config.format,
                compression: config.compression,
                default_service_name: config.default_service_name.clone(),
            },
            config.helper(),
        ))
    }
}

struct Zipkin {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    auth: Option<ClientAuth>,
    format: ZipkinFormat,
    compression: Compression,
    default_service_name: String,
}

/// A batch as one request body, and what of it could not be a Zipkin span.
struct Body {
    bytes: Bytes,
    refused: usize,
    client: Option<Arc<ClientInfo>>,
}

impl Export for Zipkin {
    type Payload = Body;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Body, ExportError> {
        let request = batch
            .get::<ExportTraceServiceRequest>()
            .ok_or_else(|| ExportError::permanent("the zipkin exporter sends traces only"))?;
        let (spans, refused) = translate::to_zipkin(request, &self.default_service_name);
        let encoded = match self.format {
            ZipkinFormat::Json => crate::zipkin::to_json(&spans),
            ZipkinFormat::Proto => crate::zipkin::to_proto(&spans),
        };
        let bytes = match self.compression {
            Compression::None => Bytes::from(encoded),
            compression => Bytes::from(
                compress(compression, &encoded)
                    .map_err(|e| ExportError::permanent(format!("cannot compress: {e}")))?,
            ),
        };
        Ok(Body {
            bytes: if spans.is_empty() {
                Bytes::new()
            } else {
                bytes
            },
            refused,
            client: batch.shared_client(),
        })
    }

    async fn send(&self, body: &Body) -> Result<Delivered, ExportError> {
        if !body.bytes.is_empty() {
            let mut headers = self.headers.clone();
            if let Some(auth) = &self.auth {
                auth.apply(&mut headers, body.client.as_deref()).await?;
            }
            super::otlphttp::post_expecting_success(
                &self.client,
                &self.url,
                &headers,
                body.bytes.clone(),
            )
            .await?;
        }
        Ok(Delivered {
            rejected: body.refused,
            message: if body.refused == 0 {
                String::new()
            } else {
                "spans without a trace or span id, which Zipkin cannot take".to_owned()
            },
        })
    }
}
