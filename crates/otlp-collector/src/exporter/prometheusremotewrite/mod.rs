//! The `prometheusremotewrite` exporter (otelcol-contrib's, metrics only): pushes every point to a Prometheus
//! remote write endpoint (Prometheus with `--web.enable-remote-write-receiver`, Mimir, Cortex, Thanos Receive,
//! VictoriaMetrics), as remote write 1.0: a `prometheus.WriteRequest` in protobuf, snappy-compressed.
//!
//! ```yaml
//! exporters:
//!   prometheusremotewrite:
//!     endpoint: "http://prometheus:9090/api/v1/write"
//!     external_labels: { cluster: eu-1 }
//!     headers: { X-Scope-OrgID: shop }
//! ```
//!
//! Series are named and labelled as the `prometheus` exporter serves them (`convert.rs`). A batch becomes one
//! request, or several when it encodes larger than `max_batch_size_bytes`, each series whole in one of them, sent
//! `remote_write_queue.num_consumers` at a time; a retry sends again only the requests not yet accepted. Batches
//! go one after another (the queue has a single consumer, as otelcol's), because Prometheus refuses a request that
//! holds a series' samples older than the last it stored. Answers 5xx and 429 are retried, after `Retry-After`
//! when given; the rest of 4xx are not (the request is malformed or refused, and would be again).

mod config;
mod convert;
use crate::remote_write as wire;

pub use config::{Enabled, RemoteWriteExporterConfig, RemoteWriteQueue};

use super::otlphttp::client::HttpClient;
use super::otlphttp::config::HttpConnections;
use super::{Delivered, Export, ExportError, Exporter};
use crate::auth::client_auth;
use crate::client::ClientInfo;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::{AnyRequest, Batch, Signal};
use bytes::Bytes;
use convert::Converter;
use futures::StreamExt as _;
use prost::Message as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wire::WriteRequest;

/// The `prometheusremotewrite` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = RemoteWriteExporterConfig;
    const TYPE: &'static str = "prometheusremotewrite";

    fn validate(&self, config: &RemoteWriteExporterConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ExporterFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &RemoteWriteExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let mut headers = super::otlphttp::client::header_map(&config.headers)?;
        let auth = client_auth(config.auth.as_ref(), context.authenticators)?;
        // The protocol's own headers, over anything configured.
        for (name, value) in [
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "snappy"),
            ("x-prometheus-remote-write-version", "0.1.0"),
            (
                "user-agent",
                concat!("otlp-suite/", env!("CARGO_PKG_VERSION")),
            ),
        ] {
            headers.insert(name, http::HeaderValue::from_static(value));
        }
        let url: http::Uri = config
            .endpoint
            .parse()
            .map_err(|e| format!("endpoint `{}`: {e}", config.endpoint))?;
        let client = HttpClient::new(&config.tls, &HttpConnections::default(), config.timeout)?;
        Ok(Exporter::new(
            RemoteWrite {
                client,
                url,
                headers,
                auth,
                converter: Converter::new(config),
                max_request_bytes: config.max_batch_size_bytes,
                parallelism: config.parallelism(),
            },
            config.helper(),
        ))
    }
}

struct RemoteWrite {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    /// Its header goes over the configured ones, under the protocol's own.
    auth: Option<crate::auth::ClientAuth>,
    converter: Converter,
    max_request_bytes: usize,
    parallelism: usize,
}

/// A batch as its requests, each compressed, with which of them the backend has accepted.
struct Requests {
    bodies: Vec<Bytes>,
    /// The client whose data they are.
    client: Option<Arc<ClientInfo>>,
    accepted: Vec<AtomicBool>,
    refused_points: usize,
    refused_message: String,
}

