//! The receiving side of the Lambda Telemetry API
//! (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html>): an HTTP listener Lambda pushes platform
//! events to, and what an extension needs from them: knowing when the function has finished an invocation
//! (`platform.runtimeDone`), so telemetry is flushed right after the response instead of after a fixed wait.
//!
//! Use it with [`ExtensionClient::subscribe_telemetry`](crate::ExtensionClient::subscribe_telemetry):
//!
//! ```no_run
//! # async fn run(client: otlp_faas::ExtensionClient) -> Result<(), otlp_faas::Error> {
//! use otlp_faas::telemetry_api::{SANDBOX_HOST, TelemetryListener};
//! use std::time::Duration;
//!
//! let listener = TelemetryListener::bind(0).await?;
//! client
//!     .subscribe_telemetry(&format!("http://{SANDBOX_HOST}:{}", listener.port()))
//!     .await?;
//! // For each INVOKE event:
//! let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
//! if listener.wait_for_runtime_done("request-id", deadline).await {
//!     // the function has responded: flush now
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{Error, Result};

/// The host name Lambda resolves to the extension's sandbox, for the subscription's destination URI.
pub const SANDBOX_HOST: &str = "sandbox.localdomain";

/// Largest event batch accepted (Lambda's `maxBytes` is at most 1 MiB).
const MAX_BODY: usize = 4 << 20;

/// One Telemetry API event; only `platform.runtimeDone` matters here.
#[derive(Deserialize)]
struct TelemetryEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    record: serde_json::Value,
}

/// The request ids of the `platform.runtimeDone` events in a body Lambda posted (a JSON array of events).
pub fn runtime_done_request_ids(body: &[u8]) -> Result<Vec<String>> {
    let events: Vec<TelemetryEvent> =
        serde_json::from_slice(body).map_err(|error| Error::InvalidResponse {
            path: "telemetry listener",
            reason: format!("body is not an array of Telemetry API events: {error}"),
        })?;
    Ok(events
        .into_iter()
        .filter(|event| event.kind == "platform.runtimeDone")
        .filter_map(|event| {
            event
                .record
                .get("requestId")
                .and_then(|id| id.as_str())
                .map(str::to_owned)
        })
        .collect())
}

/// Request ids reported done and not yet consumed.
#[derive(Default)]
struct RuntimeDone {
    request_ids: Mutex<HashSet<String>>,
    changed: Notify,
}

impl RuntimeDone {
    fn record(&self, request_ids: Vec<String>) {
        if request_ids.is_empty() {
            return;
        }
        self.request_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(request_ids);
        self.changed.notify_waiters();
    }

    fn contains(&self, request_id: &str) -> bool {
        self.request_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(request_id)
    }
}

/// An HTTP listener for Telemetry API events, serving until dropped.
pub struct TelemetryListener {
    address: SocketAddr,
    runtime_done: Arc<RuntimeDone>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for TelemetryListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryListener")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for TelemetryListener {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TelemetryListener {
    /// Listens on all interfaces at `port` (0 picks a free one): Lambda connects through the sandbox's address.
    pub async fn bind(port: u16) -> Result<Self> {
        Self::bind_to(SocketAddr::from(([0, 0, 0, 0], port))).await
    }

    /// Listens on `address`.
    pub async fn bind_to(address: SocketAddr) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|error| Error::Listen {
                address,
                reason: error.to_string(),
            })?;
        let address = listener.local_addr().map_err(|error| Error::Listen {
            address,
            reason: error.to_string(),
        })?;
        let runtime_done = Arc::new(RuntimeDone::default());
        let server = tokio::spawn(serve(listener, runtime_done.clone()));
        Ok(TelemetryListener {
            address,
            runtime_done,
            server,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Waits until Lambda reports `request_id` done or `deadline` passes; true if it is done. Forgets every
    /// other id seen so far: one environment runs one invocation at a time, so anything else is a late report of
    /// an earlier one, and keeping it would only grow the set.
    pub async fn wait_for_runtime_done(&self, request_id: &str, deadline: Instant) -> bool {
        let done = async {
            loop {
                let notified = self.runtime_done.changed.notified();
                let mut notified = std::pin::pin!(notified);
                // Registered before the check, so a report landing between the check and the await still wakes
                // us.
                notified.as_mut().enable();
                if self.runtime_done.contains(request_id) {
                    return;
                }
                notified.await;
            }
        };
        let seen = tokio::time::timeout_at(deadline, done).await.is_ok();
        self.runtime_done
            .request_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        seen
    }
}

async fn serve(listener: tokio::net::TcpListener, runtime_done: Arc<RuntimeDone>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: keep serving the connections that come next.
                tracing::warn!("Telemetry API listener: accept failed: {error}");
                continue;
            }
        };
        let runtime_done = runtime_done.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| receive(request, runtime_done.clone()));
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("Telemetry API connection ended: {error}");
            }
        });
    }
}

async fn receive(
    request: Request<Incoming>,
    runtime_done: Arc<RuntimeDone>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    let answer = |status: StatusCode| {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = status;
        Ok(response)
    };
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return answer(StatusCode::PAYLOAD_TOO_LARGE),
    };
    match runtime_done_request_ids(&body) {
        Ok(request_ids) => {
            runtime_done.record(request_ids);
            answer(StatusCode::OK)
        }
        Err(error) => {
            tracing::warn!("{error}");
            answer(StatusCode::BAD_REQUEST)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_runtime_done_events_with_a_request_id_count() {
        let body = br#"[
            {"time": "2026-01-01T00:00:00Z", "type": "platform.start", "record": {"requestId": "a"}},
            {"time": "2026-01-01T00:00:01Z", "type": "platform.runtimeDone",
             "record": {"requestId": "a", "status": "success"}},
            {"time": "2026-01-01T00:00:01Z", "type": "platform.runtimeDone", "record": {}}
        ]"#;
        assert_eq!(runtime_done_request_ids(body).unwrap(), ["a"]);
        assert!(runtime_done_request_ids(b"{}").is_err());
    }
}
