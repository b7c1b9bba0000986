//! The `metricstransform` processor on what the OpenTelemetry Rust SDK sends over OTLP/gRPC: otelcol's README
//! examples (rename, label rename, aggregation across labels and label values, insert with a regexp group,
//! combine), read back from the `file` exporter.

mod common;

use common::{TestCollector, labelled_numbers, meter_provider, read_metrics};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data};
use std::time::Duration;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  metricstransform:
    transforms:
      - include: orders
        action: update
        new_name: shop.orders
        operations:
          - action: update_label
            label: region
            new_label: shop.region
            value_actions: [{ value: eu, new_value: europe }]
          - action: aggregate_labels
            label_set: [shop.region]
            aggregation_type: sum
      - include: ^queue\.(.*)$$
        match_type: regexp
        action: insert
        new_name: shop.queue.$${1}
        operations:
          - action: aggregate_label_values
            label: queue
            aggregated_values: [fast, slow]
            new_value: all
            aggregation_type: max
          - action: add_label
            new_label: copied_by
            new_value: "otlp-suite {{version}}"
      - include: ^http\.requests\.(?P<method>get|post)$$
        match_type: regexp
        action: combine
        new_name: http.requests
        submatch_case: upper
        aggregation_type: sum
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    metrics: { receivers: [otlp], processors: [metricstransform], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

/// The last export's metric `name`.
fn last<'a>(metrics: &'a [&'a Metric], name: &str) -> &'a Metric {
    metrics
        .iter()
        .rev()
        .find(|m| m.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no {name} among {:?}",
                metrics.iter().map(|m| &m.name).collect::<Vec<_>>()
            )
        })
}

/// Each point as its sorted `key=value` labels and value, sorted.
fn points(metric: &Metric) -> Vec<(String, f64)> {
    let mut out = labelled_numbers(metric);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_s_metrics_come_out_renamed_relabelled_merged_and_combined() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        use opentelemetry_sdk::metrics::Temporality;
        let provider = meter_provider(&endpoint, "shop", Temporality::Cumulative);
        let meter = provider.meter("shop-meter");
        let orders = meter.u64_counter("orders").build();
        orders.add(
            3,
            &[KeyValue::new("region", "eu"), KeyValue::new("shop", "a")],
        );
        orders.add(
            4,
            &[KeyValue::new("region", "eu"), KeyValue::new("shop", "b")],
        );
        orders.add(
            2,
            &[KeyValue::new("region", "us"), KeyValue::new("shop", "a")],
        );
        let depth = meter.i64_up_down_counter("queue.depth").build();
        depth.add(5, &[KeyValue::new("queue", "fast")]);
        depth.add(9, &[KeyValue::new("queue", "slow")]);
        depth.add(1, &[KeyValue::new("queue", "dead")]);
        let get = meter.u64_counter("http.requests.get").build();
        let post = meter.u64_counter("http.requests.post").build();
        get.add(10, &[KeyValue::new("route", "/cart")]);
        post.add(2, &[KeyValue::new("route", "/cart")]);
        provider.force_flush().unwrap();
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dir = harness.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);
    let all: Vec<&Metric> = requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .collect();
    let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    assert!(!names.contains(&"orders"), "renamed in place: {names:?}");
    assert!(
        !names.contains(&"http.requests.get"),
        "combined away: {names:?}"
    );

    // Renamed, its label renamed and a value with it, the `shop` label aggregated away.
    assert_eq!(
        points(last(&all, "shop.orders")),
        [
            ("shop.region=europe".to_owned(), 7.0),
            ("shop.region=us".to_owned(), 2.0)
        ]
    );
    // The original stays; the copy is named from the regexp group, its two queues merged by max.
    assert_eq!(points(last(&all, "queue.depth")).len(), 3);
    let version = format!("copied_by=otlp-suite {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        points(last(&all, "shop.queue.depth")),
        [
            (format!("{version},queue=all"), 9.0),
            (format!("{version},queue=dead"), 1.0)
        ]
    );
    // One metric, the method taken from each name.
    let combined = last(&all, "http.requests");
    let Some(Data::Sum(sum)) = &combined.data else {
        panic!("{combined:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        points(combined),
        [
            ("method=GET,route=/cart".to_owned(), 10.0),
            ("method=POST,route=/cart".to_owned(), 2.0)
        ]
    );
}
