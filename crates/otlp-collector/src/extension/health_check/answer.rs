//! What the health check answers, as otelcol's original health check does:
//!
//! - by default, JSON (`{"status": "Server available", ...}`) with 200 while the collector serves and 503 while it
//!   starts or drains;
//! - with `response_body`, that text instead (`healthy` with the 200, `unhealthy` with the 503);
//! - with `check_collector_pipeline`, 200 only while the collector serves and its exporters failed no more than the
//!   threshold within the interval, 500 otherwise (otelcol's status codes for that mode).
//!
//! Every method is answered, and a path ending in `/` answers for every path under it: otelcol mounts its handler
//! on Go's `ServeMux`, which does both, and probes written against it rely on that.

use super::config::ResponseBody;
use super::failures::{FailureCount, FailureWindow, SAMPLE_EVERY};
use crate::telemetry::Telemetry;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// `check_collector_pipeline`, running: the failure count and its window.
pub(crate) struct PipelineCheck {
    count: Box<dyn FailureCount>,
    window: Mutex<FailureWindow>,
    threshold: u64,
    interval: Duration,
}

impl PipelineCheck {
    /// Counts the failures of `count` from now on, over `interval`; more than `threshold` is unhealthy.
    pub(crate) fn new(count: impl FailureCount, interval: Duration, threshold: u64) -> Arc<Self> {
        let total = count.failures();
        Arc::new(PipelineCheck {
            count: Box::new(count),
            window: Mutex::new(FailureWindow::new(interval, total)),
            threshold,
            interval,
        })
    }

    /// The failures within the interval, as of now.
    fn failures(&self) -> u64 {
        let total = self.count.failures();
        let mut window = self.window.lock();
        window.observe(Instant::now(), total);
        window.failures()
    }

    /// Samples the count every second (or every `interval`, if shorter) so that each failure is dated when it
    /// happened, not when a probe next asks; ends once the check is dropped with its server.
    pub(crate) fn sample(check: &Arc<Self>) -> JoinHandle<()> {
        let every = SAMPLE_EVERY.min(check.interval);
        let check: Weak<Self> = Arc::downgrade(check);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(check) = check.upgrade() else {
                    return;
                };
                check.failures();
            }
        })
    }
}

/// Everything an answer depends on.
pub(crate) struct Answers {
    /// The path that answers (a subtree when it ends in `/`).
    pub(crate) path: String,
    /// When the extension started, for the JSON's `uptime`.
    pub(crate) started: Instant,
    /// The collector's readiness.
    pub(crate) telemetry: Telemetry,
    pub(crate) body: Option<ResponseBody>,
    pub(crate) pipeline: Option<Arc<PipelineCheck>>,
    /// `response_headers`, on every answer.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// `keep_alives_enabled: false`.
    pub(crate) close: bool,
}

impl Answers {
    /// The router serving these answers.
    pub(crate) fn router(self) -> axum::Router {
        let answers = Arc::new(self);
        axum::Router::new().fallback(move |uri: Uri| std::future::ready(answers.answer(uri.path())))
    }

    fn serves(&self, path: &str) -> bool {
        if self.path.ends_with('/') {
            path.starts_with(&self.path)
        } else {
            path == self.path
        }
    }

    fn answer(&self, path: &str) -> Response {
        let mut response = if self.serves(path) {
            self.health()
        } else {
            // Go's `ServeMux` answer, so a probe at the wrong path reads the same as against otelcol.
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "404 page not found\n",
            )
                .into_response()
        };
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        if self.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }

    fn health(&self) -> Response {
        let ready = self.telemetry.is_ready();
        let Some(pipeline) = &self.pipeline else {
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            return match &self.body {
                Some(body) => text(status, ready, body),
                None => self.json(status, ready, None),
            };
        };
        let failures = pipeline.failures();
        let healthy = ready && failures <= pipeline.threshold;
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        match &self.body {
            Some(body) => text(status, healthy, body),
            None => self.json(status, healthy, Some((failures, pipeline.threshold))),
        }
    }

    /// The JSON status; with the pipeline check, the failures counted and the threshold, so that an operator
    /// reading a 500 sees why.
    fn json(&self, status: StatusCode, healthy: bool, failures: Option<(u64, u64)>) -> Response {
        let mut body = serde_json::json!({
            "status": if healthy { "Server available" } else { "Server not available" },
            "uptime": format!("{:?}", self.started.elapsed()),
        });
        if let (Some((failures, threshold)), Some(fields)) = (failures, body.as_object_mut()) {
            fields.insert("exporter_failures".into(), failures.into());
            fields.insert("exporter_failure_threshold".into(), threshold.into());
        }
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// `response_body`'s text for `healthy` or not. otelcol sets no content type and Go's server sniffs one, which
/// for text is this; an empty body has none.
fn text(status: StatusCode, healthy: bool, body: &ResponseBody) -> Response {
    let text = if healthy {
        &body.healthy
    } else {
        &body.unhealthy
    };
    if text.is_empty() {
        return status.into_response();
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(path: &str) -> Answers {
        Answers {
            path: path.into(),
            started: Instant::now(),
            telemetry: Telemetry::new(),
            body: None,
            pipeline: None,
            headers: Vec::new(),
            close: false,
        }
    }

    #[test]
    fn paths_match_as_gos_serve_mux() {
        let exact = answers("/health");
        assert!(exact.serves("/health"));
        assert!(!exact.serves("/health/x"));
        assert!(!exact.serves("/healthz"));
        let subtree = answers("/health/");
        assert!(subtree.serves("/health/"));
        assert!(subtree.serves("/health/live"));
        assert!(!subtree.serves("/health"));
        assert!(answers("/").serves("/anything/at/all"));
    }
}
