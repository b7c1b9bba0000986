//! The `prometheusremotewrite` exporter pushing to a real Prometheus (the Debian package's, started by each test
//! on a free loopback port with its remote write receiver and native histograms on), read back through
//! Prometheus's own query API: what an operator's PromQL sees, not what our encoder meant.
//!
//! `prometheus` comes from PATH (`cargo xtask setup` installs it).

mod common;

use common::prometheus::Prometheus;
use common::{TestCollector, free_port, meter_provider};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, exponential_histogram_data_point::Buckets,
    metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_collector::Batch;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn config(write_url: &str, extra: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  prometheusremotewrite:
    endpoint: "{write_url}"
    external_labels: {{ cluster: eu-1 }}
{extra}
service:
  pipelines:
    metrics: {{ receivers: [otlp], exporters: [prometheusremotewrite] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn string(key: &str, value: &str) -> opentelemetry_proto::tonic::common::v1::KeyValue {
    opentelemetry_proto::tonic::common::v1::KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn metrics_request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    string("service.name", "pricing"),
                    string("service.instance.id", "p-1"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_s_metrics_are_queried_back_from_prometheus() {
    let prometheus = Prometheus::start(None).await;
    let harness = TestCollector::start(&config(&prometheus.write_url(), "")).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        use opentelemetry_sdk::metrics::Temporality;
        // One application exports cumulative totals, one deltas: Prometheus sees running totals from both.
        for (temporality, scope) in [
            (Temporality::Cumulative, "cumulative"),
            (Temporality::Delta, "delta"),
        ] {
            let provider = meter_provider(&endpoint, "cart", temporality);
            let meter = provider.meter(scope);
            let orders = meter.u64_counter("orders").build();
            let latency = meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_boundaries(vec![0.1, 0.5, 1.0])
                .build();
            let queue = meter.i64_gauge("queue.depth").build();
            for method in ["GET", "GET", "POST"] {
                orders.add(2, &[KeyValue::new("method", method)]);
            }
            provider.force_flush().unwrap();
            orders.add(5, &[KeyValue::new("method", "GET")]);
            for seconds in [0.05, 0.3, 0.3, 0.7, 2.0] {
                latency.record(seconds, &[KeyValue::new("route", "/cart")]);
            }
            queue.record(17, &[]);
            provider.shutdown().unwrap();
        }
    })
    .await
    .unwrap();

    // The last batch the SDKs sent holds the delta application's second flush: once its total is in, so is all that
    // was sent before it (one consumer sends batches in order, and Prometheus applies a request whole).
    let orders = prometheus
        .query_until(
            "orders_total{otel_scope_name=\"delta\", method=\"GET\"}",
            |result| result.first().is_some_and(|(_, value)| *value == 9.0),
        )
        .await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    let (labels, value) = &orders[0];
    assert_eq!(*value, 9.0, "2 + 2, then 5, summed from deltas: {labels}");
    assert_eq!(labels["job"], "shop/cart");
    assert_eq!(labels["instance"], "cart-1");
    assert_eq!(labels["cluster"], "eu-1", "the external label");
    let cumulative = prometheus
        .query_until_present("sum by (method) (orders_total{otel_scope_name=\"cumulative\"})")
        .await;
    let by_method: Vec<(String, f64)> = cumulative
        .iter()
        .map(|(labels, value)| (labels["method"].as_str().unwrap().to_owned(), *value))
        .collect();
    assert!(
        by_method.contains(&("GET".to_owned(), 9.0)),
        "{by_method:?}"
    );
    assert!(
        by_method.contains(&("POST".to_owned(), 2.0)),
        "{by_method:?}"
    );

    // A classic histogram answers histogram_quantile: 3 of 5 values are at most 0.5 s.
    let below_half = prometheus
        .query_until_present(
            "http_server_request_duration_seconds_bucket{otel_scope_name=\"cumulative\", le=\"0.5\"}",
        )
        .await;
    assert_eq!(below_half[0].1, 3.0, "{below_half:?}");
    let median = prometheus
        .query("histogram_quantile(0.5, http_server_request_duration_seconds_bucket{otel_scope_name=\"cumulative\"})")
        .await;
    assert!(
        (0.1..=0.5).contains(&median[0].1),
        "the median falls in (0.1, 0.5]: {median:?}"
    );
    let count = prometheus
        .query("http_server_request_duration_seconds_count{otel_scope_name=\"delta\"}")
        .await;
    assert_eq!(count[0].1, 5.0, "{count:?}");
    let depth = prometheus
        .query("queue_depth{otel_scope_name=\"cumulative\"}")
        .await;
    assert_eq!(depth[0].1, 17.0, "{depth:?}");

    // The resource's other attributes are target_info's, joined on job and instance.
    let joined = prometheus
        .query_until_present(
            "orders_total{method=\"POST\", otel_scope_name=\"cumulative\"} \
             * on (job, instance) group_left (host_name) target_info",
        )
        .await;
    assert_eq!(joined.len(), 1, "{joined:?}");
    assert_eq!(joined[0].0["host_name"], "node-7");
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exponential_histograms_are_native_histograms_and_no_value_is_staleness() {
    let prometheus = Prometheus::start(None).await;
    // With the families' metadata, which Prometheus 2 takes and does not store (its metadata API shows scraped
    // targets' only): the requests carrying it must still be accepted whole.
    let harness =
        TestCollector::start(&config(&prometheus.write_url(), "    send_metadata: true")).await;
    let now = now_nanos();
    let earlier = now - 2_000_000_000;
    // Scale 1 (base √2): 3 values in (1, √2], 2 in (2, 2√2], 1 zero.
    let point = ExponentialHistogramDataPoint {
        time_unix_nano: earlier,
        start_time_unix_nano: earlier - 10_000_000_000,
        count: 6,
        sum: Some(9.5),
        scale: 1,
        zero_count: 1,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![3, 0, 2],
        }),
        ..Default::default()
    };
    let gauge = |time: u64, flags: u32| Metric {
        name: "pool.size".to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsInt(4)),
                flags,
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let histogram = Metric {
        name: "payload.size".to_owned(),
        unit: "By".to_owned(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![point],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    };
    harness
        .submit_retrying(Batch::new(metrics_request(vec![
            histogram,
            gauge(earlier, 0),
        ])))
        .await;
    let count = prometheus
        .query_until_present("histogram_count(payload_size_bytes)")
        .await;
    assert_eq!(count[0].1, 6.0, "{count:?}");
    let sum = prometheus.query("histogram_sum(payload_size_bytes)").await;
    assert_eq!(sum[0].1, 9.5, "{sum:?}");
    let fraction = prometheus
        .query("histogram_fraction(0, 1.5, payload_size_bytes)")
        .await;
    assert!(
        (fraction[0].1 - 4.0 / 6.0).abs() < 1e-9,
        "the zero bucket and (1, √2]: {fraction:?}"
    );
    let pool = prometheus.query_until_present("pool_size").await;
    assert_eq!(pool[0].1, 4.0);

    // No recorded value: Prometheus's staleness marker, and the series is gone from instant queries at once.
    harness
        .submit_retrying(Batch::new(metrics_request(vec![gauge(now, 1)])))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !prometheus.query("pool_size").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "pool_size never went stale"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_sent_while_prometheus_is_down_arrive_once_it_is_up() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let harness = TestCollector::start(&config(
        &url,
        "    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 2m }",
    ))
    .await;
    let gauge = Metric {
        name: "backlog".to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                time_unix_nano: now_nanos(),
                value: Some(number_data_point::Value::AsDouble(12.5)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    harness
        .submit_retrying(Batch::new(metrics_request(vec![gauge])))
        .await;
    // Refused connections, retried, until Prometheus listens.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let prometheus = Prometheus::start(Some(port)).await;
    let backlog = prometheus.query_until_present("backlog").await;
    assert_eq!(backlog[0].1, 12.5, "{backlog:?}");
    assert_eq!(backlog[0].0["job"], "pricing");
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_prometheus_refuses_is_not_retried_and_is_counted_as_failed() {
    let prometheus = Prometheus::start(None).await;
    let harness = TestCollector::start(&config(&prometheus.write_url(), "")).await;
    let gauge = |time: u64, value: f64| {
        Batch::new(metrics_request(vec![Metric {
            name: "backlog".to_owned(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint {
                    time_unix_nano: time,
                    value: Some(number_data_point::Value::AsDouble(value)),
                    ..Default::default()
                }],
            })),
            ..Default::default()
        }]))
    };
    let now = now_nanos();
    harness.submit_retrying(gauge(now, 1.0)).await;
    assert_eq!(prometheus.query_until_present("backlog").await[0].1, 1.0);
    // A minute older than what Prometheus stored for the series: `400 out of order sample`, for good.
    harness
        .submit_retrying(gauge(now - 60_000_000_000, 2.0))
        .await;
    let telemetry = harness.collector.telemetry().clone();
    // Retried, it would be counted only when `retry_on_failure` gives up, a minute later.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while telemetry.total("otelcol_exporter_send_failed_metric_points") < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refusal was never counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        telemetry.total("otelcol_exporter_send_failed_metric_points"),
        1
    );
    assert_eq!(telemetry.total("otelcol_exporter_sent_metric_points"), 1);
    assert_eq!(prometheus.query("backlog").await[0].1, 1.0);
    let TestCollector { collector, .. } = harness;
    collector.shutdown(Duration::from_secs(10)).await;
}
