//! The `splunk_hec` receiver (otelcol-contrib's): Splunk's HTTP Event Collector API, so that what sends to Splunk
//! (Splunk logging libraries, Splunk Connect for Kubernetes, Fluent Bit's and Vector's `splunk` outputs, an
//! otelcol `splunk_hec` exporter) can send to the collector instead, unchanged but for the address.
//!
//! ```yaml
//! receivers:
//!   splunk_hec:
//!     endpoint: 0.0.0.0:8088
//!     access_token_passthrough: true
//! ```
//!
//! Events (`event.rs`) are posted to any path but the raw and health paths (`/services/collector`,
//! `/services/collector/event`, `/services/collector/event/1.0`), gzip-compressed or not; a log event becomes a
//! log record and a metric event (`"event": "metric"`) gauges (`convert.rs`), each going to the receiver's logs or
//! metrics pipelines. Text posted to `raw_path` becomes a record per line, its `host`, `source`, `sourcetype` and
//! `index` given as query parameters. `GET health_path` answers that HEC is healthy.
//!
//! Answers are HEC's: `200 {"text":"Success","code":0}` once every event is in the pipelines. The request's first
//! event that cannot be taken refuses the whole request with `400`, HEC's code and text for the reason, the
//! event's number (`invalid-event-number`, from 0) and a `detail` saying what is wrong with it; nothing of the
//! request is taken, so the client can send it again once fixed. A metric event where no metrics pipeline takes
//! the receiver (or a log event where no logs pipeline does) is refused the same way. A full pipeline is `503`
//! `Server is busy` (code 9) with `Retry-After`, as Splunk answers when its queues are full.
//!
//! Unlike otelcol's, a request may mix log and metric events when the receiver is in both kinds of pipelines
//! (otelcol refuses metric events once a logs pipeline uses the receiver), and a metric value that is not a
//! number is refused instead of being left out without a word.

mod config;
mod convert;
mod event;

pub use config::{HecMetadataAttributes, Splitting, SplunkHecConfig};

use super::RunningReceiver;
use super::http_server::{http_server_settings, serve_http};
use super::otlp::http::{
    Answer, Caller, Encoding, Failure, HttpState, read_any_body, submit, within,
};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use event::{Refused, code};
use http::{HeaderMap, Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// The `splunk_hec` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = SplunkHecConfig;
    const TYPE: &'static str = "splunk_hec";

    fn validate(&self, config: &SplunkHecConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics, Signal::Logs];

    async fn start(
        &self,
        config: &SplunkHecConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let hec = Hec {
            timeout: config.read_timeout,
            by_line: config.splitting == Splitting::Line,
            passthrough: config.access_token_passthrough,
            names: config.hec_metadata_to_otel_attrs.clone(),
        };
        let (raw, health) = (config.raw_path.clone(), config.health_path.clone());
        serve_http(
            context,
            http_server_settings!(config),
            |http| HecState { http, hec },
            |router| {
                router
                    .route(&health, get(healthy))
                    .route(&format!("{health}/1.0"), get(healthy))
                    .route(&raw, post(raw_text))
                    .fallback(events)
            },
        )
        .await
    }
}

struct Hec {
    timeout: Duration,
    by_line: bool,
    passthrough: bool,
    names: HecMetadataAttributes,
}

struct HecState {
    http: HttpState,
    hec: Hec,
}

/// HEC's JSON answer.
fn hec_answer(status: StatusCode, text: &str, code: u16) -> Response {
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "text": text, "code": code }).to_string(),
    )
        .into_response()
}

async fn healthy() -> Response {
    hec_answer(StatusCode::OK, "HEC is healthy", code::HEALTHY)
}

