//! The `nginx` receiver reading a real nginx's `stub_status` page (the Debian package's, started by the test on
//! free loopback ports, over HTTP and HTTPS with the test PKI, and behind a header), compared with the requests the
//! test made; and what it does with a page that is not `stub_status`'s or a refusal.
//!
//! `nginx` comes from PATH or /usr/sbin (`cargo xtask setup` installs it).

mod common;

use common::{
    TestCollector, free_port, http_get, named_numbers, read_metrics, server_program, sum_times,
    wait_for_metrics,
};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "Bearer s3cret";

/// An nginx of its own (one process, no daemon), stopped when dropped.
struct Nginx {
    child: Child,
}

impl Nginx {
    /// Starts nginx on `port` and, with the test PKI in `dir`, TLS on `tls_port`, and waits until it answers.
    fn start(port: u16, tls_port: u16, dir: &Path) -> Nginx {
        let d = dir.display();
        let config = format!(
            r#"
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        server_name localhost;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server-key.pem;
        location = /status {{ stub_status; }}
        location = /private_status {{
            if ($http_authorization != "{TOKEN}") {{ return 401; }}
            stub_status;
        }}
        location / {{ return 200 "hello\n"; }}
    }}
}}
"#
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(server_program("nginx"))
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run nginx: {e}; run `cargo xtask setup`"));
        let server = Nginx { child };
        for _ in 0..300 {
            if http_get(port, "/").is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        panic!("nginx does not answer after 15 s; its log:\n{log}");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_nginx_is_read_over_http_https_and_behind_a_header_and_again_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    common::pki::write_pki(dir.path());
    let (port, tls_port) = (free_port(), free_port());
    let server = Nginx::start(port, tls_port, dir.path());
    for _ in 0..5 {
        assert!(http_get(port, "/").unwrap().contains("hello"));
    }
    assert!(http_get(port, "/private_status").unwrap().contains("401"));

    let p = dir.path().display();
    let pipeline = |name: &str| {
        format!("metrics/{name}: {{ receivers: [nginx/{name}], exporters: [file/{name}] }}")
    };
    let names = ["plain", "tls", "private", "refused", "other_page"];
    let exporters: String = names
        .iter()
        .map(|name| format!("  file/{name}: {{ path: \"{{dir}}/{name}.jsonl\", format: json }}\n"))
        .collect();
    let pipelines: Vec<String> = names.iter().map(|name| pipeline(name)).collect();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  nginx/plain:
    endpoint: "http://127.0.0.1:{port}/status"
    collection_interval: 100ms
    initial_delay: 0s
  nginx/tls:
    endpoint: "https://localhost:{tls_port}/status"
    tls: {{ ca_file: "{p}/ca.pem" }}
    collection_interval: 100ms
    initial_delay: 0s
  nginx/private:
    endpoint: "http://127.0.0.1:{port}/private_status"
    headers: {{ Authorization: "{TOKEN}" }}
    collection_interval: 100ms
    initial_delay: 0s
  nginx/refused:
    endpoint: "http://127.0.0.1:{port}/private_status"
    collection_interval: 100ms
    initial_delay: 0s
  nginx/other_page:
    endpoint: "http://127.0.0.1:{port}/"
    collection_interval: 100ms
    initial_delay: 0s
exporters:
{exporters}
service:
  pipelines:
    {pipelines}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        pipelines = pipelines.join("\n    "),
    ))
    .await;
    let plain = collector.path("plain.jsonl");
    wait_for_metrics(&plain, |requests| {
        named_numbers(requests, "nginx.requests").len() >= 3
    })
    .await;
    for name in ["tls", "private"] {
        wait_for_metrics(&collector.path(&format!("{name}.jsonl")), |requests| {
            !named_numbers(requests, "nginx.requests").is_empty()
        })
        .await;
    }
    let before_restart = read_metrics(&plain, true);
    let first_start = sum_times(&before_restart, "nginx.requests")[0].0;

    // nginx stops and starts again on the same ports: its counters begin anew, and so do the sums.
    drop(server);
    let server = Nginx::start(port, tls_port, dir.path());
    wait_for_metrics(&plain, |requests| {
        sum_times(requests, "nginx.requests")
            .iter()
            .any(|(start, _)| *start != first_start)
    })
    .await;
    let dir_out = collector.shut_down_cleanly().await;
    let requests = read_metrics(&dir_out.path().join("plain.jsonl"), true);

    // The five requests and the refusal at least, and every scrape of every receiver since: the count grows.
    let counts: Vec<f64> = named_numbers(&requests, "nginx.requests")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let sums = sum_times(&requests, "nginx.requests");
    let restart = sums
        .iter()
        .position(|(start, _)| *start != first_start)
        .expect("a reading of the new server");
    assert!(counts[0] >= 6.0, "{counts:?}");
    assert!(
        counts[..restart].windows(2).all(|w| w[0] < w[1]),
        "{counts:?}"
    );
    let accepted = named_numbers(&before_restart, "nginx.connections_accepted");
    let handled = named_numbers(&before_restart, "nginx.connections_handled");
    assert_eq!(accepted, handled, "no limit was reached");
    let current = named_numbers(&before_restart, "nginx.connections_current");
    for state in ["active", "reading", "writing", "waiting"] {
        assert!(
            current.iter().any(|(a, _)| *a == format!("state={state}")),
            "{state}: {current:?}"
        );
    }
    assert!(
        current
            .iter()
            .filter(|(a, _)| a == "state=writing")
            .all(|(_, v)| *v >= 1.0),
        "the scrape itself is being written: {current:?}"
    );

    // The sums start when the receiver did; after the restart, at the last reading of the old server, and the new
    // server counts from 0.
    let last_old_time = sums[restart - 1].1;
    assert!(
        sums[restart..]
            .iter()
            .all(|(start, _)| *start == last_old_time),
        "{sums:?}"
    );
    assert!(
        counts[restart] < counts[restart - 1],
        "{counts:?} (restart at {restart})"
    );

    // Over HTTPS, verified with the test CA; with the header; none without it or from a page that is not
    // stub_status's (no metrics, rather than zeros).
    for name in ["tls", "private"] {
        let requests = read_metrics(&dir_out.path().join(format!("{name}.jsonl")), true);
        assert!(
            !named_numbers(&requests, "nginx.requests").is_empty(),
            "{name}"
        );
    }
    for name in ["refused", "other_page"] {
        let path = dir_out.path().join(format!("{name}.jsonl"));
        assert!(
            !path.exists() || read_metrics(&path, true).is_empty(),
            "{name}"
        );
    }
    drop(server);
}
