//! The persistent sending queue across a `kill -9`: an `otlp-suite` process whose destination is down accepts
//! spans from a real OTLP client into a queue kept by a `file_storage` extension, is killed with SIGKILL, and,
//! restarted on the same directory once the destination is up, delivers every span it accepted.

mod support;

use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_testkit::Generator;
use std::collections::BTreeSet;
use support::{Client, Collector, free_port, span_key};

/// Forwards over OTLP/gRPC to `{target}`, queueing on disk under its own directory. No batch processor: a batch
/// buffer lives in memory, so only the queue would survive the kill.
const FRONT: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
extensions:
  file_storage: { directory: "{dir}/storage", create_directory: true }
exporters:
  otlp:
    endpoint: "http://{target}"
    retry_on_failure: { initial_interval: 50ms, max_interval: 500ms, max_elapsed_time: 0 }
    sending_queue: { storage: file_storage }
service:
  extensions: [file_storage]
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

/// The destination: spans go to `traces.binpb` before the request is answered.
const TARGET: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
exporters:
  file: { path: "{dir}/traces.binpb", format: proto, sending_queue: { enabled: false } }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

const ACCEPTED: &str = "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"}";
const SENT: &str = "otelcol_exporter_sent_spans{exporter=\"otlp\"}";
const RECOVERED: &str = "otelcol_exporter_queue_recovered_spans{exporter=\"otlp\"}";
const TRUNCATED: &str =
    "otelcol_exporter_queue_storage_truncated_bytes{exporter=\"otlp\",data_type=\"traces\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_accepted_before_a_kill_9_are_delivered_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let target_port = free_port();
    let front_config = FRONT.replace("{target}", &format!("127.0.0.1:{target_port}"));

    let mut front = Collector::start("front", dir.path(), &front_config).await;
    let mut client = Client::connect(front.grpc).await;
    let mut generator = Generator::new(15);
    let mut sent: Vec<Span> = Vec::new();
    for _ in 0..25 {
        let request = generator.traces(40);
        // Answered once the batch is on disk.
        client.send(&request).await;
        sent.extend(
            request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| s.spans.iter().cloned()),
        );
    }
    let metrics = front.scrape().await;
    assert_eq!(metrics.get(ACCEPTED), sent.len() as u64);
    assert_eq!(metrics.get(SENT), 0, "the target is down");
    front.kill().await;

    let target = Collector::start_on("target", dir.path(), TARGET, target_port).await;
    let front = Collector::start("front", dir.path(), &front_config).await;
    let metrics = front
        .wait_for("delivering what the killed collector accepted", |m| {
            m.get(SENT) >= sent.len() as u64
        })
        .await;
    assert_eq!(metrics.get(RECOVERED), sent.len() as u64);
    assert_eq!(
        metrics.get(TRUNCATED),
        0,
        "a kill cuts no record: each was written whole"
    );
    front.stop().await;
    let written = target.written_spans(false);
    target.stop().await;

    let unique: BTreeSet<_> = written.iter().map(span_key).collect();
    let expected: BTreeSet<_> = sent.iter().map(span_key).collect();
    assert_eq!(unique.len(), expected.len(), "every span accepted arrives");
    assert_eq!(unique, expected);
    let duplicates = written.len() - unique.len();
    // Nothing was delivered before the kill, so nothing replayed was a retry of a delivered batch.
    assert_eq!(duplicates, 0, "{duplicates} duplicates");
}
