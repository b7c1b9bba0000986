//! The `failover` connector as an operator uses it: traces go to a primary OTLP backend, to a standby file while
//! the primary is down, and back to the primary once a probe finds it up. Fed by the real `opentelemetry-otlp`
//! exporter; the primary is a second collector that comes up mid-test on the port the first one exports to.

mod common;

use common::{
    TestCollector, config_problems, free_port, grpc_tracer_provider, read_traces, span_id, spans,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use std::collections::BTreeSet;
use std::time::Duration;

/// The front: the primary exports without a queue and without retries, so that a failed send fails the level at
/// once, as otelcol's failover README advises.
fn front(primary: u16) -> String {
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
connectors:
  failover:
    priority_levels: [[traces/primary], [traces/standby]]
    retry_interval: 1s
    retry_gap: 200ms
exporters:
  otlp/primary:
    endpoint: "127.0.0.1:{primary}"
    tls: {{ insecure: true }}
    sending_queue: {{ enabled: false }}
    retry_on_failure: {{ enabled: false }}
  file/standby: {{ path: "{{dir}}/standby.jsonl", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [failover] }}
    traces/primary: {{ receivers: [failover], exporters: [otlp/primary] }}
    traces/standby: {{ receivers: [failover], exporters: [file/standby] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

fn primary(port: u16) -> String {
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:{port}" }} }} }}
exporters:
  file: {{ path: "{{dir}}/primary.jsonl", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

/// Sends `count` spans named `name` from an application using the SDK, and waits until it has exported them.
async fn send(endpoint: String, name: &'static str, count: usize) {
    tokio::task::spawn_blocking(move || {
        let provider =
            grpc_tracer_provider(endpoint, opentelemetry_sdk::Resource::builder().build());
        let tracer = provider.tracer("checkout");
        for i in 0..count {
            tracer.in_span(name, |cx| {
                use opentelemetry::trace::TraceContextExt as _;
                cx.span().set_attribute(KeyValue::new("i", i as i64));
            });
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
}

fn names(path: &std::path::Path) -> Vec<String> {
    if !path.exists() {
        return Vec::new();
    }
    spans(&read_traces(path, true))
        .into_iter()
        .map(|span| span.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_go_to_the_standby_while_the_primary_is_down_and_back_once_it_is_up() {
    let port = free_port();
    let front = TestCollector::start(&front(port)).await;
    let level = || {
        front.collector.telemetry().value(
            "otelcol_connector_failover_level",
            &[("connector", "failover")],
        )
    };
    assert_eq!(level(), Some(0));

    send(front.grpc_endpoint(), "while down", 40).await;
    assert_eq!(level(), Some(1));
    assert!(
        front.collector.telemetry().value(
            "otelcol_connector_failover_count",
            &[("connector", "failover"), ("level", "0")]
        ) >= Some(1)
    );

    let backend = TestCollector::start(&primary(port)).await;
    // A probe of the primary falls due a `retry_interval` after it failed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send(front.grpc_endpoint(), "once up", 40).await;
    assert_eq!(level(), Some(0));

    let standby = front.shut_down_cleanly().await;
    let primary = backend.shut_down_cleanly().await;
    let (standby, primary) = (
        names(&standby.path().join("standby.jsonl")),
        names(&primary.path().join("primary.jsonl")),
    );
    assert_eq!(standby.len(), 40, "{standby:?}");
    assert!(standby.iter().all(|name| name == "while down"));
    assert_eq!(primary.len(), 40, "{primary:?}");
    assert!(primary.iter().all(|name| name == "once up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_span_reaches_one_level_when_both_take_turns() {
    // A primary that refuses while its queue is full: a small queue in front of a backend that is down, so
    // levels change under load. Nothing is lost and nothing is sent twice, whatever the order.
    let port = free_port();
    let config = front(port).replace(
        "sending_queue: { enabled: false }",
        "sending_queue: { queue_size: 2 }\n    timeout: 100ms",
    );
    let front = TestCollector::start(&config).await;
    let mut generator = otlp_testkit::Generator::new(9);
    let mut sent = BTreeSet::new();
    for _ in 0..20 {
        let batch = generator.traces(10);
        sent.extend(spans(std::slice::from_ref(&batch)).iter().map(span_id));
        front
            .submit_retrying(otlp_collector::Batch::new(batch))
            .await;
    }
    let TestCollector { collector, dir } = front;
    let telemetry = collector.telemetry().clone();
    // The primary's queue is drained on shutdown: its batches fail there (its backend is down) and are counted.
    collector.shutdown(Duration::from_secs(10)).await;
    let failed_at_primary = telemetry.total("otelcol_exporter_send_failed_spans");
    let written = spans(&read_traces(&dir.path().join("standby.jsonl"), true));
    let standby_ids: BTreeSet<_> = written.iter().map(span_id).collect();
    assert_eq!(
        standby_ids.len(),
        written.len(),
        "no span twice at the standby"
    );
    // What the primary's queue took it failed to send (its backend is down); the rest went to the standby.
    assert_eq!(
        written.len() as u64 + failed_at_primary,
        sent.len() as u64,
        "standby {} + failed at the primary {failed_at_primary}",
        written.len()
    );
    assert!(standby_ids.is_subset(&sent));
}

#[test]
fn mistakes_are_named_with_what_to_write_instead() {
    let config = |connector: &str| {
        front(4317).replace(
            "  failover:\n    priority_levels: [[traces/primary], [traces/standby]]\n    retry_interval: 1s\n    retry_gap: 200ms\n",
            connector,
        )
    };
    for (connector, path, message) in [
        (
            "  failover:\n    priority_levels: [[traces/primary], [traces/other]]\n",
            "connectors.failover.priority_levels[1][0]",
            "traces/other",
        ),
        (
            "  failover:\n    priority_levels: [[traces/primary], [traces/standby]]\n    sending_queue: { enabled: true }\n",
            "connectors.failover.sending_queue",
            "wait_for_result",
        ),
        (
            "  failover:\n    priority_levels: [[traces/primary], [traces/standby]]\n    retry_interval: 30s\n",
            "connectors.failover.retry_interval",
            "longer than retry_gap times the number of levels",
        ),
        (
            "  failover:\n    priority_level: [[traces/primary], [traces/standby]]\n",
            "connectors.failover",
            "priority_levels",
        ),
    ] {
        let problems = config_problems(&config(connector));
        assert!(
            problems
                .iter()
                .any(|(at, said)| at.starts_with(path) && said.contains(message)),
            "{connector}: {problems:?}"
        );
    }
}
