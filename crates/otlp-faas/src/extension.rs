//! A client for the Lambda Extensions API
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html>): register, wait
//! for `INVOKE` / `SHUTDOWN` events, report errors.
//!
//! The contract, in the order an extension uses it:
//!
//! 1. [`ExtensionClient::register`] during the init phase, with the address from
//!    `AWS_LAMBDA_RUNTIME_API`, the extension's file name and the events it wants. Lambda
//!    finishes init only after every extension has registered and called `next`.
//! 2. [`ExtensionClient::next_event`] in a loop. The call blocks (no timeout) until Lambda has
//!    an event; calling it again tells Lambda the extension finished with the previous one, so
//!    do the per-invocation work (flush telemetry) before the next call.
//! 3. On [`ExtensionEvent::Shutdown`], finish within [`ExtensionEvent::deadline`] (at most 2 s
//!    for external extensions) and exit without calling `next` again.
//! 4. On a fatal error, [`ExtensionClient::init_error`] (before the first `next`) or
//!    [`ExtensionClient::exit_error`] (after), then exit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::{Error, Result};

const REGISTER_PATH: &str = "/2020-01-01/extension/register";
const NEXT_PATH: &str = "/2020-01-01/extension/event/next";
const INIT_ERROR_PATH: &str = "/2020-01-01/extension/init/error";
const EXIT_ERROR_PATH: &str = "/2020-01-01/extension/exit/error";
const TELEMETRY_PATH: &str = "/2022-07-01/telemetry";
/// The Telemetry API schema version this client subscribes with.
pub const TELEMETRY_SCHEMA_VERSION: &str = "2022-12-13";

/// Header carrying the extension's name at registration.
pub const NAME_HEADER: &str = "Lambda-Extension-Name";
/// Header carrying the identifier Lambda assigns at registration, sent with every later call.
pub const IDENTIFIER_HEADER: &str = "Lambda-Extension-Identifier";
/// Header carrying the error type on `init/error` and `exit/error`.
pub const ERROR_TYPE_HEADER: &str = "Lambda-Extension-Function-Error-Type";

/// Events an extension can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Each invocation (external extensions only).
    Invoke,
    /// The execution environment is shutting down.
    Shutdown,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Invoke => "INVOKE",
            Self::Shutdown => "SHUTDOWN",
        }
    }
}

/// Why the environment shuts down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShutdownReason {
    /// Normal end of life.
    Spindown,
    /// The function or an extension timed out.
    Timeout,
    /// The function or an extension failed.
    Failure,
    /// A reason this client does not know, as Lambda sent it.
    Other(String),
}

/// An event from `event/next`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtensionEvent {
    /// An invocation started.
    Invoke {
        /// The invocation's request ID.
        request_id: String,
        /// Deadline of the invocation, milliseconds since the Unix epoch.
        deadline_ms: u64,
        /// The ARN the function was invoked with.
        invoked_function_arn: String,
        /// The invocation's X-Ray header (`Root=...;Parent=...;Sampled=...`), if tracing is on.
        xray_trace_id: Option<String>,
    },
    /// The environment is shutting down.
    Shutdown {
        /// Why.
        reason: ShutdownReason,
        /// Deadline for the extension's last work, milliseconds since the Unix epoch.
        deadline_ms: u64,
    },
}

impl ExtensionEvent {
    /// The event's deadline as a point in time.
    pub fn deadline(&self) -> SystemTime {
        let millis = match self {
            Self::Invoke { deadline_ms, .. } | Self::Shutdown { deadline_ms, .. } => *deadline_ms,
        };
        UNIX_EPOCH + Duration::from_millis(millis)
    }

