//! A real `lambda_runtime` function wrapped in [`FaasLayer`], run as a child process against the
//! local Runtime API server (there is no Lambda here), exporting through a real OTLP/HTTP
//! exporter to the same server so the order of flushes, responses and `next` calls is observed
//! server-side.

mod support;

use std::process::Stdio;
use std::time::Duration;

use lambda_runtime::{LambdaEvent, service_fn};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_faas::{FaasLayer, short_lived_batch_processor};
use serde_json::{Value, json};
use support::{Call, Invocation, LambdaApi, attribute};
use tower::Layer;

/// Tells the re-executed test binary where to send spans; only the parent sets it.
const CHILD_OTLP_ENDPOINT: &str = "OTLP_FAAS_TEST_CHILD_OTLP_ENDPOINT";
const INVOKED_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live";
const PARENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";
const RUNTIME_TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

async fn handler(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    if event.payload.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err("the payload asked to fail".into());
    }
    Ok(json!({ "handled": event.context.request_id }))
}

/// The function itself; the parent test runs it in a child process because `lambda_runtime`
/// reads its endpoint from the environment, which a multi-threaded test process must not set.
#[test]
#[ignore = "run as a child process by lambda_function_against_local_runtime_api"]
fn child_function() {
    let endpoint = std::env::var(CHILD_OTLP_ENDPOINT)
        .expect("child_function is started by lambda_function_against_local_runtime_api");
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        // Explicit: with the workspace's features unified, the exporter's default may be JSON.
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .build()
        .expect("OTLP exporter");
    let provider = SdkTracerProvider::builder()
        .with_span_processor(short_lived_batch_processor(exporter))
        .build();
    let layer = FaasLayer::builder(provider)
        .flush_timeout(Duration::from_secs(10))
        .build();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(lambda_runtime::run(layer.layer(service_fn(handler))));
    panic!("the runtime loop ended: {result:?}");
}

