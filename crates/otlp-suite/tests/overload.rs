//! Overload, bounded in time on loopback: the collector binary, behind a backend that takes 2 000 spans/s, is
//! offered 10 000 spans/s for 12 s, open loop (requests do not wait for each other's answers; the debug-built test
//! client reaches 7 000 or so, still over three times the backend's capacity). It must stay under its memory
//! limit, refuse only with retryable codes or shed as its `degradation` extension says (answered with success,
//! counted as dropped), keep exporting throughout, account for every span it accepted, and take everything again
//! once the load is gone.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_testkit::{Generator, span_count};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use support::Collector;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::server::TcpIncoming;

/// The backend's capacity: one request at a time, 500 µs per span (2 000 spans/s).
const SPAN_COST: Duration = Duration::from_micros(500);
/// Offered load: a 100-span request every 10 ms, 10 000 spans/s, five times the backend's capacity (the test's
/// own client, debug-built, falls short of that, but not of three times).
const SPANS_PER_REQUEST: usize = 100;
const INTERVAL: Duration = Duration::from_millis(10);
/// Requests awaiting an answer at most; past it the sender skips a tick (it would be the test, not the
/// collector, that falls behind).
const IN_FLIGHT: usize = 256;
const OVERLOAD: Duration = Duration::from_secs(12);
const MEMORY_LIMIT_MIB: u64 = 300;

/// A backend that serves one request at a time and spends [`SPAN_COST`] per span on it.
struct SlowBackend {
    received: Arc<AtomicUsize>,
    one_at_a_time: Semaphore,
}

