//! The `influxdb` receiver (otelcol-contrib's): InfluxDB's write API, so that Telegraf, InfluxDB client libraries
//! and anything else that writes line protocol (`line.rs`) can send to the collector; points become OTLP metrics
//! as influx2otel makes them (`convert.rs`).
//!
//! ```yaml
//! receivers:
//!   influxdb:
//!     endpoint: 0.0.0.0:8086
//! ```
//!
//! ```toml
//! [[outputs.influxdb]]        # Telegraf, InfluxDB 1.x's API
//!   urls = ["http://collector:8086"]
//! [[outputs.influxdb_v2]]     # or 2.x's
//!   urls = ["http://collector:8086"]
//! ```
//!
//! `POST /write` (1.x) and `POST /api/v2/write` (2.x) take line protocol, gzip-compressed or not, with
//! `precision` (`ns` by default; 1.x's `n`, `u`, `µ`, `m` and `h` too); `db`, `rp`, `org` and `bucket` are
//! ignored. `/ping` answers `204`, as InfluxDB does for health checks, and `/query` takes the `CREATE DATABASE`
//! Telegraf sends at start (and refuses any other statement). A taken write is answered `204`. Lines that
//! cannot be read are answered `400` with each one's number and reason, in InfluxDB's error shape for the API
//! used, after the other lines were taken (InfluxDB's partial write: a client does not send them again); a full
//! pipeline `429` or `503` with `Retry-After`, the whole write refused.

mod config;
mod convert;
mod line;

pub use config::InfluxdbConfig;

use super::RunningReceiver;
use super::http_server::{http_server_settings, serve_http};
use super::otlp::http::{Answer, Encoding, Failure, HttpState, read_any_body, submit, within};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use http::{HeaderMap, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// The `influxdb` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = InfluxdbConfig;
    const TYPE: &'static str = "influxdb";

    fn validate(&self, config: &InfluxdbConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &InfluxdbConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let timeout = config.timeout;
        serve_http(
            context,
            http_server_settings!(config),
            |http| InfluxState { http, timeout },
            |router| {
                router
                    .route("/write", post(write_v1))
                    .route("/api/v2/write", post(write_v2))
                    .route("/ping", any(ping))
                    .route("/query", any(query))
            },
        )
        .await
    }
}

struct InfluxState {
    http: HttpState,
    timeout: Duration,
}

/// Which write API a request came to: each answers errors in its own JSON shape.
#[derive(Clone, Copy)]
enum Api {
    V1,
    V2,
}

impl Api {
    fn error_body(self, message: &str) -> serde_json::Value {
        match self {
            Api::V1 => serde_json::json!({ "error": message }),
            Api::V2 => serde_json::json!({ "code": "invalid", "message": message }),
        }
    }
}

async fn ping() -> Response {
    (StatusCode::NO_CONTENT, [("X-Influxdb-Build", "OSS")]).into_response()
}

/// InfluxDB 1.x's query API, for the one statement writers send: Telegraf's `outputs.influxdb` creates its
/// database at start (`CREATE DATABASE "telegraf"`), which is answered as InfluxDB answers it, so that no setting
/// has to change. Any other statement is refused: the receiver stores nothing to query.
async fn query(RawQuery(query): RawQuery, body: axum::body::Bytes) -> Response {
    let form = std::str::from_utf8(&body).unwrap_or("");
    let statement = [query.as_deref().unwrap_or(""), form]
        .into_iter()
        .filter_map(|pairs| crate::percent::query_pairs(pairs).ok())
        .flatten()
        .find(|(key, _)| key == "q")
        .map(|(_, value)| value)
        .unwrap_or_default();
    if statement
        .trim_start()
        .get(..15)
        .is_some_and(|start| start.eq_ignore_ascii_case("create database"))
    {
        return (
            StatusCode::OK,
            [(http::header::CONTENT_TYPE, "application/json")],
            r#"{"results":[{"statement_id":0}]}"#,
        )
            .into_response();
    }
    (
        StatusCode::BAD_REQUEST,
        [(http::header::CONTENT_TYPE, "application/json")],
        serde_json::json!({
            "error": format!("`{statement}` is not run: this receiver takes writes and stores nothing to query")
        })
        .to_string(),
    )
        .into_response()
}

