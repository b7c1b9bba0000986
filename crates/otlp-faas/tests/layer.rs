//! [`FaasLayer`] called directly with `LambdaEvent`s, spans collected by the SDK's
//! `InMemorySpanExporter`: trigger kinds per AWS event shape, parent precedence and the Lambda
//! trace-header fallback, batch links, payload injection round trips, cost and flush counters.

use std::sync::Arc;

use lambda_runtime::{Config, Context as LambdaContext, LambdaEvent, service_fn};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, Value as OtelValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use otlp_faas::trigger::{EventSource, InvocationEvent, TriggerKind};
use otlp_faas::{
    FaasLayer, default_propagator, estimate_cost, inject_into_payload, sns_message_attributes,
    sqs_message_attributes,
};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceExt};

struct Harness {
    exporter: InMemorySpanExporter,
    layer: FaasLayer,
}

impl Harness {
    fn new() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        Self {
            layer: FaasLayer::new(provider),
            exporter,
        }
    }

    /// Invokes a handler that fails when the payload says so, and returns the invocation's span.
    async fn invoke(&self, payload: Value, xray: Option<&str>) -> SpanData {
        let mut context = LambdaContext::default();
        context.request_id = format!("req-{}", self.layer.stats().invocations + 1);
        context.xray_trace_id = xray.map(str::to_owned);
        context.invoked_function_arn =
            "arn:aws:lambda:us-east-1:123456789012:function:orders".to_owned();
        context.env_config = Arc::new(Config {
            function_name: "orders".to_owned(),
            memory: 2048,
            version: "$LATEST".to_owned(),
            ..Config::default()
        });
        let mut service = self
            .layer
            .layer(service_fn(|event: LambdaEvent<Value>| async move {
                match event.payload.get("fail") {
                    Some(_) => Err("handler failed"),
                    None => Ok(()),
                }
            }));
        let _ = service
            .ready()
            .await
            .unwrap()
            .call(LambdaEvent::new(payload, context))
            .await;
        self.exporter
            .get_finished_spans()
            .unwrap()
            .pop()
            .expect("a span per invocation")
    }
}

fn attr(span: &SpanData, key: &str) -> Option<OtelValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|value| value.to_string())
}

const TRACEPARENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

fn traceparent() -> String {
    format!("00-{TRACEPARENT_TRACE}-00f067aa0ba902b7-01")
}