#[tonic::async_trait]
impl TraceService for SlowBackend {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = span_count(request.get_ref());
        let _turn = self
            .one_at_a_time
            .acquire()
            .await
            .map_err(|_| tonic::Status::unavailable("closing"))?;
        tokio::time::sleep(SPAN_COST * spans as u32).await;
        self.received.fetch_add(spans, Ordering::SeqCst);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn slow_backend(received: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = SlowBackend {
        received,
        one_at_a_time: Semaphore::new(1),
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(backend))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    port
}

fn config(backend: u16) -> String {
    format!(
        r#"
extensions:
  degradation:
    check_interval: 200ms
    limits: {{ max_memory_mib: {MEMORY_LIMIT_MIB}, max_queue_wait: 1s, max_queue_depth: 20000 }}
    thresholds: {{ min_dwell: 1s }}
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:{{grpc}}" }} }} }}
processors:
  memory_limiter: {{ check_interval: 100ms, limit_mib: {MEMORY_LIMIT_MIB}, spike_limit_mib: 60 }}
  batch: {{ send_batch_size: 500, timeout: 50ms }}
exporters:
  otlp:
    endpoint: "http://127.0.0.1:{backend}"
    compression: none
    timeout: 10s
    sending_queue: {{ queue_size: 40 }}
    retry_on_failure: {{ initial_interval: 100ms, max_interval: 1s, max_elapsed_time: 0 }}
service:
  extensions: [degradation]
  pipelines:
    traces: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:{{metrics}}" }}
"#
    )
}

/// What the senders saw.
#[derive(Default)]
struct Answers {
    accepted_spans: AtomicU64,
    retryable: AtomicU64,
    other: AtomicU64,
    skipped: AtomicU64,
}

/// Offers `SPANS_PER_REQUEST` spans every `INTERVAL` until `until`, each request on its own task so that a slow
/// answer does not slow the offer, and never resends (the load stays three times capacity).
async fn offer(port: u16, until: Instant, answers: Arc<Answers>) {
    let client = TraceServiceClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    // Generating spans in a debug build is slow: a few distinct requests, sent in turn, keep the offer on time.
    let mut generator = Generator::new(1).with_error_rate(0.05).unwrap();
    let requests: Vec<_> = (0..20)
        .map(|_| generator.traces(SPANS_PER_REQUEST))
        .collect();
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next = 0;
    while Instant::now() < until {
        ticks.tick().await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            answers.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let request = requests[next % requests.len()].clone();
        next += 1;
        let mut client = client.clone();
        let answers = answers.clone();
        tasks.spawn(async move {
            let _permit = permit;
            match client.export(request).await {
                Ok(_) => {
                    answers
                        .accepted_spans
                        .fetch_add(SPANS_PER_REQUEST as u64, Ordering::Relaxed);
                }
                Err(status)
                    if matches!(status.code(), Code::ResourceExhausted | Code::Unavailable) =>
                {
                    answers.retryable.fetch_add(1, Ordering::Relaxed);
                }
                Err(status) => {
                    eprintln!("non-retryable refusal: {status:?}");
                    answers.other.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_times_capacity_stays_bounded_refuses_retryably_and_recovers() {
    let received = Arc::new(AtomicUsize::new(0));
    let backend = slow_backend(received.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start("overloaded", dir.path(), &config(backend)).await;

    let answers = Arc::new(Answers::default());
    let until = Instant::now() + OVERLOAD;
    let sender = tokio::spawn(offer(collector.grpc, until, answers.clone()));
    let mut peak_rss = 0;
    let mut received_midway = None;
    while Instant::now() < until {
        if let Some(rss) = collector.resident_bytes() {
            peak_rss = peak_rss.max(rss);
        }
        if received_midway.is_none() && until - Instant::now() < OVERLOAD / 2 {
            received_midway = Some(received.load(Ordering::SeqCst));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sender.await.unwrap();
    let received_at_end = received.load(Ordering::SeqCst);
    let during = collector.scrape().await;

    // Within the memory limit, whatever was offered.
    assert!(
        peak_rss < MEMORY_LIMIT_MIB * 1024 * 1024,
        "peak RSS {} MiB over the {MEMORY_LIMIT_MIB} MiB limit",
        peak_rss / 1024 / 1024
    );
    // Only retryable refusals; and the overload was real: refused, or shed by the degradation controller.
    assert_eq!(answers.other.load(Ordering::Relaxed), 0);
    eprintln!(
        "offered for {OVERLOAD:?}: accepted {} spans, {} retryable refusals, {} ticks skipped (test behind); \
         backend received {received_at_end}; peak RSS {} MiB; metrics: {during:?}",
        answers.accepted_spans.load(Ordering::Relaxed),
        answers.retryable.load(Ordering::Relaxed),
        answers.skipped.load(Ordering::Relaxed),
        peak_rss / 1024 / 1024
    );
    let shed = during
        .get("otelcol_processor_dropped_spans{processor=\"load_shedding\",reason=\"degraded\"}");
    assert!(
        answers.retryable.load(Ordering::Relaxed) > 0 || shed > 0,
        "three times capacity was neither refused nor shed: {during:?}"
    );
    // Exporting never stopped: the backend kept receiving through the second half.
    let midway = received_midway.unwrap_or(0);
    assert!(
        midway > 0 && received_at_end > midway,
        "backend received {midway} by midway and {received_at_end} at the end"
    );

    // Load gone: the queue drains and the level comes back to Normal.
    let settled = collector
        .wait_for("the queue drained and the level back to normal", |m| {
            m.total("otelcol_exporter_queue_size") == 0
                && m.get("otelcol_degradation_level") == 0
                && m.total("otelcol_receiver_accepted_spans")
                    == m.total("otelcol_exporter_sent_spans")
                        + m.total("otelcol_processor_dropped_spans")
        })
        .await;
    // Every span it answered for is delivered or counted as dropped with a reason, none twice.
    let accepted = settled.total("otelcol_receiver_accepted_spans");
    assert_eq!(accepted, answers.accepted_spans.load(Ordering::Relaxed));
    assert_eq!(
        received.load(Ordering::SeqCst) as u64,
        settled.total("otelcol_exporter_sent_spans")
    );

    // And it takes everything again.
    let before = received.load(Ordering::SeqCst);
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", collector.grpc))
        .await
        .unwrap();
    let mut generator = Generator::new(99);
    let mut sent = 0;
    for _ in 0..5 {
        let request = generator.traces(50);
        sent += span_count(&request);
        client.export(request).await.unwrap();
    }
    collector
        .wait_for("the calm load delivered", |m| {
            m.total("otelcol_exporter_sent_spans")
                == settled.total("otelcol_exporter_sent_spans") + sent as u64
        })
        .await;
    assert_eq!(received.load(Ordering::SeqCst), before + sent);
    collector.stop().await;
}
