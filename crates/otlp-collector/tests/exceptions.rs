//! The `exceptions` connector as otelcol-contrib's README configures it: the exceptions an application's spans
//! recorded (`record_error`, and an `exception` event written by hand) become a metric and log records. Fed by
//! the real `opentelemetry-otlp` exporter; what the file exporters wrote is compared with what was sent.

mod common;

use common::{
    TestCollector, config_problems, grpc_tracer_provider, read_logs, read_metrics, read_traces,
    spans,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use std::collections::{BTreeMap, BTreeSet};

const EXCEPTIONS: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  exceptions:
    dimensions: [{ name: tenant, default: none }]
    exemplars: { enabled: true }
exporters:
  file/traces: { path: "{dir}/traces.jsonl", format: json }
  file/metrics: { path: "{dir}/metrics.jsonl", format: json }
  file/logs: { path: "{dir}/logs.jsonl", format: json }
service:
  pipelines:
    traces:  { receivers: [otlp], exporters: [file/traces, exceptions] }
    metrics: { receivers: [exceptions], exporters: [file/metrics] }
    logs:    { receivers: [exceptions], exporters: [file/logs] }
  telemetry:
    metrics: { level: none }
"#;

#[derive(Debug)]
struct CardDeclined;

impl std::fmt::Display for CardDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for CardDeclined {}

/// Thirty payments: every third records an error with the API's `record_error`, every fifth a timeout as an
/// `exception` event written by hand with its type; every payment logs a `retry` event, which is no exception.
fn run_application(endpoint: String) {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("checkout")
        .build();
    let provider = grpc_tracer_provider(endpoint, resource);
    let tracer = provider.tracer("payments");
    for i in 0..30 {
        let mut span = tracer.start("POST /pay");
        span.set_attribute(KeyValue::new(
            "tenant",
            if i % 2 == 0 { "acme" } else { "globex" },
        ));
        span.add_event("retry", vec![KeyValue::new("attempt", 1)]);
        if i % 3 == 0 {
            span.record_error(&CardDeclined);
            span.set_status(Status::error("card declined"));
        }
        if i % 5 == 0 {
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", "Timeout"),
                    KeyValue::new("exception.message", "card network timed out"),
                ],
            );
        }
        span.end();
    }
    provider.shutdown().unwrap();
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_exceptions_become_a_counted_metric_and_error_log_records() {
    let collector = TestCollector::start(EXCEPTIONS).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    let dir = collector.shut_down_cleanly().await;

    // What the application sent: the exception events, by span.
    let sent = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    let exceptions: Vec<(Vec<u8>, Vec<u8>, String)> = sent
        .iter()
        .flat_map(|span| {
            span.events
                .iter()
                .filter(|event| event.name == "exception")
                .map(|event| {
                    let message = event
                        .attributes
                        .iter()
                        .find(|kv| kv.key == "exception.message")
                        .map(|kv| text(&kv.value))
                        .unwrap_or_default();
                    (span.trace_id.clone(), span.span_id.clone(), message)
                })
        })
        .collect();
    // Payments 0, 3, ..., 27 and 0, 5, ..., 25.
    assert_eq!(exceptions.len(), 10 + 6);

    // One error record per exception, with the span's ids, and its message as the body.
    let records: Vec<_> = read_logs(&dir.path().join("logs.jsonl"), true)
        .into_iter()
        .flat_map(|request| request.resource_logs)
        .flat_map(|resource| {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .map(|kv| text(&kv.value));
            assert_eq!(service.as_deref(), Some("checkout"));
            resource.scope_logs
        })
        .flat_map(|scope| scope.log_records)
        .collect();
    let logged: BTreeSet<_> = records
        .iter()
        .map(|record| {
            (
                record.trace_id.clone(),
                record.span_id.clone(),
                text(&record.body),
            )
        })
        .collect();
    assert_eq!(logged, exceptions.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(records.len(), exceptions.len());
    for record in &records {
        assert_eq!(record.severity_text, "ERROR");
        let attribute = |key: &str| {
            record
                .attributes
                .iter()
                .find(|kv| kv.key == key)
                .map(|kv| text(&kv.value))
        };
        assert_eq!(attribute("span.name").as_deref(), Some("POST /pay"));
        assert!(attribute("tenant").is_some());
    }

    // The metric is cumulative and sent after every batch: its last points hold every exception.
    let mut last = BTreeMap::new();
    let mut exemplars = 0;
    for request in read_metrics(&dir.path().join("metrics.jsonl"), true) {
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .inspect(|s| {
                assert_eq!(
                    s.scope.as_ref().map(|s| s.name.as_str()),
                    Some("exceptionsconnector")
                )
            })
            .flat_map(|s| &s.metrics)
        {
            assert_eq!(metric.name, "exceptions");
            let Some(metric::Data::Sum(sum)) = &metric.data else {
                panic!("{metric:?}");
            };
            assert!(sum.is_monotonic);
            assert_eq!(
                sum.aggregation_temporality,
                AggregationTemporality::Cumulative as i32
            );
            for point in &sum.data_points {
                let attributes: BTreeMap<String, String> = point
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.clone(), text(&kv.value)))
                    .collect();
                let Some(number_data_point::Value::AsInt(count)) = point.value else {
                    panic!("{point:?}");
                };
                exemplars += point.exemplars.len();
                last.insert(attributes, count);
            }
        }
    }
    let by_message = |message: &str| -> i64 {
        last.iter()
            .filter(|(attributes, _)| {
                attributes.get("exception.message").map(String::as_str) == Some(message)
            })
            .map(|(_, count)| count)
            .sum()
    };
    assert_eq!(
        (
            by_message("card declined"),
            by_message("card network timed out")
        ),
        (10, 6)
    );
    for attributes in last.keys() {
        for key in [
            "service.name",
            "span.name",
            "span.kind",
            "status.code",
            "tenant",
        ] {
            assert!(attributes.contains_key(key), "{key} in {attributes:?}");
        }
    }
    let timeouts: BTreeSet<_> = last
        .keys()
        .filter(|attributes| {
            attributes.get("exception.type").map(String::as_str) == Some("Timeout")
        })
        .map(|attributes| attributes["tenant"].clone())
        .collect();
    assert_eq!(
        timeouts,
        BTreeSet::from(["acme".to_string(), "globex".to_string()])
    );
    assert!(exemplars > 0);
}

#[test]
fn settings_otelcol_does_not_have_are_named() {
    let problems = config_problems(&EXCEPTIONS.replace(
        "exemplars: { enabled: true }",
        "exemplars: { enabled: true }\n    metrics_flush_interval: 15s",
    ));
    assert!(
        problems.iter().any(
            |(at, said)| at == "connectors.exceptions.metrics_flush_interval"
                && said.contains("expected `dimensions` or `exemplars`")
        ),
        "{problems:?}"
    );
}
