//! The `ntp` receiver asking a real NTP server (Debian's chrony, started by the test on a free loopback port,
//! serving the host's own clock without steering it), so the offset it reports is the host's clock against
//! itself: near zero.
//!
//! `chronyd` comes from Debian's `chrony` package (`cargo xtask setup` installs it); it runs as root, as the
//! tests do on CI.

mod common;

use common::chronyd::Chronyd;
use common::{TestCollector, free_port, named_numbers, read_metrics, wait_for_metrics};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_serving_the_hosts_clock_is_zero_away() {
    let dir = tempfile::tempdir().unwrap();
    let server = Chronyd::serving(dir.path());
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
        port = server.ntp_port
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
