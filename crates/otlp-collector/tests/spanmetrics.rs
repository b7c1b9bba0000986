//! The `spanmetrics` connector with otelcol-contrib's configs: request, error and duration metrics of what a real
//! `opentelemetry-otlp` exporter sends, sent at shutdown (cumulative) and on every flush interval (delta), and the
//! mistakes its settings can hold.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider, read_metrics};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// otelcol-contrib's README example, less what needs other components: extra dimensions with and without a
/// default, exemplars, and a long flush interval, so that the shutdown sends the metrics.
const RED: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  spanmetrics:
    histogram:
      explicit:
        buckets: [100us, 1ms, 2ms, 6ms, 10ms, 100ms, 250ms]
    dimensions:
      - name: http.method
        default: GET
      - name: http.status_code
    exemplars:
      enabled: true
    metrics_flush_interval: 1h
processors:
  batch:
exporters:
  file/metrics: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [spanmetrics] }
    metrics: { receivers: [spanmetrics], processors: [batch], exporters: [file/metrics] }
  telemetry:
    metrics: { level: none }
"#;

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => format!("{i}i"),
        other => format!("{other:?}"),
    }
}

fn attributes(attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> String {
    attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, text(kv.value.as_ref())))
        .collect::<Vec<_>>()
        .join(",")
}