#[tokio::test]
async fn http_triggers_take_their_parent_from_headers() {
    let harness = Harness::new();
    let v2 = harness
        .invoke(
            json!({"version": "2.0", "routeKey": "POST /orders", "rawPath": "/orders",
                   "headers": {"traceparent": traceparent()},
                   "requestContext": {"http": {"method": "POST", "path": "/orders"}}}),
            Some(XRAY),
        )
        .await;
    assert_eq!(v2.name, "POST /orders");
    assert_eq!(v2.span_kind, SpanKind::Server);
    assert_eq!(text(&v2, "faas.trigger").as_deref(), Some("http"));
    assert_eq!(text(&v2, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(v2.span_context.trace_id().to_string(), TRACEPARENT_TRACE);
    assert_eq!(v2.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(attr(&v2, "otlp_faas.parent_from_lambda_trace_id"), None);

    let alb = harness
        .invoke(
            json!({"httpMethod": "GET", "path": "/health",
                   "multiValueHeaders": {"X-Amzn-Trace-Id": ["Root=1-5759e988-cccccccccccccccccccccccc;Parent=3333333333333333;Sampled=1"]},
                   "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:..."}}}),
            None,
        )
        .await;
    assert_eq!(text(&alb, "faas.trigger").as_deref(), Some("http"));
    assert_eq!(
        alb.span_context.trace_id().to_string(),
        "5759e988cccccccccccccccccccccccc"
    );
    assert_eq!(alb.name, "orders", "ALB events have no route template");
    assert_eq!(
        EventSource::Alb,
        json!({"requestContext": {"elb": {}}})
            .trigger_context()
            .source
    );
}

#[tokio::test]
async fn lambda_trace_header_is_used_only_without_a_valid_payload_parent() {
    let harness = Harness::new();
    // A malformed traceparent is no parent: the runtime's X-Ray header is used.
    let span = harness
        .invoke(
            json!({"httpMethod": "GET", "headers": {"traceparent": "00-zz-yy-01"}, "requestContext": {}}),
            Some(XRAY),
        )
        .await;
    assert_eq!(
        span.span_context.trace_id().to_string(),
        "5759e988bd862e3fe1be46a994272793"
    );
    assert_eq!(span.parent_span_id.to_string(), "53995c3f42cd8ad8");
    assert_eq!(
        attr(&span, "otlp_faas.parent_from_lambda_trace_id"),
        Some(OtelValue::Bool(true))
    );

    // A malformed runtime header is ignored too: a root span.
    let root = harness
        .invoke(json!({"anything": 1}), Some("Root=garbage"))
        .await;
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    assert_eq!(text(&root, "faas.trigger").as_deref(), Some("other"));
}

#[tokio::test]
async fn sqs_single_message_is_the_parent_and_batches_become_links() {
    let harness = Harness::new();
    let record = |trace: &str, attributes: Value| {
        json!({"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs",
               "attributes": {"AWSTraceHeader": format!("Root=1-5759e988-{trace};Parent=1111111111111111;Sampled=1")},
               "messageAttributes": attributes})
    };
    let single = harness
        .invoke(
            json!({"Records": [record("aaaaaaaaaaaaaaaaaaaaaaaa", json!({}))]}),
            Some(XRAY),
        )
        .await;
    assert_eq!(single.span_kind, SpanKind::Consumer);
    assert_eq!(
        single.span_context.trace_id().to_string(),
        "5759e988aaaaaaaaaaaaaaaaaaaaaaaa"
    );
    assert_eq!(single.links.len(), 1);
    assert_eq!(
        text(&single, "messaging.system").as_deref(),
        Some("aws_sqs")
    );
    assert_eq!(
        text(&single, "messaging.destination.name").as_deref(),
        Some("jobs")
    );

    // W3C message attributes win over the X-Ray system attribute.
    let w3c = json!({"traceparent": {"stringValue": traceparent(), "dataType": "String"}});
    let batch = harness
        .invoke(
            json!({"Records": [
                record("aaaaaaaaaaaaaaaaaaaaaaaa", w3c),
                record("bbbbbbbbbbbbbbbbbbbbbbbb", json!({})),
                {"eventSource": "aws:sqs", "messageAttributes": {}, "attributes": {}}
            ]}),
            None,
        )
        .await;
    let linked: Vec<String> = batch
        .links
        .iter()
        .map(|link| link.span_context.trace_id().to_string())
        .collect();
    assert_eq!(
        linked,
        [TRACEPARENT_TRACE, "5759e988bbbbbbbbbbbbbbbbbbbbbbbb"]
    );
    assert_eq!(
        batch.parent_span_id,
        SpanId::INVALID,
        "a batch has no single parent"
    );
    assert_eq!(
        attr(&batch, "messaging.batch.message_count"),
        Some(OtelValue::I64(3))
    );
}

#[tokio::test]
async fn sns_eventbridge_and_datastores() {
    let harness = Harness::new();
    let sns = harness
        .invoke(
            json!({"Records": [{"EventSource": "aws:sns", "Sns": {
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders-topic",
                "MessageAttributes": {"traceparent": {"Type": "String", "Value": traceparent()},
                                      "count": {"Type": "Number", "Value": "3"}}}}]}),
            None,
        )
        .await;
    assert_eq!(text(&sns, "faas.trigger").as_deref(), Some("pubsub"));
    assert_eq!(text(&sns, "messaging.system").as_deref(), Some("aws_sns"));
    assert_eq!(
        text(&sns, "messaging.destination.name").as_deref(),
        Some("orders-topic")
    );
    assert_eq!(sns.span_context.trace_id().to_string(), TRACEPARENT_TRACE);

    let custom = harness
        .invoke(
            json!({"source": "shop.orders", "detail-type": "OrderPlaced",
                   "detail": {"headers": {"traceparent": traceparent()}, "id": 7}}),
            None,
        )
        .await;
    assert_eq!(text(&custom, "faas.trigger").as_deref(), Some("pubsub"));
    assert_eq!(
        text(&custom, "aws.eventbridge.detail_type").as_deref(),
        Some("OrderPlaced")
    );
    assert_eq!(
        custom.span_context.trace_id().to_string(),
        TRACEPARENT_TRACE
    );

    let schedule = harness
        .invoke(
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}),
            None,
        )
        .await;
    assert_eq!(text(&schedule, "faas.trigger").as_deref(), Some("timer"));

    let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]}).trigger_context();
    assert_eq!(
        (s3.kind, s3.source),
        (TriggerKind::Datasource, EventSource::DataStore)
    );
    for odd in [
        json!(null),
        json!([1, 2]),
        json!({"Records": []}),
        json!({"Records": [{"eventSource": 5}]}),
        json!("text"),
    ] {
        assert_eq!(odd.trigger_context().kind, TriggerKind::Other, "{odd}");
    }
}

