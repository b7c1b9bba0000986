//! A local server implementing the documented contracts of AWS Lambda's Runtime API
//! (`/2018-06-01/runtime/...`), Extensions API (`/2020-01-01/extension/...`) and an OTLP/HTTP
//! trace receiver (`/v1/traces`), recording every call in arrival order so tests can check what
//! happened before what.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValueKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One call the server received, in arrival order.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// `GET /runtime/invocation/next`; `served` is the request ID handed out, `None` while the
    /// call is held open because no invocation is queued (Lambda would freeze the process).
    Next { served: Option<String> },
    /// `POST /runtime/invocation/{id}/response`.
    Response { request_id: String, body: Value },
    /// `POST /runtime/invocation/{id}/error`.
    InvocationError {
        request_id: String,
        error_type: Option<String>,
    },
    /// `POST /runtime/init/error`.
    InitError,
    /// `POST /v1/traces`: the `faas.invocation_id` of every span in the request.
    Export {
        invocation_ids: Vec<String>,
        span_names: Vec<String>,
    },
    /// `POST /extension/register`.
    Register { name: String, events: Vec<String> },
    /// `GET /extension/event/next`; `served` is the event type handed out.
    ExtensionNext {
        identifier: String,
        served: Option<String>,
    },
    /// `POST /extension/init/error` or `/exit/error`.
    ExtensionError {
        path: String,
        identifier: String,
        error_type: String,
    },
}

/// An invocation to hand out on `next`.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Value,
    pub invoked_function_arn: String,
    pub trace_id: Option<String>,
}

/// The identifier the Extensions API assigns.
pub const EXTENSION_IDENTIFIER: &str = "8f9c3b7e-5d2a-4c1b-9e6f-0a1b2c3d4e5f";

#[derive(Default)]
struct State {
    calls: Mutex<Vec<Call>>,
    spans: Mutex<Vec<Span>>,
    invocations: Mutex<VecDeque<Invocation>>,
    extension_events: Mutex<VecDeque<Value>>,
    changed: Notify,
}

/// The running server; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct LambdaApi {
    pub address: SocketAddr,
    state: Arc<State>,
}

impl LambdaApi {
    /// Binds a free loopback port and serves on the current runtime.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let state = Arc::new(State::default());
        let served = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(&state, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { address, state }
    }

