//! The `prometheus` receiver's scrape configs against Prometheus's own: the same config is given to a real
//! Prometheus (Debian's 2.42, started by the test) and to the receiver, both scrape the same endpoints, and what
//! Prometheus makes of it must be what the receiver makes of it: the series `relabel_configs` and
//! `metric_relabel_configs` leave (the receiver's `job` and `instance` being the resource's `service.name` and
//! `service.instance.id`), the targets `file_sd_configs` files name as they change, and the URL and credentials
//! `params`, `basic_auth` and relabelled `__param_` labels send.
//!
//! `prometheus` comes from PATH (`cargo xtask setup` installs it).

mod common;

use common::prometheus::{Prometheus, percent_encoded};
use common::{TestCollector, free_port, read_metrics, wait_for_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::Duration;

const EXPOSITION: &str = "\
# TYPE requests_total counter
requests_total{code=\"200\",path=\"/api/users\"} 10
requests_total{code=\"500\",path=\"/api/users\"} 2
requests_total{code=\"200\",path=\"/health\"} 5
# TYPE debug_objects gauge
debug_objects 3
# TYPE temp_celsius gauge
temp_celsius{sensor=\"a\"} 21.5
";

/// Serves `EXPOSITION` to every request on `port`, in a thread, for the rest of the test.
fn serve_exposition(port: u16) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{EXPOSITION}",
                EXPOSITION.len()
            );
        }
    });
}

/// The job, as both read it.
fn scrape_config(port: u16) -> String {
    format!(
        r#"scrape_configs:
  - job_name: app
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:{port}", "localhost:{port}"]
        labels: {{ env: Prod, team: db }}
      - targets: ["127.0.0.1:{port}"]
        labels: {{ env: test }}
    relabel_configs:
      - {{ source_labels: [env], regex: test, action: drop }}
      - {{ source_labels: [__address__], regex: "([^:]+):\\d+", target_label: host }}
      - {{ source_labels: [env], target_label: env, action: lowercase }}
      - {{ source_labels: [__address__], modulus: 4, target_label: shard, action: hashmod }}
      - {{ source_labels: [team, env], separator: "-", target_label: owner }}
      - {{ regex: team, action: labeldrop }}
      - {{ source_labels: [host], regex: "(localhost)", target_label: instance, replacement: "local-$1" }}
    metric_relabel_configs:
      - {{ source_labels: [__name__], regex: "debug_.*", action: drop }}
      - {{ source_labels: [__name__, code], regex: "requests_total;5..", action: drop }}
      - {{ source_labels: [path], regex: "/api/(.*)", target_label: endpoint }}
      - {{ source_labels: [__name__], regex: temp_celsius, target_label: __name__, replacement: temperature_celsius }}
      - {{ source_labels: [instance, job], separator: "@", target_label: where }}
"#
    )
}

type Series = BTreeSet<BTreeMap<String, String>>;

