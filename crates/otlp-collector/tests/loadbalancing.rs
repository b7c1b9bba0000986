//! The `loadbalancing` exporter against OTLP/gRPC backends on loopback: a collector in this process routes traces by
//! trace id over three backends that fail on demand (refuse their first requests, or are not there at all), and
//! over three collectors for metrics and logs. Each test checks where every item landed, that nothing was lost or
//! sent twice, and that the self-metrics count each item once.

mod common;

use common::{TestCollector, read_logs, read_metrics};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_collector::telemetry::Telemetry;
use otlp_lb::policy::ConsistentHash;
use otlp_lb::{Endpoint, KeyRouter};
use otlp_testkit::{Generator, span_count};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

/// What one backend received and refused.
#[derive(Default)]
struct Received {
    requests: usize,
    spans: Vec<Span>,
    refused_spans: usize,
}

/// An OTLP/gRPC trace backend that answers UNAVAILABLE to its first `refuse_first` requests.
struct Backend {
    received: Arc<parking_lot::Mutex<Received>>,
    refuse_first: usize,
}

#[tonic::async_trait]
impl TraceService for Backend {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.received.lock();
        received.requests += 1;
        if received.requests <= self.refuse_first {
            received.refused_spans += span_count(request.get_ref());
            return Err(tonic::Status::unavailable("warming up"));
        }
        received.spans.extend(
            request
                .into_inner()
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans),
        );
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn backend(refuse_first: usize) -> (String, Arc<parking_lot::Mutex<Received>>) {
    let received = Arc::new(parking_lot::Mutex::new(Received::default()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = tonic::transport::Server::builder().add_service(
        TraceServiceServer::new(Backend {
            received: received.clone(),
            refuse_first,
        })
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
    );
    tokio::spawn(server.serve_with_incoming(TcpIncoming::from(listener)));
    (address, received)
}

/// An address nothing listens on: connections are refused, as to a backend that was killed.
async fn dead_backend() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A collector routing traces over `backends` with `extra` settings of the exporter.
async fn front(backends: &[&str], extra: &str) -> TestCollector {
    let hostnames = backends.join(", ");
    TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  loadbalancing:
    protocol: {{ otlp: {{ tls: {{ insecure: true }}, timeout: 2s }} }}
    resolver: {{ static: {{ hostnames: [{hostnames}] }} }}
    {extra}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [loadbalancing] }}
  telemetry:
    metrics: {{ level: none }}
"#
    ))
    .await
}

/// Sends `requests` requests of whole traces; returns every span sent.
async fn send_traces(front: &TestCollector, requests: usize, seed: u64) -> Vec<Span> {
    let mut client = TraceServiceClient::connect(front.grpc_endpoint())
        .await
        .unwrap();
    let mut generator = Generator::new(seed);
    let mut sent = Vec::new();
    for _ in 0..requests {
        let request = generator.whole_traces(40);
        sent.extend(common::spans(std::slice::from_ref(&request)));
        client.export(request).await.unwrap();
    }
    sent
}

/// `(trace id, span id)` of each span, sorted: equal for equal multisets of spans.
fn ids(spans: &[Span]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut ids: Vec<_> = spans
        .iter()
        .map(|s| (s.trace_id.clone(), s.span_id.clone()))
        .collect();
    ids.sort();
    ids
}

fn ring(addresses: &[&str]) -> KeyRouter<ConsistentHash> {
    KeyRouter::new(
        ConsistentHash::new(),
        addresses.iter().map(|a| Endpoint::new(*a)).collect(),
    )
    .unwrap()
}

