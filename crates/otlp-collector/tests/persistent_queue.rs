//! The persistent sending queue (`sending_queue.storage` naming a `file_storage` extension): what was accepted
//! while the destination was down survives a restart, and a queue file with a cut or corrupt record is recovered
//! up to its last good record, the cut reported in the self-metrics. The process-level test (SIGKILL) is in
//! otlp-suite's `tests/persistent_queue.rs`.

mod common;

use common::{TestCollector, free_port, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_collector::telemetry::Telemetry;
use otlp_testkit::Generator;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Forwards traces over OTLP/gRPC to `127.0.0.1:{port}`, queueing them under `storage`; one consumer, so records
/// are written in the order requests are accepted.
fn forwarder(port: u16, storage: &Path) -> String {
    forwarder_queueing(port, storage, "")
}

/// As [`forwarder`], with more `sending_queue` settings (`, key: value` each).
fn forwarder_queueing(port: u16, storage: &Path, queue: &str) -> String {
    forwarder_through(
        "otlp",
        &format!(
            r#"
    endpoint: "http://127.0.0.1:{port}"
    retry_on_failure: {{ initial_interval: 50ms, max_interval: 200ms }}
    sending_queue: {{ storage: file_storage, num_consumers: 1{queue} }}"#
        ),
        storage,
    )
}

/// Forwards traces through exporter `id` with `settings` (indented under it), with a `file_storage` extension
/// under `storage`.
fn forwarder_through(id: &str, settings: &str, storage: &Path) -> String {
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
extensions:
  file_storage: {{ directory: "{}", create_directory: true }}
exporters:
  {id}:{settings}
service:
  extensions: [file_storage]
  pipelines:
    traces: {{ receivers: [otlp], exporters: [{id}] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        storage.display()
    )
}

fn backend(port: u16) -> String {
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:{port}" }} }} }}
exporters:
  file: {{ path: "{{dir}}/traces.binpb", format: proto, sending_queue: {{ enabled: false }} }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

fn span_ids(requests: &[ExportTraceServiceRequest]) -> BTreeSet<Vec<u8>> {
    spans(requests).into_iter().map(|s| s.span_id).collect()
}

/// Starts a forwarder whose destination is down, has it accept `requests`, and stops it before it could deliver
/// any: everything stays on disk.
async fn accept_while_down(port: u16, storage: &Path, requests: &[ExportTraceServiceRequest]) {
    accept_while_down_through(&forwarder(port, storage), requests).await;
}

/// As [`accept_while_down`], with the forwarder's whole config.
async fn accept_while_down_through(forwarder: &str, requests: &[ExportTraceServiceRequest]) {
    let forwarder = TestCollector::start(forwarder).await;
    let mut client = TraceServiceClient::connect(forwarder.grpc_endpoint())
        .await
        .unwrap();
    for request in requests {
        client.export(request.clone()).await.unwrap();
    }
    let telemetry = forwarder.collector.telemetry().clone();
    let report = forwarder
        .collector
        .shutdown(Duration::from_millis(300))
        .await;
    assert!(
        report.is_clean(),
        "what stays on disk is not lost: {report:?}"
    );
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 0);
}

/// The queue's segment file and where each of its records starts (records are `[len u32 LE][crc u32][payload]`).
fn records(storage: &Path) -> (PathBuf, Vec<usize>) {
    let dir = storage.join("exporter_otlp_traces");
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    assert_eq!(segments.len(), 1, "one segment holds them: {segments:?}");
    let segment = segments.remove(0);
    let bytes = std::fs::read(&segment).unwrap();
    let mut starts = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        starts.push(at);
        at += 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(at, bytes.len());
    (segment, starts)
}

/// Starts the backend and the forwarder again on the same storage; returns the forwarder's self-metrics once it
/// drained, and the spans the backend wrote.
async fn recover(port: u16, storage: &Path) -> (Telemetry, Vec<ExportTraceServiceRequest>) {
    recover_through(port, &forwarder(port, storage)).await
}

/// As [`recover`], with the forwarder's whole config.
async fn recover_through(
    port: u16,
    forwarder: &str,
) -> (Telemetry, Vec<ExportTraceServiceRequest>) {
    let backend = TestCollector::start(&backend(port)).await;
    let forwarder = TestCollector::start(forwarder).await;
    let telemetry = forwarder.collector.telemetry().clone();
    let report = forwarder.collector.shutdown(Duration::from_secs(30)).await;
    assert!(report.is_clean(), "{report:?}");
    let TestCollector { collector, dir } = backend;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    (
        telemetry,
        read_traces(&dir.path().join("traces.binpb"), false),
    )
}

/// Starts a forwarder on `storage` once more and checks that it found nothing to send.
async fn assert_nothing_left(storage: &Path) {
    let again = TestCollector::start(&forwarder(free_port(), storage)).await;
    let telemetry = again.collector.telemetry().clone();
    assert!(
        again
            .collector
            .shutdown(Duration::from_secs(5))
            .await
            .is_clean()
    );
    assert_eq!(telemetry.total("otelcol_exporter_queue_recovered_spans"), 0);
}

fn truncated_bytes(telemetry: &Telemetry) -> u64 {
    telemetry
        .value(
            "otelcol_exporter_queue_storage_truncated_bytes",
            &[("exporter", "otlp"), ("data_type", "traces")],
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_accepted_while_the_destination_was_down_is_delivered_after_a_restart() {
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut generator = Generator::new(21);
    let sent: Vec<_> = (0..6).map(|_| generator.traces(50)).collect();
    accept_while_down(port, storage.path(), &sent).await;

    let (telemetry, delivered) = recover(port, storage.path()).await;
    assert_eq!(span_ids(&delivered), span_ids(&sent));
    assert_eq!(spans(&delivered).len(), 300, "no duplicates");
    assert_eq!(
        telemetry.total("otelcol_exporter_queue_recovered_spans"),
        300
    );
    assert_eq!(truncated_bytes(&telemetry), 0);

    // Delivered means acknowledged: a third start has nothing to send, and the old segment is gone.
    assert_nothing_left(storage.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_merged_by_sending_queue_batch_stay_on_disk_until_the_merged_request_is_delivered()
{
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    // min_size is all six requests, and no run reaches the flush_timeout: they go out as one request, or not at all.
    let batching = forwarder_queueing(
        port,
        storage.path(),
        ", sizer: items, queue_size: 1000, batch: { min_size: 300, flush_timeout: 1h }",
    );
    let mut generator = Generator::new(22);
    let sent: Vec<_> = (0..6).map(|_| generator.traces(50)).collect();
    // Gathered and failing against the dead destination when the shutdown cuts it short: kept on disk.
    accept_while_down_through(&batching, &sent).await;

    let (telemetry, delivered) = recover_through(port, &batching).await;
    assert_eq!(delivered.len(), 1, "the six records went out merged");
    assert_eq!(span_ids(&delivered), span_ids(&sent));
    assert_eq!(spans(&delivered).len(), 300, "no duplicates");
    assert_eq!(
        telemetry.total("otelcol_exporter_queue_recovered_spans"),
        300
    );

    // Every record merged into the delivered request was acknowledged.
    assert_nothing_left(storage.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_record_is_cut_and_the_records_before_it_are_delivered() {
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut generator = Generator::new(22);
    let sent: Vec<_> = (0..5).map(|_| generator.traces(40)).collect();
    accept_while_down(port, storage.path(), &sent).await;

    // A write cut short: the last record lacks its end.
    let (segment, starts) = records(storage.path());
    assert_eq!(starts.len(), 5);
    let len = std::fs::metadata(&segment).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 100)
        .unwrap();

    let (telemetry, delivered) = recover(port, storage.path()).await;
    assert_eq!(span_ids(&delivered), span_ids(&sent[..4]));
    assert_eq!(spans(&delivered).len(), 160);
    assert_eq!(truncated_bytes(&telemetry), len - 100 - starts[4] as u64);
    assert_eq!(
        telemetry.total("otelcol_exporter_queue_recovered_spans"),
        160
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_is_cut_with_everything_after_it() {
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut generator = Generator::new(23);
    let sent: Vec<_> = (0..5).map(|_| generator.traces(40)).collect();
    accept_while_down(port, storage.path(), &sent).await;

    // One flipped byte in the middle of the third record's payload.
    let (segment, starts) = records(storage.path());
    let mut bytes = std::fs::read(&segment).unwrap();
    let len = bytes.len() as u64;
    bytes[(starts[2] + starts[3]) / 2] ^= 0x20;
    std::fs::write(&segment, bytes).unwrap();

    let (telemetry, delivered) = recover(port, storage.path()).await;
    assert_eq!(span_ids(&delivered), span_ids(&sent[..2]));
    assert_eq!(spans(&delivered).len(), 80);
    assert_eq!(truncated_bytes(&telemetry), len - starts[2] as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loadbalancing_exporter_gets_the_same_persistent_queue() {
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = forwarder_through(
        "loadbalancing",
        &format!(
            r#"
    protocol: {{ otlp: {{ tls: {{ insecure: true }}, timeout: 1s }} }}
    resolver: {{ static: {{ hostnames: ["127.0.0.1:{port}"] }} }}
    retry_on_failure: {{ initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 0 }}
    sending_queue: {{ storage: file_storage }}"#
        ),
        storage.path(),
    );
    let mut generator = Generator::new(24);
    let sent: Vec<_> = (0..4).map(|_| generator.whole_traces(30)).collect();
    let forwarder = TestCollector::start(&config).await;
    let mut client = TraceServiceClient::connect(forwarder.grpc_endpoint())
        .await
        .unwrap();
    for request in &sent {
        client.export(request.clone()).await.unwrap();
    }
    assert!(
        forwarder
            .collector
            .shutdown(Duration::from_millis(300))
            .await
            .is_clean()
    );
    assert!(
        storage
            .path()
            .join("exporter_loadbalancing_traces")
            .is_dir()
    );

    let backend = TestCollector::start(&backend(port)).await;
    let forwarder = TestCollector::start(&config).await;
    let telemetry = forwarder.collector.telemetry().clone();
    assert!(
        forwarder
            .collector
            .shutdown(Duration::from_secs(30))
            .await
            .is_clean()
    );
    let TestCollector { collector, dir } = backend;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    let delivered = read_traces(&dir.path().join("traces.binpb"), false);
    assert_eq!(span_ids(&delivered), span_ids(&sent));
    assert_eq!(
        telemetry.total("otelcol_exporter_queue_recovered_spans"),
        spans(&sent).len() as u64
    );
}

#[tokio::test]
async fn a_missing_storage_directory_stops_the_collector_starting_even_unused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("storage");
    // No exporter's queue names the extension: the extension itself checks its directory.
    let yaml = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
extensions:
  file_storage: {{ directory: "{}" }}
exporters:
  debug:
service:
  extensions: [file_storage]
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        missing.display()
    );
    let config = otlp_collector::Config::from_yaml(&yaml).unwrap();
    let Err(error) = otlp_collector::Collector::new(config).start().await else {
        panic!("started without its storage directory");
    };
    assert_eq!(
        error.to_string(),
        format!(
            "extensions.file_storage: directory {}: the storage directory does not exist (create it, or set \
             create_directory: true)",
            missing.display()
        )
    );
    assert!(!missing.exists());

    // With create_directory, starting creates it.
    let yaml = yaml.replace(
        &format!("\"{}\" }}", missing.display()),
        &format!("\"{}\", create_directory: true }}", missing.display()),
    );
    let config = otlp_collector::Config::from_yaml(&yaml).unwrap();
    let collector = otlp_collector::Collector::new(config)
        .start()
        .await
        .unwrap();
    assert!(missing.is_dir());
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
}