/// The series Prometheus stores for the job's scraped metrics (not `up` and the `scrape_*` series it adds).
async fn prometheus_series(prometheus: &Prometheus) -> Series {
    let url = format!(
        "http://127.0.0.1:{}/api/v1/series?match[]={}",
        prometheus.port,
        percent_encoded(r#"{job="app",__name__!~"up|scrape_.*"}"#)
    );
    let answer: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| {
            series
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .collect()
}

/// The series the receiver reported: each point's attributes with `__name__`, and `job` and `instance` from its
/// resource.
fn receiver_series(requests: &[ExportMetricsServiceRequest]) -> Series {
    let text = |value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>| match value
        .as_ref()
        .and_then(|v| v.value.as_ref())
    {
        Some(Any::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    };
    let mut series = Series::new();
    for resource_metrics in requests.iter().flat_map(|r| &r.resource_metrics) {
        let resource: BTreeMap<String, String> = resource_metrics
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .map(|kv| (kv.key.clone(), text(&kv.value)))
            .collect();
        for metric in resource_metrics
            .scope_metrics
            .iter()
            .flat_map(|s| &s.metrics)
        {
            if metric.name == "up" {
                continue;
            }
            for labels in common::labelled_numbers(metric)
                .into_iter()
                .map(|(labels, _)| labels)
            {
                let mut set: BTreeMap<String, String> = labels
                    .split(',')
                    .filter(|pair| !pair.is_empty())
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                set.insert("__name__".into(), metric.name.clone());
                set.insert("job".into(), resource["service.name"].clone());
                set.insert("instance".into(), resource["service.instance.id"].clone());
                series.insert(set);
            }
        }
    }
    series
}

/// A collector whose `prometheus` receiver has `config` (a Prometheus config's text) and whose metrics go to
/// `metrics.jsonl`.
async fn collector_scraping(config: &str) -> TestCollector {
    let indented: String = config
        .lines()
        .map(|line| format!("      {line}\n"))
        .collect();
    TestCollector::start(&format!(
        r#"
receivers:
  prometheus:
    config:
{indented}
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [prometheus], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabelled_targets_and_series_are_the_ones_prometheus_stores() {
    let port = free_port();
    serve_exposition(port);
    let config = scrape_config(port);
    let prometheus = Prometheus::start_with(None, &config).await;
    let collector = collector_scraping(&config).await;
    let path = collector.path("metrics.jsonl");
    // Two targets, three series each.
    wait_for_metrics(&path, |requests| receiver_series(requests).len() >= 6).await;
    let ours = receiver_series(&read_metrics(&path, true));
    let mut theirs = Series::new();
    for _ in 0..150 {
        theirs = prometheus_series(&prometheus).await;
        if theirs.len() >= ours.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ours, theirs);
    // What the rules did, spelled out for one series.
    let health = ours
        .iter()
        .find(|s| {
            s["instance"] == "local-localhost" && s.get("path").is_some_and(|p| p == "/health")
        })
        .unwrap_or_else(|| panic!("{ours:#?}"));
    assert_eq!(health["env"], "prod");
    assert_eq!(health["owner"], "db-prod", "after the lowercase rule");
    assert_eq!(health["where"], "local-localhost@app");
    assert!(!health.contains_key("team"));
    assert!(
        ours.iter()
            .all(|s| s["__name__"] != "debug_objects" && s.get("code").is_none_or(|c| c != "500"))
    );
    assert!(ours.iter().any(|s| s["__name__"] == "temperature_celsius"));
    collector.shut_down_cleanly().await;
}

/// The instances the requests from the `skip`-th on scraped, but `up`'s.
fn instances(requests: &[ExportMetricsServiceRequest], skip: usize) -> BTreeSet<String> {
    receiver_series(&requests[skip.min(requests.len())..])
        .into_iter()
        .map(|series| series["instance"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_in_files_come_and_go_as_prometheus_sees_them() {
    let (first, second) = (free_port(), free_port());
    serve_exposition(first);
    serve_exposition(second);
    let targets = tempfile::tempdir().unwrap();
    let a = targets.path().join("a.json");
    std::fs::write(
        &a,
        format!(r#"[{{"targets": ["127.0.0.1:{first}"], "labels": {{"team": "a"}}}}]"#),
    )
    .unwrap();
    let config = format!(
        r#"scrape_configs:
  - job_name: files
    scrape_interval: 1s
    file_sd_configs: [{{ files: ["{dir}/*.json"], refresh_interval: 1m }}]
    relabel_configs:
      - {{ source_labels: [__meta_filepath], regex: ".*/(.*)\\.json", target_label: source }}
"#,
        dir = targets.path().display()
    );
    let prometheus = Prometheus::start_with(None, &config).await;
    let collector = collector_scraping(&config).await;
    let path = collector.path("metrics.jsonl");
    let first_instance = format!("127.0.0.1:{first}");
    let second_instance = format!("127.0.0.1:{second}");
    wait_for_metrics(&path, |requests| {
        instances(requests, 0).contains(&first_instance)
    })
    .await;

    // The first target's file empties, a second file names another.
    std::fs::write(&a, "[]").unwrap();
    std::fs::write(
        targets.path().join("b.json"),
        format!(r#"[{{"targets": ["127.0.0.1:{second}"], "labels": {{"team": "b"}}}}]"#),
    )
    .unwrap();
    wait_for_metrics(&path, |requests| {
        instances(requests, 0).contains(&second_instance)
    })
    .await;
    // Scrapes in flight at the change may still land; those after a pause are the new targets' alone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled = read_metrics(&path, true).len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let requests = read_metrics(&path, true);
    assert_eq!(
        instances(&requests, settled),
        BTreeSet::from([second_instance.clone()])
    );

    let url = format!(
        "http://127.0.0.1:{}/api/v1/targets?state=active",
        prometheus.port
    );
    let mut active = Vec::new();
    for _ in 0..100 {
        let answer: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        active = answer["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if active.len() == 1 && active[0]["labels"]["instance"] == second_instance.as_str() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(active.len(), 1, "{active:#?}");
    let labels: BTreeMap<String, String> = active[0]["labels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let ours = receiver_series(&requests[settled..]);
    for series in &ours {
        for (name, value) in &labels {
            assert_eq!(series.get(name), Some(value), "{name} of {series:?}");
        }
    }
    assert_eq!(labels["source"], "b");
    assert_eq!(labels["team"], "b");
    collector.shut_down_cleanly().await;
}

/// Serves `EXPOSITION` on `port` to requests carrying `authorization`, `401` to others; every request's target
/// (path and query) and whether it was let in are kept in the returned list.
fn serve_guarded(
    port: u16,
    authorization: &'static str,
) -> std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let log = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let length = stream.read(&mut request).unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..length]).into_owned();
            let target = head.split(' ').nth(1).unwrap_or("").to_owned();
            let allowed = head
                .lines()
                .any(|line| line.eq_ignore_ascii_case(&format!("authorization: {authorization}")));
            log.lock().unwrap().push((target, allowed));
            let (status, body) = if allowed {
                ("200 OK", EXPOSITION)
            } else {
                ("401 Unauthorized", "")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_and_credentials_reach_the_target_as_prometheus_sends_them() {
    let port = free_port();
    // `Basic` of `prober:s3cret`.
    let seen = serve_guarded(port, "Basic cHJvYmVyOnMzY3JldA==");
    let secrets = tempfile::tempdir().unwrap();
    let password = secrets.path().join("password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let config = format!(
        r#"scrape_configs:
  - job_name: probe
    scrape_interval: 1s
    metrics_path: /probe
    params: {{ module: [http_2xx], extra: [a, b] }}
    basic_auth: {{ username: prober, password_file: "{password}" }}
    static_configs: [{{ targets: ["https://example.com/x y"] }}]
    relabel_configs:
      - {{ source_labels: [__address__], target_label: __param_target }}
      - {{ source_labels: [__param_target], target_label: instance }}
      - {{ target_label: __address__, replacement: "127.0.0.1:{port}" }}
"#,
        password = password.display()
    );
    let prometheus = Prometheus::start_with(None, &config).await;
    let collector = collector_scraping(&config).await;
    let path = collector.path("metrics.jsonl");
    wait_for_metrics(&path, |requests| !receiver_series(requests).is_empty()).await;
    let ours = receiver_series(&read_metrics(&path, true));
    assert!(
        ours.iter()
            .all(|s| s["instance"] == "https://example.com/x y"),
        "{ours:#?}"
    );

    let url = format!(
        "http://127.0.0.1:{}/api/v1/targets?state=active",
        prometheus.port
    );
    let mut scrape_url = String::new();
    for _ in 0..100 {
        let answer: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        let active = &answer["data"]["activeTargets"][0];
        if active["health"] == "up" {
            scrape_url = active["scrapeUrl"].as_str().unwrap().to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !scrape_url.is_empty(),
        "Prometheus never scraped the guarded target: {:?}",
        seen.lock().unwrap()
    );
    let requests = seen.lock().unwrap().clone();
    assert!(requests.iter().all(|(_, allowed)| *allowed), "{requests:?}");
    let theirs = scrape_url
        .trim_start_matches(&format!("http://127.0.0.1:{port}"))
        .to_owned();
    // Both send the same parameters; Go writes a space as `+`, which servers read as a space too.
    let decode = |target: &str| -> BTreeSet<String> {
        let query = target.split_once('?').map_or("", |(_, q)| q);
        query
            .split('&')
            .map(|pair| {
                let pair = pair.replace('+', " ");
                pair.split('%')
                    .enumerate()
                    .map(|(i, part)| {
                        if i == 0 {
                            part.to_owned()
                        } else {
                            let byte = u8::from_str_radix(&part[..2], 16).unwrap();
                            format!("{}{}", byte as char, &part[2..])
                        }
                    })
                    .collect::<String>()
            })
            .collect()
    };
    let expected = decode(&theirs);
    assert_eq!(
        expected,
        BTreeSet::from([
            "extra=a".to_owned(),
            "extra=b".to_owned(),
            "module=http_2xx".to_owned(),
            "target=https://example.com/x y".to_owned()
        ])
    );
    assert!(theirs.starts_with("/probe?"), "{theirs}");
    for (target, _) in &requests {
        assert!(target.starts_with("/probe?"), "{target}");
        assert_eq!(
            decode(target),
            expected,
            "{target} against Prometheus's {theirs}"
        );
    }
    collector.shut_down_cleanly().await;
}
