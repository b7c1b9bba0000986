//! [`ExtensionClient`] end to end against the local Extensions API server: registration,
//! `INVOKE` / `SHUTDOWN` events, error reporting, and an extension loop that flushes a real OTLP
//! exporter on `SHUTDOWN`.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use otlp_faas::{Error, EventType, ExtensionClient, ExtensionEvent, ShutdownReason};
use serde_json::json;
use support::{Call, EXTENSION_IDENTIFIER, LambdaApi};

fn in_a_minute_ms() -> u64 {
    (SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60)).as_millis()
        as u64
}

#[tokio::test]
async fn registers_and_receives_invoke_then_shutdown() {
    let api = LambdaApi::start().await;
    let client = ExtensionClient::register(
        &api.runtime_api(),
        "otlp-suite",
        &[EventType::Invoke, EventType::Shutdown],
    )
    .await
    .unwrap();
    assert_eq!(client.identifier(), EXTENSION_IDENTIFIER);
    assert_eq!(client.registration().function_name, "orders");
    assert_eq!(client.registration().function_version, "7");
    assert_eq!(
        api.calls(),
        [Call::Register {
            name: "otlp-suite".to_owned(),
            events: vec!["INVOKE".to_owned(), "SHUTDOWN".to_owned()],
        }]
    );

    let deadline = in_a_minute_ms();
    api.queue_extension_event(json!({
        "eventType": "INVOKE",
        "deadlineMs": deadline,
        "requestId": "3da1f2dc-3222-475e-9205-e2e6c6318895",
        "invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
        "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}
    }));
    let event = client.next_event().await.unwrap();
    assert_eq!(
        event,
        ExtensionEvent::Invoke {
            request_id: "3da1f2dc-3222-475e-9205-e2e6c6318895".to_owned(),
            deadline_ms: deadline,
            invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:orders"
                .to_owned(),
            xray_trace_id: Some(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                    .to_owned()
            ),
        }
    );
    assert!(event.time_remaining() > Duration::ZERO);

    api.queue_extension_event(
        json!({"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": deadline}),
    );
    let event = client.next_event().await.unwrap();
    assert_eq!(
        event,
        ExtensionEvent::Shutdown {
            reason: ShutdownReason::Spindown,
            deadline_ms: deadline
        }
    );
    assert_eq!(
        event.deadline(),
        UNIX_EPOCH + Duration::from_millis(deadline)
    );
}

/// What the lead's `collect --lambda-extension` does, with a real batch processor whose
/// schedule never fires during the test: the spans reach the OTLP receiver only because the loop
/// flushes on SHUTDOWN.
#[test]
fn extension_loop_flushes_on_shutdown() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let api = runtime.block_on(LambdaApi::start());
    // Built outside the runtime: the blocking HTTP client must not be created or dropped on it.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        // Explicit: with the workspace's features unified, the exporter's default may be JSON.
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("http://{}/v1/traces", api.address))
        .build()
        .unwrap();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let tracer = provider.tracer("extension-test");

    let deadline = in_a_minute_ms();
    for request_id in ["a", "b"] {
        api.queue_extension_event(
            json!({"eventType": "INVOKE", "deadlineMs": deadline, "requestId": request_id}),
        );
    }
    api.queue_extension_event(
        json!({"eventType": "SHUTDOWN", "shutdownReason": "timeout", "deadlineMs": deadline}),
    );

    let flusher = provider.clone();
    let handled = runtime.block_on(async {
        let client = ExtensionClient::register(
            &api.runtime_api(),
            "otlp-suite",
            &[EventType::Invoke, EventType::Shutdown],
        )
        .await
        .unwrap();
        let mut handled = Vec::new();
        loop {
            match client.next_event().await.unwrap() {
                ExtensionEvent::Invoke { request_id, .. } => {
                    tracer.in_span(format!("received during {request_id}"), |_| {});
                    handled.push(request_id);
                }
                ExtensionEvent::Shutdown { reason, .. } => {
                    assert_eq!(reason, ShutdownReason::Timeout);
                    let flusher = flusher.clone();
                    tokio::task::spawn_blocking(move || flusher.force_flush())
                        .await
                        .unwrap()
                        .unwrap();
                    break;
                }
            }
        }
        handled
    });
    assert_eq!(handled, ["a", "b"]);

    let calls = api.calls();
    let shutdown_served = calls
        .iter()
        .position(|call| matches!(call, Call::ExtensionNext { served: Some(kind), .. } if kind == "SHUTDOWN"))
        .expect("SHUTDOWN served");
    let exported: Vec<(usize, &Vec<String>)> = calls
        .iter()
        .enumerate()
        .filter_map(|(position, call)| match call {
            Call::Export { span_names, .. } => Some((position, span_names)),
            _ => None,
        })
        .collect();
    assert_eq!(exported.len(), 1, "one export, from the flush: {calls:#?}");
    let (export_position, names) = exported[0];
    assert!(export_position > shutdown_served);
    assert_eq!(names, &["received during a", "received during b"]);
    assert!(calls.iter().all(|call| match call {
        Call::ExtensionNext { identifier, .. } => identifier == EXTENSION_IDENTIFIER,
        _ => true,
    }));
    drop(tracer);
    drop(provider);
    drop(runtime);
}

