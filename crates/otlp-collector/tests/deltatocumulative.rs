//! The `deltatocumulative` processor behind the real `opentelemetry-otlp` metrics exporter set to delta
//! temporality: what reaches the file is cumulative, each point the running total since the stream's start.

mod common;

use common::{TestCollector, read_metrics};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, metric::Data, number_data_point,
};

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  deltatocumulative: { max_stale: 10m }
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    metrics: { receivers: [otlp], processors: [deltatocumulative], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

const ROUNDS: [u64; 4] = [5, 7, 1, 3];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_s_deltas_arrive_as_running_totals() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_temporality(opentelemetry_sdk::metrics::Temporality::Delta)
            .build()
            .unwrap();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_periodic_exporter(exporter)
            .build();
        let meter = provider.meter("shop");
        let orders = meter.u64_counter("orders").build();
        let latency = meter.f64_histogram("latency").with_unit("s").build();
        for n in ROUNDS {
            orders.add(n, &[KeyValue::new("region", "eu")]);
            for _ in 0..n {
                latency.record(0.5, &[]);
            }
            provider.force_flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let telemetry = harness.collector.telemetry().clone();
    let dir = harness.shut_down_cleanly().await;

    let mut orders = Vec::new();
    let mut latency = Vec::new();
    for request in read_metrics(&dir.path().join("metrics.jsonl"), true) {
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
        {
            match (&*metric.name, &metric.data) {
                ("orders", Some(Data::Sum(sum))) => {
                    assert_eq!(
                        sum.aggregation_temporality,
                        AggregationTemporality::Cumulative as i32
                    );
                    for point in &sum.data_points {
                        let Some(number_data_point::Value::AsInt(total)) = point.value else {
                            panic!("{point:?}");
                        };
                        orders.push((point.start_time_unix_nano, total));
                    }
                }
                ("latency", Some(Data::Histogram(histogram))) => {
                    assert_eq!(
                        histogram.aggregation_temporality,
                        AggregationTemporality::Cumulative as i32
                    );
                    for point in &histogram.data_points {
                        assert_eq!(point.sum, Some(point.count as f64 * 0.5));
                        latency.push((point.start_time_unix_nano, point.count));
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let running: Vec<u64> = ROUNDS
        .iter()
        .scan(0, |total, n| {
            *total += n;
            Some(*total)
        })
        .collect();
    assert_eq!(
        orders
            .iter()
            .map(|(_, total)| *total as u64)
            .collect::<Vec<_>>(),
        running
    );
    assert_eq!(
        latency.iter().map(|(_, count)| *count).collect::<Vec<_>>(),
        running
    );
    for series in [
        orders.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        latency.iter().map(|(s, _)| *s).collect(),
    ] {
        assert!(
            series.windows(2).all(|w| w[0] == w[1]),
            "one start for the whole series: {series:?}"
        );
    }
    assert_eq!(
        telemetry.value(
            "otelcol_deltatocumulative_datapoints",
            &[
                ("processor", "deltatocumulative"),
                ("outcome", "accumulated")
            ]
        ),
        Some(2 * ROUNDS.len() as u64)
    );
}
