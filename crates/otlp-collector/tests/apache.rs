//! The `apache` receiver reading a real Apache HTTP Server's `server-status?auto` page (Debian's `apache2`, from
//! the `apache2-bin` package, started by the test in one process on a free loopback port), compared with the
//! requests the test made, and again after the server restarts.
//!
//! `apache2` comes from PATH or /usr/sbin, its modules from Debian's /usr/lib/apache2/modules (`cargo xtask setup`
//! installs `apache2-bin`: the server without the package's service).

mod common;

use common::{
    TestCollector, attribute, http_get, named_numbers, read_metrics, server_program, sum_starts,
    wait_for_metrics,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const MODULES: &str = "/usr/lib/apache2/modules";

/// An Apache of its own (`-X`: one process, in the foreground), stopped when dropped.
struct Apache {
    child: Child,
}

impl Apache {
    /// Starts Apache on `port` with its files in `dir`, and waits until it answers.
    fn start(port: u16, dir: &Path) -> Apache {
        let d = dir.display();
        // Run as root, Apache takes the identity of `User` once it listens; run as anyone else, it ignores it.
        let config = format!(
            r#"
ServerRoot {d}
DefaultRuntimeDir {d}
PidFile {d}/httpd.pid
ErrorLog {d}/error.log
LoadModule mpm_event_module {MODULES}/mod_mpm_event.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule status_module {MODULES}/mod_status.so
User nobody
Group nogroup
Listen 127.0.0.1:{port}
ServerName localhost
ExtendedStatus On
<Location "/server-status">
    SetHandler server-status
</Location>
"#
        );
        let path = dir.join("httpd.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(server_program("apache2"))
            .arg("-X")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run apache2: {e}; run `cargo xtask setup`"));
        let server = Apache { child };
        for _ in 0..300 {
            if http_get(port, "/server-status?auto")
                .is_ok_and(|page| page.contains("ServerUptimeSeconds"))
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        panic!("apache2 does not answer after 15 s; its log:\n{log}");
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_apache_is_read_and_again_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let port = otlp_testkit::net::free_port().unwrap();
    let server = Apache::start(port, dir.path());
    for _ in 0..5 {
        assert!(http_get(port, "/nothing-here").unwrap().contains("404"));
    }

    let collector = TestCollector::start(&format!(
        r#"
receivers:
  apache:
    endpoint: "http://127.0.0.1:{port}/server-status?auto"
    collection_interval: 100ms
    initial_delay: 0s
  apache/no_port:
    endpoint: "http://127.0.0.1:{port}/server-status?auto"
    collection_interval: 100ms
    initial_delay: 0s
    resource_attributes: {{ apache.server.port: {{ enabled: false }} }}
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
  file/no_port: {{ path: "{{dir}}/no_port.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [apache], exporters: [file] }}
    metrics/no_port: {{ receivers: [apache/no_port], exporters: [file/no_port] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let path = collector.path("metrics.jsonl");
    wait_for_metrics(&path, |requests| {
        named_numbers(requests, "apache.requests").len() >= 2
    })
    .await;
    wait_for_metrics(&collector.path("no_port.jsonl"), |requests| {
        !requests.is_empty()
    })
    .await;
    let before_restart = read_metrics(&path, true);
    let first_start = sum_starts(&before_restart, "apache.requests")[0];

    // Apache stops and starts again on the same port: another RestartTime, a new start for the sums.
    drop(server);
    let server = Apache::start(port, dir.path());
    wait_for_metrics(&path, |requests| {
        sum_starts(requests, "apache.requests")
            .iter()
            .any(|start| *start != first_start)
    })
    .await;
    let dir_out = collector.shut_down_cleanly().await;
    let requests = read_metrics(&dir_out.path().join("metrics.jsonl"), true);

    let resource = requests[0].resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(
        attribute(&resource.attributes, "apache.server.name"),
        Some(&Value::StringValue("127.0.0.1".into()))
    );
    assert_eq!(
        attribute(&resource.attributes, "apache.server.port"),
        Some(&Value::StringValue(port.to_string()))
    );
    // The five requests and the ready check at least, then every scrape of both receivers: the count grows.
    let counts: Vec<f64> = named_numbers(&before_restart, "apache.requests")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert!(counts[0] >= 6.0, "{counts:?}");
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    let workers = named_numbers(&before_restart, "apache.workers");
    assert!(
        workers.iter().any(|(a, v)| a == "state=busy" && *v >= 1.0),
        "the scrape itself keeps a worker busy: {workers:?}"
    );
    let scoreboard = named_numbers(&before_restart, "apache.scoreboard");
    assert!(
        scoreboard
            .iter()
            .any(|(a, v)| a == "state=sending" && *v >= 1.0),
        "the scrape itself is being sent: {scoreboard:?}"
    );
    for name in [
        "apache.uptime",
        "apache.current_connections",
        "apache.traffic",
        "apache.cpu.time",
        "apache.load.1",
        "apache.request.time",
    ] {
        assert!(!named_numbers(&before_restart, name).is_empty(), "{name}");
    }
    let mut distinct = sum_starts(&requests, "apache.requests");
    distinct.dedup();
    assert_eq!(distinct.len(), 2, "{distinct:?}");
    assert!(distinct[0] < distinct[1]);

    let no_port = read_metrics(&dir_out.path().join("no_port.jsonl"), true);
    let resource = no_port[0].resource_metrics[0].resource.as_ref().unwrap();
    assert!(attribute(&resource.attributes, "apache.server.port").is_none());
    assert!(attribute(&resource.attributes, "apache.server.name").is_some());
    drop(server);
}