fn count(telemetry: &Telemetry, name: &str) -> u64 {
    telemetry
        .value(name, &[("exporter", "loadbalancing")])
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_part_that_failed_is_sent_again() {
    let (a, received_a) = backend(0).await;
    let (b, received_b) = backend(2).await; // refuses its first two requests
    let (c, received_c) = backend(0).await;
    let front = front(
        &[&a, &b, &c],
        "retry_on_failure: { initial_interval: 20ms, max_interval: 100ms }\n    \
         outlier_detection: { consecutive_failures: 100 }",
    )
    .await;
    let sent = send_traces(&front, 30, 1).await;
    let TestCollector { collector, .. } = front;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(20)).await.is_clean());

    let owners = ring(&[&a, &b, &c]);
    let mut delivered = Vec::new();
    for (address, received) in [(&a, &received_a), (&b, &received_b), (&c, &received_c)] {
        let received = received.lock();
        for span in &received.spans {
            assert_eq!(
                owners.owner(span.trace_id.as_slice()).unwrap().id(),
                address.as_str(),
                "every span goes to its trace's owner"
            );
        }
        assert_eq!(
            telemetry.value(
                "otelcol_loadbalancer_backend_sent_spans",
                &[
                    ("exporter", "loadbalancing"),
                    ("endpoint", address.as_str())
                ]
            ),
            Some(received.spans.len() as u64)
        );
        delivered.extend(received.spans.iter().cloned());
    }
    assert_eq!(ids(&delivered), ids(&sent), "every span exactly once");
    let refused = received_b.lock().refused_spans;
    assert!(refused > 0);
    assert_eq!(
        count(&telemetry, "otelcol_loadbalancer_retried_spans"),
        refused as u64,
        "only the refused parts were sent again"
    );
    assert_eq!(count(&telemetry, "otelcol_loadbalancer_rerouted_spans"), 0);
    assert_eq!(
        count(&telemetry, "otelcol_exporter_sent_spans"),
        sent.len() as u64
    );
    assert_eq!(telemetry.total("otelcol_exporter_send_failed_spans"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backends_traces_go_whole_to_their_ring_successor() {
    let (a, received_a) = backend(0).await;
    let dead = dead_backend().await;
    let (c, received_c) = backend(0).await;
    let front = front(
        &[&a, &dead, &c],
        "retry_on_failure: { initial_interval: 20ms, max_interval: 100ms }\n    \
         outlier_detection: { consecutive_failures: 1 }",
    )
    .await;
    let sent = send_traces(&front, 30, 2).await;
    let TestCollector { collector, .. } = front;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(20)).await.is_clean());

    let with_dead = ring(&[&a, &dead, &c]);
    let without_dead = ring(&[&a, &c]);
    let mut delivered = Vec::new();
    for (address, received) in [(&a, &received_a), (&c, &received_c)] {
        for span in &received.lock().spans {
            let trace_id = span.trace_id.as_slice();
            let expected = if with_dead.owner(trace_id).unwrap().id() == dead.as_str() {
                without_dead.owner(trace_id).unwrap()
            } else {
                with_dead.owner(trace_id).unwrap()
            };
            assert_eq!(expected.id(), address.as_str());
            delivered.push(span.clone());
        }
    }
    assert_eq!(ids(&delivered), ids(&sent), "every span exactly once");
    let retried = count(&telemetry, "otelcol_loadbalancer_retried_spans");
    assert!(retried > 0, "the first parts for the dead backend failed");
    assert_eq!(
        count(&telemetry, "otelcol_loadbalancer_rerouted_spans"),
        retried,
        "once ejected, its parts went elsewhere"
    );
    assert_eq!(
        count(&telemetry, "otelcol_exporter_sent_spans"),
        sent.len() as u64
    );
    assert_eq!(
        telemetry.value(
            "otelcol_loadbalancer_backend_outcome",
            &[
                ("exporter", "loadbalancing"),
                ("endpoint", dead.as_str()),
                ("success", "true")
            ]
        ),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn giving_up_counts_only_what_was_not_delivered() {
    let (a, received_a) = backend(0).await;
    let dead = dead_backend().await;
    let (c, received_c) = backend(0).await;
    // Never ejected: its parts fail until the retry policy gives up on them.
    let front = front(
        &[&a, &dead, &c],
        "retry_on_failure: { initial_interval: 20ms, max_interval: 50ms, max_elapsed_time: 300ms }\n    \
         outlier_detection: { max_ejection_percent: 0 }",
    )
    .await;
    let sent = send_traces(&front, 12, 3).await;
    let TestCollector { collector, .. } = front;
    let telemetry = collector.telemetry().clone();
    collector.shutdown(Duration::from_secs(20)).await;

    let owners = ring(&[&a, &dead, &c]);
    let owned_by_dead = sent
        .iter()
        .filter(|s| owners.owner(s.trace_id.as_slice()).unwrap().id() == dead.as_str())
        .count();
    let mut delivered: Vec<Span> = received_a.lock().spans.clone();
    delivered.extend(received_c.lock().spans.iter().cloned());
    assert_eq!(delivered.len(), sent.len() - owned_by_dead);
    assert_eq!(
        ids(&delivered).len(),
        ids(&delivered).into_iter().collect::<HashSet<_>>().len()
    );
    assert_eq!(
        count(&telemetry, "otelcol_exporter_sent_spans"),
        delivered.len() as u64,
        "delivered parts count as sent although their batches failed in part"
    );
    assert_eq!(
        telemetry.value(
            "otelcol_exporter_send_failed_spans",
            &[
                ("exporter", "loadbalancing"),
                ("reason", "retries_exhausted")
            ]
        ),
        Some(owned_by_dead as u64),
        "only the dead backend's parts are counted as failed"
    );
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_spans"),
        telemetry.total("otelcol_exporter_sent_spans")
            + telemetry.total("otelcol_exporter_send_failed_spans"),
        "accepted = sent + failed: every item counted once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_resolved_backend_gets_everything() {
    let (address, received) = backend(0).await;
    let port = address.rsplit_once(':').unwrap().1;
    // `localhost` may also resolve to ::1, where nothing listens: that backend fails, is ejected, and its keys go
    // to 127.0.0.1.
    let front = TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  loadbalancing:
    protocol: {{ otlp: {{ tls: {{ insecure: true }}, timeout: 2s }} }}
    resolver: {{ dns: {{ hostname: localhost, port: {port}, interval: 100ms }} }}
    retry_on_failure: {{ initial_interval: 20ms, max_interval: 100ms, max_elapsed_time: 0 }}
    outlier_detection: {{ consecutive_failures: 1 }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [loadbalancing] }}
  telemetry:
    metrics: {{ level: none }}
"#
    ))
    .await;
    let sent = send_traces(&front, 10, 6).await;
    let TestCollector { collector, .. } = front;
    let telemetry = collector.telemetry().clone();
    // The receiver answers once spans are queued, which may be before the first resolution has
    // finished on a busy machine: wait for the backend to have them all, which needs a resolved set.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while received.lock().spans.len() < sent.len() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Read while running: shutdown lets the backends go, and the gauge with them.
    assert!(
        telemetry
            .value(
                "otelcol_loadbalancer_num_backends",
                &[("exporter", "loadbalancing"), ("resolver", "dns")]
            )
            .unwrap()
            >= 1
    );
    assert!(collector.shutdown(Duration::from_secs(20)).await.is_clean());
    assert_eq!(ids(&received.lock().spans), ids(&sent));
    let labels = |success| {
        [
            ("exporter", "loadbalancing"),
            ("resolver", "dns"),
            ("success", success),
        ]
    };
    assert!(
        telemetry
            .value("otelcol_loadbalancer_num_resolutions", &labels("true"))
            .unwrap()
            >= 1
    );
}

