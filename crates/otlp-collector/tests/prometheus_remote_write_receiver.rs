//! The `prometheusremotewrite` receiver taking what a real Prometheus (the Debian package's, started by the test
//! on a free loopback port) sends with `remote_write`: Prometheus scrapes its own metrics every second and writes
//! them, with their metadata, to the receiver; the file exporter's OTLP must hold its counters as sums, its
//! gauges, and its classic histograms and summaries put back together.
//!
//! `prometheus` comes from PATH (`cargo xtask setup` installs it).

mod common;

use common::prometheus::Prometheus;
use common::{TestCollector, attribute, free_port, read_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Metric, metric::Data};
use std::time::Duration;

fn metrics<'a>(requests: &'a [ExportMetricsServiceRequest], name: &'a str) -> Vec<&'a Metric> {
    common::metrics_named(requests, name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_s_own_metrics_arrive_typed_by_their_metadata() {
    let receiver = free_port();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  prometheusremotewrite: {{ endpoint: "127.0.0.1:{receiver}" }}
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [prometheusremotewrite], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#
    ))
    .await;
    let port = free_port();
    let prometheus = Prometheus::start_with(
        Some(port),
        &format!(
            r#"
global: {{ scrape_interval: 1s }}
scrape_configs:
  - job_name: prometheus
    static_configs: [{{ targets: ["127.0.0.1:{port}"] }}]
remote_write:
  - url: http://127.0.0.1:{receiver}/api/v1/write
    queue_config: {{ batch_send_deadline: 1s }}
    metadata_config: {{ send_interval: 1s }}
"#
        ),
    )
    .await;
    let path = collector.path("metrics.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    // Until a histogram has been put together, which needs the families' metadata to have arrived first.
    loop {
        let requests = read_metrics(&path, true);
        let histograms = metrics(&requests, "prometheus_http_request_duration_seconds");
        if !histograms.is_empty() || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(prometheus);
    let dir = collector.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);

    let resource = &requests[0].resource_metrics[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(
        attribute(resource, "service.name"),
        Some(&Value::StringValue("prometheus".into()))
    );
    assert_eq!(
        attribute(resource, "service.instance.id"),
        Some(&Value::StringValue(format!("127.0.0.1:{port}")))
    );

    let gauges = metrics(&requests, "go_goroutines");
    assert!(
        gauges
            .iter()
            .all(|m| matches!(m.data, Some(Data::Gauge(_))))
            && !gauges.is_empty(),
        "{gauges:?}"
    );

    // Once the metadata has arrived, the counter is a monotonic cumulative sum with its labels.
    let counters: Vec<_> = metrics(&requests, "prometheus_http_requests_total")
        .into_iter()
        .filter_map(|m| match &m.data {
            Some(Data::Sum(sum)) => Some(sum),
            _ => None,
        })
        .collect();
    assert!(!counters.is_empty(), "no counter typed as a sum");
    let sum = counters[0];
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    assert!(attribute(&sum.data_points[0].attributes, "handler").is_some());
    assert!(attribute(&sum.data_points[0].attributes, "code").is_some());

    let histograms: Vec<_> = metrics(&requests, "prometheus_http_request_duration_seconds")
        .into_iter()
        .filter_map(|m| match &m.data {
            Some(Data::Histogram(histogram)) => Some(histogram),
            _ => None,
        })
        .collect();
    assert!(!histograms.is_empty(), "no histogram put together");
    for point in histograms.iter().flat_map(|h| &h.data_points) {
        assert_eq!(point.bucket_counts.len(), point.explicit_bounds.len() + 1);
        assert_eq!(
            point.bucket_counts.iter().sum::<u64>(),
            point.count,
            "{point:?}"
        );
        assert!(point.sum.is_some());
        assert!(attribute(&point.attributes, "le").is_none());
        assert!(attribute(&point.attributes, "handler").is_some());
    }
    let summaries: Vec<_> = metrics(&requests, "go_gc_duration_seconds")
        .into_iter()
        .filter_map(|m| match &m.data {
            Some(Data::Summary(summary)) => Some(summary),
            _ => None,
        })
        .collect();
    assert!(!summaries.is_empty(), "no summary put together");
    let quantiles: Vec<f64> = summaries[0].data_points[0]
        .quantile_values
        .iter()
        .map(|q| q.quantile)
        .collect();
    assert_eq!(quantiles, [0.0, 0.25, 0.5, 0.75, 1.0]);
    assert!(
        metrics(&requests, "prometheus_http_request_duration_seconds_bucket").is_empty(),
        "bucket series are not left as series of their own once the family is known"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_remote_write_1_is_refused_with_why() {
    let collector = TestCollector::start(
        r#"
receivers:
  prometheusremotewrite: { endpoint: "127.0.0.1:0" }
exporters:
  debug:
service:
  pipelines:
    metrics: { receivers: [prometheusremotewrite], exporters: [debug] }
  telemetry:
    metrics: { level: none }
"#,
    )
    .await;
    let addr = collector
        .collector
        .receiver_addr("prometheusremotewrite", "http")
        .unwrap();
    let client = reqwest::Client::new();
    let post = |content_type: &str, body: Vec<u8>| {
        client
            .post(format!("http://{addr}/api/v1/write"))
            .header("content-type", content_type)
            .header("content-encoding", "snappy")
            .body(body)
            .send()
    };
    let v2 = post(
        "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(v2.status(), 415);
    assert!(v2.text().await.unwrap().contains("remote write 2.0"));

    let not_snappy = post("application/x-protobuf", b"plain protobuf".to_vec())
        .await
        .unwrap();
    assert_eq!(not_snappy.status(), 400);
    assert!(not_snappy.text().await.unwrap().contains("snappy"));

    // A few bytes of snappy claiming a gigabyte once decompressed.
    let bomb = vec![0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
    let answer = post("application/x-protobuf", bomb).await.unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("over the limit"));
    collector.shut_down_cleanly().await;
}
