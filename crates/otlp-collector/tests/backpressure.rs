//! A blocked exporter makes the receivers refuse with retryable answers, and afterwards every accepted span is
//! accounted for: delivered, or counted as dropped with a reason.

mod common;

use common::{TestCollector, scrape};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_collector::Signal;
use otlp_testkit::Generator;
use prost::Message;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tonic_types::StatusExt;

/// A real OTLP/HTTP backend that holds every request until its gate opens.
struct GatedBackend {
    url: String,
    received: Arc<AtomicUsize>,
    /// The most spans one request brought.
    largest: Arc<AtomicUsize>,
    gate: watch::Sender<bool>,
}

impl GatedBackend {
    async fn start() -> GatedBackend {
        let received = Arc::new(AtomicUsize::new(0));
        let largest = Arc::new(AtomicUsize::new(0));
        let (gate, gate_rx) = watch::channel(false);
        let (counter, most) = (received.clone(), largest.clone());
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let mut gate = gate_rx.clone();
                let (counter, most) = (counter.clone(), most.clone());
                async move {
                    while !*gate.borrow() {
                        if gate.changed().await.is_err() {
                            break;
                        }
                    }
                    let request = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
                    let spans = otlp_testkit::span_count(&request);
                    counter.fetch_add(spans, Ordering::SeqCst);
                    most.fetch_max(spans, Ordering::SeqCst);
                    ExportTraceServiceResponse::default().encode_to_vec()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        GatedBackend {
            url,
            received,
            largest,
            gate,
        }
    }
}

fn config(backend: &str) -> String {
    config_with_batch(
        backend,
        "send_batch_size: 50, send_batch_max_size: 50, timeout: 5ms",
    )
}

fn config_with_batch(backend: &str, batch: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
      http: {{ endpoint: "127.0.0.1:0" }}
processors:
  batch: {{ {batch} }}
exporters:
  otlphttp:
    endpoint: "{backend}"
    compression: none
    timeout: 60s
    sending_queue: {{ queue_size: 2, num_consumers: 1 }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [otlphttp] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

/// Sends 20-span requests over HTTP until the collector refuses one; returns the spans it accepted.
async fn fill_until_refused(http: &str, generator: &mut Generator) -> usize {
    let client = reqwest::Client::new();
    let mut accepted = 0;
    for _ in 0..500 {
        let body = generator.traces(20).encode_to_vec();
        let response = client
            .post(format!("{http}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => accepted += 20,
            429 => {
                let retry_after: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry_after >= 1);
                let status =
                    tonic_types::Status::decode(response.bytes().await.unwrap().as_ref()).unwrap();
                assert!(status.message.contains("full"), "{}", status.message);
                return accepted;
            }
            other => panic!("unexpected answer {other}"),
        }
        // Give the batch processor a moment to move data on, as a real client's pacing would.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the collector never refused although its exporter is blocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_exporter_refuses_retryably_then_delivers_everything_accepted() {
    let backend = GatedBackend::start().await;
    let harness = TestCollector::start(&config(&backend.url)).await;
    let mut generator = Generator::new(11);

    let mut accepted = fill_until_refused(&harness.http_endpoint(), &mut generator).await;
    assert!(accepted > 0);

    // gRPC clients get RESOURCE_EXHAUSTED with RetryInfo, which the OTLP specification makes retryable.
    let mut client = TraceServiceClient::connect(harness.grpc_endpoint())
        .await
        .unwrap();
    let status = client.export(generator.traces(20)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(
        status
            .get_details_retry_info()
            .and_then(|r| r.retry_delay)
            .is_some()
    );

    let telemetry = harness.collector.telemetry().clone();
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_spans"),
        accepted as u64
    );
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 40);
    let text = scrape(&harness.collector).await;
    for name in [
        "otelcol_receiver_accepted_spans",
        "otelcol_receiver_refused_spans",
        "otelcol_exporter_sent_spans",
        "otelcol_exporter_enqueue_failed_spans",
        "otelcol_exporter_queue_size",
        "otelcol_exporter_queue_capacity",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing from /metrics:\n{text}"
        );
    }
    assert!(
        text.contains(
            "otelcol_exporter_queue_capacity{exporter=\"otlphttp\",data_type=\"traces\"} 2"
        )
    );

    // Once the backend answers, the collector takes data again and delivers all of it.
    backend.gate.send(true).unwrap();
    let mut resumed = false;
    for _ in 0..200 {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/traces", harness.http_endpoint()))
            .header("content-type", "application/x-protobuf")
            .body(generator.traces(20).encode_to_vec())
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            accepted += 20;
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        resumed,
        "the collector kept refusing after the backend recovered"
    );

    let TestCollector { collector, .. } = harness;
    let report = collector.shutdown(Duration::from_secs(20)).await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        backend.received.load(Ordering::SeqCst),
        accepted,
        "accepted {} sent {} dropped {}",
        telemetry.total("otelcol_receiver_accepted_spans"),
        telemetry.total("otelcol_exporter_sent_spans"),
        telemetry.total("otelcol_processor_dropped_spans")
    );
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_spans"),
        accepted as u64
    );
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_spans"),
        accepted as u64
    );
    assert_eq!(telemetry.total("otelcol_exporter_send_failed_spans"), 0);
    assert_eq!(telemetry.total("otelcol_processor_dropped_spans"), 0);
}

