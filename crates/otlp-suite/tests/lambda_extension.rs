//! `otlp-suite collect --lambda-extension` as Lambda runs it: the real binary as a child process against a local
//! server implementing AWS's documented Extensions API (`/2020-01-01/extension/...`) and Telemetry API subscribe
//! (`/2022-07-01/telemetry`) contracts, with a real OTLP/HTTP backend on the same server. Every call is logged in
//! arrival order, so the tests check what happened before what: each invocation's spans reach the backend before
//! the extension asks for the next event, and SHUTDOWN drains the rest.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, mpsc};

const BINARY: &str = env!("CARGO_BIN_EXE_otlp-suite");
const IDENTIFIER: &str = "4d2c7a1e-9b3f-4e8a-a6d5-1f0e2b3c4d5e";
/// Generous bound for anything the tests wait on; a broken run fails with the call log instead of hanging.
const LIMIT: Duration = Duration::from_secs(60);

/// One call the server received (or, for `RuntimeDone`, one push the test made as Lambda), in arrival order.
#[derive(Clone, Debug, PartialEq)]
enum Call {
    Register {
        name: String,
        events: Vec<String>,
    },
    Subscribe {
        identifier: Option<String>,
        body: Value,
    },
    Next {
        identifier: Option<String>,
    },
    Served {
        event_type: String,
        request_id: Option<String>,
    },
    RuntimeDone {
        request_id: String,
    },
    Export {
        span_names: Vec<String>,
    },
    ReportedError {
        path: String,
        identifier: Option<String>,
        error_type: Option<String>,
    },
}

struct ServerState {
    calls: Mutex<Vec<Call>>,
    changed: Notify,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    register_status: StatusCode,
    telemetry_status: StatusCode,
}

/// The Extensions API, the Telemetry API subscribe endpoint and an OTLP/HTTP backend (`/v1/traces`).
struct LambdaApi {
    address: SocketAddr,
    state: Arc<ServerState>,
    events: mpsc::UnboundedSender<Value>,
}

