//! otelcol's `sending_queue.block_on_overflow` and `sending_queue.wait_for_result`, against a real OTLP/HTTP
//! backend that holds requests until its gate opens and answers with a chosen status.

mod common;

use common::TestCollector;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_testkit::Generator;
use prost::Message;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

struct Backend {
    url: String,
    /// Requests that reached the backend (held or answered).
    arrived: Arc<AtomicUsize>,
    /// Spans in the requests answered with success.
    received: Arc<AtomicUsize>,
    /// The status every request is answered with once the gate opens.
    status: Arc<AtomicU16>,
    gate: watch::Sender<bool>,
}

impl Backend {
    async fn start(open: bool) -> Backend {
        let arrived = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let status = Arc::new(AtomicU16::new(200));
        let (gate, gate_rx) = watch::channel(open);
        let (arrivals, counter, answer) = (arrived.clone(), received.clone(), status.clone());
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let mut gate = gate_rx.clone();
                let (arrivals, counter, answer) =
                    (arrivals.clone(), counter.clone(), answer.clone());
                async move {
                    arrivals.fetch_add(1, Ordering::SeqCst);
                    while !*gate.borrow() {
                        if gate.changed().await.is_err() {
                            break;
                        }
                    }
                    let status = answer.load(Ordering::SeqCst);
                    if status != 200 {
                        return (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            Vec::new(),
                        );
                    }
                    let request = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
                    counter.fetch_add(otlp_testkit::span_count(&request), Ordering::SeqCst);
                    (
                        axum::http::StatusCode::OK,
                        ExportTraceServiceResponse::default().encode_to_vec(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Backend {
            url,
            arrived,
            received,
            status,
            gate,
        }
    }

    /// Waits until `n` requests reached the backend (they are held there while the gate is shut).
    async fn wait_arrived(&self, n: usize) {
        while self.arrived.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// No batch processor: it would answer clients once it holds the data, as otelcol's does.
fn config(backend: &str, queue: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      http: {{ endpoint: "127.0.0.1:0" }}
exporters:
  otlphttp:
    endpoint: "{backend}"
    compression: none
    timeout: 60s
    retry_on_failure: {{ enabled: false }}
    sending_queue: {{ {queue} }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlphttp] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

async fn post(http: &str, body: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .post(format!("{http}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_holds_the_client_until_there_is_room_with_block_on_overflow() {
    let backend = Backend::start(false).await;
    let harness = TestCollector::start(&config(
        &backend.url,
        "queue_size: 1, num_consumers: 1, block_on_overflow: true",
    ))
    .await;
    let http = harness.http_endpoint();
    let mut generator = Generator::new(21);
    // The first request is taken by the consumer and held at the backend; the second fills the queue.
    assert_eq!(post(&http, generator.traces(10).encode_to_vec()).await, 200);
    backend.wait_arrived(1).await;
    assert_eq!(post(&http, generator.traces(10).encode_to_vec()).await, 200);

    // The third would be refused with 429 without block_on_overflow; here its client is held.
    let held = tokio::spawn({
        let (http, body) = (http.clone(), generator.traces(10).encode_to_vec());
        async move { post(&http, body).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !held.is_finished(),
        "the client was answered while the queue was full"
    );

    backend.gate.send(true).unwrap();
    assert_eq!(held.await.unwrap(), 200, "answered once there was room");
    let TestCollector { collector, .. } = harness;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(20)).await.is_clean());
    assert_eq!(backend.received.load(Ordering::SeqCst), 30);
    assert_eq!(telemetry.total("otelcol_exporter_enqueue_failed_spans"), 0);
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_wait_for_result_the_client_is_answered_once_its_data_is_delivered() {
    let backend = Backend::start(false).await;
    let harness = TestCollector::start(&config(
        &backend.url,
        "wait_for_result: true, num_consumers: 2",
    ))
    .await;
    let http = harness.http_endpoint();
    let body = Generator::new(22).traces(10).encode_to_vec();
    let held = tokio::spawn({
        let http = http.clone();
        async move { post(&http, body).await }
    });
    // The data is queued and being sent: without wait_for_result the client would have its answer already.
    backend.wait_arrived(1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !held.is_finished(),
        "answered before the backend took the data"
    );
    backend.gate.send(true).unwrap();
    assert_eq!(held.await.unwrap(), 200);
    assert_eq!(
        backend.received.load(Ordering::SeqCst),
        10,
        "delivered before the client was answered"
    );
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_wait_for_result_the_client_gets_the_exports_failure() {
    let backend = Backend::start(true).await;
    let harness = TestCollector::start(&config(&backend.url, "wait_for_result: true")).await;
    let http = harness.http_endpoint();
    let mut generator = Generator::new(23);

    // A permanent refusal (400) reaches the client as one; so does a retryable one (503) whose retries ran out.
    backend.status.store(400, Ordering::SeqCst);
    assert_eq!(post(&http, generator.traces(10).encode_to_vec()).await, 400);
    backend.status.store(503, Ordering::SeqCst);
    assert_eq!(post(&http, generator.traces(10).encode_to_vec()).await, 503);
    backend.status.store(200, Ordering::SeqCst);
    assert_eq!(post(&http, generator.traces(10).encode_to_vec()).await, 200);

    let TestCollector { collector, .. } = harness;
    let telemetry = collector.telemetry().clone();
    collector.shutdown(Duration::from_secs(20)).await;
    assert_eq!(backend.received.load(Ordering::SeqCst), 10);
    // Each failed batch is counted once, by the exporter, and the receiver reports it refused.
    assert_eq!(telemetry.total("otelcol_exporter_send_failed_spans"), 20);
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 10);
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 20);
}

#[tokio::test]
async fn wait_for_result_with_a_persistent_queue_is_refused_as_in_otelcol() {
    let yaml = r#"
extensions:
  file_storage: { directory: /tmp }
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
exporters:
  otlphttp:
    endpoint: "http://127.0.0.1:1"
    sending_queue: { storage: file_storage, wait_for_result: true }
service:
  extensions: [file_storage]
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
"#;
    let error = match otlp_collector::Config::from_yaml(yaml) {
        Err(error) => error.to_string(),
        Ok(config) => match otlp_collector::Collector::new(config).start().await {
            Err(error) => error.to_string(),
            Ok(_) => panic!("started with wait_for_result on a persistent queue"),
        },
    };
    assert!(error.contains("wait_for_result"), "{error}");
}
