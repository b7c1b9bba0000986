//! The processors real configs use, in a real `otlp-suite collect` process fed by the `opentelemetry-otlp`
//! exporter: a production-style config (memory limiter, resource, attributes, filter, transform, batch) validates
//! with `otlp-suite validate`, runs, and changes exactly what it says.

mod support;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value};
use opentelemetry_sdk::trace::SdkTracerProvider;
use support::{BINARY, Collector, read_requests};

const CONFIG: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
processors:
  memory_limiter: { check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 15 }
  batch: { send_batch_size: 64, timeout: 20ms }
  resource:
    attributes:
      - { key: deployment.environment, value: production, action: upsert }
  attributes/strip-auth:
    actions:
      - { key: http.request.header.authorization, action: delete }
  filter/health:
    error_mode: ignore
    traces:
      span:
        - 'attributes["http.route"] == "/health"'
  transform:
    error_mode: ignore
    trace_statements:
      - context: span
        statements:
          - set(attributes["whose_fault"], "ours") where attributes["http.response.status_code"] >= 500
exporters:
  file: { path: "{dir}/traces.binpb", format: proto, sending_queue: { enabled: false } }
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, resource, attributes/strip-auth, filter/health, transform, batch]
      exporters: [file]
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

const HEALTH_CHECKS: usize = 30;
const API_CALLS: usize = 100;

fn run_application(endpoint: String) {
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .unwrap();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("cart")
        .with_attribute(KeyValue::new("deployment.environment", "staging"))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("cart-http");
    for _ in 0..HEALTH_CHECKS {
        let mut span = tracer.start("GET /health");
        span.set_attribute(KeyValue::new("http.route", "/health"));
        span.end();
    }
    for i in 0..API_CALLS {
        let mut span = tracer.start("GET /api/cart");
        span.set_attribute(KeyValue::new("http.route", "/api/cart"));
        span.set_attribute(KeyValue::new(
            "http.request.header.authorization",
            format!("Bearer token-{i}"),
        ));
        let status = if i % 4 == 0 { 503 } else { 200 };
        span.set_attribute(KeyValue::new("http.response.status_code", status));
        span.set_attribute(KeyValue::new("app.request", i as i64));
        span.end();
    }
    provider.shutdown().unwrap();
}

fn value<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn string(text: &str) -> any_value::Value {
    any_value::Value::StringValue(text.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_config_validates_runs_and_edits_exactly_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start("processors", dir.path(), CONFIG).await;
    let validate = otlp_testkit::process::command(BINARY)
        .arg("validate")
        .arg("--config")
        .arg(collector.dir.join("config.yaml"))
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let endpoint = format!("http://{}", collector.address());
    tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    collector
        .wait_for("the API spans to be written", |m| {
            m.total("otelcol_exporter_sent_spans") >= API_CALLS as u64
        })
        .await;
    let written = collector.dir.join("traces.binpb");
    collector.stop().await;

    let mut spans = 0;
    let mut blamed = 0;
    for resource_spans in read_requests(&written, false)
        .into_iter()
        .flat_map(|request| request.resource_spans)
    {
        let resource = resource_spans.resource.unwrap_or_default();
        assert_eq!(
            value(&resource.attributes, "deployment.environment"),
            Some(&string("production")),
            "the resource attribute is upserted"
        );
        assert_eq!(
            value(&resource.attributes, "service.name"),
            Some(&string("cart"))
        );
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            spans += 1;
            assert_eq!(span.name, "GET /api/cart", "health checks are dropped");
            assert_eq!(
                value(&span.attributes, "http.request.header.authorization"),
                None
            );
            let Some(any_value::Value::IntValue(request)) = value(&span.attributes, "app.request")
            else {
                panic!("app.request is kept: {span:?}");
            };
            let failed = request % 4 == 0;
            assert_eq!(
                value(&span.attributes, "http.response.status_code"),
                Some(&any_value::Value::IntValue(if failed { 503 } else { 200 }))
            );
            if failed {
                blamed += 1;
                assert_eq!(
                    value(&span.attributes, "whose_fault"),
                    Some(&string("ours"))
                );
            } else {
                assert_eq!(value(&span.attributes, "whose_fault"), None);
            }
            assert_eq!(span.attributes.len(), 3 + usize::from(failed));
        }
    }
    assert_eq!(spans, API_CALLS, "every other span comes out");
    assert_eq!(blamed, API_CALLS / 4);
}
