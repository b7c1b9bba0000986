//! The `collectd` receiver taking what a real collectd's `write_http` plugin posts (`Format "JSON"`): its load
//! average, CPU and memory readings, with attributes from the URL's query; and answering requests that are not
//! collectd's JSON with what is wrong.
//!
//! collectd comes from Debian's `collectd-core`, its JSON writer's library from `libyajl2`; `cargo xtask setup`
//! installs both.

mod common;

use common::collectd::Collectd;
use common::{TestCollector, metrics_named, named_numbers, read_metrics, wait_for_metrics};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric::Data};
use std::io::{Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

const CONFIG: &str = r#"
receivers:
  collectd:
    endpoint: "127.0.0.1:0"
    attributes_prefix: "dim:"
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    metrics: { receivers: [collectd], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends one HTTP/1.1 request to `127.0.0.1:port` and returns the whole answer, head included.
fn request(port: u16, method: &str, content_type: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} /collectd HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collectd_s_write_http_values_become_metrics_named_as_otelcol_names_them() {
    let harness = TestCollector::start(CONFIG).await;
    let port = harness
        .collector
        .receiver_addr("collectd", "http")
        .expect("listening")
        .port();

    // What is not collectd's JSON is refused with the reason, before any value of it is taken.
    let answer = request(port, "GET", "application/json", "");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("write_http POSTs"), "{answer}");
    let answer = request(
        port,
        "POST",
        "text/plain",
        "PUTVAL testhost/load/load N:1:2:3",
    );
    assert!(answer.starts_with("HTTP/1.1 415"), "{answer}");
    assert!(answer.contains("Format \\\"JSON\\\""), "{answer}");
    let answer = request(
        port,
        "POST",
        "application/json",
        r#"[{"values":[1],"dstypes":["gauge"],"dsnames":["value"],"type":"bad.request"}, {"values": "x"}]"#,
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("not collectd's JSON"), "{answer}");

    let dir = harness.path("");
    let sent_from = unix_seconds();
    let _collectd = Collectd::start(
        &dir,
        &format!(
            "LoadPlugin write_http\n<Plugin write_http>\n  <Node \"otel\">\n    \
             URL \"http://127.0.0.1:{port}/collectd?dim:env=test&dim:team=obs&other=x\"\n    \
             Format \"JSON\"\n  </Node>\n</Plugin>\n"
        ),
    );
    let path = harness.path("metrics.jsonl");
    wait_for_metrics(&path, |requests| {
        named_numbers(requests, "cpu.idle").len() >= 4
            && named_numbers(requests, "load.shortterm").len() >= 2
            && !named_numbers(requests, "memory.used").is_empty()
    })
    .await;
    let sent_to = unix_seconds();
    let dir = harness.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);
    assert!(named_numbers(&requests, "bad.request").is_empty());

    // A value list of three sources: a gauge per source, named after it, no `dsname`.
    for source in ["shortterm", "midterm", "longterm"] {
        let points = named_numbers(&requests, &format!("load.{source}"));
        assert!(!points.is_empty(), "load.{source}");
        for (labels, load) in points {
            assert_eq!(labels, "env=test,host=testhost,plugin=load,team=obs");
            assert!(load >= 0.0);
        }
    }
    // One source: `dsname` as an attribute; `derive` values as monotonic cumulative sums, per CPU.
    let idle = metrics_named(&requests, "cpu.idle").next().unwrap();
    let Some(Data::Sum(sum)) = &idle.data else {
        panic!("a sum: {idle:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let mut per_cpu: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for (labels, ticks) in named_numbers(&requests, "cpu.idle") {
        assert!(
            labels.starts_with("dsname=value,env=test,host=testhost,plugin=cpu,plugin_instance="),
            "{labels}"
        );
        per_cpu.entry(labels).or_default().push(ticks);
    }
    for (cpu, ticks) in &per_cpu {
        assert!(ticks.windows(2).all(|w| w[0] <= w[1]), "{cpu}: {ticks:?}");
    }
    // A gauge of bytes, an integer as collectd wrote it, stamped with the reading's time.
    let used = metrics_named(&requests, "memory.used").next().unwrap();
    let Some(Data::Gauge(gauge)) = &used.data else {
        panic!("a gauge: {used:?}")
    };
    let point = &gauge.data_points[0];
    assert!(matches!(
        point.value,
        Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(bytes)) if bytes > 0
    ));
    let seconds = point.time_unix_nano / 1_000_000_000;
    assert!(
        sent_from - 1 <= seconds && seconds <= sent_to + 1,
        "{seconds} not in {sent_from}..={sent_to}"
    );
    let type_instance = point
        .attributes
        .iter()
        .find(|kv| kv.key == "plugin")
        .and_then(|kv| kv.value.as_ref()?.value.as_ref());
    assert_eq!(
        type_instance,
        Some(&Value::StringValue("memory".to_owned()))
    );
}