/// Three collectors writing JSON files, and a front routing metrics by service and logs by trace id over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_go_by_service_and_logs_by_trace() {
    let back = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
exporters:
  file/metrics: { path: "{dir}/metrics.jsonl", format: json, sending_queue: { enabled: false } }
  file/logs: { path: "{dir}/logs.jsonl", format: json, sending_queue: { enabled: false } }
service:
  pipelines:
    metrics: { receivers: [otlp], exporters: [file/metrics] }
    logs: { receivers: [otlp], exporters: [file/logs] }
  telemetry:
    metrics: { level: none }
"#;
    let mut backs = Vec::new();
    for _ in 0..3 {
        backs.push(TestCollector::start(back).await);
    }
    let addresses: Vec<String> = backs
        .iter()
        .map(|b| b.collector.grpc_addr("otlp").unwrap().to_string())
        .collect();
    let front = TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  loadbalancing:
    protocol: {{ otlp: {{ tls: {{ insecure: true }} }} }}
    resolver: {{ static: {{ hostnames: [{}] }} }}
service:
  pipelines:
    metrics: {{ receivers: [otlp], exporters: [loadbalancing] }}
    logs: {{ receivers: [otlp], exporters: [loadbalancing] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        addresses.join(", ")
    ))
    .await;
    let channel = tonic::transport::Channel::from_shared(front.grpc_endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut metrics_client = opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient::new(channel.clone());
    let mut logs_client =
        opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient::new(
            channel,
        );
    let mut generator = Generator::new(5);
    let (mut points, mut records) = (0, 0);
    for _ in 0..10 {
        let metrics = generator.metrics(200);
        points += otlp_testkit::data_point_count(&metrics);
        metrics_client.export(metrics).await.unwrap();
        let logs = generator.logs(100);
        records += otlp_testkit::log_record_count(&logs);
        logs_client.export(logs).await.unwrap();
    }
    let TestCollector { collector, .. } = front;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(20)).await.is_clean());
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_metric_points"),
        points as u64
    );
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_log_records"),
        records as u64
    );

    let mut services: HashMap<String, BTreeMap<usize, usize>> = HashMap::new();
    let (mut got_points, mut got_records) = (0, 0);
    let mut trace_owner: HashMap<Vec<u8>, usize> = HashMap::new();
    for (index, back) in backs.iter().enumerate() {
        for request in read_metrics(&back.path("metrics.jsonl"), true) {
            got_points += otlp_testkit::data_point_count(&request);
            for resource in &request.resource_metrics {
                let service = resource
                    .resource
                    .as_ref()
                    .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                    .map(|kv| format!("{:?}", kv.value))
                    .unwrap_or_default();
                *services
                    .entry(service)
                    .or_default()
                    .entry(index)
                    .or_default() += 1;
            }
        }
        for request in read_logs(&back.path("logs.jsonl"), true) {
            got_records += otlp_testkit::log_record_count(&request);
            for record in request
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .flat_map(|s| &s.log_records)
                .filter(|r| r.trace_id.iter().any(|b| *b != 0))
            {
                assert_eq!(
                    *trace_owner.entry(record.trace_id.clone()).or_insert(index),
                    index,
                    "the log records of a trace go to one backend"
                );
            }
        }
    }
    assert_eq!((got_points, got_records), (points, records));
    assert!(services.len() > 1);
    for (service, backs) in services {
        assert_eq!(
            backs.len(),
            1,
            "{service} went to several backends: {backs:?}"
        );
    }
    for back in backs {
        back.collector.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_queue_disabled_a_request_is_answered_once_every_part_is_delivered() {
    let (a, received_a) = backend(1).await; // refuses its first request: the client's answer waits for the retry
    let (b, received_b) = backend(0).await;
    let front = front(
        &[&a, &b],
        "sending_queue: { enabled: false }\n    \
         retry_on_failure: { initial_interval: 20ms, max_interval: 50ms }",
    )
    .await;
    let mut client = TraceServiceClient::connect(front.grpc_endpoint())
        .await
        .unwrap();
    let mut generator = Generator::new(7);
    let mut sent = Vec::new();
    for _ in 0..5 {
        let request = generator.whole_traces(40);
        sent.extend(common::spans(std::slice::from_ref(&request)));
        client.export(request).await.unwrap();
        let delivered = received_a.lock().spans.len() + received_b.lock().spans.len();
        assert_eq!(delivered, sent.len(), "answered only once delivered");
    }
    let TestCollector { collector, .. } = front;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    let mut delivered = received_a.lock().spans.clone();
    delivered.extend(received_b.lock().spans.iter().cloned());
    assert_eq!(ids(&delivered), ids(&sent));
    assert_eq!(
        count(&telemetry, "otelcol_loadbalancer_retried_spans"),
        received_a.lock().refused_spans as u64
    );
}