impl Export for RemoteWrite {
    type Payload = Requests;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Requests, ExportError> {
        let AnyRequest::Metrics(request) = batch.request() else {
            return Err(ExportError::permanent(
                "prometheusremotewrite exports metrics only",
            ));
        };
        let converted = self.converter.convert(request);
        let mut encoder = snap::raw::Encoder::new();
        let bodies = split(converted.series, converted.metadata, self.max_request_bytes)
            .into_iter()
            .map(|request| {
                encoder
                    .compress_vec(&request.encode_to_vec())
                    .map(Bytes::from)
                    .map_err(|e| ExportError::permanent(format!("cannot compress: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Requests {
            client: batch.shared_client(),
            accepted: bodies.iter().map(|_| AtomicBool::new(false)).collect(),
            bodies,
            refused_points: converted.refused.points,
            refused_message: converted.refused.message(),
        })
    }

    async fn send(&self, requests: &Requests) -> Result<Delivered, ExportError> {
        let pending =
            (0..requests.bodies.len()).filter(|at| !requests.accepted[*at].load(Ordering::Acquire));
        let mut answers = futures::stream::iter(pending)
            .map(|at| async move {
                let client = requests.client.as_deref();
                (at, self.post(&requests.bodies[at], client).await)
            })
            .buffer_unordered(self.parallelism);
        let mut failed: Option<ExportError> = None;
        while let Some((at, answer)) = answers.next().await {
            match answer {
                Ok(()) => requests.accepted[at].store(true, Ordering::Release),
                Err(error) => failed = Some(worse(failed, error)),
            }
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(Delivered {
                rejected: requests.refused_points,
                message: requests.refused_message.clone(),
            }),
        }
    }
}

impl RemoteWrite {
    async fn post(&self, body: &Bytes, client: Option<&ClientInfo>) -> Result<(), ExportError> {
        let headers = match &self.auth {
            None => std::borrow::Cow::Borrowed(&self.headers),
            Some(auth) => {
                let mut headers = self.headers.clone();
                auth.apply(&mut headers, client).await?;
                std::borrow::Cow::Owned(headers)
            }
        };
        super::otlphttp::post_expecting_success(&self.client, &self.url, &headers, body.clone())
            .await
    }
}

/// Of two failures of one attempt, the one that decides it: a permanent one (retrying cannot deliver that request),
/// else the one asking for the longer wait.
fn worse(kept: Option<ExportError>, new: ExportError) -> ExportError {
    match (kept, new) {
        (None, new) => new,
        (Some(permanent @ (ExportError::Permanent { .. } | ExportError::TooLarge { .. })), _) => {
            permanent
        }
        (Some(_), permanent @ (ExportError::Permanent { .. } | ExportError::TooLarge { .. })) => {
            permanent
        }
        (
            Some(ExportError::Retryable {
                message,
                retry_after: kept,
            }),
            ExportError::Retryable { retry_after, .. },
        ) => ExportError::Retryable {
            message,
            retry_after: kept.max(retry_after),
        },
    }
}

/// The series and metadata as requests of at most `max_bytes` encoded (a single series larger than that alone in
/// its own), in order.
fn split(
    series: Vec<wire::TimeSeries>,
    metadata: Vec<wire::MetricMetadata>,
    max_bytes: usize,
) -> Vec<WriteRequest> {
    // A repeated field's element costs its length, its length's varint and a one-byte tag.
    let framed = |len: usize| 1 + prost::length_delimiter_len(len) + len;
    let mut requests = Vec::new();
    let mut current = WriteRequest::default();
    let mut size = 0;
    let full = |size: usize, len: usize, current: &WriteRequest| {
        size + len > max_bytes && !(current.timeseries.is_empty() && current.metadata.is_empty())
    };
    for one in series {
        let len = framed(one.encoded_len());
        if full(size, len, &current) {
            requests.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.timeseries.push(one);
    }
    for one in metadata {
        let len = framed(one.encoded_len());
        if full(size, len, &current) {
            requests.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.metadata.push(one);
    }
    if !(current.timeseries.is_empty() && current.metadata.is_empty()) {
        requests.push(current);
    }
    requests
}

#[cfg(test)]
mod tests;
