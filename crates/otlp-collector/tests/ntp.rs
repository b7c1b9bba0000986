//! The `ntp` receiver asking a real NTP server (Debian's chrony, started by the test on a free loopback port,
//! serving the host's own clock without steering it), so the offset it reports is the host's clock against
//! itself: near zero.
//!
//! `chronyd` comes from Debian's `chrony` package (`cargo xtask setup` installs it); it runs as root, as the
//! tests do on CI.

mod common;

use common::{TestCollector, free_port, named_numbers, read_metrics, wait_for_metrics};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A chronyd of its own, serving NTP on 127.0.0.1 at `port`; stopped when dropped.
struct Chronyd {
    child: Child,
    port: u16,
}

impl Chronyd {
    fn start(dir: &Path) -> Chronyd {
        let port = free_port();
        let config = dir.join("chrony.conf");
        std::fs::write(
            &config,
            format!(
                "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 10\ncmdport 0\npidfile {}\n",
                dir.join("chronyd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new("chronyd")
            // -x: serve time without steering the host's clock; -d: stay in the foreground.
            .args(["-x", "-d", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run chronyd: {e}; run `cargo xtask setup`"));
        let mut server = Chronyd { child, port };
        for _ in 0..100 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("chronyd exited before it was ready: {status}");
            }
            if server.answers() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chronyd does not answer after 10 s");
    }

    /// Whether the server answers a client request with time: a stratum, and a clock it counts as synchronized
    /// (as chronyd's `local` directive makes it, once it has started).
    fn answers(&self) -> bool {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut request = [0u8; 48];
        request[0] = (4 << 3) | 3;
        let _ = socket.send_to(&request, ("127.0.0.1", self.port));
        let mut answer = [0u8; 48];
        socket.recv(&mut answer).is_ok_and(|n| n == 48) && answer[1] != 0 && answer[0] >> 6 != 3
    }
}

impl Drop for Chronyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_serving_the_hosts_clock_is_zero_away() {
    let dir = tempfile::tempdir().unwrap();
    let server = Chronyd::start(dir.path());
    let silent = free_port();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  ntp:
    endpoint: "127.0.0.1:{port}"
    collection_interval: 30m
    initial_delay: 0s
  ntp/silent:
    endpoint: "127.0.0.1:{silent}"
    collection_interval: 30m
    initial_delay: 0s
    timeout: 500ms
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
  file/silent: {{ path: "{{dir}}/silent.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [ntp], exporters: [file] }}
    metrics/silent: {{ receivers: [ntp/silent], exporters: [file/silent] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        port = server.port
    ))
    .await;
    let path = collector.path("metrics.jsonl");
    wait_for_metrics(&path, |requests| !requests.is_empty()).await;
    let requests = read_metrics(&path, true);
    let offsets = named_numbers(&requests, "ntp.offset");
    assert_eq!(offsets.len(), 1, "the first question, at once: {offsets:?}");
    // The server reads the same clock: a wrong era, unit or sign would be off by seconds or years.
    assert!(
        offsets[0].1.abs() < 100e6,
        "{} ns between the host's clock and itself",
        offsets[0].1
    );
    let resource = &requests[0].resource_metrics[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(resource[0].key, "ntp.host");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let silent = collector.path("silent.jsonl");
    assert!(
        !silent.exists() || read_metrics(&silent, true).is_empty(),
        "a server that does not answer reports nothing"
    );
    collector.shut_down_cleanly().await;
}
