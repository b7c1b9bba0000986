//! The `sum` connector with otelcol-contrib's configs: sums of numeric attributes of what real `opentelemetry-otlp`
//! exporters send (spans and span events, read in place when no sum of them has conditions and decoded when one
//! has, log records), split by attributes with defaults, and the mistakes its settings can hold.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider};
use opentelemetry::KeyValue;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use std::collections::BTreeMap;
use std::path::Path;

/// (metric, attributes as `key=value` joined by `,`) → the total of its delta sums; every sum is checked to be a
/// delta sum of doubles under the connector's scope.
fn sums(path: &Path) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for request in common::read_metrics(path, true) {
        for rm in request.resource_metrics {
            for sm in rm.scope_metrics {
                let scope = sm.scope.map(|s| s.name).unwrap_or_default();
                assert!(scope.ends_with("connector/sumconnector"), "{scope}");
                for m in sm.metrics {
                    let Some(metric::Data::Sum(sum)) = m.data else {
                        panic!("{} is not a sum", m.name);
                    };
                    assert_eq!(
                        sum.aggregation_temporality,
                        AggregationTemporality::Delta as i32
                    );
                    for point in sum.data_points {
                        let attributes: Vec<String> = point
                            .attributes
                            .iter()
                            .map(|kv| {
                                let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                                    Some(any_value::Value::StringValue(s)) => s.clone(),
                                    Some(any_value::Value::IntValue(i)) => format!("{i}i"),
                                    other => format!("{other:?}"),
                                };
                                format!("{}={value}", kv.key)
                            })
                            .collect();
                        let Some(number_data_point::Value::AsDouble(v)) = point.value else {
                            panic!("{} is not a double", m.name);
                        };
                        *out.entry((m.name.clone(), attributes.join(",")))
                            .or_default() += v;
                    }
                }
            }
        }
    }
    out
}

/// The sums both connectors have, and `extra` sums of spans.
fn sums_config(extra: &str) -> String {
    format!(
        r#"
    spans:
      checkout.total:
        source_attribute: payment.amount
        attributes:
          - key: payment.processor
            default_value: unspecified_processor{extra}
    spanevents:
      retry.delay:
        source_attribute: delay.ms"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_attributes_are_summed_in_place_and_decoded_alike() {
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
connectors:
  sum:{plain}
  sum/decoded:{decoded}
exporters:
  file/sums: {{ path: "{{dir}}/sums.jsonl", format: json }}
  file/decoded: {{ path: "{{dir}}/decoded.jsonl", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [sum, sum/decoded] }}
    metrics: {{ receivers: [sum], exporters: [file/sums] }}
    metrics/decoded: {{ receivers: [sum/decoded], exporters: [file/decoded] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        plain = sums_config(""),
        decoded = sums_config(
            "\n      large.payments:\n        source_attribute: payment.amount\n        \
             conditions: ['attributes[\"payment.amount\"] > 100']"
        ),
    ))
    .await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("checkout")
            .build();
        let provider = grpc_tracer_provider(endpoint, resource);
        let tracer = provider.tracer("checkout-http");
        let payments: [(Option<opentelemetry::Value>, Option<&str>); 6] = [
            (Some(19.5.into()), Some("stripe")),
            (Some(250i64.into()), Some("stripe")),
            (Some("30.25".into()), Some("adyen")),
            (Some(120.0.into()), None),
            (Some("n/a".into()), Some("adyen")),
            (None, Some("stripe")),
        ];
        for (amount, processor) in payments {
            let mut span = tracer.start("POST /checkout");
            if let Some(amount) = amount {
                span.set_attribute(KeyValue::new("payment.amount", amount));
            }
            if let Some(processor) = processor {
                span.set_attribute(KeyValue::new("payment.processor", processor));
            }
            span.add_event("retry", vec![KeyValue::new("delay.ms", 40i64)]);
            span.add_event("retry", vec![KeyValue::new("delay.ms", 2.5)]);
            span.end();
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = collector.shut_down_cleanly().await;
    let in_place = sums(&dir.path().join("sums.jsonl"));
    let expected = BTreeMap::from([
        // An amount that is not a number, or none, adds nothing.
        (
            (
                "checkout.total".to_owned(),
                "payment.processor=stripe".to_owned(),
            ),
            269.5,
        ),
        (
            (
                "checkout.total".to_owned(),
                "payment.processor=adyen".to_owned(),
            ),
            30.25,
        ),
        (
            (
                "checkout.total".to_owned(),
                "payment.processor=unspecified_processor".to_owned(),
            ),
            120.0,
        ),
        (("retry.delay".to_owned(), String::new()), 6.0 * 42.5),
    ]);
    assert_eq!(in_place, expected);
    let mut decoded = sums(&dir.path().join("decoded.jsonl"));
    assert_eq!(
        decoded.remove(&("large.payments".to_owned(), String::new())),
        Some(370.0)
    );
    assert_eq!(decoded, expected, "decoded as in place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_records_are_summed_by_condition() {
    let collector = TestCollector::start(
        r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  sum:
    logs:
      bytes.sent:
        source_attribute: bytes
        conditions: ['severity_number >= SEVERITY_NUMBER_INFO']
        attributes: [{ key: route }]
exporters:
  file: { path: "{dir}/sums.jsonl", format: json }
service:
  pipelines:
    logs: { receivers: [otlp], exporters: [sum] }
    metrics: { receivers: [sum], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#,
    )
    .await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let exporter = opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .unwrap();
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
            .with_simple_exporter(exporter)
            .build();
        let logger = provider.logger("access");
        for (severity, route, bytes) in [
            (opentelemetry::logs::Severity::Info, Some("/a"), 100i64),
            (opentelemetry::logs::Severity::Info, Some("/a"), 50),
            (opentelemetry::logs::Severity::Warn, Some("/b"), 7),
            (opentelemetry::logs::Severity::Debug, Some("/a"), 1000),
            (opentelemetry::logs::Severity::Info, None, 5),
        ] {
            let mut record = logger.create_log_record();
            record.set_severity_number(severity);
            record.add_attribute("bytes", bytes);
            if let Some(route) = route {
                record.add_attribute("route", route);
            }
            logger.emit(record);
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = collector.shut_down_cleanly().await;
    assert_eq!(
        sums(&dir.path().join("sums.jsonl")),
        BTreeMap::from([
            // Debug is below the condition; a record without `route` (no default) is not summed.
            (("bytes.sent".to_owned(), "route=/a".to_owned()), 150.0),
            (("bytes.sent".to_owned(), "route=/b".to_owned()), 7.0),
        ])
    );
}

#[test]
fn mistakes_in_the_settings_are_named() {
    let problems = config_problems(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
connectors:
  sum:
    spans:
      no.source: {}
      bad.condition:
        source_attribute: x
        conditions: ['attributes["x"] >']
    metrics:
      split:
        source_attribute: x
        attributes: [{ key: y }]
  sum/empty:
exporters:
  debug:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [sum, sum/empty] }
    metrics: { receivers: [sum, sum/empty], exporters: [debug] }
"#,
    );
    let paths: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
    assert!(
        paths.contains(&"connectors.sum.spans.no.source.source_attribute"),
        "{problems:#?}"
    );
    assert!(
        paths.contains(&"connectors.sum.spans.bad.condition.conditions[0]"),
        "{problems:#?}"
    );
    assert!(
        paths.contains(&"connectors.sum.metrics.split.attributes"),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|(path, message)| path.starts_with("connectors.sum/empty")
                && message.contains("name at least one sum")),
        "{problems:#?}"
    );
}