/// Without `send_batch_max_size`, what piles up in the batch processor during a stall leaves in batches of about
/// `send_batch_size` (whole requests, as otelcol sends), not as one batch of everything: an exporter's memory
/// follows the batch size, not the length of the stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_stall_batches_stay_near_the_batch_size_without_a_maximum() {
    let backend = GatedBackend::start().await;
    let harness = TestCollector::start(&config_with_batch(
        &backend.url,
        "send_batch_size: 50, timeout: 5ms",
    ))
    .await;
    let mut generator = Generator::new(13);
    let accepted = fill_until_refused(&harness.http_endpoint(), &mut generator).await;
    // Room for four batches in the processor, two in the queue and one being sent.
    assert!(accepted >= 200, "{accepted}");

    backend.gate.send(true).unwrap();
    let TestCollector { collector, .. } = harness;
    let report = collector.shutdown(Duration::from_secs(20)).await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(backend.received.load(Ordering::SeqCst), accepted);
    // 20-span requests up to the first that reaches 50.
    assert_eq!(backend.largest.load(Ordering::SeqCst), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_dead_backend_reports_what_it_could_not_deliver() {
    let backend = GatedBackend::start().await;
    let harness = TestCollector::start(&config(&backend.url)).await;
    let mut generator = Generator::new(12);
    let accepted = fill_until_refused(&harness.http_endpoint(), &mut generator).await;

    let TestCollector { collector, .. } = harness;
    let telemetry = collector.telemetry().clone();
    let report = collector.shutdown(Duration::from_millis(500)).await;
    assert!(!report.is_clean());
    let undelivered: u64 = report
        .undelivered
        .iter()
        .filter(|((_, signal), _)| *signal == Signal::Traces)
        .map(|(_, n)| n)
        .sum();
    // Nothing reached the backend, so everything accepted is reported and counted as dropped at shutdown.
    assert_eq!(backend.received.load(Ordering::SeqCst), 0);
    assert_eq!(undelivered, accepted as u64);
    assert_eq!(
        telemetry.total_with_label("otelcol_exporter_send_failed_spans", "reason", "shutdown")
            + telemetry.total_with_label("otelcol_processor_dropped_spans", "reason", "shutdown"),
        accepted as u64
    );
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limiter_refuses_with_unavailable_and_retry_after() {
    let harness = TestCollector::start(
        r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
      http: { endpoint: "127.0.0.1:0" }
processors:
  memory_limiter: { check_interval: 50ms, limit_mib: 2, spike_limit_mib: 1 }
exporters:
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlp], processors: [memory_limiter], exporters: [debug] }
  telemetry:
    metrics: { level: none }
"#,
    )
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/traces", harness.http_endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(Generator::new(1).traces(3).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));

    let mut client = TraceServiceClient::connect(harness.grpc_endpoint())
        .await
        .unwrap();
    let status = client
        .export(Generator::new(2).traces(3))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.message().contains("memory"), "{}", status.message());

    let telemetry = harness.collector.telemetry().clone();
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 6);
    assert_eq!(telemetry.total("otelcol_processor_refused_spans"), 6);
    assert!(
        harness
            .collector
            .shutdown(Duration::from_secs(2))
            .await
            .is_clean()
    );
}
