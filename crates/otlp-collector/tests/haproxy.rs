//! The `haproxy` receiver reading a real HAProxy (the Debian package's, started by the test on free loopback
//! ports) over its stats socket and its stats page, compared with the requests the test sent through it, and again
//! after HAProxy restarts.
//!
//! `haproxy` comes from PATH or /usr/sbin (`cargo xtask setup` installs it).

mod common;

use common::{TestCollector, free_port, http_get, read_metrics, server_program, wait_for_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An HAProxy of its own (in the foreground), stopped when dropped.
struct Haproxy {
    child: Child,
}

/// The ports of the test's HAProxy: the frontend the test sends requests to, the one answering them behind the
/// backend, and the stats page.
#[derive(Clone, Copy)]
struct Ports {
    web: u16,
    origin: u16,
    stats: u16,
}

impl Haproxy {
    fn start(ports: Ports, dir: &Path) -> Haproxy {
        let Ports { web, origin, stats } = ports;
        let d = dir.display();
        let config = format!(
            r#"
global
    stats socket {d}/haproxy.sock mode 600 level user
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend web
    bind 127.0.0.1:{web}
    default_backend app
backend app
    server s1 127.0.0.1:{origin} check inter 100ms
frontend origin
    bind 127.0.0.1:{origin}
    http-request return status 200 content-type text/plain string hello
frontend stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
"#
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(server_program("haproxy"))
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run haproxy: {e}; run `cargo xtask setup`"));
        let server = Haproxy { child };
        for _ in 0..300 {
            if http_get(web, "/").is_ok_and(|answer| answer.contains("hello")) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("haproxy does not answer after 15 s");
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The points of `metric` under the resource of `proxy`/`service`, each as (status_code or "", value, start).
fn points(
    requests: &[ExportMetricsServiceRequest],
    proxy: &str,
    service: &str,
    metric: &str,
) -> Vec<(String, f64, u64)> {
    let text = |kv: &opentelemetry_proto::tonic::common::v1::KeyValue| match kv
        .value
        .as_ref()
        .and_then(|v| v.value.as_ref())
    {
        Some(Value::StringValue(s)) => s.clone(),
        _ => String::new(),
    };
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .filter(|rm| {
            let attributes = &rm.resource.as_ref().unwrap().attributes;
            let get = |key: &str| attributes.iter().find(|kv| kv.key == key).map(text);
            get("haproxy.proxy_name").as_deref() == Some(proxy)
                && get("haproxy.service_name").as_deref() == Some(service)
        })
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == metric)
        .flat_map(|m| match &m.data {
            Some(Data::Sum(sum)) => sum.data_points.clone(),
            Some(Data::Gauge(gauge)) => gauge.data_points.clone(),
            _ => Vec::new(),
        })
        .map(|p| {
            let label = p.attributes.first().map(text).unwrap_or_default();
            let value = match p.value {
                Some(number_data_point::Value::AsInt(v)) => v as f64,
                Some(number_data_point::Value::AsDouble(v)) => v,
                None => f64::NAN,
            };
            (label, value, p.start_time_unix_nano)
        })
        .collect()
}

/// The last `2xx` count of the `web` frontend in `requests`, and its start.
fn answered(requests: &[ExportMetricsServiceRequest]) -> Option<(f64, u64)> {
    points(requests, "web", "FRONTEND", "haproxy.requests.total")
        .into_iter()
        .rev()
        .find(|(status, _, _)| status == "2xx")
        .map(|(_, value, start)| (value, start))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_haproxy_is_read_over_its_socket_and_its_page_and_again_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports {
        web: free_port(),
        origin: free_port(),
        stats: free_port(),
    };
    let server = Haproxy::start(ports, dir.path());
    for _ in 0..4 {
        assert!(http_get(ports.web, "/").unwrap().contains("hello"));
    }
    let d = dir.path().display();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  haproxy/socket:
    endpoint: {d}/haproxy.sock
    collection_interval: 100ms
    initial_delay: 0s
    metrics: {{ haproxy.sessions.total: {{ enabled: true }} }}
    resource_attributes: {{ haproxy.server.state: {{ enabled: true }} }}
  haproxy/page:
    endpoint: http://127.0.0.1:{stats}/stats
    collection_interval: 100ms
    initial_delay: 0s
exporters:
  file/socket: {{ path: "{{dir}}/socket.jsonl", format: json }}
  file/page: {{ path: "{{dir}}/page.jsonl", format: json }}
service:
  pipelines:
    metrics/socket: {{ receivers: [haproxy/socket], exporters: [file/socket] }}
    metrics/page: {{ receivers: [haproxy/page], exporters: [file/page] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        stats = ports.stats,
    ))
    .await;
    // The setup's wait for HAProxy made one request too.
    let sent = 5.0;
    for file in ["socket.jsonl", "page.jsonl"] {
        wait_for_metrics(&collector.path(file), |requests| {
            answered(requests).is_some_and(|(count, _)| count == sent)
        })
        .await;
        let requests = read_metrics(&collector.path(file), true);
        assert_eq!(
            answered(&requests).map(|(count, _)| count),
            Some(sent),
            "{file}"
        );
        // Every request went to the one server.
        let selected = points(&requests, "app", "s1", "haproxy.server_selected.total");
        assert_eq!(selected.last().map(|p| p.1), Some(sent), "{file}");
    }
    let socket = read_metrics(&collector.path("socket.jsonl"), true);
    let sessions = points(&socket, "web", "FRONTEND", "haproxy.sessions.total");
    assert_eq!(sessions.last().map(|p| p.1), Some(sent));
    let state = socket
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.resource.as_ref().unwrap().attributes)
        .find(|kv| kv.key == "haproxy.server.state");
    assert!(state.is_some(), "haproxy.server.state was enabled");
    let (_, first_start) = answered(&socket).unwrap();

    // HAProxy stops and starts again: its counters begin anew, and so do the sums.
    drop(server);
    let server = Haproxy::start(ports, dir.path());
    // The new HAProxy answered the setup's one request; a scrape may have come before it, counting none.
    let counted_anew = |requests: &[ExportMetricsServiceRequest]| -> bool {
        answered(requests).is_some_and(|(count, start)| count == 1.0 && start != first_start)
    };
    wait_for_metrics(&collector.path("socket.jsonl"), counted_anew).await;
    let requests = read_metrics(&collector.path("socket.jsonl"), true);
    assert!(counted_anew(&requests));
    let (_, second_start) = answered(&requests).unwrap();
    assert!(second_start > first_start);
    let dir = collector.shut_down_cleanly().await;
    drop(server);
    drop(dir);
}