impl LambdaApi {
    async fn start(register_status: StatusCode, telemetry_status: StatusCode) -> Self {
        let (events, queued) = mpsc::unbounded_channel();
        let state = Arc::new(ServerState {
            calls: Mutex::new(Vec::new()),
            changed: Notify::new(),
            events: tokio::sync::Mutex::new(queued),
            register_status,
            telemetry_status,
        });
        let app = Router::new()
            .route("/2020-01-01/extension/register", post(register))
            .route("/2020-01-01/extension/event/next", get(next_event))
            .route("/2020-01-01/extension/init/error", post(reported_error))
            .route("/2020-01-01/extension/exit/error", post(reported_error))
            .route("/2022-07-01/telemetry", put(subscribe))
            .route("/v1/traces", post(export))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            address,
            state,
            events,
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    fn push_event(&self, event: Value) {
        self.events.send(event).expect("the server is running");
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) {
        let waiting = async {
            loop {
                let notified = self.state.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if done(&self.calls()) {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(LIMIT, waiting).await.is_err() {
            panic!(
                "timed out waiting for {what}; calls so far: {:#?}",
                self.calls()
            );
        }
    }

    /// The destination the extension subscribed with.
    fn telemetry_uri(&self) -> String {
        self.calls()
            .iter()
            .find_map(|call| match call {
                Call::Subscribe { body, .. } => {
                    body["destination"]["URI"].as_str().map(str::to_owned)
                }
                _ => None,
            })
            .expect("the extension subscribed")
    }
}

fn record(state: &ServerState, call: Call) {
    state.calls.lock().unwrap().push(call);
    state.changed.notify_waiters();
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

async fn register(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).expect("register body is JSON");
    let events = body["events"]
        .as_array()
        .expect("register body has events")
        .iter()
        .map(|event| event.as_str().expect("event names are strings").to_owned())
        .collect();
    record(
        &state,
        Call::Register {
            name: header_text(&headers, "Lambda-Extension-Name").unwrap_or_default(),
            events,
        },
    );
    if !state.register_status.is_success() {
        let error = json!({"errorMessage": "extension registration is not allowed", "errorType": "Extension.Forbidden"});
        return (state.register_status, error.to_string()).into_response();
    }
    let registration =
        json!({"functionName": "checkout", "functionVersion": "$LATEST", "handler": "bootstrap"});
    (
        StatusCode::OK,
        [("Lambda-Extension-Identifier", IDENTIFIER)],
        registration.to_string(),
    )
        .into_response()
}

async fn next_event(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    record(
        &state,
        Call::Next {
            identifier: header_text(&headers, "Lambda-Extension-Identifier"),
        },
    );
    // Held open until the test scripts the next event, as Lambda holds it while the environment is idle.
    let Some(event) = state.events.lock().await.recv().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    record(
        &state,
        Call::Served {
            event_type: event["eventType"].as_str().unwrap_or_default().to_owned(),
            request_id: event["requestId"].as_str().map(str::to_owned),
        },
    );
    (StatusCode::OK, event.to_string()).into_response()
}

async fn reported_error(
    State(state): State<Arc<ServerState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> StatusCode {
    record(
        &state,
        Call::ReportedError {
            path: uri.path().to_owned(),
            identifier: header_text(&headers, "Lambda-Extension-Identifier"),
            error_type: header_text(&headers, "Lambda-Extension-Function-Error-Type"),
        },
    );
    StatusCode::ACCEPTED
}

async fn subscribe(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &state,
        Call::Subscribe {
            identifier: header_text(&headers, "Lambda-Extension-Identifier"),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        },
    );
    if !state.telemetry_status.is_success() {
        let error = json!({"errorMessage": "the Telemetry API is not available", "errorType": "Telemetry.Unavailable"});
        return (state.telemetry_status, error.to_string()).into_response();
    }
    (StatusCode::OK, "OK").into_response()
}

async fn export(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    assert_eq!(
        header_text(&headers, header::CONTENT_TYPE.as_str()).as_deref(),
        Some("application/x-protobuf")
    );
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    let span_names = request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .map(|span| span.name.clone())
        .collect();
    record(&state, Call::Export { span_names });
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn invoke_event(request_id: &str, timeout: Duration) -> Value {
    json!({
        "eventType": "INVOKE",
        "deadlineMs": now_ms() + timeout.as_millis() as u64,
        "requestId": request_id,
        "invokedFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:checkout",
        "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}
    })
}

fn shutdown_event() -> Value {
    json!({"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": now_ms() + 2_000})
}

fn free_port() -> u16 {
    otlp_testkit::net::free_port().unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// A collector config receiving on `http_port` and exporting to the test's backend. The batch processor holds
/// spans for a minute, so spans reach the backend within a test only when the extension flushes or drains.
fn write_config(dir: &std::path::Path, http_port: u16, backend: SocketAddr) -> std::path::PathBuf {
    let path = dir.join("extension.yaml");
    std::fs::write(
        &path,
        format!(
            "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:{http_port}\n\
             processors:\n  batch:\n    send_batch_size: 100000\n    timeout: 60s\n\
             exporters:\n  otlphttp:\n    endpoint: http://{backend}\n    compression: none\n\
             service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      \
             exporters: [otlphttp]\n  telemetry:\n    metrics:\n      level: none\n"
        ),
    )
    .unwrap();
    path
}

/// The running extension; stderr and stdout are read as they come so a chatty child never blocks on a full pipe.
struct Extension {
    child: tokio::process::Child,
    stdout: tokio::task::JoinHandle<Vec<u8>>,
    stderr: tokio::task::JoinHandle<Vec<u8>>,
}

fn spawn_extension(
    api: &LambdaApi,
    args: &[&str],
    configure: impl FnOnce(&mut tokio::process::Command),
) -> Extension {
    let mut command = tokio::process::Command::from(otlp_testkit::process::command(BINARY));
    command
        .args([
            "collect",
            "--lambda-extension",
            "--telemetry-host",
            "127.0.0.1",
        ])
        .args(args)
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    configure(&mut command);
    let mut child = command.spawn().expect("start otlp-suite");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    Extension {
        child,
        stdout: tokio::spawn(async move {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes).await;
            bytes
        }),
        stderr: tokio::spawn(async move {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes).await;
            bytes
        }),
    }
}

impl Extension {
    /// Waits (bounded) for the process to exit; returns its status, stdout and stderr.
    async fn exit(mut self) -> (ExitStatus, String, String) {
        let status = tokio::time::timeout(LIMIT, self.child.wait())
            .await
            .expect("the extension exits")
            .expect("wait for the extension");
        let stdout = String::from_utf8_lossy(&self.stdout.await.unwrap()).into_owned();
        let stderr = String::from_utf8_lossy(&self.stderr.await.unwrap()).into_owned();
        (status, stdout, stderr)
    }
}

/// What the function does during an invocation: export spans to the extension over OTLP/HTTP protobuf.
async fn send_spans(http_port: u16, names: &[String]) {
    let spans = names
        .iter()
        .enumerate()
        .map(|(index, name)| Span {
            trace_id: [7; 16].to_vec(),
            span_id: (index as u64 + 1).to_be_bytes().to_vec(),
            name: name.clone(),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_001_000_000,
            ..Default::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{http_port}/v1/traces"))
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .expect("the extension's OTLP receiver answers");
    assert!(
        response.status().is_success(),
        "the extension refused spans: {}",
        response.status()
    );
}

/// What Lambda does once the function responded: push `platform.runtimeDone` to the subscribed destination.
async fn push_runtime_done(api: &LambdaApi, request_id: &str) {
    record(
        &api.state,
        Call::RuntimeDone {
            request_id: request_id.to_owned(),
        },
    );
    let events = json!([{
        "time": "2026-11-21T09:30:00.000Z",
        "type": "platform.runtimeDone",
        "record": {"requestId": request_id, "status": "success", "metrics": {"durationMs": 12.5, "producedBytes": 42}}
    }]);
    let response = reqwest::Client::new()
        .post(api.telemetry_uri())
        .header(header::CONTENT_TYPE, "application/json")
        .body(events.to_string())
        .send()
        .await
        .expect("the extension's Telemetry API listener answers");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
}

fn count(calls: &[Call], wanted: impl Fn(&Call) -> bool) -> usize {
    calls.iter().filter(|call| wanted(call)).count()
}

fn is_next(call: &Call) -> bool {
    matches!(call, Call::Next { .. })
}

/// Span names exported to the backend among `calls`.
fn exported(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .flat_map(|call| match call {
            Call::Export { span_names } => span_names.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// Index of the `n`th (0-based) `Next` call.
fn nth_next(calls: &[Call], n: usize) -> usize {
    calls
        .iter()
        .enumerate()
        .filter(|(_, call)| is_next(call))
        .nth(n)
        .map(|(index, _)| index)
        .unwrap_or_else(|| panic!("no Next #{n} in {calls:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushes_each_invocation_before_next_and_drains_on_shutdown() {
    let api = LambdaApi::start(StatusCode::OK, StatusCode::OK).await;
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let config = write_config(dir.path(), http_port, api.address);
    let extension = spawn_extension(&api, &["--config", config.to_str().unwrap()], |_| {});

    // Spans the function sends in each invocation; one sends none, which must not hold up the next flush.
    const SPANS_PER_INVOCATION: [usize; 3] = [5, 0, 3];
    const INVOCATIONS: usize = SPANS_PER_INVOCATION.len();
    let request_ids: Vec<String> = (0..INVOCATIONS).map(|i| format!("request-{i}")).collect();
    let span_names = |request_id: &str| -> Vec<String> {
        let invocation = request_ids.iter().position(|id| id == request_id).unwrap();
        (0..SPANS_PER_INVOCATION[invocation])
            .map(|n| format!("{request_id}/span-{n}"))
            .collect()
    };

    for (invocation, request_id) in request_ids.iter().enumerate() {
        api.wait_for("the extension to ask for the next event", |calls| {
            count(calls, is_next) == invocation + 1
        })
        .await;
        api.push_event(invoke_event(request_id, Duration::from_secs(60)));
        api.wait_for("the INVOKE to be served", |calls| {
            calls.contains(&Call::Served {
                event_type: "INVOKE".into(),
                request_id: Some(request_id.clone()),
            })
        })
        .await;
        let names = span_names(request_id);
        if !names.is_empty() {
            send_spans(http_port, &names).await;
        }
        push_runtime_done(&api, request_id).await;
    }
    api.wait_for("the extension to finish the last invocation", |calls| {
        count(calls, is_next) == INVOCATIONS + 1
    })
    .await;
    // Spans the function sends after the last flush only reach the backend if SHUTDOWN drains the pipeline (the
    // batch processor would hold them for a minute).
    let late: Vec<String> = (0..4).map(|n| format!("late/span-{n}")).collect();
    send_spans(http_port, &late).await;
    api.push_event(shutdown_event());
    let (status, stdout, stderr) = extension.exit().await;

    assert!(status.success(), "exit status {status}; stderr:\n{stderr}");
    assert_eq!(stdout, "", "extension mode writes nothing to stdout");
    let calls = api.calls();

    assert_eq!(
        count(&calls, |call| matches!(call, Call::Register { .. })),
        1,
        "{calls:#?}"
    );
    assert_eq!(
        calls.first(),
        Some(&Call::Register {
            name: "otlp-suite".into(),
            events: vec!["INVOKE".into(), "SHUTDOWN".into()],
        })
    );
    let subscriptions: Vec<&Call> = calls
        .iter()
        .filter(|call| matches!(call, Call::Subscribe { .. }))
        .collect();
    assert_eq!(subscriptions.len(), 1, "{calls:#?}");
    let Call::Subscribe { identifier, body } = subscriptions[0] else {
        unreachable!()
    };
    assert_eq!(identifier.as_deref(), Some(IDENTIFIER));
    assert_eq!(body["schemaVersion"], "2022-12-13");
    assert_eq!(body["types"], json!(["platform"]));
    assert_eq!(body["destination"]["protocol"], "HTTP");
    assert!(
        body["destination"]["URI"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{body}"
    );
    // Subscribed during init, before the first `next`, as Lambda requires.
    assert!(
        calls
            .iter()
            .position(|call| matches!(call, Call::Subscribe { .. }))
            .unwrap()
            < nth_next(&calls, 0)
    );
    for call in &calls {
        if let Call::Next { identifier } = call {
            assert_eq!(identifier.as_deref(), Some(IDENTIFIER));
        }
    }

    for (invocation, request_id) in request_ids.iter().enumerate() {
        let done = calls
            .iter()
            .position(|call| {
                call == &Call::RuntimeDone {
                    request_id: request_id.clone(),
                }
            })
            .unwrap();
        let next_after_invoke = nth_next(&calls, invocation + 1);
        let mut delivered_before_next = exported(&calls[..next_after_invoke]);
        delivered_before_next.retain(|name| name.starts_with(&format!("{request_id}/")));
        delivered_before_next.sort();
        assert_eq!(
            delivered_before_next,
            span_names(request_id),
            "invocation {request_id}: spans must reach the backend before the extension calls next; {calls:#?}"
        );
        // ... and the flush waited for the end of the invocation rather than firing when INVOKE arrived.
        assert!(
            exported(&calls[..done])
                .iter()
                .all(|name| !name.starts_with(&format!("{request_id}/"))),
            "{calls:#?}"
        );
    }

    let mut all = exported(&calls);
    all.sort();
    let mut expected: Vec<String> = request_ids
        .iter()
        .flat_map(|id| span_names(id))
        .chain(late)
        .collect();
    expected.sort();
    assert_eq!(all, expected, "every span delivered exactly once");
    assert_eq!(
        count(&calls, is_next),
        INVOCATIONS + 1,
        "no next after SHUTDOWN"
    );
    assert!(
        !calls
            .iter()
            .any(|call| matches!(call, Call::ReportedError { .. })),
        "{calls:#?}"
    );
    assert!(
        stderr.contains("subscribed to the Lambda Telemetry API"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_registration_exits_non_zero_with_a_clear_message() {
    let api = LambdaApi::start(StatusCode::FORBIDDEN, StatusCode::OK).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port(), api.address);
    let extension = spawn_extension(&api, &["--config", config.to_str().unwrap()], |_| {});
    let (status, stdout, stderr) = extension.exit().await;

    assert!(!status.success(), "stderr:\n{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("registering with the Lambda Extensions API failed"),
        "{stderr}"
    );
    assert!(stderr.contains("403"), "{stderr}");
    let calls = api.calls();
    assert_eq!(
        count(&calls, |call| matches!(call, Call::Register { .. })),
        1
    );
    assert_eq!(count(&calls, is_next), 0, "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_config_or_endpoint_reports_init_error() {
    let api = LambdaApi::start(StatusCode::OK, StatusCode::OK).await;
    let extension = spawn_extension(&api, &[], |command| {
        command
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL");
    });
    let (status, _, stderr) = extension.exit().await;

    assert!(!status.success(), "stderr:\n{stderr}");
    assert!(stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{stderr}");
    assert!(stderr.contains("--config"), "{stderr}");
    let calls = api.calls();
    assert!(
        calls.contains(&Call::ReportedError {
            path: "/2020-01-01/extension/init/error".into(),
            identifier: Some(IDENTIFIER.into()),
            error_type: Some("Extension.CollectorFailed".into()),
        }),
        "{calls:#?}"
    );
    assert_eq!(count(&calls, is_next), 0, "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_telemetry_api_still_runs_and_drains_on_shutdown() {
    let api = LambdaApi::start(StatusCode::OK, StatusCode::BAD_REQUEST).await;
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let config = write_config(dir.path(), http_port, api.address);
    let extension = spawn_extension(&api, &["--config", config.to_str().unwrap()], |_| {});

    api.wait_for("the first next", |calls| count(calls, is_next) == 1)
        .await;
    // A short function timeout: the fallback flush may race the function's export, and then it waits at most
    // until this deadline.
    api.push_event(invoke_event("only", Duration::from_secs(5)));
    api.wait_for("the INVOKE to be served", |calls| {
        calls.iter().any(|call| matches!(call, Call::Served { .. }))
    })
    .await;
    let names: Vec<String> = (0..3).map(|n| format!("only/span-{n}")).collect();
    send_spans(http_port, &names).await;
    api.wait_for("the fallback flush and next", |calls| {
        count(calls, is_next) == 2
    })
    .await;
    api.push_event(shutdown_event());
    let (status, _, stderr) = extension.exit().await;

    assert!(status.success(), "exit status {status}; stderr:\n{stderr}");
    assert!(stderr.contains("no Telemetry API subscription"), "{stderr}");
    let calls = api.calls();
    let mut all = exported(&calls);
    all.sort();
    assert_eq!(all, names, "{calls:#?}");
    assert!(
        !calls
            .iter()
            .any(|call| matches!(call, Call::ReportedError { .. })),
        "{calls:#?}"
    );
}
