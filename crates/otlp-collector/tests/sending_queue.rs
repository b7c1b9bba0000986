//! otelcol's `sending_queue.block_on_overflow`, `sending_queue.wait_for_result` and `sending_queue.batch`, against
//! a real OTLP/HTTP backend that holds requests until its gate opens and answers with a chosen status.

mod common;

use common::TestCollector;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_testkit::Generator;
use prost::Message;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

struct Backend {
    url: String,
    /// Requests that reached the backend (held or answered).
    arrived: Arc<AtomicUsize>,
    /// Spans in the requests answered with success.
    received: Arc<AtomicUsize>,
    /// Spans of each request answered with success, in the order they were answered.
    sizes: Arc<Mutex<Vec<usize>>>,
    /// The status every request is answered with once the gate opens.
    status: Arc<AtomicU16>,
    gate: watch::Sender<bool>,
}

impl Backend {
    async fn start(open: bool) -> Backend {
        let arrived = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (gate, gate_rx) = watch::channel(open);
        let (arrivals, counter, answer, answered) = (
            arrived.clone(),
            received.clone(),
            status.clone(),
            sizes.clone(),
        );
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let mut gate = gate_rx.clone();
                let (arrivals, counter, answer, answered) = (
                    arrivals.clone(),
                    counter.clone(),
                    answer.clone(),
                    answered.clone(),
                );
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
                    let spans = otlp_testkit::span_count(&request);
                    counter.fetch_add(spans, Ordering::SeqCst);
                    answered.lock().unwrap().push(spans);
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
            sizes,
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

/// Waits until the backend has taken `spans` spans, and returns the size of each request it took.
async fn wait_received(backend: &Backend, spans: usize) -> Vec<usize> {
    while backend.received.load(Ordering::SeqCst) < spans {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    backend.sizes.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_batch_the_queue_merges_requests_until_min_size() {
    let backend = Backend::start(true).await;
    // A flush_timeout no test run reaches: only min_size sends.
    let harness = TestCollector::start(&config(
        &backend.url,
        "batch: { min_size: 50, flush_timeout: 1h }",
    ))
    .await;
    let http = harness.http_endpoint();
    let mut generator = Generator::new(24);
    for _ in 0..10 {
        assert_eq!(post(&http, generator.traces(10).encode_to_vec()).await, 200);
    }
    assert_eq!(wait_received(&backend, 100).await, [50, 50]);
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_batch_a_request_over_max_size_is_split_and_a_small_one_goes_at_the_flush_timeout() {
    let backend = Backend::start(true).await;
    let harness = TestCollector::start(&config(
        &backend.url,
        "batch: { min_size: 10, max_size: 10, flush_timeout: 50ms }",
    ))
    .await;
    let http = harness.http_endpoint();
    let mut generator = Generator::new(25);
    assert_eq!(post(&http, generator.traces(25).encode_to_vec()).await, 200);
    assert_eq!(wait_received(&backend, 25).await, [10, 10, 5]);
    // 3 < min_size: nothing more comes, so it goes once flush_timeout has passed.
    assert_eq!(post(&http, generator.traces(3).encode_to_vec()).await, 200);
    assert_eq!(wait_received(&backend, 28).await, [10, 10, 5, 3]);
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_batch_and_wait_for_result_every_merged_client_gets_the_outcome() {
    let backend = Backend::start(true).await;
    let harness = TestCollector::start(&config(
        &backend.url,
        "wait_for_result: true, batch: { min_size: 20, flush_timeout: 1h }",
    ))
    .await;
    let http = harness.http_endpoint();
    let mut generator = Generator::new(26);
    let send_two = |generator: &mut Generator| {
        let clients: Vec<_> = (0..2)
            .map(|_| {
                let (http, body) = (http.clone(), generator.traces(10).encode_to_vec());
                tokio::spawn(async move { post(&http, body).await })
            })
            .collect();
        async move {
            let mut statuses = Vec::new();
            for client in clients {
                statuses.push(client.await.unwrap());
            }
            statuses
        }
    };
    // Neither client is answered until both requests made up min_size and went out together.
    backend.status.store(400, Ordering::SeqCst);
    assert_eq!(send_two(&mut generator).await, [400, 400]);
    backend.status.store(200, Ordering::SeqCst);
    assert_eq!(send_two(&mut generator).await, [200, 200]);
    assert_eq!(backend.sizes.lock().unwrap().as_slice(), [20]);

    let TestCollector { collector, .. } = harness;
    let telemetry = collector.telemetry().clone();
    collector.shutdown(Duration::from_secs(20)).await;
    assert_eq!(telemetry.total("otelcol_exporter_send_failed_spans"), 20);
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 20);
    assert_eq!(
        backend.arrived.load(Ordering::SeqCst),
        2,
        "one request per merged pair"
    );
}

#[tokio::test]
async fn batch_settings_that_cannot_work_are_refused() {
    for (queue, expected) in [
        (
            "queue_size: 100, sizer: items, batch: {}",
            "sending_queue.batch.min_size (8192) must not exceed sending_queue.queue_size (100)",
        ),
        (
            "batch: { min_size: 100, max_size: 10 }",
            "max_size (10) must be 0 (no limit) or at least min_size (100)",
        ),
        (
            "enabled: false, batch: {}",
            "sending_queue.batch needs an enabled queue",
        ),
        ("batch: { sizer: requests }", "`requests` is not supported"),
        ("batch: { min_sise: 10 }", "min_size"),
    ] {
        let error = match otlp_collector::Config::from_yaml(&config("http://127.0.0.1:1", queue)) {
            Err(error) => error.to_string(),
            Ok(config) => match otlp_collector::Collector::new(config).start().await {
                Err(error) => error.to_string(),
                Ok(_) => panic!("started with `{queue}`"),
            },
        };
        assert!(error.contains(expected), "`{queue}`: {error}");
    }
}
