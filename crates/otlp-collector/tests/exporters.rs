//! The network exporters deliver to a real OTLP server (another collector), retry while it is down, and the file
//! exporter rotates without losing a span.

mod common;

use common::{TestCollector, forwarder_config, read_logs, read_metrics, read_traces, spans};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_testkit::{Generator, data_point_count, log_record_count, span_count};
use std::collections::BTreeSet;
use std::time::Duration;

fn backend_config(grpc_endpoint: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "{grpc_endpoint}" }}
      http: {{ endpoint: "127.0.0.1:0" }}
processors:
  batch: {{ timeout: 10ms }}
exporters:
  file/traces: {{ path: "{{dir}}/traces.jsonl" }}
  file/metrics: {{ path: "{{dir}}/metrics.jsonl" }}
  file/logs: {{ path: "{{dir}}/logs.jsonl" }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [file/traces] }}
    metrics: {{ receivers: [otlp], processors: [batch], exporters: [file/metrics] }}
    logs: {{ receivers: [otlp], processors: [batch], exporters: [file/logs] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

/// Sends generated traces, metrics and logs to `endpoint`; returns the span ids and the point and record counts.
async fn send_all(endpoint: String, seed: u64) -> (BTreeSet<Vec<u8>>, usize, usize) {
    let mut generator = Generator::new(seed);
    let mut traces = TraceServiceClient::connect(endpoint.clone()).await.unwrap();
    let mut metrics = MetricsServiceClient::connect(endpoint.clone())
        .await
        .unwrap();
    let mut logs = LogsServiceClient::connect(endpoint).await.unwrap();
    let mut span_ids = BTreeSet::new();
    let (mut points, mut records) = (0, 0);
    for _ in 0..10 {
        let request = generator.traces(97);
        span_ids.extend(
            request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .map(|s| s.span_id.clone()),
        );
        traces.export(request).await.unwrap();
        let request = generator.metrics(31);
        points += data_point_count(&request);
        metrics.export(request).await.unwrap();
        let request = generator.logs(23);
        records += log_record_count(&request);
        logs.export(request).await.unwrap();
    }
    (span_ids, points, records)
}

/// Forwards through exporter `id` (settings built from the backend's gRPC and HTTP endpoints) to a backend
/// collector, and checks the backend wrote exactly what was sent.
async fn check_forwarding(id: &str, settings: impl Fn(&str, &str) -> String) {
    let backend = TestCollector::start(&backend_config("127.0.0.1:0")).await;
    let settings = settings(&backend.grpc_endpoint(), &backend.http_endpoint());
    let forwarder = TestCollector::start(&forwarder_config(id, &settings)).await;
    let (span_ids, points, records) = send_all(forwarder.grpc_endpoint(), 5).await;

    let TestCollector { collector, .. } = forwarder;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_spans"),
        span_ids.len() as u64
    );
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_metric_points"),
        points as u64
    );
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_log_records"),
        records as u64
    );
    let TestCollector { collector, dir } = backend;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());

    let received = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    assert_eq!(received.len(), span_ids.len());
    assert_eq!(
        received
            .into_iter()
            .map(|s| s.span_id)
            .collect::<BTreeSet<_>>(),
        span_ids
    );
    let metric_requests = read_metrics(&dir.path().join("metrics.jsonl"), true);
    assert_eq!(
        metric_requests.iter().map(data_point_count).sum::<usize>(),
        points
    );
    let log_requests = read_logs(&dir.path().join("logs.jsonl"), true);
    assert_eq!(
        log_requests.iter().map(log_record_count).sum::<usize>(),
        records
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_exporter_forwards_every_signal() {
    check_forwarding("otlp/forward", |grpc, _| {
        format!("{{ endpoint: \"{grpc}\", compression: zstd, headers: {{ x-tenant: shop }} }}")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlphttp_exporter_forwards_every_signal_as_protobuf() {
    check_forwarding("otlphttp", |_, http| format!("{{ endpoint: \"{http}\" }}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlphttp_exporter_forwards_every_signal_with_otelcols_connection_keys() {
    // The pool and ping keys change how connections are kept, never what is delivered.
    check_forwarding("otlphttp/pool", |_, http| {
        format!(
            "{{ endpoint: \"{http}\", disable_keep_alives: true, idle_conn_timeout: 5s, \
             http2_read_idle_timeout: 1s, http2_ping_timeout: 1s, read_buffer_size: 524288 }}"
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlphttp_exporter_forwards_every_signal_as_json() {
    check_forwarding("otlphttp/json", |_, http| {
        format!("{{ endpoint: \"{http}\", encoding: json, compression: zstd }}")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_exporter_retries_until_the_backend_comes_up() {
    // A free port left closed: the backend is "down".
    let port = otlp_testkit::net::free_port().unwrap();
    let forwarder = TestCollector::start(&forwarder_config(
        "otlp",
        &format!(
            "{{ endpoint: \"http://127.0.0.1:{port}\", retry_on_failure: {{ initial_interval: 50ms, max_interval: 200ms }} }}"
        ),
    ))
    .await;
    let mut client = TraceServiceClient::connect(forwarder.grpc_endpoint())
        .await
        .unwrap();
    let request = Generator::new(9).traces(300);
    client.export(request.clone()).await.unwrap();
    let telemetry = forwarder.collector.telemetry().clone();
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 0);

    let backend = TestCollector::start(&backend_config(&format!("127.0.0.1:{port}"))).await;
    assert!(
        forwarder
            .collector
            .shutdown(Duration::from_secs(10))
            .await
            .is_clean()
    );
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_spans"),
        span_count(&request) as u64
    );
    let TestCollector { collector, dir } = backend;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(
        spans(&read_traces(&dir.path().join("traces.jsonl"), true)).len(),
        300
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_exporter_rotates_and_keeps_every_span() {
    let harness = TestCollector::start(
        r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
exporters:
  file:
    path: "{dir}/spans.binpb"
    format: proto
    rotation: { max_megabytes: 1, max_backups: 100 }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#,
    )
    .await;
    let mut client = TraceServiceClient::connect(harness.grpc_endpoint())
        .await
        .unwrap();
    let mut generator = Generator::new(3);
    let mut sent = BTreeSet::new();
    for _ in 0..12 {
        let request = generator.traces(500);
        sent.extend(
            spans(std::slice::from_ref(&request))
                .into_iter()
                .map(|s| s.span_id),
        );
        client.export(request).await.unwrap();
    }
    let TestCollector { collector, dir } = harness;
    assert!(collector.shutdown(Duration::from_secs(5)).await.is_clean());
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.len() >= 3,
        "2.5 MB of spans rotate at 1 MiB: {files:?}"
    );
    let mut written = BTreeSet::new();
    for file in &files {
        assert!(
            std::fs::metadata(file).unwrap().len() <= 1024 * 1024,
            "{file:?} exceeds the rotation size"
        );
        written.extend(
            spans(&read_traces(file, false))
                .into_iter()
                .map(|s| s.span_id),
        );
    }
    assert_eq!(written, sent);
}

fn flight_backend_config(token: &str) -> String {
    format!(
        r#"
receivers:
  arrow_flight: {{ endpoint: "127.0.0.1:0", bearer_token: "{token}" }}
exporters:
  file/traces: {{ path: "{{dir}}/traces.jsonl" }}
  file/metrics: {{ path: "{{dir}}/metrics.jsonl" }}
  file/logs: {{ path: "{{dir}}/logs.jsonl" }}
service:
  pipelines:
    traces: {{ receivers: [arrow_flight], exporters: [file/traces] }}
    metrics: {{ receivers: [arrow_flight], exporters: [file/metrics] }}
    logs: {{ receivers: [arrow_flight], exporters: [file/logs] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_flight_exporter_and_receiver_carry_every_signal() {
    flight_carries_every_signal("zstd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_flight_without_grpc_compression_carries_every_signal() {
    flight_carries_every_signal("none").await;
}

async fn flight_carries_every_signal(compression: &str) {
    let backend = TestCollector::start(&flight_backend_config("s3cret")).await;
    let flight = format!(
        "http://{}",
        backend.collector.flight_addr("arrow_flight").unwrap()
    );
    let forwarder = TestCollector::start(&forwarder_config(
        "arrow_flight",
        &format!("{{ endpoint: \"{flight}\", bearer_token: s3cret, compression: {compression} }}"),
    ))
    .await;
    let (span_ids, points, records) = send_all(forwarder.grpc_endpoint(), 15).await;
    let TestCollector { collector, .. } = forwarder;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_spans"),
        span_ids.len() as u64
    );
    let backend_telemetry = backend.collector.telemetry().clone();
    let TestCollector { collector, dir } = backend;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(
        backend_telemetry.total("otelcol_receiver_accepted_spans"),
        span_ids.len() as u64
    );
    let received = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    assert_eq!(
        received
            .into_iter()
            .map(|s| s.span_id)
            .collect::<BTreeSet<_>>(),
        span_ids
    );
    assert_eq!(
        read_metrics(&dir.path().join("metrics.jsonl"), true)
            .iter()
            .map(data_point_count)
            .sum::<usize>(),
        points
    );
    assert_eq!(
        read_logs(&dir.path().join("logs.jsonl"), true)
            .iter()
            .map(log_record_count)
            .sum::<usize>(),
        records
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_flight_with_a_wrong_token_is_a_counted_permanent_failure() {
    let backend = TestCollector::start(&flight_backend_config("s3cret")).await;
    let flight = format!(
        "http://{}",
        backend.collector.flight_addr("arrow_flight").unwrap()
    );
    let forwarder = TestCollector::start(&forwarder_config(
        "arrow_flight",
        &format!("{{ endpoint: \"{flight}\", bearer_token: wrong }}"),
    ))
    .await;
    let mut client = TraceServiceClient::connect(forwarder.grpc_endpoint())
        .await
        .unwrap();
    client.export(Generator::new(1).traces(50)).await.unwrap();
    let TestCollector { collector, .. } = forwarder;
    let telemetry = collector.telemetry().clone();
    let report = collector.shutdown(Duration::from_secs(10)).await;
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 0);
    assert_eq!(
        telemetry.total_with_label(
            "otelcol_exporter_send_failed_spans",
            "reason",
            "permanent_error"
        ),
        50,
        "UNAUTHENTICATED is not retried, and the loss is counted"
    );
    // The shutdown itself had nothing left to deliver, but the collector did not deliver everything it accepted.
    assert!(report.is_clean(), "{report:?}");
    assert!(!report.delivered_everything(), "{report:?}");
    assert_eq!(
        report
            .failed_while_running
            .get(&otlp_collector::Signal::Traces),
        Some(&50)
    );
    assert_eq!(
        backend
            .collector
            .telemetry()
            .total("otelcol_receiver_accepted_spans"),
        0
    );
    backend.collector.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_delivers_what_the_batch_processor_holds_while_running() {
    let harness = TestCollector::start(
        r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  batch: { send_batch_size: 100000, timeout: 1h }
exporters:
  file: { path: "{dir}/traces.jsonl" }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#,
    )
    .await;
    let path = harness.path("traces.jsonl");
    harness
        .collector
        .submit(otlp_collector::Batch::new(Generator::new(4).traces(123)))
        .await
        .unwrap();
    assert_eq!(
        spans(&read_traces(&path, true)).len(),
        0,
        "held by the batch processor for an hour"
    );
    assert!(harness.collector.flush(Duration::from_secs(5)).await);
    assert_eq!(
        spans(&read_traces(&path, true)).len(),
        123,
        "written while the collector keeps running"
    );
    harness
        .collector
        .submit(otlp_collector::Batch::new(Generator::new(5).traces(7)))
        .await
        .unwrap();
    assert!(
        harness
            .collector
            .shutdown(Duration::from_secs(5))
            .await
            .is_clean()
    );
    assert_eq!(spans(&read_traces(&path, true)).len(), 130);
}