    /// Time left until the deadline (zero once it has passed).
    pub fn time_remaining(&self) -> Duration {
        self.deadline()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    event_type: String,
    #[serde(default)]
    deadline_ms: u64,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    invoked_function_arn: Option<String>,
    #[serde(default)]
    tracing: Option<RawTracing>,
    #[serde(default)]
    shutdown_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawTracing {
    #[serde(default)]
    value: Option<String>,
}

/// What Lambda answers to registration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The function's name.
    #[serde(default)]
    pub function_name: String,
    /// The function's version.
    #[serde(default)]
    pub function_version: String,
    /// The function's handler setting.
    #[serde(default)]
    pub handler: String,
    /// The account ID, when the extension asked for it (Lambda sends it on request only).
    #[serde(default)]
    pub account_id: Option<String>,
}

/// A registered extension. Cheap to clone; all clones share the connection pool.
#[derive(Clone, Debug)]
pub struct ExtensionClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    identifier: HeaderValue,
    registration: Registration,
}

/// Checks `runtime_api` is a bare `host:port` and returns the base URL.
fn base_url(runtime_api: &str) -> Result<String> {
    let invalid = |reason: &str| Error::InvalidRuntimeApi {
        address: runtime_api.to_owned(),
        reason: reason.to_owned(),
    };
    if runtime_api.is_empty() {
        return Err(invalid("it is empty"));
    }
    if runtime_api.contains("://") || runtime_api.contains('/') {
        return Err(invalid("expected host:port without scheme or path"));
    }
    let base = format!("http://{runtime_api}");
    let uri: Uri = base
        .parse()
        .map_err(|error: http::uri::InvalidUri| invalid(&error.to_string()))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    Ok(base)
}

impl ExtensionClient {
    /// Registers extension `name` (Lambda requires the extension's file name) for `events` with
    /// the Extensions API at `runtime_api` (`host:port`, the value of `AWS_LAMBDA_RUNTIME_API`).
    pub async fn register(runtime_api: &str, name: &str, events: &[EventType]) -> Result<Self> {
        let base = base_url(runtime_api)?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        let name_value = HeaderValue::from_str(name).map_err(|_| Error::InvalidArgument {
            what: "extension name",
            value: name.to_owned(),
            reason: "it cannot be sent as an HTTP header value",
        })?;
        let body = serde_json::json!({
            "events": events.iter().map(|event| event.as_str()).collect::<Vec<_>>(),
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{base}{REGISTER_PATH}"))
            .header(NAME_HEADER, name_value)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|error| Error::InvalidResponse {
                path: REGISTER_PATH,
                reason: format!("cannot build the request: {error}"),
            })?;
        let (headers, body) = send(&client, REGISTER_PATH, request).await?;
        let identifier = headers
            .get(IDENTIFIER_HEADER)
            .filter(|value| !value.is_empty())
            .cloned()
            .ok_or_else(|| Error::InvalidResponse {
                path: REGISTER_PATH,
                reason: format!("no {IDENTIFIER_HEADER} header"),
            })?;
        let registration = if body.iter().all(u8::is_ascii_whitespace) {
            Registration::default()
        } else {
            serde_json::from_slice(&body).map_err(|error| Error::InvalidResponse {
                path: REGISTER_PATH,
                reason: format!("body is not the registration JSON: {error}"),
            })?
        };
        Ok(Self {
            client,
            base,
            identifier,
            registration,
        })
    }

    /// The identifier Lambda assigned.
    pub fn identifier(&self) -> &str {
        self.identifier.to_str().unwrap_or_default()
    }

    /// What Lambda said about the function at registration.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Waits for the next event; see the module docs for what calling it means to Lambda.
    pub async fn next_event(&self) -> Result<ExtensionEvent> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{NEXT_PATH}", self.base))
            .header(IDENTIFIER_HEADER, self.identifier.clone())
            .body(Full::new(Bytes::new()))
            .map_err(|error| Error::InvalidResponse {
                path: NEXT_PATH,
                reason: format!("cannot build the request: {error}"),
            })?;
        let (_, body) = send(&self.client, NEXT_PATH, request).await?;
        parse_event(&body)
    }