async fn write_v1(
    State(state): State<Arc<InfluxState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(Api::V1, write(&state, query, &headers, body).await)
}

async fn write_v2(
    State(state): State<Arc<InfluxState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(Api::V2, write(&state, query, &headers, body).await)
}

fn answer(api: Api, result: Answer<()>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(failure) => failure.into_json_response(|message| api.error_body(message)),
    }
}

/// Nanoseconds per unit of the `precision` a write names.
fn precision(query: Option<&str>) -> Result<i64, String> {
    let pairs = crate::percent::query_pairs(query.unwrap_or(""))?;
    let Some((_, unit)) = pairs.iter().rev().find(|(key, _)| key == "precision") else {
        return Ok(1);
    };
    Ok(match unit.as_str() {
        "" | "n" | "ns" => 1,
        "u" | "us" | "µ" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        other => {
            return Err(format!(
                "precision `{other}` is not one of ns, us, ms, s (or 1.x's n, u, m, h)"
            ));
        }
    })
}

async fn write(
    state: &InfluxState,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Answer<()> {
    let bad = |message: String| Failure::bad_request(Encoding::Json, message);
    let caller = state.http.authenticate(headers)?;
    let unit = precision(query.as_deref()).map_err(bad)?;
    // Line protocol comes as `text/plain`, or with no content type at all (InfluxDB reads any).
    let body = within(
        state.timeout,
        read_any_body(&state.http, headers, body, Encoding::Json),
    )
    .await?;
    let text =
        std::str::from_utf8(&body).map_err(|e| bad(format!("the body is not UTF-8 text: {e}")))?;
    let now = crate::clock::now_nanos();
    let mut metrics = convert::Metrics::default();
    let (mut lines, mut refused) = (0usize, Vec::new());
    for (number, point) in line::points(text) {
        lines += 1;
        let added = point.and_then(|point| {
            let time = match point.time {
                None => now,
                Some(time) => time
                    .checked_mul(unit)
                    .and_then(|nanos| u64::try_from(nanos).ok())
                    .ok_or_else(|| format!("timestamp {time} is before 1970 or beyond 2262"))?,
            };
            metrics.add(point, time)
        });
        if let Err(reason) = added {
            refused.push(format!("line {number}: {reason}"));
        }
    }
    if !refused.is_empty() {
        state.http.counters.refused(Signal::Metrics, refused.len());
        tracing::debug!(receiver = %state.http.component, lines = ?refused, "lines of line protocol refused");
    }
    let (request, points) = metrics.finish();
    if points > 0 {
        submit(&state.http, Encoding::Json, Batch::new(request), caller).await?;
    }
    if refused.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 10;
    let more = refused.len().saturating_sub(SHOWN);
    let shown = refused[..refused.len().min(SHOWN)].join("; ");
    let mut message = if refused.len() == lines {
        format!("no line taken, none can be read: {shown}")
    } else {
        format!(
            "partial write: {} of {lines} lines refused, the others taken: {shown}",
            refused.len()
        )
    };
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    Err(bad(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_are_influxdbs() {
        assert_eq!(precision(None), Ok(1));
        assert_eq!(precision(Some("db=x&precision=ms")), Ok(1_000_000));
        assert_eq!(precision(Some("precision=u")), Ok(1_000));
        assert_eq!(precision(Some("precision=%C2%B5s")), Ok(1_000));
        assert_eq!(
            precision(Some("bucket=b&org=o&precision=s")),
            Ok(1_000_000_000)
        );
        assert!(
            precision(Some("precision=fortnight"))
                .unwrap_err()
                .contains("`fortnight`")
        );
    }
}
