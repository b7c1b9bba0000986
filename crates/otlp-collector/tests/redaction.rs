//! The `redaction` processor behind the real `opentelemetry-otlp` exporter: a checkout service whose spans carry a
//! card number, a customer's e-mail and a session token reach the file with only what is allowed, masked where it
//! must be, and the summary of what was done.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider, read_traces};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::common::v1::any_value;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  redaction:
    allowed_keys: [http.route, payment.note, customer.email, session.token, service.name, telemetry.sdk.name]
    blocked_key_patterns: ["token$"]
    blocked_values: ["4[0-9]{12}(?:[0-9]{3})?", "(5[1-5][0-9]{14})"]
    allowed_values: ["@example\\.com$"]
    summary: debug
exporters:
  file: { path: "{dir}/traces", format: proto }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [redaction], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

fn text(
    attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            any_value::Value::IntValue(i) => Some(i.to_string()),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_tokens_and_unlisted_attributes_do_not_leave() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("checkout")
            .with_attribute(KeyValue::new("host.name", "pay-1"))
            .build();
        let provider = grpc_tracer_provider(endpoint, resource);
        let tracer = provider.tracer("checkout");
        let mut span = tracer.start("POST /pay");
        span.set_attribute(KeyValue::new("http.route", "/pay"));
        span.set_attribute(KeyValue::new(
            "payment.note",
            "card 4111111111111111, then 5500000000000004",
        ));
        span.set_attribute(KeyValue::new("customer.email", "ada@example.com"));
        span.set_attribute(KeyValue::new("session.token", "eyJhbGciOi"));
        span.set_attribute(KeyValue::new("customer.birth_date", "1815-12-10"));
        span.add_event("charged", vec![KeyValue::new("card", "4111111111111111")]);
        span.end();
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = harness.shut_down_cleanly().await;
    let requests = read_traces(&dir.path().join("traces"), false);
    let spans = common::spans(&requests);
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    let attributes = &span.attributes;
    assert_eq!(text(attributes, "http.route").as_deref(), Some("/pay"));
    assert_eq!(
        text(attributes, "payment.note").as_deref(),
        Some("card ****, then ****")
    );
    assert_eq!(
        text(attributes, "customer.email").as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(text(attributes, "session.token").as_deref(), Some("****"));
    assert_eq!(text(attributes, "customer.birth_date"), None);
    assert_eq!(
        text(attributes, "redaction.redacted.keys").as_deref(),
        Some("customer.birth_date")
    );
    assert_eq!(
        text(attributes, "redaction.masked.keys").as_deref(),
        Some("payment.note,session.token")
    );
    assert_eq!(
        text(attributes, "redaction.allowed.keys").as_deref(),
        Some("customer.email")
    );
    // The event's `card` key is not allowed: removed with its number.
    assert!(span.events[0].attributes.iter().all(|kv| kv.key != "card"));
    let resource = &requests[0].resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(text(resource, "service.name").as_deref(), Some("checkout"));
    assert_eq!(
        text(resource, "host.name"),
        None,
        "resources are redacted too"
    );
    let everything = format!("{requests:?}");
    for secret in [
        "4111111111111111",
        "5500000000000004",
        "eyJhbGciOi",
        "1815-12-10",
        "pay-1",
    ] {
        assert!(!everything.contains(secret), "{secret} left the collector");
    }
}

#[test]
fn sanitizers_are_refused_and_an_empty_allow_list_is_warned_about() {
    let problems = config_problems(&CONFIG.replace(
        "summary: debug",
        "summary: debug\n    url_sanitizer: { enabled: true }",
    ));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "processors.redaction.url_sanitizer");
    assert!(
        problems[0].1.contains("blocked_values"),
        "{}",
        problems[0].1
    );

    let yaml = CONFIG.replace(
        "allowed_keys: [http.route, payment.note, customer.email, session.token, service.name, telemetry.sdk.name]",
        "hash_function: md5",
    );
    let config = otlp_collector::Config::from_yaml(&yaml).unwrap();
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("every attribute is removed"),
        "{warnings:?}"
    );
}
