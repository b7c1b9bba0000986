//! The `statsd` receiver taking what real StatsD clients send: the `statsd` Python package (plain StatsD over UDP
//! and TCP) and Datadog's `datadog` package (DogStatsD: tags, distributions), plus raw lines for sample rates and
//! what is not StatsD. The metrics are read back from the `file` exporter after a clean shutdown, which sends what
//! the last interval aggregated.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes, with both clients).

mod common;

use common::{TestCollector, attribute, labelled_numbers, python, read_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

const CONFIG: &str = r#"
receivers:
  statsd:
    endpoint: "127.0.0.1:0"
    aggregation_interval: 200ms
    enable_metric_type: true
    enable_simple_tags: true
    is_monotonic_counter: true
    timer_histogram_mapping:
      - { statsd_type: timer, observer_type: summary, summary: { percentiles: [0, 50, 100] } }
      - { statsd_type: histogram, observer_type: gauge }
      - { statsd_type: distribution, observer_type: histogram, histogram: { max_size: 20 } }
  statsd/tcp:
    endpoint: "127.0.0.1:0"
    transport: tcp
    aggregation_interval: 200ms
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    metrics: { receivers: [statsd, statsd/tcp], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

/// Sends with the `statsd` package over UDP and TCP, the `datadog` package's DogStatsD, and raw datagrams. What
/// must land in one interval to be checked whole (a summary's samples, a gauge and its change) goes in one datagram
/// (a pipeline, a buffered DogStatsD flush); each transport ends with a `done` counter.
const SEND: &str = r#"
import socket, sys
import statsd
from datadog.dogstatsd import DogStatsd

udp, tcp = int(sys.argv[1]), int(sys.argv[2])
client = statsd.StatsClient("127.0.0.1", udp)
client.incr("jobs.done", 3)
client.incr("jobs.done")
with client.pipeline() as pipe:
    pipe.gauge("queue.depth", 10)
    pipe.gauge("queue.depth", -3, delta=True)
with client.pipeline() as pipe:
    for ms in (12, 30, 7):
        pipe.timing("render", ms)

tcp_client = statsd.TCPStatsClient("127.0.0.1", tcp)
tcp_client.incr("over.tcp", 5)
tcp_client.gauge("tcp.level", 2.5)
tcp_client.incr("tcp.done")
tcp_client.close()

dog = DogStatsd(host="127.0.0.1", port=udp, disable_buffering=False, origin_detection_enabled=False,
                disable_telemetry=True)
dog.increment("api.hits", 2, tags=["env:prod", "canary"])
dog.increment("api.hits", 1, tags=["env:dev"])
for size in (0.5, 1, 4, 4):
    dog.distribution("api.size", size, tags=["env:prod"])
dog.histogram("api.items", 9)
dog.flush()

raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
raw.sendto(b"sampled:1|c|@0.25\nnot statsd at all\nsets:1|s\nafter.bad:1|c", ("127.0.0.1", udp))
raw.sendto(b"udp.done:1|c", ("127.0.0.1", udp))
"#;

fn metrics<'a>(requests: &'a [ExportMetricsServiceRequest], name: &str) -> Vec<&'a Metric> {
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == name)
        .collect()
}

/// The number points of `name` over every interval, as (sorted `key=value` labels, value), in order.
fn numbers(requests: &[ExportMetricsServiceRequest], name: &str) -> Vec<(String, f64)> {
    metrics(requests, name)
        .into_iter()
        .flat_map(labelled_numbers)
        .collect()
}

/// A counter's deltas added up per label set, whichever intervals they fell in.
fn totals(requests: &[ExportMetricsServiceRequest], name: &str) -> BTreeMap<String, f64> {
    let mut totals = BTreeMap::new();
    for (labels, value) in numbers(requests, name) {
        *totals.entry(labels).or_insert(0.0) += value;
    }
    totals
}

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_statsd_and_dogstatsd_clients_are_aggregated_as_otelcol_does() {
    let harness = TestCollector::start(CONFIG).await;
    let udp = harness
        .collector
        .receiver_addr("statsd", "udp")
        .unwrap()
        .port();
    let tcp = harness
        .collector
        .receiver_addr("statsd/tcp", "tcp")
        .unwrap()
        .port();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(["-c", SEND, &udp.to_string(), &tcp.to_string()])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()))
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Each transport's lines are read in order: once its `done` is out, so is everything it sent before.
    let path = harness.path("metrics.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("udp.done") && text.contains("tcp.done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = harness.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);

    // Counters: delta sums, monotonic as configured, with the metric type.
    assert_eq!(
        totals(&requests, "jobs.done"),
        map(&[("metric_type=counter", 4.0)])
    );
    let jobs = metrics(&requests, "jobs.done")[0];
    let Some(Data::Sum(sum)) = &jobs.data else {
        panic!("{jobs:?}")
    };
    assert!(sum.is_monotonic);
    let point = &sum.data_points[0];
    assert!(0 < point.start_time_unix_nano && point.start_time_unix_nano < point.time_unix_nano);
    // A sampled count stands for more; a datagram's good lines count around its bad ones; sets are not taken.
    assert_eq!(
        totals(&requests, "sampled"),
        map(&[("metric_type=counter", 4.0)])
    );
    assert_eq!(
        totals(&requests, "after.bad"),
        map(&[("metric_type=counter", 1.0)])
    );
    assert!(metrics(&requests, "sets").is_empty());
    // A gauge set, then changed by a signed value.
    assert_eq!(
        numbers(&requests, "queue.depth"),
        [("metric_type=gauge".to_owned(), 7.0)]
    );
    // Timers as a summary at the configured percentiles.
    let render = metrics(&requests, "render")[0];
    let Some(Data::Summary(summary)) = &render.data else {
        panic!("{render:?}")
    };
    let point = &summary.data_points[0];
    assert_eq!((point.count, point.sum), (3, 49.0));
    let quantiles: Vec<(f64, f64)> = point
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    assert_eq!(quantiles, [(0.0, 7.0), (0.5, 12.0), (1.0, 30.0)]);
    // DogStatsD: tags, one without a value, distributions as exponential histograms, histograms as gauges.
    assert_eq!(
        totals(&requests, "api.hits"),
        map(&[
            ("canary=,env=prod,metric_type=counter", 2.0),
            ("env=dev,metric_type=counter", 1.0)
        ])
    );
    let size = metrics(&requests, "api.size")[0];
    let Some(Data::ExponentialHistogram(histogram)) = &size.data else {
        panic!("{size:?}")
    };
    let point = &histogram.data_points[0];
    assert_eq!(
        (point.count, point.sum, point.min, point.max),
        (4, Some(9.5), Some(0.5), Some(4.0))
    );
    assert_eq!(
        attribute(&point.attributes, "env"),
        Some(&Value::StringValue("prod".into()))
    );
    assert_eq!(
        numbers(&requests, "api.items"),
        [("metric_type=histogram".to_owned(), 9.0)]
    );
    // Over TCP, to the other receiver, which adds no metric type.
    assert_eq!(totals(&requests, "over.tcp"), map(&[("", 5.0)]));
    assert_eq!(numbers(&requests, "tcp.level"), [(String::new(), 2.5)]);
}
