//! The `span` processor as otelcol configs write it, fed by the real `opentelemetry-otlp` exporter: high-cardinality
//! route names turned into a template and attributes, database spans named from their attributes, client errors
//! given an error status. The same spans also go through a pipeline without processors, and what the processed
//! pipeline wrote is compared exactly against that input with the edits applied by hand.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider, read_traces, string_attribute};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::common::v1::{KeyValue as ProtoKeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use std::collections::BTreeMap;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  span/routes:
    include: { match_type: regexp, span_names: ["^GET /api/"] }
    name:
      to_attributes:
        rules:
          - ^GET /api/v1/users/(?P<user_id>\d+)/orders/(?P<order_id>\d+)$
          - ^GET /api/v1/users/(?P<user_id>\d+)$
        break_after_match: true
  span/db:
    include:
      match_type: strict
      span_kinds: [SPAN_KIND_CLIENT]
      attributes: [{ key: db.system }]
    name:
      from_attributes: [db.operation.name, db.collection.name]
      separator: " "
  span/client-errors:
    include:
      match_type: strict
      attributes: [{ key: http.response.status_code, value: 400 }]
    status: { code: Error, description: "bad request" }
  batch: { send_batch_size: 64, timeout: 20ms }
exporters:
  file/raw: { path: "{dir}/raw", format: proto }
  file/processed: { path: "{dir}/processed", format: proto }
service:
  pipelines:
    traces/raw: { receivers: [otlp], exporters: [file/raw] }
    traces:
      receivers: [otlp]
      processors: [span/routes, span/db, span/client-errors, batch]
      exporters: [file/processed]
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

const REQUESTS: usize = 60;

/// A service that names its server spans by the URL (one name per user and order), and queries a database.
fn run_application(endpoint: String) {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("orders")
        .build();
    let provider = grpc_tracer_provider(endpoint, resource);
    let tracer = provider.tracer("orders-http");
    for i in 0..REQUESTS {
        let name = match i % 3 {
            0 => format!("GET /api/v1/users/{i}/orders/{}", 1000 + i),
            1 => format!("GET /api/v1/users/{i}"),
            _ => format!("GET /api/v2/users/{i}"),
        };
        let mut span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .start(&tracer);
        let status = if i % 4 == 0 { 400 } else { 200 };
        span.set_attribute(KeyValue::new("http.response.status_code", status));
        span.end();
        let mut query = tracer
            .span_builder("query")
            .with_kind(SpanKind::Client)
            .start(&tracer);
        query.set_attribute(KeyValue::new("db.system", "postgresql"));
        query.set_attribute(KeyValue::new("db.operation.name", "SELECT"));
        if i % 2 == 0 {
            query.set_attribute(KeyValue::new("db.collection.name", "orders"));
        }
        query.end();
    }
    provider.shutdown().unwrap();
}

fn attribute<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn by_span_id(path: &std::path::Path) -> BTreeMap<Vec<u8>, Span> {
    common::spans(&read_traces(path, false))
        .into_iter()
        .map(|span| (span.span_id.clone(), span))
        .collect()
}

/// What the three `span` processors must make of a received span, written out by hand.
fn expected(span: &Span) -> Span {
    let mut span = span.clone();
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = span.name.strip_prefix("GET /api/v1/users/") {
        let parts: Vec<&str> = rest.split("/orders/").collect();
        match parts[..] {
            [user, order] if digits(user) && digits(order) => {
                span.attributes.push(string_attribute("user_id", user));
                span.attributes.push(string_attribute("order_id", order));
                span.name = "GET /api/v1/users/{user_id}/orders/{order_id}".into();
            }
            [user] if digits(user) => {
                span.attributes.push(string_attribute("user_id", user));
                span.name = "GET /api/v1/users/{user_id}".into();
            }
            _ => {}
        }
    }
    if span.kind == 3
        && attribute(&span.attributes, "db.system").is_some()
        && let (
            Some(any_value::Value::StringValue(operation)),
            Some(any_value::Value::StringValue(table)),
        ) = (
            attribute(&span.attributes, "db.operation.name"),
            attribute(&span.attributes, "db.collection.name"),
        )
    {
        span.name = format!("{operation} {table}");
    }
    if attribute(&span.attributes, "http.response.status_code")
        == Some(&any_value::Value::IntValue(400))
    {
        span.status = Some(Status {
            code: 2,
            message: "bad request".into(),
        });
    }
    span
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_become_templates_queries_are_named_and_client_errors_fail() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    let dir = harness.shut_down_cleanly().await;

    let raw = by_span_id(&dir.path().join("raw"));
    let processed = by_span_id(&dir.path().join("processed"));
    assert_eq!(raw.len(), 2 * REQUESTS, "every span was received");
    let want: BTreeMap<_, _> = raw
        .iter()
        .map(|(id, span)| (id.clone(), expected(span)))
        .collect();
    pretty_assertions::assert_eq!(processed, want);

    // Spelled out, beside the exact comparison.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for span in processed.values() {
        *names.entry(span.name.as_str()).or_default() += 1;
    }
    assert_eq!(
        names["GET /api/v1/users/{user_id}/orders/{order_id}"],
        REQUESTS / 3
    );
    assert_eq!(names["GET /api/v1/users/{user_id}"], REQUESTS / 3);
    assert_eq!(names["SELECT orders"], REQUESTS / 2);
    assert_eq!(
        names["query"],
        REQUESTS / 2,
        "queries without a table keep their name"
    );
    assert!(!names.contains_key("GET /api/v1/users/0/orders/1000"));
    assert!(
        names.contains_key("GET /api/v2/users/2"),
        "no rule matches v2: left alone"
    );
    let failed = processed
        .values()
        .filter(|s| s.status.as_ref().is_some_and(|s| s.code == 2))
        .count();
    assert_eq!(failed, REQUESTS / 4);
}

#[test]
fn a_traces_only_processor_in_a_metrics_pipeline_and_a_bad_status_are_named() {
    let yaml = r#"
receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } } }
processors:
  span:
    name: { from_attributes: [db.operation.name] }
    status: { code: ERROR, description: failed }
exporters: { debug: }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [span], exporters: [debug] }
    metrics: { receivers: [otlp], processors: [span], exporters: [debug] }
"#;
    let problems = config_problems(yaml);
    let paths: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "service.pipelines.metrics.processors",
            "processors.span.status.code"
        ],
        "{problems:?}"
    );
    assert_eq!(problems[0].1, "`span` does not process metrics");
    assert!(problems[1].1.contains("write `Error`"), "{}", problems[1].1);
}
