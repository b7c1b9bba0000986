//! The exporters' circuit breaker (ours): once most attempts in its window have failed, the exporter stops calling
//! its backend and fails attempts at once, so the many batches queued behind a dead backend cost it nothing; the
//! state is a self-metric, and bad settings are named at load.

mod common;

use common::TestCollector;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_collector::telemetry::Telemetry;
use otlp_collector::{Batch, Config};
use otlp_testkit::Generator;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

/// A trace backend that answers every request UNAVAILABLE, counting them.
struct Down(Arc<AtomicUsize>);

#[tonic::async_trait]
impl TraceService for Down {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(tonic::Status::unavailable("down"))
    }
}

/// A backend that is down, and the count of calls it got.
async fn down_backend() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(
                TraceServiceServer::new(Down(calls.clone()))
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            )
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    (address, calls)
}

/// Hands the collector ten batches of ten spans and waits until the exporter gave up on all of them.
async fn submit_until_given_up(harness: &TestCollector, seed: u64) -> &Telemetry {
    let collector = &harness.collector;
    let mut generator = Generator::new(seed);
    for _ in 0..10 {
        collector
            .submit(Batch::new(generator.traces(10)))
            .await
            .unwrap();
    }
    let telemetry = collector.telemetry();
    let started = tokio::time::Instant::now();
    while telemetry.total("otelcol_exporter_send_failed_spans") < 100 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the batches were not given up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    telemetry
}

fn config(endpoint: &str, breaker: &str) -> String {
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  otlp:
    endpoint: "{endpoint}"
    tls: {{ insecure: true }}
    sending_queue: {{ num_consumers: 4, queue_size: 100 }}
    retry_on_failure: {{ initial_interval: 20ms, max_interval: 50ms, max_elapsed_time: 1s }}
    circuit_breaker: {breaker}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlp] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_breaker_keeps_queued_batches_off_a_dead_backend() {
    let (address, calls) = down_backend().await;
    let harness = TestCollector::start(&config(
        &address.to_string(),
        "{ enabled: true, min_requests: 3, failure_rate: 0.5, window: 1m, open_for: 1h }",
    ))
    .await;
    let telemetry = submit_until_given_up(&harness, 5).await;
    // Three failed calls opened the breaker; calls already under way on the other three consumers ended as
    // failures too, and the ten batches' retries for a second each never reached the backend (without the breaker
    // they call it dozens of times: the next test).
    let calls = calls.load(Ordering::SeqCst);
    assert!((3..=3 + 3).contains(&calls), "{calls} calls");
    assert_eq!(
        telemetry.value("otelcol_exporter_circuit_state", &[("exporter", "otlp")]),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_breaker_every_retry_calls_the_backend_and_bad_settings_are_named() {
    let (address, calls) = down_backend().await;
    let harness = TestCollector::start(&config(&address.to_string(), "{ enabled: false }")).await;
    let telemetry = submit_until_given_up(&harness, 6).await;
    assert!(
        calls.load(Ordering::SeqCst) >= 20,
        "{}",
        calls.load(Ordering::SeqCst)
    );
    assert_eq!(
        telemetry.value("otelcol_exporter_circuit_state", &[("exporter", "otlp")]),
        None
    );

    let error = Config::from_yaml(&config("127.0.0.1:1", "{ enabled: true, failure_rate: 2 }"))
        .unwrap_err();
    assert!(error.to_string().contains("circuit_breaker"), "{error}");
    let error =
        Config::from_yaml(&config("127.0.0.1:1", "{ enabled: true, open_fr: 1s }")).unwrap_err();
    assert!(error.to_string().contains("open_fr"), "{error}");
}
