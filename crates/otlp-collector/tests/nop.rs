//! otelcol's `nop` receiver and exporter: a pipeline kept in the config without a port or a destination, and one
//! whose data matters only on its way through a connector. Fed by the real `opentelemetry-otlp` exporter.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider, named_numbers, read_metrics};
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use std::time::Duration;

/// Spans end in `nop`, counted on the way by the `count` connector; a logs pipeline waits on the `nop` receiver.
const THROUGH_A_CONNECTOR: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
  nop:
connectors:
  count:
exporters:
  nop:
  file/metrics: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [nop, count] }
    metrics: { receivers: [count], exporters: [file/metrics] }
    logs: { receivers: [nop], exporters: [nop] }
  telemetry:
    metrics: { level: none }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_exported_to_nop_are_taken_counted_and_sent_nowhere() {
    let collector = TestCollector::start(THROUGH_A_CONNECTOR).await;
    assert_eq!(collector.collector.receiver_addr("nop", "grpc"), None);
    assert_eq!(collector.collector.receiver_addr("nop", "http"), None);
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let provider = grpc_tracer_provider(
            endpoint,
            opentelemetry_sdk::Resource::builder()
                .with_service_name("checkout")
                .build(),
        );
        let tracer = provider.tracer("nop-test");
        for _ in 0..25 {
            tracer.in_span("GET /cart", |_| {});
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    assert!(collector.collector.flush(Duration::from_secs(10)).await);

    let telemetry = collector.collector.telemetry();
    assert_eq!(
        telemetry.total_with_label("otelcol_exporter_sent_spans", "exporter", "nop"),
        25
    );
    assert_eq!(
        telemetry.total_with_label("otelcol_exporter_send_failed_spans", "exporter", "nop"),
        0
    );
    let dir = collector.shut_down_cleanly().await;
    let counted: f64 = named_numbers(
        &read_metrics(&dir.path().join("metrics.jsonl"), true),
        "trace.span.count",
    )
    .iter()
    .map(|(_, count)| count)
    .sum();
    assert_eq!(counted, 25.0, "the connector beside nop saw every span");
}

#[test]
fn nop_takes_no_settings_and_a_misspelt_one_is_named() {
    let yaml = |receiver: &str, exporter: &str| {
        format!(
            r#"
receivers:
  nop: {receiver}
exporters:
  nop: {exporter}
service:
  pipelines:
    traces: {{ receivers: [nop], exporters: [nop] }}
"#
        )
    };
    assert_eq!(config_problems(&yaml("", "{}")), Vec::new());
    let receiver = config_problems(&yaml("{ endpoint: 0.0.0.0:4317 }", ""));
    assert_eq!(receiver.len(), 1, "{receiver:?}");
    assert!(receiver[0].0.starts_with("receivers.nop"), "{receiver:?}");
    assert!(receiver[0].1.contains("endpoint"), "{receiver:?}");
    let exporter = config_problems(&yaml("", "{ endpoint: backend:4317 }"));
    assert_eq!(exporter.len(), 1, "{exporter:?}");
    assert!(exporter[0].0.starts_with("exporters.nop"), "{exporter:?}");
    assert!(exporter[0].1.contains("endpoint"), "{exporter:?}");
}
