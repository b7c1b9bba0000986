//! `RunningCollector::reload`: what the old pipelines hold is delivered by their exporters before the new
//! pipelines start, the self-metrics carry on, a receiver the new config leaves unchanged serves on without its
//! clients seeing an error, and a config that cannot start leaves the previous one running.

mod common;

use common::{read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_collector::{Batch, Collector, Config, ReloadOutcome, RunningCollector};
use otlp_testkit::Generator;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A config whose batch processor holds spans for an hour, written to `file` as JSON lines, with the gRPC
/// receiver on `grpc`.
fn config(dir: &Path, file: &str, grpc: &str) -> Config {
    config_with_metrics(dir, file, grpc, "level: none")
}

/// [`config`] with `metrics` as the self-metrics settings.
fn config_with_metrics(dir: &Path, file: &str, grpc: &str, metrics: &str) -> Config {
    config_with(dir, file, &format!("endpoint: \"{grpc}\""), metrics)
}

/// [`config`] with `grpc` as the gRPC receiver's settings and `metrics` as the self-metrics settings.
fn config_with(dir: &Path, file: &str, grpc: &str, metrics: &str) -> Config {
    Config::from_yaml(&format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ {grpc} }} }} }}
processors:
  batch: {{ timeout: 1h, send_batch_size: 100000 }}
exporters:
  file: {{ path: "{}", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [file] }}
  telemetry:
    metrics: {{ {metrics} }}
"#,
        dir.join(file).display()
    ))
    .unwrap()
}

