//! The `prometheus` receiver scraping real Prometheus endpoints: an application instrumented with the Prometheus
//! project's Python client (`prometheus_client`), the collector's own self-metrics, and a target that is down.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{TestCollector, free_port, python, read_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data, number_data_point};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An application exposing a counter, a gauge, a histogram and a summary on a port it prints.
const APPLICATION: &str = r#"
import sys
from prometheus_client import Counter, Gauge, Histogram, Summary, start_http_server
orders = Counter("orders", "Orders placed", ["method"])
orders.labels("card").inc(3)
orders.labels("cash").inc(2)
Gauge("queue_depth", "Jobs waiting").set(7)
latency = Histogram("latency_seconds", "Request latency", buckets=[0.1, 1.0])
for seconds in (0.05, 0.5, 3.0):
    latency.observe(seconds)
payload = Summary("payload_bytes", "Payload sizes")
payload.observe(100)
payload.observe(300)
server, _ = start_http_server(0, addr="127.0.0.1")
print(server.server_port, flush=True)
sys.stdin.read()
"#;

/// The application, and the port it serves on; it stops when dropped (its stdin closes).
struct Application(Child, u16);

impl Application {
    fn start() -> Self {
        let mut child = Command::new(python())
            .arg("-c")
            .arg(APPLICATION)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no port from the application: {line:?}"));
        Application(child, port)
    }
}

impl Drop for Application {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
}

/// The metrics of the requests whose resource's `service.name` is `job`.
fn of_job<'a>(requests: &'a [ExportMetricsServiceRequest], job: &str) -> Vec<&'a Metric> {
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .filter(|rm| {
            rm.resource
                .as_ref()
                .is_some_and(|r| string(&r.attributes, "service.name").as_deref() == Some(job))
        })
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .collect()
}

fn last<'a>(metrics: &[&'a Metric], name: &str) -> &'a Metric {
    metrics
        .iter()
        .rev()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn gauge_value(metric: &Metric) -> f64 {
    let Some(Data::Gauge(gauge)) = &metric.data else {
        panic!("{metric:?}")
    };
    match gauge.data_points[0].value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_endpoints_are_scraped_into_otlp_metrics() {
    let application = Application::start();
    // The collector scrapes its own self-metrics too: a port picked now, then left for it.
    let own = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = format!(
        r#"
receivers:
  prometheus:
    config:
      global: {{ scrape_interval: 100ms, scrape_timeout: 100ms }}
      scrape_configs:
        - job_name: shop
          static_configs: [{{ targets: ["127.0.0.1:{port}"], labels: {{ env: prod }} }}]
        - job_name: otel-collector
          static_configs: [{{ targets: ["{own}"] }}]
        - job_name: gone
          static_configs: [{{ targets: ["127.0.0.1:9"] }}]
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [prometheus], exporters: [file] }}
  telemetry:
    metrics: {{ address: "{own}" }}
"#,
        port = application.1
    );
    let harness = TestCollector::start(&config).await;
    let path = harness.path("metrics.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.matches("orders_total").count() >= 2
            && text.contains("otelcol_receiver_accepted_metric_points")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dir = harness.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);

    let shop = of_job(&requests, "shop");
    let resource = requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .find_map(|rm| {
            let r = rm.resource.as_ref()?;
            (string(&r.attributes, "service.name").as_deref() == Some("shop")).then_some(r)
        })
        .unwrap();
    let instance = format!("127.0.0.1:{}", application.1);
    assert_eq!(
        string(&resource.attributes, "service.instance.id"),
        Some(instance)
    );
    assert_eq!(
        string(&resource.attributes, "server.port"),
        Some(application.1.to_string())
    );

    let orders = last(&shop, "orders_total");
    assert_eq!(orders.description, "Orders placed");
    let Some(Data::Sum(sum)) = &orders.data else {
        panic!("{orders:?}")
    };
    assert!(sum.is_monotonic);
    let mut by_method: Vec<(String, f64, String)> = sum
        .data_points
        .iter()
        .map(|p| {
            let Some(number_data_point::Value::AsDouble(v)) = p.value else {
                panic!()
            };
            (
                string(&p.attributes, "method").unwrap(),
                v,
                string(&p.attributes, "env").unwrap(),
            )
        })
        .collect();
    by_method.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_method,
        [
            ("card".into(), 3.0, "prod".into()),
            ("cash".into(), 2.0, "prod".into())
        ]
    );
    // Every scrape of the series keeps the start of the first.
    let starts: Vec<u64> = shop
        .iter()
        .filter(|m| m.name == "orders_total")
        .filter_map(|m| match &m.data {
            Some(Data::Sum(sum)) => Some(sum.data_points[0].start_time_unix_nano),
            _ => None,
        })
        .collect();
    assert!(
        starts.len() >= 2 && starts.windows(2).all(|w| w[0] == w[1]),
        "{starts:?}"
    );

    assert_eq!(gauge_value(last(&shop, "queue_depth")), 7.0);
    let latency = last(&shop, "latency_seconds");
    let Some(Data::Histogram(histogram)) = &latency.data else {
        panic!("{latency:?}")
    };
    let point = &histogram.data_points[0];
    assert_eq!(point.explicit_bounds, [0.1, 1.0]);
    assert_eq!(point.bucket_counts, [1, 1, 1]);
    assert_eq!((point.count, point.sum), (3, Some(3.55)));
    let payload = last(&shop, "payload_bytes");
    let Some(Data::Summary(summary)) = &payload.data else {
        panic!("{payload:?}")
    };
    assert_eq!(
        (summary.data_points[0].count, summary.data_points[0].sum),
        (2, 400.0)
    );
    assert_eq!(gauge_value(last(&shop, "up")), 1.0);

    let own_metrics = of_job(&requests, "otel-collector");
    assert!(
        own_metrics
            .iter()
            .any(|m| m.name == "otelcol_receiver_accepted_metric_points")
    );
    let gone = of_job(&requests, "gone");
    assert_eq!(gauge_value(last(&gone, "up")), 0.0);
    assert!(gone.iter().all(|m| m.name == "up"));
}