#[tokio::test]
async fn coldstart_errors_cost_and_flushes() {
    let harness = Harness::new();
    let first = harness.invoke(json!({}), None).await;
    let second = harness.invoke(json!({"fail": true}), None).await;
    assert_eq!(attr(&first, "faas.coldstart"), Some(OtelValue::Bool(true)));
    assert_eq!(
        attr(&second, "faas.coldstart"),
        Some(OtelValue::Bool(false))
    );
    assert!(attr(&first, "otlp_faas.init_duration_ms").is_some());
    assert!(attr(&second, "otlp_faas.init_duration_ms").is_none());
    assert!(
        matches!(&second.status, Status::Error { description } if description.contains("handler failed"))
    );
    assert_eq!(text(&first, "faas.invocation_id").as_deref(), Some("req-1"));
    assert_eq!(
        text(&first, "cloud.resource_id").as_deref(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:orders")
    );

    let Some(OtelValue::I64(billed)) = attr(&first, "otlp_faas.billed_duration_ms") else {
        panic!("billed duration missing");
    };
    let Some(OtelValue::F64(cost)) = attr(&first, "otlp_faas.cost_estimate_usd") else {
        panic!("cost missing");
    };
    let expected = estimate_cost(
        2048,
        billed as u64,
        otlp_faas::layer::DEFAULT_PRICE_PER_GB_SECOND,
        otlp_faas::layer::DEFAULT_PRICE_PER_REQUEST,
    )
    .unwrap();
    assert_eq!(cost, expected);
    let stats = harness.layer.stats();
    assert_eq!(
        (
            stats.invocations,
            stats.flushes,
            stats.flush_errors,
            stats.flush_timeouts
        ),
        (2, 2, 0, 0)
    );
}

#[test]
fn cost_estimate_follows_lambda_pricing() {
    // 1 GB for 1 s at the x86 price, plus one request.
    let cost = estimate_cost(1024, 1000, 0.000_016_666_7, 0.000_000_2).unwrap();
    assert!((cost - 0.000_016_866_7).abs() < 1e-15, "{cost}");
    // 128 MB for 10 ms with no request price.
    let cost = estimate_cost(128, 10, 0.000_016_666_7, 0.0).unwrap();
    assert!(
        (cost - 0.125 * 0.01 * 0.000_016_666_7).abs() < 1e-18,
        "{cost}"
    );
    assert_eq!(estimate_cost(0, 10, 1.0, 1.0), None);
    assert_eq!(estimate_cost(-5, 10, 1.0, 1.0), None);
}

fn caller_context() -> Context {
    let span_context = SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(span_context)
}

#[tokio::test]
async fn injected_payloads_round_trip_through_the_layer() {
    let harness = Harness::new();
    let propagator = default_propagator();

    let mut payload = json!({"order": 7, "headers": {"x-keep": "me"}});
    assert!(inject_into_payload(
        &caller_context(),
        &propagator,
        &mut payload
    ));
    assert_eq!(payload["headers"]["x-keep"], "me");
    let direct = harness.invoke(payload, Some(XRAY)).await;
    assert_eq!(
        direct.span_context.trace_id().to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(direct.parent_span_id.to_string(), "b7ad6b7169203331");

    let attributes = sqs_message_attributes(&caller_context(), &propagator);
    // SendMessage spells them DataType / StringValue; Lambda delivers dataType / stringValue.
    let delivered: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(name, attribute)| {
            (
                name.clone(),
                json!({"dataType": attribute["DataType"], "stringValue": attribute["StringValue"]}),
            )
        })
        .collect();
    let sqs = harness
        .invoke(json!({"Records": [{"eventSource": "aws:sqs", "messageAttributes": delivered, "attributes": {}}]}), None)
        .await;
    assert_eq!(
        sqs.span_context.trace_id().to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );

    let sns_attributes = sns_message_attributes(&caller_context(), &propagator);
    let delivered: serde_json::Map<String, Value> = sns_attributes
        .iter()
        .map(|(name, attribute)| {
            (
                name.clone(),
                json!({"Type": "String", "Value": attribute["StringValue"]}),
            )
        })
        .collect();
    let sns = harness
        .invoke(json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageAttributes": delivered}}]}), None)
        .await;
    assert_eq!(sns.parent_span_id.to_string(), "b7ad6b7169203331");

    assert!(!inject_into_payload(
        &caller_context(),
        &propagator,
        &mut json!([1])
    ));
    assert!(!inject_into_payload(
        &caller_context(),
        &propagator,
        &mut json!({"headers": "not an object"})
    ));
}

#[tokio::test]
async fn handler_spans_nest_under_the_invocation_span() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("handler");
    let layer = FaasLayer::new(provider);
    let mut service = layer.layer(service_fn(move |_event: LambdaEvent<Value>| {
        // Started while the service builds its future, before anything is polled.
        let before_await = tracer.start("validate");
        let tracer = tracer.clone();
        async move {
            drop(before_await);
            tokio::task::yield_now().await;
            tracer.in_span("query database", |_| {});
            Ok::<_, lambda_runtime::Error>(())
        }
    }));
    let _ = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(json!({}), LambdaContext::default()))
        .await;
    let spans = exporter.get_finished_spans().unwrap();
    let invocation = spans
        .iter()
        .find(|span| attr(span, "faas.invocation_id").is_some())
        .unwrap();
    let children: Vec<(&str, SpanId)> = spans
        .iter()
        .filter(|span| span.span_context.span_id() != invocation.span_context.span_id())
        .map(|span| (span.name.as_ref(), span.parent_span_id))
        .collect();
    let parent = invocation.span_context.span_id();
    assert_eq!(children, [("validate", parent), ("query database", parent)]);
}