fn invocations() -> Vec<Invocation> {
    let invocation = |request_id: &str, payload: Value, trace_id: Option<&str>| Invocation {
        request_id: request_id.to_owned(),
        payload,
        invoked_function_arn: INVOKED_ARN.to_owned(),
        trace_id: trace_id.map(str::to_owned),
    };
    vec![
        invocation(
            "req-1-apigw",
            json!({
                "resource": "/orders/{id}",
                "path": "/orders/42",
                "httpMethod": "GET",
                "headers": {"Traceparent": format!("00-{PARENT_TRACE}-{PARENT_SPAN}-01")},
                "requestContext": {"stage": "prod"}
            }),
            Some(RUNTIME_TRACE_HEADER),
        ),
        invocation(
            "req-2-sqs",
            json!({"Records": [
                {"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders",
                 "attributes": {"AWSTraceHeader": "Root=1-5759e988-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1"},
                 "messageAttributes": {}, "body": "a"},
                {"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders",
                 "attributes": {"AWSTraceHeader": "Root=1-5759e988-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=2222222222222222;Sampled=1"},
                 "messageAttributes": {}, "body": "b"}
            ]}),
            Some(RUNTIME_TRACE_HEADER),
        ),
        invocation(
            "req-3-schedule",
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}),
            None,
        ),
        invocation("req-4-fails", json!({"fail": true}), None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_function_against_local_runtime_api() {
    let api = LambdaApi::start().await;
    let expected = invocations();
    for invocation in &expected {
        api.queue_invocation(invocation.clone());
    }
    let mut child =
        otlp_testkit::process::command(std::env::current_exe().expect("test binary path"))
            .args(["child_function", "--exact", "--ignored", "--nocapture"])
            .env("AWS_LAMBDA_RUNTIME_API", api.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", "orders")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "7")
            .env(
                CHILD_OTLP_ENDPOINT,
                format!("http://{}/v1/traces", api.address),
            )
            .env_remove("_X_AMZN_TRACE_ID")
            .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
            .stdout(Stdio::null())
            .spawn()
            .expect("start the function process");

    // Done when the runtime asks for a fifth invocation, which the server holds open.
    api.wait_for("the fifth next call", Duration::from_secs(120), |calls| {
        calls.contains(&Call::Next { served: None })
    })
    .await;
    child.kill().expect("stop the function process");
    let _ = child.wait();

    let calls = api.calls();
    let position = |matches: &dyn Fn(&Call) -> bool| calls.iter().position(matches);
    for (index, invocation) in expected.iter().enumerate() {
        let id = invocation.request_id.as_str();
        let exported = position(&|call| matches!(call, Call::Export { invocation_ids, .. } if invocation_ids.iter().any(|i| i == id)))
            .unwrap_or_else(|| panic!("no export carried {id}: {calls:#?}"));
        let answered = position(&|call| match call {
            Call::Response { request_id, .. } | Call::InvocationError { request_id, .. } => {
                request_id == id
            }
            _ => false,
        })
        .unwrap_or_else(|| panic!("{id} was never answered: {calls:#?}"));
        let next_fetch = calls
            .iter()
            .enumerate()
            .filter(|(_, call)| matches!(call, Call::Next { .. }))
            .nth(index + 1)
            .map(|(position, _)| position)
            .unwrap_or_else(|| panic!("no next call after {id}: {calls:#?}"));
        assert!(
            exported < answered && answered < next_fetch,
            "{id}: export at {exported}, answer at {answered}, next fetch at {next_fetch}: {calls:#?}"
        );
    }
    assert!(
        calls
            .iter()
            .any(|call| matches!(call, Call::Response { request_id, body }
        if request_id == "req-1-apigw" && body["handled"] == "req-1-apigw"))
    );
    assert!(calls.iter().any(|call| matches!(call, Call::InvocationError { request_id, .. } if request_id == "req-4-fails")));

    let spans = api.spans();
    let mut ids: Vec<String> = spans
        .iter()
        .filter_map(|span| attribute(span, "faas.invocation_id"))
        .collect();
    ids.sort();
    let mut expected_ids: Vec<String> = expected.iter().map(|i| i.request_id.clone()).collect();
    expected_ids.sort();
    assert_eq!(ids, expected_ids, "one span per invocation");

    let span_of = |id: &str| {
        spans
            .iter()
            .find(|span| attribute(span, "faas.invocation_id").as_deref() == Some(id))
            .unwrap()
    };
    let cold: Vec<String> = spans
        .iter()
        .filter(|span| attribute(span, "faas.coldstart").as_deref() == Some("true"))
        .filter_map(|span| attribute(span, "faas.invocation_id"))
        .collect();
    assert_eq!(
        cold,
        ["req-1-apigw"],
        "cold start exactly once, on the first invocation"
    );
    assert!(attribute(span_of("req-1-apigw"), "otlp_faas.init_duration_ms").is_some());
    assert!(attribute(span_of("req-2-sqs"), "otlp_faas.init_duration_ms").is_none());

    let http = span_of("req-1-apigw");
    assert_eq!(http.name, "GET /orders/{id}");
    assert_eq!(
        hex(&http.trace_id),
        PARENT_TRACE,
        "parent from the traceparent header, not X-Ray"
    );
    assert_eq!(hex(&http.parent_span_id), PARENT_SPAN);
    assert_eq!(attribute(http, "faas.trigger").as_deref(), Some("http"));
    assert_eq!(
        attribute(http, "cloud.account.id").as_deref(),
        Some("123456789012")
    );
    assert_eq!(
        attribute(http, "cloud.resource_id").as_deref(),
        Some("arn:aws:lambda:eu-west-1:123456789012:function:orders:7")
    );
    let cost: f64 = attribute(http, "otlp_faas.cost_estimate_usd")
        .unwrap()
        .parse()
        .unwrap();
    assert!(cost >= 0.000_000_2, "at least the request price: {cost}");

    let sqs = span_of("req-2-sqs");
    assert_eq!(attribute(sqs, "faas.trigger").as_deref(), Some("pubsub"));
    assert_eq!(
        sqs.name, "orders",
        "the function name when the trigger has no route"
    );
    let linked: Vec<String> = sqs.links.iter().map(|link| hex(&link.trace_id)).collect();
    assert_eq!(
        linked,
        [
            "5759e988aaaaaaaaaaaaaaaaaaaaaaaa",
            "5759e988bbbbbbbbbbbbbbbbbbbbbbbb"
        ]
    );
    // A batch has no single parent, so the Lambda trace header is used.
    assert_eq!(hex(&sqs.trace_id), "5759e988bd862e3fe1be46a994272793");
    assert_eq!(hex(&sqs.parent_span_id), "53995c3f42cd8ad8");
    assert_eq!(
        attribute(sqs, "otlp_faas.parent_from_lambda_trace_id").as_deref(),
        Some("true")
    );
    assert_eq!(
        attribute(sqs, "messaging.destination.name").as_deref(),
        Some("orders")
    );
    assert_eq!(
        attribute(sqs, "messaging.batch.message_count").as_deref(),
        Some("2")
    );

    let schedule = span_of("req-3-schedule");
    assert_eq!(
        attribute(schedule, "faas.trigger").as_deref(),
        Some("timer")
    );
    assert!(
        schedule.parent_span_id.is_empty(),
        "no context anywhere: a root span"
    );

    let failed = span_of("req-4-fails");
    let status = failed.status.as_ref().expect("status");
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
    assert!(
        status.message.contains("the payload asked to fail"),
        "{}",
        status.message
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
