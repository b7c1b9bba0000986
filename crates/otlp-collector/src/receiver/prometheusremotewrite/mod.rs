//! The `prometheusremotewrite` receiver (otelcol-contrib's): what Prometheus, Grafana Alloy, the OpenTelemetry
//! Collector's exporter and other remote write clients send, taken as OTLP metrics.
//!
//! ```yaml
//! receivers:
//!   prometheusremotewrite:
//!     endpoint: "0.0.0.0:9090"
//! ```
//!
//! ```yaml
//! # prometheus.yml
//! remote_write:
//!   - url: http://collector:9090/api/v1/write
//! ```
//!
//! `POST /api/v1/write` takes remote write 1.0: a snappy-compressed `prometheus.WriteRequest` in protobuf, which
//! every client sends by default (otelcol's receiver takes 2.0 alone). A 2.0 request (`Content-Type:
//! application/x-protobuf;proto=io.prometheus.write.v2.Request`) is answered `415`, which tells a client that can
//! to send 1.0. How series become metrics is in `convert.rs`. A body that cannot be read is answered `400` with
//! what is wrong (clients do not retry it); a full pipeline `429` or `503` with `Retry-After`, which Prometheus
//! retries; a taken one `204 No Content`, as Prometheus answers.

mod config;
mod convert;

pub use config::PrometheusRemoteWriteConfig;

use super::RunningReceiver;
use super::http_server::{http_server_settings, serve_http};
use super::otlp::http::{Answer, Encoding, Failure, HttpState, submit};
use crate::component::{Component, ReceiverContext, ReceiverFactory};
use crate::remote_write::WriteRequest;
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use convert::Families;
use http::{HeaderMap, StatusCode, header};
use std::sync::Arc;

/// Where remote write clients post.
const WRITE_PATH: &str = "/api/v1/write";

/// The `prometheusremotewrite` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = PrometheusRemoteWriteConfig;
    const TYPE: &'static str = "prometheusremotewrite";
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &PrometheusRemoteWriteConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        serve_http(
            context,
            http_server_settings!(config),
            |http| RemoteWriteState {
                http,
                families: parking_lot::Mutex::new(Families::default()),
            },
            |router| {
                router
                    .route(WRITE_PATH, axum::routing::post(write))
                    .fallback(unknown_path)
            },
        )
        .await
    }
}

struct RemoteWriteState {
    http: HttpState,
    /// What the metadata sent so far says of each family.
    families: parking_lot::Mutex<Families>,
}

async fn write(
    State(state): State<Arc<RemoteWriteState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match take(&state, &headers, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(failure) => failure.into_response(),
    }
}

async fn take(state: &RemoteWriteState, headers: &HeaderMap, body: Body) -> Answer<()> {
    let caller = state.http.authenticate(headers)?;
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let content_type = text(header::CONTENT_TYPE);
    if content_type.contains("io.prometheus.write.v2.request") {
        return Err(unsupported(
            "remote write 2.0 is not taken yet: send 1.0 (prometheus.WriteRequest)".to_owned(),
        ));
    }
    if !content_type.is_empty() && !content_type.starts_with("application/x-protobuf") {
        return Err(unsupported(format!(
            "content type `{content_type}` is not remote write's application/x-protobuf"
        )));
    }
    let encoding = text(header::CONTENT_ENCODING);
    if !encoding.is_empty() && encoding != "snappy" {
        return Err(unsupported(format!(
            "content encoding `{encoding}` is not remote write's snappy"
        )));
    }
    let max = state.http.max_body;
    let body = axum::body::to_bytes(body, max).await.map_err(|_| {
        Failure::new(
            Encoding::Json,
            StatusCode::PAYLOAD_TOO_LARGE,
            tonic::Code::ResourceExhausted,
            format!("request body exceeds the limit of {max} bytes"),
        )
    })?;
    let request =
        decode(&body, max).map_err(|message| Failure::bad_request(Encoding::Json, message))?;
    let (otlp, refused) = {
        let mut families = state.families.lock();
        families.learn(&request);
        convert::to_otlp(&request, &families)
    };
    if refused > 0 {
        state.http.counters.refused(Signal::Metrics, refused);
    }
    let batch = Batch::new(otlp);
    if batch.item_count() == 0 {
        return Ok(());
    }
    submit(&state.http, Encoding::Json, batch, caller).await
}

/// The request in `body`: snappy's block format around a protobuf `WriteRequest`, at most `max` bytes once
/// decompressed (a few bytes of snappy can claim gigabytes).
fn decode(body: &[u8], max: usize) -> Result<WriteRequest, String> {
    let decompressed = crate::compression::decompress_snappy_block(body, max)
        .map_err(|problem| format!("the body is {problem}"))?;
    <WriteRequest as prost::Message>::decode(decompressed.as_slice())
        .map_err(|e| format!("body is not a prometheus.WriteRequest: {e}"))
}

fn unsupported(message: String) -> Box<Failure> {
    Failure::new(
        Encoding::Json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        tonic::Code::InvalidArgument,
        message,
    )
}

async fn unknown_path(uri: http::Uri) -> Response {
    Failure::new(
        Encoding::Json,
        StatusCode::NOT_FOUND,
        tonic::Code::Unimplemented,
        format!(
            "nothing at `{}`; this receiver takes POST {WRITE_PATH}",
            uri.path()
        ),
    )
    .into_response()
}