fn written(path: &Path) -> usize {
    spans(&read_traces(path, true)).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_data_is_delivered_by_the_old_pipelines_and_new_data_takes_the_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let old = config(dir.path(), "old.jsonl", "127.0.0.1:0");
    let collector = Collector::new(old.clone()).start().await.unwrap();
    collector
        .submit(Batch::new(Generator::new(1).traces(50)))
        .await
        .unwrap();
    assert_eq!(
        written(&dir.path().join("old.jsonl")),
        0,
        "held by the batch processor"
    );

    let new = config(dir.path(), "new.jsonl", "127.0.0.1:0");
    let reloaded = collector.reload(new, old, Duration::from_secs(10)).await;
    assert!(reloaded.drained.is_clean(), "{:?}", reloaded.drained);
    let ReloadOutcome::Applied(collector) = reloaded.outcome else {
        panic!("the new config did not start: {:?}", reloaded.outcome);
    };
    assert_eq!(
        written(&dir.path().join("old.jsonl")),
        50,
        "drained on reload"
    );

    collector
        .submit(Batch::new(Generator::new(2).traces(7)))
        .await
        .unwrap();
    assert!(collector.flush(Duration::from_secs(10)).await);
    assert_eq!(written(&dir.path().join("new.jsonl")), 7);
    assert_eq!(
        written(&dir.path().join("old.jsonl")),
        50,
        "nothing after the reload"
    );
    // One registry across the reload: counts include what the old pipelines accepted.
    assert_eq!(
        collector
            .telemetry()
            .total("otelcol_receiver_accepted_spans"),
        57
    );
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_cannot_start_leaves_the_previous_one_running() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let old = config(dir.path(), "old.jsonl", "127.0.0.1:0");
    let collector = Collector::new(old.clone()).start().await.unwrap();
    let taken = config(
        dir.path(),
        "new.jsonl",
        &busy.local_addr().unwrap().to_string(),
    );
    let reloaded = collector.reload(taken, old, Duration::from_secs(10)).await;
    let ReloadOutcome::Restored { collector, error } = reloaded.outcome else {
        panic!("expected the previous config back: {:?}", reloaded.outcome);
    };
    assert!(error.to_string().contains("receivers.otlp"), "{error}");
    collector
        .submit(Batch::new(Generator::new(3).traces(5)))
        .await
        .unwrap();
    assert!(collector.flush(Duration::from_secs(10)).await);
    assert_eq!(written(&dir.path().join("old.jsonl")), 5);
    // The new config's exporter may have created its file before the receiver failed to bind; it holds nothing.
    assert_eq!(written(&dir.path().join("new.jsonl")), 0);
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_config_gets_its_port_back_from_a_next_one_that_bound_it_and_then_failed() {
    // The next config binds the previous one's gRPC port (its receiver differs, so it is not kept), then fails
    // on its self-metrics port: its receiver must be closed by the time the previous config binds that port
    // again, or nothing runs at all.
    let dir = tempfile::tempdir().unwrap();
    let grpc = format!("127.0.0.1:{}", otlp_testkit::net::free_port().unwrap());
    let old = config(dir.path(), "old.jsonl", &grpc);
    let collector = Collector::new(old.clone()).start().await.unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let next = config_with(
        dir.path(),
        "new.jsonl",
        &format!("endpoint: \"{grpc}\", max_recv_msg_size_mib: 8"),
        &format!("address: \"{}\"", busy.local_addr().unwrap()),
    );
    let reloaded = collector.reload(next, old, Duration::from_secs(10)).await;
    let ReloadOutcome::Restored { collector, error } = reloaded.outcome else {
        panic!("expected the previous config back: {:?}", reloaded.outcome);
    };
    assert!(
        error
            .to_string()
            .contains(&busy.local_addr().unwrap().to_string()),
        "{error}"
    );
    let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    client.export(Generator::new(4).traces(7)).await.unwrap();
    assert!(collector.flush(Duration::from_secs(10)).await);
    assert_eq!(written(&dir.path().join("old.jsonl")), 7);
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_receiver_serves_on_across_reloads_and_its_client_sees_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let grpc = format!("127.0.0.1:{}", otlp_testkit::net::free_port().unwrap());
    let mut previous = config(dir.path(), "0.jsonl", &grpc);
    let mut collector = Collector::new(previous.clone()).start().await.unwrap();

    // One connection, no retries: any request the reloads disturbed is an error here.
    let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sending = stop.clone();
    let sender = tokio::spawn(async move {
        let mut generator = Generator::new(5);
        let (mut sent, mut errors) = (Vec::new(), Vec::new());
        while !sending.load(Ordering::Relaxed) || sent.len() < 50 {
            let request = generator.traces(10);
            match client.export(request.clone()).await {
                Ok(_) => sent.push(request),
                Err(status) => errors.push(status),
            }
        }
        (sent, errors)
    });

    // Each version writes to a file of its own; the receiver's settings never change.
    for version in 1..=3 {
        taken_some_more(&collector).await;
        let next = config(dir.path(), &format!("{version}.jsonl"), &grpc);
        let reloaded = collector
            .reload(next.clone(), previous, Duration::from_secs(10))
            .await;
        assert!(reloaded.drained.is_clean(), "{:?}", reloaded.drained);
        let ReloadOutcome::Applied(running) = reloaded.outcome else {
            panic!("version {version} did not start: {:?}", reloaded.outcome);
        };
        collector = running;
        previous = next;
    }
    taken_some_more(&collector).await;
    stop.store(true, Ordering::Relaxed);
    let (sent, errors) = sender.await.unwrap();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());

    assert!(
        errors.is_empty(),
        "{} requests failed: {errors:?}",
        errors.len()
    );
    let written: Vec<_> = (0..=3)
        .flat_map(|version| {
            spans(&read_traces(
                &dir.path().join(format!("{version}.jsonl")),
                true,
            ))
        })
        .collect();
    let sent = spans(&sent);
    assert_eq!(written.len(), sent.len(), "every span exactly once");
    let ids = |spans: &[opentelemetry_proto::tonic::trace::v1::Span]| {
        spans
            .iter()
            .map(|span| span.span_id.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(ids(&written), ids(&sent));
    // The versions between the first and the last each took some of the stream.
    for version in 1..=2 {
        assert!(
            written_in(dir.path(), version) > 0,
            "version {version} got nothing"
        );
    }
}

/// Waits until the running pipelines have taken a few more requests (the test's only client sends without pause).
async fn taken_some_more(collector: &RunningCollector) {
    let accepted = || {
        collector
            .telemetry()
            .total("otelcol_receiver_accepted_spans")
    };
    let from = accepted();
    while accepted() < from + 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn written_in(dir: &Path, version: usize) -> usize {
    written(&dir.join(format!("{version}.jsonl")))
}
