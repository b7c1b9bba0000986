//! The `datadog` receiver (otelcol-contrib's): the Datadog Agent's trace API, so that applications traced with
//! Datadog's tracers (ddtrace for Python, Java, Node.js, Go, Ruby, .NET, PHP) send to the collector instead of an
//! Agent, unchanged but for the address (`DD_TRACE_AGENT_URL`), and Datadog's metrics API, for what submits metrics
//! with Datadog's API clients.
//!
//! ```yaml
//! receivers:
//!   datadog:
//!     endpoint: 0.0.0.0:8126
//! ```
//!
//! Traces (`payload.rs`, `translate.rs`): `/v0.3/traces` and `/v0.4/traces` (MessagePack, or JSON) and
//! `/v0.5/traces` (MessagePack with a string table, the Python tracer's default), `PUT` or `POST`, answered as the
//! Agent answers them. `GET /info` tells tracers which endpoints there are, as the Agent does. Metrics
//! (`series.rs`): `/api/v1/series`, `/api/v2/series` (JSON) and `/api/v1/check_run`, answered `202` as Datadog's
//! API answers them.
//!
//! A body that cannot be read is answered `400` with what is wrong and where (`trace 0, span 2: ...`), and
//! nothing of it is taken; a full pipeline `429` or `503` with `Retry-After`, as the `otlp` receiver answers. A
//! signal no pipeline takes the receiver for is answered `404` on its endpoints and left out of `/info`.
//!
//! Not taken, answered `404` with the reason: `/v0.7/traces` and `/api/v0.2/traces` (the Agent's own payloads to
//! Datadog, which tracers do not send), the Agent's protobuf series and sketches, client-side stats (`/v0.6/stats`,
//! which tracers send only when `/info` lists it) and `/intake`.

mod config;
mod payload;
mod series;
mod tags;
mod translate;

pub use config::DatadogReceiverConfig;
pub use payload::BadTraces;
pub use series::BadSeries;

use super::RunningReceiver;
use super::http_server::{http_server_settings, serve_http};
use super::otlp::http::{
    Answer, Caller, Encoding, Failure, HttpState, read_any_body, submit, within,
};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, Uri};
use otlp_model::OtlpRequest as _;
use std::sync::Arc;
use std::time::Duration;
use translate::{TraceIdHighs, Tracer};

/// The trace endpoints tracers send to.
const TRACE_PATHS: &[&str] = &["/v0.3/traces", "/v0.4/traces", "/v0.5/traces"];
/// The metrics endpoints.
const METRICS_PATHS: &[&str] = &["/api/v1/series", "/api/v2/series", "/api/v1/check_run"];

/// The `datadog` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = DatadogReceiverConfig;
    const TYPE: &'static str = "datadog";

    fn validate(&self, config: &DatadogReceiverConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics];

    async fn start(
        &self,
        config: &DatadogReceiverConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let timeout = config.read_timeout;
        let highs = TraceIdHighs::new(config.trace_id_cache_size);
        serve_http(
            context,
            http_server_settings!(config),
            |http| DatadogState {
                http,
                timeout,
                highs,
            },
            |router| {
                router
                    .route("/", get(root).post(root))
                    .route("/info", get(info))
                    .route("/v0.3/traces", post(traces_v03).put(traces_v03))
                    .route("/v0.4/traces", post(traces_v04).put(traces_v04))
                    .route("/v0.5/traces", post(traces_v05).put(traces_v05))
                    .route("/api/v1/series", post(series_v1))
                    .route("/api/v2/series", post(series_v2))
                    .route("/api/v1/check_run", post(check_run))
                    .fallback(unknown_path)
            },
        )
        .await
    }
}

struct DatadogState {
    http: HttpState,
    timeout: Duration,
    highs: TraceIdHighs,
}

/// The Agent answers its root; some clients check that something listens there.
async fn root() -> StatusCode {
    StatusCode::OK
}