#[test]
fn discovery_rules_prometheus_refuses_and_timeouts_past_the_interval_are_refused() {
    let problems = common::config_problems(
        r#"
receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: pods
          kubernetes_sd_configs: [{ role: pod }]
  prometheus/relabel:
    config:
      scrape_configs:
        - job_name: app
          static_configs: [{ targets: ["app:9090"] }]
          metric_relabel_configs: [{ action: drop }, { action: hashmod, target_label: shard }]
        - job_name: files
          file_sd_configs: [{ files: ["/etc/*/targets.json", "/etc/targets/*.json"] }]
  prometheus/slow:
    config:
      scrape_configs:
        - job_name: app
          scrape_interval: 5s
          scrape_timeout: 10s
          static_configs: [{ targets: ["app:9090/metrics"] }]
        # No timeout of its own: the global 10s is capped at the 2s interval, as Prometheus does.
        - job_name: fast
          scrape_interval: 2s
          static_configs: [{ targets: ["app:9090"] }]
exporters:
  debug:
service:
  pipelines:
    metrics: { receivers: [prometheus, prometheus/relabel, prometheus/slow], exporters: [debug] }
"#,
    );
    let found: Vec<(&str, &str)> = problems
        .iter()
        .map(|(p, m)| (p.as_str(), m.as_str()))
        .collect();
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(
        found[0]
            .0
            .starts_with("receivers.prometheus.config.scrape_configs"),
        "{found:#?}"
    );
    assert!(
        found[0]
            .1
            .contains("list the targets under `static_configs`"),
        "{found:#?}"
    );
    // Dropping everything is a rule Prometheus takes; a hashmod without a modulus is not.
    assert_eq!(
        found[1],
        (
            "receivers.prometheus/relabel.config.scrape_configs[0].metric_relabel_configs[1]",
            "hashmod needs a `modulus` above 0"
        ),
        "{found:#?}"
    );
    assert_eq!(
        found[2],
        (
            "receivers.prometheus/relabel.config.scrape_configs[1].file_sd_configs[0].files",
            "`/etc/*/targets.json` is not a path Prometheus reads targets from: a `.json`, `.yml` or `.yaml` \
             file, a `*` only in its name"
        ),
        "{found:#?}"
    );
    let found = &found[1..];
    assert_eq!(
        found[2].0,
        "receivers.prometheus/slow.config.scrape_configs[0].scrape_timeout"
    );
    assert_eq!(found[3].1, "target `app:9090/metrics` is not `host:port`");
}
