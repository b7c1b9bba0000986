//! The `cumulativetodelta` processor behind the real `opentelemetry-otlp` metrics exporter, whose SDK reports
//! cumulative sums and histograms: what reaches the file is deltas that add up to the SDK's totals, each starting
//! where the one before ended.

mod common;

use common::{TestCollector, read_metrics};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, metric::Data, number_data_point,
};
use std::collections::BTreeMap;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  cumulativetodelta:
    include: { match_type: strict, metrics: [orders, checkout.duration] }
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    metrics: { receivers: [otlp], processors: [cumulativetodelta], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

/// Orders per region in each export interval; `queue` is an up-down counter, which stays cumulative.
const ROUNDS: [[u64; 2]; 4] = [[5, 1], [7, 0], [0, 2], [3, 4]];
const REGIONS: [&str; 2] = ["eu", "us"];

/// (time window, value) of each point, by region.
type Windows = BTreeMap<String, Vec<(u64, u64, f64)>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_s_cumulative_totals_arrive_as_deltas_that_add_up_to_them() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .unwrap();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_periodic_exporter(exporter)
            .build();
        let meter = provider.meter("shop");
        let orders = meter.u64_counter("orders").build();
        let duration = meter
            .f64_histogram("checkout.duration")
            .with_unit("s")
            .build();
        let queue = meter.i64_up_down_counter("queue").build();
        for round in ROUNDS {
            for (region, n) in REGIONS.iter().zip(round) {
                orders.add(n, &[KeyValue::new("region", *region)]);
                for _ in 0..n {
                    duration.record(0.25, &[KeyValue::new("region", *region)]);
                }
            }
            queue.add(1, &[]);
            // Ends the interval: the SDK exports its cumulative totals.
            provider.force_flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = harness.shut_down_cleanly().await;

    let mut orders = Windows::new();
    let mut histogram_counts = Windows::new();
    let mut queue_temporality = Vec::new();
    for request in read_metrics(&dir.path().join("metrics.jsonl"), true) {
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
        {
            let region =
                |attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue]| match attributes
                    [0]
                .value
                .as_ref()
                .and_then(|v| v.value.as_ref())
                {
                    Some(any_value::Value::StringValue(region)) => region.clone(),
                    other => panic!("{other:?}"),
                };
            match (&*metric.name, &metric.data) {
                ("orders", Some(Data::Sum(sum))) => {
                    assert_eq!(
                        sum.aggregation_temporality,
                        AggregationTemporality::Delta as i32
                    );
                    assert!(sum.is_monotonic);
                    for point in &sum.data_points {
                        let Some(number_data_point::Value::AsInt(value)) = point.value else {
                            panic!("{point:?}");
                        };
                        orders.entry(region(&point.attributes)).or_default().push((
                            point.start_time_unix_nano,
                            point.time_unix_nano,
                            value as f64,
                        ));
                    }
                }
                ("checkout.duration", Some(Data::Histogram(histogram))) => {
                    assert_eq!(
                        histogram.aggregation_temporality,
                        AggregationTemporality::Delta as i32
                    );
                    for point in &histogram.data_points {
                        assert_eq!(point.sum, Some(point.count as f64 * 0.25), "{point:?}");
                        assert_eq!(point.bucket_counts.iter().sum::<u64>(), point.count);
                        let points = histogram_counts
                            .entry(region(&point.attributes))
                            .or_default();
                        // A first point is sent whole, extremes and all; a delta's window has no known extremes.
                        if !points.is_empty() {
                            assert_eq!((point.min, point.max), (None, None), "{point:?}");
                        }
                        points.push((
                            point.start_time_unix_nano,
                            point.time_unix_nano,
                            point.count as f64,
                        ));
                    }
                }
                ("queue", Some(Data::Sum(sum))) => {
                    queue_temporality.push(sum.aggregation_temporality)
                }
                other => panic!("unexpected metric {other:?}"),
            }
        }
    }

    for (i, region) in REGIONS.iter().enumerate() {
        let total: u64 = ROUNDS.iter().map(|round| round[i]).sum();
        for (what, windows) in [
            ("orders", &orders),
            ("checkout.duration", &histogram_counts),
        ] {
            let points = &windows[*region];
            // Every interval but the first from the second on; the SDK sends each stream from its first value.
            let added: f64 = points.iter().map(|(_, _, value)| value).sum();
            assert_eq!(added, total as f64, "{what} {region}: {points:?}");
            for pair in points.windows(2) {
                assert_eq!(
                    pair[1].0, pair[0].1,
                    "{what} {region}: each delta starts where the last ended"
                );
                assert!(pair[1].1 > pair[1].0);
            }
        }
    }
    assert!(!queue_temporality.is_empty());
    assert!(
        queue_temporality
            .iter()
            .all(|t| *t == AggregationTemporality::Cumulative as i32),
        "a non-monotonic sum is not converted"
    );
}