/// What the Agent's `/info` tells tracers: the endpoints there are, and that the features they would otherwise
/// turn on (dropping unsampled traces, client-side stats) are off.
async fn info(State(state): State<Arc<DatadogState>>) -> Response {
    let mut endpoints = vec!["/", "/info"];
    if state.http.ingest.serves(Signal::Traces) {
        endpoints.extend(TRACE_PATHS);
    }
    if state.http.ingest.serves(Signal::Metrics) {
        endpoints.extend(METRICS_PATHS);
    }
    let body = serde_json::json!({
        "version": format!("otlp-suite-{}", env!("CARGO_PKG_VERSION")),
        "endpoints": endpoints,
        "client_drop_p0s": false,
        "span_meta_structs": false,
        "long_running_spans": false,
    });
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn not_here(message: String) -> Response {
    Failure::new(
        Encoding::Json,
        StatusCode::NOT_FOUND,
        tonic::Code::Unimplemented,
        message,
    )
    .into_response()
}

async fn unknown_path(uri: Uri) -> Response {
    not_here(format!(
        "no endpoint at `{}`: this receiver takes traces on {} and metrics on {}",
        uri.path(),
        TRACE_PATHS.join(", "),
        METRICS_PATHS.join(", ")
    ))
}

/// Reads the body of a request for `signal`, once the signal is served and the client authenticated; the client
/// with it.
async fn read(
    state: &DatadogState,
    signal: Signal,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Caller, Vec<u8>), Response> {
    if !state.http.ingest.serves(signal) {
        return Err(not_here(format!(
            "no {signal} pipeline takes this receiver"
        )));
    }
    let read = async {
        let caller = state.http.authenticate(headers)?;
        let body = within(
            state.timeout,
            read_any_body(&state.http, headers, body, Encoding::Json),
        )
        .await?;
        Ok::<_, Box<Failure>>((caller, body))
    };
    read.await.map_err(|failure| failure.into_response())
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The body's media type, lowercase, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    header(headers, "content-type")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The traces of a `/v0.3` or `/v0.4` body: MessagePack or JSON as its content type says, JSON when it says
/// nothing, and either when it says something else (as the Agent does its best).
fn v04_traces(body: &[u8], headers: &HeaderMap) -> Result<Vec<Vec<payload::DdSpan>>, BadTraces> {
    match media_type(headers).as_str() {
        "application/msgpack" => payload::v04(body, false),
        "application/json" | "text/json" | "" => payload::v04(body, true),
        _ => payload::v04(body, true).or_else(|_| payload::v04(body, false)),
    }
}

#[derive(Clone, Copy)]
enum Version {
    V03,
    V04,
    V05,
}

async fn traces_v03(
    State(state): State<Arc<DatadogState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    traces(&state, Version::V03, &headers, body).await
}

async fn traces_v04(
    State(state): State<Arc<DatadogState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    traces(&state, Version::V04, &headers, body).await
}

async fn traces_v05(
    State(state): State<Arc<DatadogState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    traces(&state, Version::V05, &headers, body).await
}

async fn traces(
    state: &DatadogState,
    version: Version,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let (caller, body) = match read(state, Signal::Traces, headers, body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let taken: Answer<()> = async {
        // Tracers probe an endpoint with an empty body; there is nothing to take.
        if body.is_empty() {
            return Ok(());
        }
        let traces = match version {
            Version::V03 | Version::V04 => v04_traces(&body, headers),
            Version::V05 => payload::v05(&body),
        }
        .map_err(|e| Failure::bad_request(Encoding::Json, e.to_string()))?;
        let tracer = Tracer {
            language: header(headers, "datadog-meta-lang"),
            language_version: header(headers, "datadog-meta-lang-version"),
            version: header(headers, "datadog-meta-tracer-version"),
            container_id: header(headers, "datadog-container-id"),
        };
        let mut request = translate::to_otlp(traces, &tracer, &state.highs);
        if let Some(rejected) = request.remove_invalid() {
            state.http.counters.refused(
                Signal::Traces,
                usize::try_from(rejected.items).unwrap_or(usize::MAX),
            );
        }
        if request.resource_spans.is_empty() {
            return Ok(());
        }
        submit(&state.http, Encoding::Json, Batch::new(request), caller).await
    }
    .await;
    match taken {
        // The Agent answers the versions before v0.4 in text and the later ones in JSON.
        Ok(()) => match version {
            Version::V03 => ([(http::header::CONTENT_TYPE, "text/plain")], "OK").into_response(),
            Version::V04 | Version::V05 => {
                ([(http::header::CONTENT_TYPE, "application/json")], "{}").into_response()
            }
        },
        Err(failure) => failure.into_response(),
    }
}

#[derive(Clone, Copy)]
enum MetricsEndpoint {
    SeriesV1,
    SeriesV2,
    CheckRun,
}

async fn series_v1(
    State(state): State<Arc<DatadogState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    metrics(&state, MetricsEndpoint::SeriesV1, &headers, body).await
}

async fn series_v2(
    State(state): State<Arc<DatadogState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    metrics(&state, MetricsEndpoint::SeriesV2, &headers, body).await
}

async fn check_run(
    State(state): State<Arc<DatadogState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    metrics(&state, MetricsEndpoint::CheckRun, &headers, body).await
}

async fn metrics(
    state: &DatadogState,
    endpoint: MetricsEndpoint,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let (caller, body) = match read(state, Signal::Metrics, headers, body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    if matches!(endpoint, MetricsEndpoint::SeriesV2)
        && !matches!(media_type(headers).as_str(), "application/json" | "")
    {
        return Failure::new(
            Encoding::Json,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            tonic::Code::InvalidArgument,
            "v2 series are taken as JSON (`Content-Type: application/json`); the Agent's protobuf series are \
             not supported"
                .to_owned(),
        )
        .into_response();
    }
    let taken: Answer<()> = async {
        let request = match endpoint {
            MetricsEndpoint::SeriesV1 => series::v1(&body),
            MetricsEndpoint::SeriesV2 => series::v2(&body),
            MetricsEndpoint::CheckRun => series::checks(&body, crate::clock::now_nanos()),
        }
        .map_err(|e| Failure::bad_request(Encoding::Json, e.to_string()))?;
        if request.resource_metrics.is_empty() {
            return Ok(());
        }
        submit(&state.http, Encoding::Json, Batch::new(request), caller).await
    }
    .await;
    match taken {
        Ok(()) => {
            let body = match endpoint {
                MetricsEndpoint::SeriesV2 => r#"{"errors":[]}"#,
                MetricsEndpoint::SeriesV1 | MetricsEndpoint::CheckRun => r#"{"status":"ok"}"#,
            };
            (
                StatusCode::ACCEPTED,
                [(http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Err(failure) => failure.into_response(),
    }
}