    /// `host:port`, the form of `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.address.to_string()
    }

    pub fn queue_invocation(&self, invocation: Invocation) {
        self.state.invocations.lock().unwrap().push_back(invocation);
    }

    pub fn queue_extension_event(&self, event: Value) {
        self.state.extension_events.lock().unwrap().push_back(event);
        self.state.changed.notify_waiters();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn spans(&self) -> Vec<Span> {
        self.state.spans.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the calls so far; panics with the calls after `limit` so a
    /// broken run fails instead of hanging.
    pub async fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&[Call]) -> bool) {
        let waiting = async {
            loop {
                let notified = self.state.changed.notified();
                if done(&self.calls()) {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(limit, waiting).await.is_err() {
            panic!(
                "timed out waiting for {what}; calls so far: {:#?}",
                self.calls()
            );
        }
    }
}

fn record(state: &State, call: Call) {
    state.calls.lock().unwrap().push(call);
    state.changed.notify_waiters();
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

fn header(request: &Request<Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A string, bool, int or double attribute of a span, rendered as text.
pub fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?;
    match value.value.as_ref()? {
        AnyValueKind::StringValue(text) => Some(text.clone()),
        AnyValueKind::BoolValue(flag) => Some(flag.to_string()),
        AnyValueKind::IntValue(number) => Some(number.to_string()),
        AnyValueKind::DoubleValue(number) => Some(number.to_string()),
        _ => None,
    }
}

async fn handle(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let identifier = header(&request, "Lambda-Extension-Identifier");
    let extension_name = header(&request, "Lambda-Extension-Name");
    let error_type = header(&request, "Lambda-Runtime-Function-Error-Type")
        .or_else(|| header(&request, "Lambda-Extension-Function-Error-Type"));
    let body = request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();

    const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
    match (method.as_str(), path.as_str()) {
        ("GET", "/2018-06-01/runtime/invocation/next") => {
            let next = state.invocations.lock().unwrap().pop_front();
            let Some(invocation) = next else {
                record(state, Call::Next { served: None });
                // Real Lambda freezes the process here; the test ends it.
                std::future::pending::<()>().await;
                unreachable!();
            };
            record(
                state,
                Call::Next {
                    served: Some(invocation.request_id.clone()),
                },
            );
            let mut response = Response::builder()
                .status(StatusCode::OK)
                .header("Lambda-Runtime-Aws-Request-Id", &invocation.request_id)
                .header(
                    "Lambda-Runtime-Deadline-Ms",
                    (now_ms() + 30_000).to_string(),
                )
                .header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    &invocation.invoked_function_arn,
                )
                .header("Content-Type", "application/json");
            if let Some(trace_id) = &invocation.trace_id {
                response = response.header("Lambda-Runtime-Trace-Id", trace_id);
            }
            response
                .body(Full::new(Bytes::from(invocation.payload.to_string())))
                .unwrap()
        }
        ("POST", "/2018-06-01/runtime/init/error") => {
            record(state, Call::InitError);
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        ("POST", path) if path.starts_with(INVOCATION) => {
            let rest = &path[INVOCATION.len()..];
            if let Some(request_id) = rest.strip_suffix("/response") {
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                record(
                    state,
                    Call::Response {
                        request_id: request_id.to_owned(),
                        body,
                    },
                );
            } else if let Some(request_id) = rest.strip_suffix("/error") {
                record(
                    state,
                    Call::InvocationError {
                        request_id: request_id.to_owned(),
                        error_type,
                    },
                );
            } else {
                return reply(StatusCode::NOT_FOUND, "unknown invocation path");
            }
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        ("POST", "/v1/traces") => {
            let Ok(export) = ExportTraceServiceRequest::decode(body) else {
                return reply(StatusCode::BAD_REQUEST, "not an ExportTraceServiceRequest");
            };
            let spans: Vec<Span> = export
                .resource_spans
                .into_iter()
                .flat_map(|resource| resource.scope_spans)
                .flat_map(|scope| scope.spans)
                .collect();
            let invocation_ids = spans
                .iter()
                .filter_map(|span| attribute(span, "faas.invocation_id"))
                .collect();
            let span_names = spans.iter().map(|span| span.name.clone()).collect();
            state.spans.lock().unwrap().extend(spans);
            record(
                state,
                Call::Export {
                    invocation_ids,
                    span_names,
                },
            );
            let mut response = reply(
                StatusCode::OK,
                ExportTraceServiceResponse::default().encode_to_vec(),
            );
            response.headers_mut().insert(
                "Content-Type",
                hyper::header::HeaderValue::from_static("application/x-protobuf"),
            );
            response
        }
        ("POST", "/2020-01-01/extension/register") => {
            let Some(name) = extension_name.filter(|name| !name.is_empty()) else {
                return reply(
                    StatusCode::FORBIDDEN,
                    r#"{"errorMessage":"missing Lambda-Extension-Name","errorType":"Extension.MissingName"}"#,
                );
            };
            let events = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|body| body.get("events").cloned())
                .and_then(|events| serde_json::from_value::<Vec<String>>(events).ok())
                .unwrap_or_default();
            record(state, Call::Register { name, events });
            Response::builder()
                .status(StatusCode::OK)
                .header("Lambda-Extension-Identifier", EXTENSION_IDENTIFIER)
                .body(Full::new(Bytes::from_static(
                    br#"{"functionName":"orders","functionVersion":"7","handler":"bootstrap"}"#,
                )))
                .unwrap()
        }
        ("GET", "/2020-01-01/extension/event/next") => {
            let identifier = identifier.unwrap_or_default();
            if identifier != EXTENSION_IDENTIFIER {
                return reply(
                    StatusCode::FORBIDDEN,
                    r#"{"errorMessage":"unknown extension","errorType":"Extension.UnknownExtensionIdentifier"}"#,
                );
            }
            loop {
                let notified = state.changed.notified();
                let next = state.extension_events.lock().unwrap().pop_front();
                if let Some(event) = next {
                    let served = event
                        .get("eventType")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    record(
                        state,
                        Call::ExtensionNext {
                            identifier: identifier.clone(),
                            served,
                        },
                    );
                    return reply(StatusCode::OK, event.to_string());
                }
                notified.await;
            }
        }
        (
            "POST",
            path @ ("/2020-01-01/extension/init/error" | "/2020-01-01/extension/exit/error"),
        ) => {
            record(
                state,
                Call::ExtensionError {
                    path: path.to_owned(),
                    identifier: identifier.unwrap_or_default(),
                    error_type: error_type.unwrap_or_default(),
                },
            );
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            format!("no route for {method} {path}"),
        ),
    }
}
