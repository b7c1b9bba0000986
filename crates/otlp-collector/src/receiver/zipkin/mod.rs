//! The `zipkin` receiver (otelcol-contrib's, traces only): takes spans from Zipkin tracers (Brave, zipkin-go,
//! zipkin-js, OpenTelemetry SDKs' Zipkin exporters) on `POST /api/v2/spans`, as JSON (`application/json`) or
//! protobuf (`application/x-protobuf`), gzip, zstd or deflate compressed or not, and hands them on as OTLP.
//!
//! ```yaml
//! receivers:
//!   zipkin:
//!     endpoint: "0.0.0.0:9411"
//!     parse_string_tags: true
//! ```
//!
//! A body that cannot be read is answered `400` with what is wrong and where (`span 3: traceId ...`), and nothing
//! of it is taken; a full pipeline, `429` or `503` with `Retry-After`, as the `otlp` receiver answers. Taken spans
//! are answered `202 Accepted`, as Zipkin's server does. Zipkin v1 (`/api/v1/spans`) is answered `400` with the
//! way to v2: every tracer still maintained sends v2.

mod config;
use crate::zipkin as model;
mod translate;

pub use crate::zipkin::BadSpans;
pub use config::ZipkinReceiverConfig;

use super::RunningReceiver;
use super::http_server::{http_server_settings, serve_http};
use super::otlp::http::{Answer, Encoding, Failure, HttpState, read_body, submit};
use crate::component::{Component, ReceiverContext, ReceiverFactory};
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use otlp_model::OtlpRequest as _;
use std::sync::Arc;

/// The path Zipkin v2 tracers send to.
const SPANS_V2: &str = "/api/v2/spans";
/// The path of the retired v1 format.
const SPANS_V1: &str = "/api/v1/spans";

/// The `zipkin` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = ZipkinReceiverConfig;
    const TYPE: &'static str = "zipkin";
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    async fn start(
        &self,
        config: &ZipkinReceiverConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let parse_string_tags = config.parse_string_tags;
        serve_http(
            context,
            http_server_settings!(config),
            |http| ZipkinState {
                http,
                parse_string_tags,
            },
            |router| {
                router
                    .route(SPANS_V2, axum::routing::post(spans))
                    .route(SPANS_V1, axum::routing::post(version_1))
                    .fallback(unknown_path)
            },
        )
        .await
    }
}

struct ZipkinState {
    http: HttpState,
    parse_string_tags: bool,
}

async fn spans(State(state): State<Arc<ZipkinState>>, headers: HeaderMap, body: Body) -> Response {
    let result: Answer<()> = async {
        let caller = state.http.authenticate(&headers)?;
        let (encoding, body) = read_body(&state.http, &headers, body).await?;
        let spans = match encoding {
            Encoding::Json => model::from_json(&body),
            Encoding::Protobuf => model::from_proto(&body),
        }
        .map_err(|e| Failure::bad_request(encoding, e.to_string()))?;
        let mut request = translate::to_otlp(spans, state.parse_string_tags);
        if let Some(rejected) = request.remove_invalid() {
            state.http.counters.refused(
                Signal::Traces,
                usize::try_from(rejected.items).unwrap_or(usize::MAX),
            );
        }
        if request.resource_spans.is_empty() {
            return Ok(());
        }
        submit(&state.http, encoding, Batch::new(request), caller).await
    }
    .await;
    match result {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(failure) => failure.into_response(),
    }
}

async fn version_1() -> Response {
    Failure::bad_request(
        Encoding::Json,
        format!(
            "Zipkin v1 spans are not taken here; send v2 to {SPANS_V2} (Brave, zipkin-go and the OpenTelemetry \
             exporters' default)"
        ),
    )
    .into_response()
}

async fn unknown_path(uri: http::Uri) -> Response {
    Failure::new(
        Encoding::Json,
        StatusCode::NOT_FOUND,
        tonic::Code::Unimplemented,
        format!(
            "no Zipkin endpoint at `{}`; this receiver takes POST {SPANS_V2}",
            uri.path()
        ),
    )
    .into_response()
}