/// Sends `spans` as (name, kind, duration, error, attributes) from service `service` with the real exporter.
async fn send(
    endpoint: String,
    service: &'static str,
    spans: Vec<(&'static str, SpanKind, Duration, bool, Vec<KeyValue>)>,
) {
    tokio::task::spawn_blocking(move || {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .build();
        let provider = grpc_tracer_provider(endpoint, resource);
        let tracer = provider.tracer("checkout-http");
        let start = SystemTime::now();
        for (name, kind, duration, error, attributes) in spans {
            let mut span = tracer
                .span_builder(name)
                .with_kind(kind)
                .with_start_time(start)
                .with_attributes(attributes)
                .start(&tracer);
            if error {
                span.set_status(Status::error("failed"));
            }
            span.end_with_timestamp(start + duration);
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_errors_and_durations_per_service_operation_and_dimension() {
    let collector = TestCollector::start(RED).await;
    let ms = Duration::from_millis;
    let post = || {
        vec![
            KeyValue::new("http.method", "POST"),
            KeyValue::new("http.status_code", 200),
        ]
    };
    let mut spans = Vec::new();
    for i in 0..10 {
        spans.push(("/checkout", SpanKind::Server, ms(4 + i % 3), false, post()));
    }
    spans.push(("/checkout", SpanKind::Server, ms(300), true, post()));
    for _ in 0..5 {
        spans.push((
            "/cart",
            SpanKind::Server,
            Duration::from_micros(50),
            false,
            vec![],
        ));
    }
    send(collector.grpc_endpoint(), "checkout", spans).await;
    let dir = collector.shut_down_cleanly().await;

    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);
    let mut calls = BTreeMap::new();
    let mut durations = BTreeMap::new();
    for request in &requests {
        for rm in &request.resource_metrics {
            let resource = attributes(&rm.resource.as_ref().unwrap().attributes);
            assert!(resource.contains("service.name=checkout"), "{resource}");
            for sm in &rm.scope_metrics {
                assert_eq!(sm.scope.as_ref().unwrap().name, "spanmetricsconnector");
                for m in &sm.metrics {
                    match (m.name.as_str(), m.data.as_ref().unwrap()) {
                        ("traces.span.metrics.calls", metric::Data::Sum(sum)) => {
                            assert_eq!(
                                sum.aggregation_temporality,
                                AggregationTemporality::Cumulative as i32
                            );
                            assert!(sum.is_monotonic);
                            for p in &sum.data_points {
                                let Some(number_data_point::Value::AsInt(n)) = p.value else {
                                    panic!()
                                };
                                calls.insert(attributes(&p.attributes), n);
                            }
                        }
                        ("traces.span.metrics.duration", metric::Data::Histogram(h)) => {
                            assert_eq!(m.unit, "ms");
                            for p in &h.data_points {
                                assert_eq!(
                                    p.explicit_bounds,
                                    [0.1, 1.0, 2.0, 6.0, 10.0, 100.0, 250.0]
                                );
                                // Exemplars link a point to spans that were counted in it.
                                assert!(
                                    !p.exemplars.is_empty()
                                        && p.exemplars.iter().all(|e| e.trace_id.len() == 16)
                                );
                                durations
                                    .insert(attributes(&p.attributes), p.bucket_counts.clone());
                            }
                        }
                        (name, data) => panic!("unexpected {name}: {data:?}"),
                    }
                }
            }
        }
    }
    let ok = "service.name=checkout,span.name=/checkout,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_UNSET,http.method=POST,http.status_code=200i";
    let error = "service.name=checkout,span.name=/checkout,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_ERROR,http.method=POST,http.status_code=200i";
    // No `http.method`: its default; no `http.status_code` and no default: left out.
    let cart = "service.name=checkout,span.name=/cart,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_UNSET,http.method=GET";
    assert_eq!(
        calls,
        BTreeMap::from([
            (ok.to_string(), 10),
            (error.to_string(), 1),
            (cart.to_string(), 5)
        ])
    );
    // 4, 5 and 6 ms fall in (2, 6]; 300 ms above every bound; 50 µs in [0, 0.1].
    assert_eq!(durations[ok], [0, 0, 0, 10, 0, 0, 0, 0]);
    assert_eq!(durations[error], [0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(durations[cart], [5, 0, 0, 0, 0, 0, 0, 0]);
}

/// Delta temporality, sent every 100 ms.
const DELTA: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  spanmetrics:
    aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA
    metrics_flush_interval: 100ms
    histogram: { exponential: { max_size: 40 } }
exporters:
  file/metrics: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [spanmetrics] }
    metrics: { receivers: [spanmetrics], exporters: [file/metrics] }
  telemetry:
    metrics: { level: none }
"#;

/// Every `calls` point of the file as (start, end, count), in the order written.
fn delta_calls(path: &Path) -> Vec<(u64, u64, i64)> {
    if !path.exists() {
        return Vec::new();
    }
    let requests: Vec<ExportMetricsServiceRequest> = read_metrics(path, true);
    let mut out = Vec::new();
    for m in requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
    {
        match m.data.as_ref().unwrap() {
            metric::Data::Sum(sum) => {
                assert_eq!(
                    sum.aggregation_temporality,
                    AggregationTemporality::Delta as i32
                );
                for p in &sum.data_points {
                    let Some(number_data_point::Value::AsInt(n)) = p.value else {
                        panic!()
                    };
                    out.push((p.start_time_unix_nano, p.time_unix_nano, n));
                }
            }
            metric::Data::ExponentialHistogram(h) => {
                for p in &h.data_points {
                    let positive = p.positive.as_ref().unwrap();
                    assert_eq!(
                        positive.bucket_counts.iter().sum::<u64>() + p.zero_count,
                        p.count
                    );
                    assert!(positive.bucket_counts.len() <= 40);
                }
            }
            other => panic!("{other:?}"),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_points_are_sent_every_interval_and_add_up_to_what_was_sent() {
    let collector = TestCollector::start(DELTA).await;
    let file = collector.path("metrics.jsonl");
    let span = |millis| {
        (
            "GET /",
            SpanKind::Server,
            Duration::from_millis(millis),
            false,
            vec![],
        )
    };
    send(
        collector.grpc_endpoint(),
        "web",
        (0..20).map(span).collect(),
    )
    .await;
    // The first interval's points reach the file while the collector runs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while delta_calls(&file).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no metrics were sent while running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send(collector.grpc_endpoint(), "web", (0..7).map(span).collect()).await;
    let dir = collector.shut_down_cleanly().await;

    let points = delta_calls(&dir.path().join("metrics.jsonl"));
    assert_eq!(
        points.iter().map(|(_, _, n)| n).sum::<i64>(),
        27,
        "{points:?}"
    );
    assert!(points.len() >= 2, "{points:?}");
    // One series, each point starting where the one before it ended.
    for pair in points.windows(2) {
        assert_eq!(pair[1].0, pair[0].1, "{points:?}");
    }
    assert!(points.iter().all(|(start, end, _)| start < end));
}

#[test]
fn mistakes_are_reported_at_their_keys() {
    let problems = |connector: &str, pipelines: &str| -> Vec<String> {
        let yaml = format!(
            r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
connectors:
  spanmetrics:
{connector}
exporters:
  debug:
service:
  pipelines:
{pipelines}
"#
        );
        config_problems(&yaml)
            .iter()
            .map(|(path, message)| format!("{path}: {message}"))
            .collect()
    };
    let red = "    traces: { receivers: [otlp], exporters: [spanmetrics] }\n    metrics: { receivers: [spanmetrics], exporters: [debug] }";
    // A misspelt key is named, with the one meant.
    let found = problems(
        "    histogram: { unit: us }\n    dimension: [{ name: http.method }]",
        red,
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("connectors.spanmetrics.dimension:")
                && p.contains("did you mean `dimensions`")),
        "{found:#?}"
    );
    // Values, each at its key, with what is accepted.
    let found = problems(
        "    histogram: { unit: us }\n    aggregation_temporality: DELTA",
        red,
    );
    assert!(
        found.iter().any(|p| p
            .starts_with("connectors.spanmetrics.histogram.unit: `us` is neither `ms` nor `s`")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("connectors.spanmetrics.aggregation_temporality: `DELTA`")),
        "{found:#?}"
    );
    // Spans in, metrics out: a logs pipeline cannot feed it.
    let found = problems(
        "    {}",
        "    logs: { receivers: [otlp], exporters: [spanmetrics] }\n    metrics: { receivers: [spanmetrics], exporters: [debug] }",
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("service.pipelines.logs.exporters:")
                && p.contains("`spanmetrics` joins traces to metrics")),
        "{found:#?}"
    );
}