#[tokio::test]
async fn reports_init_and_exit_errors_with_the_identifier() {
    let api = LambdaApi::start().await;
    let client =
        ExtensionClient::register(&api.runtime_api(), "otlp-suite", &[EventType::Shutdown])
            .await
            .unwrap();
    client
        .init_error("Extension.ReceiverFailed", "cannot bind 127.0.0.1:4318")
        .await
        .unwrap();
    client
        .exit_error("Extension.Crashed", "gave up")
        .await
        .unwrap();
    let errors: Vec<Call> = api
        .calls()
        .into_iter()
        .filter(|call| matches!(call, Call::ExtensionError { .. }))
        .collect();
    assert_eq!(
        errors,
        [
            Call::ExtensionError {
                path: "/2020-01-01/extension/init/error".to_owned(),
                identifier: EXTENSION_IDENTIFIER.to_owned(),
                error_type: "Extension.ReceiverFailed".to_owned(),
            },
            Call::ExtensionError {
                path: "/2020-01-01/extension/exit/error".to_owned(),
                identifier: EXTENSION_IDENTIFIER.to_owned(),
                error_type: "Extension.Crashed".to_owned(),
            },
        ]
    );
}

#[tokio::test]
async fn refused_registration_is_a_status_error_with_the_body() {
    let api = LambdaApi::start().await;
    let error = ExtensionClient::register(&api.runtime_api(), "", &[EventType::Invoke])
        .await
        .unwrap_err();
    match error {
        Error::Status { status, body, path } => {
            assert_eq!(status, 403);
            assert_eq!(path, "/2020-01-01/extension/register");
            assert!(body.contains("Extension.MissingName"), "{body}");
        }
        other => panic!("expected a status error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_addresses_and_unreachable_apis_are_errors() {
    for address in ["", "http://127.0.0.1:9001", "127.0.0.1:9001/path"] {
        let error = ExtensionClient::register(address, "x", &[EventType::Invoke])
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::InvalidRuntimeApi { .. }),
            "{address}: {error:?}"
        );
    }
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = ExtensionClient::register(&format!("127.0.0.1:{port}"), "x", &[EventType::Invoke])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
}

#[test]
fn event_bodies_are_parsed_strictly() {
    use otlp_faas::extension::parse_event;
    assert!(matches!(
        parse_event(br#"{"eventType":"SHUTDOWN","shutdownReason":"failure","deadlineMs":5}"#),
        Ok(ExtensionEvent::Shutdown {
            reason: ShutdownReason::Failure,
            deadline_ms: 5
        })
    ));
    assert!(matches!(
        parse_event(br#"{"eventType":"SHUTDOWN","shutdownReason":"eviction","deadlineMs":5}"#),
        Ok(ExtensionEvent::Shutdown { reason: ShutdownReason::Other(reason), .. }) if reason == "eviction"
    ));
    for body in [
        &br#"{"eventType":"RESTORE"}"#[..],
        br#"{"eventType":"INVOKE","deadlineMs":1}"#,
        br#"not json"#,
        br#"{"deadlineMs":1}"#,
    ] {
        assert!(
            matches!(parse_event(body), Err(Error::InvalidResponse { .. })),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[tokio::test]
async fn names_that_are_not_header_values_are_refused_before_sending() {
    let api = LambdaApi::start().await;
    let error = ExtensionClient::register(&api.runtime_api(), "bad\nname", &[EventType::Invoke])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::InvalidArgument {
                what: "extension name",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(api.calls().is_empty(), "nothing reached the API");
}
