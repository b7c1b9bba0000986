//! The `influxdb` receiver taking InfluxDB writes from real clients: the `influx` command-line client (Debian's
//! `influxdb-client`, 1.x; `cargo xtask setup` installs it), and the collector's own `influxdb` exporter in both
//! Telegraf Prometheus schemas, over both write APIs, whose round trip must give back the OpenTelemetry SDK's
//! metrics. Bad lines get InfluxDB's partial-write answer, the other lines taken.

mod common;

use common::{TestCollector, free_port, meter_provider, read_metrics, wait_for_metrics};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric, number_data_point};
use std::process::Command;

fn find<'a>(requests: &'a [ExportMetricsServiceRequest], name: &'a str) -> Option<&'a Metric> {
    common::metrics_named(requests, name).next()
}

fn resource_of(requests: &[ExportMetricsServiceRequest], name: &str) -> Vec<(String, String)> {
    for resource_metrics in requests.iter().flat_map(|r| &r.resource_metrics) {
        if resource_metrics
            .scope_metrics
            .iter()
            .flat_map(|s| &s.metrics)
            .any(|m| m.name == name)
        {
            let mut pairs: Vec<(String, String)> = resource_metrics
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .map(|kv| (kv.key.clone(), format!("{:?}", kv.value)))
                .collect();
            pairs.sort();
            return pairs;
        }
    }
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdks_metrics_come_back_through_line_protocol() {
    let (v1_port, v2_port) = (free_port(), free_port());
    let harness = TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
  influxdb/v1:
    endpoint: "127.0.0.1:{v1_port}"
  influxdb/v2:
    endpoint: "127.0.0.1:{v2_port}"
exporters:
  file: {{ path: "{{dir}}/sent.jsonl", format: json }}
  influxdb/v1:
    endpoint: http://127.0.0.1:{v1_port}
    v1_compatibility: {{ enabled: true, db: telegraf }}
  influxdb/v2:
    endpoint: http://127.0.0.1:{v2_port}
    org: shop
    bucket: metrics
    metrics_schema: telegraf-prometheus-v2
  file/v1: {{ path: "{{dir}}/v1.jsonl", format: json }}
  file/v2: {{ path: "{{dir}}/v2.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [otlp], exporters: [file, influxdb/v1, influxdb/v2] }}
    metrics/v1: {{ receivers: [influxdb/v1], exporters: [file/v1] }}
    metrics/v2: {{ receivers: [influxdb/v2], exporters: [file/v2] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let meters = meter_provider(
            &endpoint,
            "cart",
            opentelemetry_sdk::metrics::Temporality::Cumulative,
        );
        let meter = meters.meter("cart-meter");
        let orders = meter.u64_counter("orders").build();
        orders.add(3, &[KeyValue::new("region", "eu")]);
        orders.add(4, &[KeyValue::new("region", "eu")]);
        orders.add(1, &[KeyValue::new("region", "us")]);
        let latency = meter
            .f64_histogram("latency")
            .with_boundaries(vec![0.1, 1.0])
            .build();
        for seconds in [0.05, 0.5, 0.7, 3.0] {
            latency.record(seconds, &[KeyValue::new("route", "/pay")]);
        }
        meters.shutdown().unwrap();
    })
    .await
    .unwrap();
    let has_both = |requests: &[ExportMetricsServiceRequest]| {
        find(requests, "orders").is_some() && find(requests, "latency").is_some()
    };
    let paths = [
        harness.path("sent.jsonl"),
        harness.path("v1.jsonl"),
        harness.path("v2.jsonl"),
    ];
    for path in &paths {
        wait_for_metrics(path, has_both).await;
    }
    let [sent, v1, v2] = paths.map(|path| read_metrics(&path, true));

    let Some(metric::Data::Sum(sent_orders)) = &find(&sent, "orders").unwrap().data else {
        panic!()
    };
    let Some(metric::Data::Histogram(sent_latency)) = &find(&sent, "latency").unwrap().data else {
        panic!()
    };

    // v1: a counter comes back a monotonic cumulative sum, with its points' attributes, times and values.
    let Some(metric::Data::Sum(orders)) = &find(&v1, "orders").unwrap().data else {
        panic!("v1 orders: {:?}", find(&v1, "orders"))
    };
    assert!(orders.is_monotonic);
    let mut expected = sent_orders.data_points.clone();
    let mut got = orders.data_points.clone();
    for points in [&mut expected, &mut got] {
        points.sort_by_key(|p| format!("{:?}", p.attributes));
    }
    assert_eq!(got, expected, "v1 orders");
    // Both layouts carry a histogram whole: bounds, per-bucket counts, count, sum, min, max, start and time.
    for (layout, requests) in [("v1", &v1), ("v2", &v2)] {
        let Some(metric::Data::Histogram(latency)) = &find(requests, "latency").unwrap().data
        else {
            panic!("{layout} latency: {:?}", find(requests, "latency"))
        };
        assert_eq!(
            latency.data_points, sent_latency.data_points,
            "{layout} latency"
        );
        assert_eq!(latency.data_points[0].bucket_counts, [1, 2, 1], "{layout}");
        // The resource comes back from the tags semantic conventions name.
        assert_eq!(
            resource_of(requests, "latency"),
            resource_of(&sent, "latency"),
            "{layout} resource"
        );
        let scope = &requests[0].resource_metrics[0].scope_metrics[0].scope;
        assert_eq!(scope.as_ref().unwrap().name, "cart-meter", "{layout} scope");
    }
    // v2 writes a counter as a bare field: it comes back a gauge of the same values.
    let Some(metric::Data::Gauge(orders)) = &find(&v2, "orders").unwrap().data else {
        panic!("v2 orders: {:?}", find(&v2, "orders"))
    };
    let mut values: Vec<i64> = orders
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(number_data_point::Value::AsInt(v)) => v,
            Some(number_data_point::Value::AsDouble(v)) => v as i64,
            None => -1,
        })
        .collect();
    values.sort_unstable();
    assert_eq!(values, [1, 7]);
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_influx_client_writes_and_bad_lines_are_answered_as_influxdb_answers() {
    let port = free_port();
    let harness = TestCollector::start(&format!(
        r#"
receivers:
  influxdb:
    endpoint: "127.0.0.1:{port}"
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [influxdb], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let port_text = port.to_string();
    let influx = |statement: &str| {
        let output = Command::new("influx")
            .args([
                "-host",
                "127.0.0.1",
                "-port",
                &port_text,
                "-database",
                "telegraf",
                "-precision",
                "s",
            ])
            .args(["-execute", statement])
            .output()
            .unwrap_or_else(|e| panic!("cannot run influx: {e}; run `cargo xtask setup`"));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, said) =
        influx("INSERT cpu,cpu=cpu0,host.name=web1 usage_idle=99.5,usage_user=0.25 1700000000");
    assert!(ok, "{said}");
    let (ok, said) = influx("INSERT disk,path=/ used=42i,free=7i 1700000001");
    assert!(ok, "{said}");

    // Two good lines, two bad ones, over 2.x's API (nanoseconds).
    let body = "mem used=1i 1700000002000000000\nmem used=oops\nmem,host=a free=2i 1700000003000000000\nmem\n";
    let client = reqwest::Client::new();
    let answer = client
        .post(format!(
            "http://127.0.0.1:{port}/api/v2/write?org=o&bucket=b"
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let json: serde_json::Value = answer.json().await.unwrap();
    let message = json["message"].as_str().unwrap();
    assert_eq!(json["code"], "invalid");
    assert!(
        message.starts_with("partial write: 2 of 4 lines refused"),
        "{message}"
    );
    assert!(
        message.contains("line 2: field `used`: `oops` is not a number"),
        "{message}"
    );
    assert!(message.contains("line 4: `mem` has no fields"), "{message}");
    let answer = client
        .post(format!(
            "http://127.0.0.1:{port}/write?db=x&precision=fortnight"
        ))
        .body("m v=1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let json: serde_json::Value = answer.json().await.unwrap();
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("precision `fortnight`"),
        "{json}"
    );
    let ping = client
        .get(format!("http://127.0.0.1:{port}/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 204);
    // Telegraf's `outputs.influxdb` creates its database at start, as a form.
    let created = client
        .post(format!("http://127.0.0.1:{port}/query"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("q=CREATE+DATABASE+%22telegraf%22")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let (_, said) = influx("SHOW DATABASES");
    assert!(said.contains("stores nothing to query"), "{said}");

    let path = harness.path("metrics.jsonl");
    wait_for_metrics(&path, |requests| find(requests, "mem_free").is_some()).await;
    let requests = read_metrics(&path, true);
    let Some(metric::Data::Gauge(idle)) = &find(&requests, "cpu_usage_idle").unwrap().data else {
        panic!()
    };
    let point = &idle.data_points[0];
    assert_eq!(
        point.time_unix_nano, 1_700_000_000_000_000_000,
        "seconds, as the client said"
    );
    assert_eq!(point.value, Some(number_data_point::Value::AsDouble(99.5)));
    assert_eq!(point.attributes[0].key, "cpu");
    assert_eq!(
        resource_of(&requests, "cpu_usage_idle").len(),
        1,
        "host.name is the resource's"
    );
    let Some(metric::Data::Gauge(used)) = &find(&requests, "disk_used").unwrap().data else {
        panic!()
    };
    assert_eq!(
        used.data_points[0].value,
        Some(number_data_point::Value::AsInt(42))
    );
    let Some(metric::Data::Gauge(mem)) = &find(&requests, "mem_used").unwrap().data else {
        panic!()
    };
    assert_eq!(
        mem.data_points.len(),
        1,
        "the good lines of the partial write, once"
    );
    assert!(
        find(&requests, "m_v").is_none(),
        "a write with a bad precision is refused whole"
    );
    harness.shut_down_cleanly().await;
}