    /// Subscribes to the Telemetry API's `platform` events, delivered by HTTP POST to `destination` (a
    /// [`TelemetryListener`](crate::telemetry_api::TelemetryListener)'s URI, on the `sandbox.localdomain` host
    /// inside Lambda). Buffering is set to Lambda's minimums, so `platform.runtimeDone` arrives as soon as
    /// possible after the function responded.
    pub async fn subscribe_telemetry(&self, destination: &str) -> Result<()> {
        let body = serde_json::json!({
            "schemaVersion": TELEMETRY_SCHEMA_VERSION,
            "types": ["platform"],
            "buffering": {"maxItems": 1000, "maxBytes": 262_144, "timeoutMs": 25},
            "destination": {"protocol": "HTTP", "URI": destination},
        });
        let request = Request::builder()
            .method(Method::PUT)
            .uri(format!("{}{TELEMETRY_PATH}", self.base))
            .header(IDENTIFIER_HEADER, self.identifier.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|error| Error::InvalidResponse {
                path: TELEMETRY_PATH,
                reason: format!("cannot build the request: {error}"),
            })?;
        send(&self.client, TELEMETRY_PATH, request)
            .await
            .map(|_| ())
    }

    /// Reports a failure during the extension's init; Lambda then fails the init phase.
    pub async fn init_error(&self, error_type: &str, message: &str) -> Result<()> {
        self.report(INIT_ERROR_PATH, error_type, message).await
    }

    /// Reports a failure before exiting after init.
    pub async fn exit_error(&self, error_type: &str, message: &str) -> Result<()> {
        self.report(EXIT_ERROR_PATH, error_type, message).await
    }

    async fn report(&self, path: &'static str, error_type: &str, message: &str) -> Result<()> {
        let type_value = HeaderValue::from_str(error_type).map_err(|_| Error::InvalidArgument {
            what: "error type",
            value: error_type.to_owned(),
            reason: "it cannot be sent as an HTTP header value",
        })?;
        let body = serde_json::json!({
            "errorMessage": message,
            "errorType": error_type,
            "stackTrace": [],
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.base))
            .header(IDENTIFIER_HEADER, self.identifier.clone())
            .header(ERROR_TYPE_HEADER, type_value)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|error| Error::InvalidResponse {
                path,
                reason: format!("cannot build the request: {error}"),
            })?;
        send(&self.client, path, request).await.map(|_| ())
    }
}

async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    path: &'static str,
    request: Request<Full<Bytes>>,
) -> Result<(http::HeaderMap, Bytes)> {
    let response = client
        .request(request)
        .await
        .map_err(|error| Error::Transport {
            path,
            reason: error.to_string(),
        })?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| Error::Transport {
            path,
            reason: format!("reading the body: {error}"),
        })?
        .to_bytes();
    if !parts.status.is_success() {
        let shown = body.get(..512).unwrap_or(&body);
        return Err(Error::Status {
            path,
            status: parts.status.as_u16(),
            body: String::from_utf8_lossy(shown).into_owned(),
        });
    }
    Ok((parts.headers, body))
}

/// Parses an `event/next` body.
pub fn parse_event(body: &[u8]) -> Result<ExtensionEvent> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|error| Error::InvalidResponse {
        path: NEXT_PATH,
        reason: format!("body is not an event: {error}"),
    })?;
    match raw.event_type.as_str() {
        "INVOKE" => Ok(ExtensionEvent::Invoke {
            request_id: raw.request_id.ok_or_else(|| Error::InvalidResponse {
                path: NEXT_PATH,
                reason: "INVOKE event without requestId".to_owned(),
            })?,
            deadline_ms: raw.deadline_ms,
            invoked_function_arn: raw.invoked_function_arn.unwrap_or_default(),
            xray_trace_id: raw.tracing.and_then(|tracing| tracing.value),
        }),
        "SHUTDOWN" => Ok(ExtensionEvent::Shutdown {
            reason: match raw.shutdown_reason.as_deref() {
                Some("spindown" | "SPINDOWN") => ShutdownReason::Spindown,
                Some("timeout" | "TIMEOUT") => ShutdownReason::Timeout,
                Some("failure" | "FAILURE") => ShutdownReason::Failure,
                other => ShutdownReason::Other(other.unwrap_or_default().to_owned()),
            },
            deadline_ms: raw.deadline_ms,
        }),
        other => Err(Error::InvalidResponse {
            path: NEXT_PATH,
            reason: format!("unknown eventType `{other}`"),
        }),
    }
}
