//! `RunningCollector::reload`: what the old pipelines hold is delivered by their exporters before the new
//! pipelines start, the self-metrics carry on, a receiver the new config leaves unchanged serves on without its
//! clients seeing an error, and a config that cannot start leaves the previous one running.

mod common;

use common::{read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_collector::{Batch, Collector, Config, ReloadOutcome, RunningCollector};
use otlp_testkit::Generator;
use prost::Message;
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
    config_with(
        dir,
        file,
        &format!("grpc: {{ endpoint: \"{grpc}\" }}"),
        metrics,
    )
}

/// [`config`] with `protocols` as the receiver's protocols and `metrics` as the self-metrics settings.
fn config_with(dir: &Path, file: &str, protocols: &str, metrics: &str) -> Config {
    Config::from_yaml(&format!(
        r#"
receivers:
  otlp: {{ protocols: {{ {protocols} }} }}
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
        &format!("grpc: {{ endpoint: \"{grpc}\", max_recv_msg_size_mib: 8 }}"),
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
async fn an_unchanged_receiver_serves_on_across_reloads_and_its_clients_see_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let grpc = format!("127.0.0.1:{}", otlp_testkit::net::free_port().unwrap());
    let http = format!("127.0.0.1:{}", otlp_testkit::net::free_port().unwrap());
    let version = |n: usize| {
        config_with(
            dir.path(),
            &format!("{n}.jsonl"),
            &format!("grpc: {{ endpoint: \"{grpc}\" }}, http: {{ endpoint: \"{http}\" }}"),
            "level: none",
        )
    };
    let mut previous = version(0);
    let mut collector = Collector::new(previous.clone()).start().await.unwrap();

    // One connection per transport, no retries: any request the reloads disturbed is an error here.
    let stop = Arc::new(AtomicBool::new(false));
    let grpc_client = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    let grpc_sender = keep_sending(stop.clone(), 5, move |request| {
        let mut client = grpc_client.clone();
        async move {
            client
                .export(request)
                .await
                .map(drop)
                .map_err(|status| status.to_string())
        }
    });
    let http_client = reqwest::Client::new();
    let url = format!("http://{http}/v1/traces");
    let http_sender = keep_sending(stop.clone(), 6, move |request| {
        let sent = http_client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send();
        async move {
            match sent.await {
                Ok(response) if response.status().is_success() => Ok(()),
                Ok(response) => Err(response.status().to_string()),
                Err(error) => Err(error.to_string()),
            }
        }
    });

    // Each version writes to a file of its own; the receiver's settings never change.
    for n in 1..=3 {
        taken_some_more(&collector).await;
        let next = version(n);
        let reloaded = collector
            .reload(next.clone(), previous, Duration::from_secs(10))
            .await;
        assert!(reloaded.drained.is_clean(), "{:?}", reloaded.drained);
        let ReloadOutcome::Applied(running) = reloaded.outcome else {
            panic!("version {n} did not start: {:?}", reloaded.outcome);
        };
        collector = running;
        previous = next;
    }
    taken_some_more(&collector).await;
    stop.store(true, Ordering::Relaxed);
    let (mut sent, grpc_errors) = grpc_sender.await.unwrap();
    let (http_sent, http_errors) = http_sender.await.unwrap();
    sent.extend(http_sent);
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());

    assert!(
        grpc_errors.is_empty(),
        "{} gRPC requests failed: {grpc_errors:?}",
        grpc_errors.len()
    );
    assert!(
        http_errors.is_empty(),
        "{} HTTP requests failed: {http_errors:?}",
        http_errors.len()
    );
    let written: Vec<_> = (0..=3)
        .flat_map(|n| spans(&read_traces(&dir.path().join(format!("{n}.jsonl")), true)))
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
    for n in 1..=2 {
        assert!(written_in(dir.path(), n) > 0, "version {n} got nothing");
    }
}

/// Sends requests of 10 spans with `send` until `stop` is set (and at least 50 went through), without retrying;
/// returns the requests that went through and the errors of those that did not.
fn keep_sending<F, Fut>(
    stop: Arc<AtomicBool>,
    seed: u64,
    send: F,
) -> tokio::task::JoinHandle<(Vec<ExportTraceServiceRequest>, Vec<String>)>
where
    F: Fn(ExportTraceServiceRequest) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    tokio::spawn(async move {
        let mut generator = Generator::new(seed);
        let (mut sent, mut errors) = (Vec::new(), Vec::new());
        while !stop.load(Ordering::Relaxed) || sent.len() < 50 {
            let request = generator.traces(10);
            match send(request.clone()).await {
                Ok(()) => sent.push(request),
                Err(error) => errors.push(error),
            }
        }
        (sent, errors)
    })
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