/// An OTLP receiver that accepts connections and never answers: the flush must give up at the
/// invocation's deadline (minus the margin) instead of holding the response back.
#[test]
fn a_hanging_exporter_cannot_hold_the_response_past_the_deadline() {
    use opentelemetry_otlp::WithExportConfig;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let holder = std::thread::spawn(move || {
        // Keep the accepted connection open, unanswered, until the exporter gives up.
        let (connection, _) = listener.accept().unwrap();
        let mut buffer = [0u8; 4096];
        let mut connection = connection;
        while std::io::Read::read(&mut connection, &mut buffer).is_ok_and(|n| n > 0) {}
    });
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        // Explicit: with the workspace's features unified, the exporter's default may be JSON.
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("http://{address}/v1/traces"))
        .with_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(otlp_faas::short_lived_batch_processor(exporter))
        .build();
    let layer = FaasLayer::builder(provider.clone())
        .flush_timeout(Duration::from_secs(60))
        .deadline_margin(Duration::from_millis(50))
        .build();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut service = layer.layer(service_fn(|_event: LambdaEvent<Value>| async {
        Ok::<_, lambda_runtime::Error>("answered")
    }));
    let mut context = LambdaContext::default();
    context.deadline = (SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
        + Duration::from_millis(300))
    .as_millis() as u64;
    let answer = runtime
        .block_on(async {
            service
                .ready()
                .await?
                .call(LambdaEvent::new(json!({}), context))
                .await
        })
        .unwrap();
    assert_eq!(answer, "answered");
    let stats = layer.stats();
    assert_eq!((stats.flushes, stats.flush_timeouts), (0, 1), "{stats:?}");
    drop(runtime);
    let _ = provider.shutdown();
    holder.join().unwrap();
}