fn answer(result: Result<(), HecFailure>) -> Response {
    match result {
        Ok(()) => hec_answer(StatusCode::OK, "Success", code::SUCCESS),
        Err(HecFailure::Events(refused)) => {
            let mut body = serde_json::json!({ "text": refused.text, "code": refused.code });
            if let Some(number) = refused.event {
                body["invalid-event-number"] = number.into();
            }
            body["detail"] = refused.detail.into();
            (
                StatusCode::BAD_REQUEST,
                [(http::header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Err(HecFailure::Request(failure)) => {
            // The shared request handling's failures, in HEC's words and codes (Retry-After kept).
            let (text, code) = match failure.status() {
                StatusCode::UNAUTHORIZED => ("Invalid authorization", code::INVALID_AUTHORIZATION),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    ("Server is busy", code::SERVER_BUSY)
                }
                status if status.is_client_error() => {
                    ("Invalid data format", code::INVALID_DATA_FORMAT)
                }
                _ => ("Internal server error", code::INTERNAL_ERROR),
            };
            failure.into_json_response(
                |message| serde_json::json!({ "text": text, "code": code, "detail": message }),
            )
        }
    }
}

/// Why a request was not taken: its events, or the request itself (authentication, body, a full pipeline).
enum HecFailure {
    Events(Refused),
    Request(Box<Failure>),
}

impl From<Box<Failure>> for HecFailure {
    fn from(failure: Box<Failure>) -> Self {
        HecFailure::Request(failure)
    }
}

/// The token of `Authorization: Splunk <token>`, when it is to be kept.
fn passed_token<'a>(hec: &Hec, headers: &'a HeaderMap) -> Option<&'a str> {
    if !hec.passthrough {
        return None;
    }
    headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Splunk ")
}

/// The body of an authenticated request, and its client.
async fn read(state: &HecState, headers: &HeaderMap, body: Body) -> Answer<(Caller, Vec<u8>)> {
    let caller = state.http.authenticate(headers)?;
    let body = within(
        state.hec.timeout,
        read_any_body(&state.http, headers, body, Encoding::Json),
    )
    .await?;
    Ok((caller, body))
}

async fn events(
    State(state): State<Arc<HecState>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method != Method::POST {
        return hec_answer(
            StatusCode::BAD_REQUEST,
            "Only \"POST\" method is supported",
            code::INVALID_DATA_FORMAT,
        );
    }
    answer(take_events(&state, &headers, body).await)
}

async fn take_events(state: &HecState, headers: &HeaderMap, body: Body) -> Result<(), HecFailure> {
    let (caller, body) = read(state, headers, body).await?;
    let events = event::parse(&body).map_err(HecFailure::Events)?;
    let (mut logs, mut metrics) = (Vec::new(), Vec::new());
    for (number, event) in events.into_iter().enumerate() {
        if event.is_metric() {
            metrics.push((number, event));
        } else {
            logs.push((number, event));
        }
    }
    let ingest = &state.http.ingest;
    for (signal, first, what) in [
        (Signal::Metrics, metrics.first(), "metric"),
        (Signal::Logs, logs.first(), "log"),
    ] {
        if let Some((number, _)) = first
            && !ingest.serves(signal)
        {
            return Err(HecFailure::Events(Refused {
                code: code::INVALID_DATA_FORMAT,
                text: if signal == Signal::Metrics {
                    "Unsupported metric event"
                } else {
                    "Unsupported log event"
                },
                event: Some(*number),
                detail: format!("no {signal} pipeline takes this receiver's {what} events"),
            }));
        }
    }
    let token = passed_token(&state.hec, headers);
    // Converted before anything is submitted: a metric event that cannot be read refuses the whole request.
    let metrics = if metrics.is_empty() {
        None
    } else {
        Some(convert::metrics(metrics, &state.hec.names, token).map_err(HecFailure::Events)?)
    };
    if !logs.is_empty() {
        let logs = logs.into_iter().map(|(_, event)| event).collect();
        let request = convert::logs(logs, &state.hec.names, token, crate::clock::now_nanos());
        submit(
            &state.http,
            Encoding::Json,
            Batch::new(request),
            caller.clone(),
        )
        .await?;
    }
    if let Some(request) = metrics {
        submit(&state.http, Encoding::Json, Batch::new(request), caller).await?;
    }
    Ok(())
}

async fn raw_text(
    State(state): State<Arc<HecState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(take_raw(&state, query.as_deref(), &headers, body).await)
}

async fn take_raw(
    state: &HecState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), HecFailure> {
    let invalid = |detail: String| {
        HecFailure::Events(Refused {
            code: code::INVALID_DATA_FORMAT,
            text: "Invalid data format",
            event: None,
            detail,
        })
    };
    let mut metadata = convert::Metadata::default();
    for (key, value) in crate::percent::query_pairs(query.unwrap_or("")).map_err(invalid)? {
        let field = match key.as_str() {
            "host" => &mut metadata.host,
            "source" => &mut metadata.source,
            "sourcetype" => &mut metadata.sourcetype,
            "index" => &mut metadata.index,
            _ => continue,
        };
        // The first value of a repeated parameter, as Go's `Values.Get` reads it.
        if field.is_empty() {
            *field = value;
        }
    }
    let (caller, body) = read(state, headers, body).await?;
    if body.is_empty() {
        return Err(HecFailure::Events(Refused {
            code: code::NO_DATA,
            text: "No data",
            event: None,
            detail: "the body is empty".to_owned(),
        }));
    }
    let text = String::from_utf8_lossy(&body);
    let request = convert::raw(
        &text,
        state.hec.by_line,
        &metadata,
        &state.hec.names,
        passed_token(&state.hec, headers),
        crate::clock::now_nanos(),
    );
    submit(&state.http, Encoding::Json, Batch::new(request), caller).await?;
    Ok(())
}
