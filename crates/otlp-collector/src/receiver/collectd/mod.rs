//! The `collectd` receiver (otelcol-contrib's): what collectd's `write_http` plugin posts with `Format "JSON"`,
//! each value of a value list a point, named and labelled as otelcol names them (`record.rs`).
//!
//! ```yaml
//! receivers:
//!   collectd:
//!     endpoint: "0.0.0.0:8081"
//!     attributes_prefix: "dim:"
//! ```
//!
//! ```text
//! <Plugin write_http>
//!   <Node "otel">
//!     URL "http://collector:8081/?dim:env=prod"
//!     Format "JSON"
//!   </Node>
//! </Plugin>
//! ```
//!
//! A request is taken whole or not at all: a body that is not collectd's JSON is answered `400` with where it
//! goes wrong; a full pipeline `429` or `503` with `Retry-After`, as the `otlp` receiver answers; a taken one
//! `200 OK`. `counter` and `derive` values become monotonic cumulative sums (otelcol leaves their temporality
//! unset), the others gauges; notifications are skipped, as in otelcol. Points of the same name and kind share a
//! metric, where otelcol sends a metric per point.

mod config;
mod record;

pub use config::CollectdConfig;

use super::RunningReceiver;
use super::http_server::{http_server_settings, serve_http};
use super::number_points::request;
use super::otlp::http::{Answer, Encoding, Failure, HttpState, read_body, submit, within};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use record::Record;
use std::sync::Arc;
use std::time::Duration;

/// The `collectd` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = CollectdConfig;
    const TYPE: &'static str = "collectd";

    fn validate(&self, config: &CollectdConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &CollectdConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let (timeout, attributes_prefix) = (config.timeout, config.attributes_prefix.clone());
        serve_http(
            context,
            http_server_settings!(config),
            |http| CollectdState {
                http,
                timeout,
                attributes_prefix,
            },
            // collectd posts to whatever URL it is given: every path is served.
            |router| router.fallback(values),
        )
        .await
    }
}

struct CollectdState {
    http: HttpState,
    timeout: Duration,
    attributes_prefix: String,
}

async fn values(
    State(state): State<Arc<CollectdState>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match take(&state, method, query, &headers, body).await {
        Ok(()) => (StatusCode::OK, "OK").into_response(),
        Err(failure) => failure.into_response(),
    }
}

async fn take(
    state: &CollectdState,
    method: Method,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Answer<()> {
    let bad = |message: String| Failure::bad_request(Encoding::Json, message);
    if method != Method::POST {
        return Err(bad(format!(
            "{method} is not taken: collectd's write_http POSTs its values"
        )));
    }
    let caller = state.http.authenticate(headers)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(Failure::new(
            Encoding::Json,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            tonic::Code::InvalidArgument,
            format!(
                "content type `{content_type}` is not taken: set write_http's `Format \"JSON\"` (application/json)"
            ),
        ));
    }
    let (_, body) = within(state.timeout, read_body(&state.http, headers, body)).await?;
    let records: Vec<Record> = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "not collectd's JSON (an array of value lists): {e}"
        ))
    })?;
    let defaults = attributes(&state.attributes_prefix, query.as_deref()).map_err(bad)?;
    let points: Vec<_> = records
        .iter()
        .flat_map(|record| record.points(&defaults))
        .collect();
    if points.is_empty() {
        return Ok(());
    }
    submit(
        &state.http,
        Encoding::Json,
        Batch::new(request(points)),
        caller,
    )
    .await
}

/// The query parameters named with `prefix`, without it, as attributes; none without a prefix. A blank value is
/// left out, as otelcol leaves it out.
fn attributes(prefix: &str, query: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let Some(query) = query.filter(|_| !prefix.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut attributes = Vec::new();
    for (key, value) in crate::percent::query_pairs(query)? {
        if let Some(name) = key.strip_prefix(prefix)
            && !value.is_empty()
            && !attributes.iter().any(|(k, _)| k == name)
        {
            attributes.push((name.to_owned(), value));
        }
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests;
