//! The `chrony` receiver asking a real chronyd (Debian's, started by the test) for its tracking report, over UDP and
//! over its unix socket, and reporting what `chronyc tracking` prints from the same daemon.
//!
//! Two daemons run on free loopback ports, neither steering the host's clock: an NTP server serving the host's own
//! clock, and a client synchronised to it, which starts from a drift file's frequency (−12.345 ppm) as a host's
//! chronyd restarts, so the report holds real offsets, delays and a negative frequency.

mod common;

use common::chronyd::Chronyd;
use common::{TestCollector, free_port, named_numbers, read_metrics, wait_for_metrics};
use std::time::Duration;

/// Waits until the client's report stops changing: its burst of first polls is over and the next is 64 s away.
fn settled(client: &Chronyd) -> Vec<String> {
    let mut before = client.tracking().expect("chronyc answers");
    for _ in 0..10 {
        std::thread::sleep(Duration::from_secs(3));
        let now = client.tracking().expect("chronyc answers");
        if now[3] == before[3] {
            return now;
        }
        before = now;
    }
    panic!("chronyd's reference time still changes after 30 s: {before:?}");
}

fn close(ours: f64, chronyc: &str, printed_to: f64, what: &str) {
    let chronyc: f64 = chronyc.parse().unwrap();
    assert!(
        (ours - chronyc).abs() <= printed_to,
        "{what}: we read {ours}, chronyc printed {chronyc}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracking_report_is_what_chronyc_prints() {
    let dir = tempfile::tempdir().unwrap();
    let server = Chronyd::serving(dir.path());
    let client = Chronyd::following(dir.path(), server.ntp_port, -12.345, 0.678);
    let report = settled(&client);
    let socket = client.command_socket.clone().unwrap();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  chrony:
    endpoint: "udp://127.0.0.1:{command_port}"
    collection_interval: 1h
    initial_delay: 0s
    metrics:
      ntp.frequency.offset: {{ enabled: true }}
      ntp.stratum: {{ enabled: true }}
      ntp.time.rms_offset: {{ enabled: true }}
      ntp.time.root_delay: {{ enabled: true }}
  chrony/unix:
    endpoint: "unix://{socket}"
    collection_interval: 1h
    initial_delay: 0s
  chrony/silent:
    endpoint: "udp://127.0.0.1:{silent}"
    collection_interval: 1h
    initial_delay: 0s
    timeout: 500ms
exporters:
  file: {{ path: "{{dir}}/udp.jsonl", format: json }}
  file/unix: {{ path: "{{dir}}/unix.jsonl", format: json }}
  file/silent: {{ path: "{{dir}}/silent.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [chrony], exporters: [file] }}
    metrics/unix: {{ receivers: [chrony/unix], exporters: [file/unix] }}
    metrics/silent: {{ receivers: [chrony/silent], exporters: [file/silent] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        command_port = client.command_port,
        socket = socket.display(),
        silent = free_port(),
    ))
    .await;
    let (udp, unix) = (collector.path("udp.jsonl"), collector.path("unix.jsonl"));
    wait_for_metrics(&udp, |requests| !requests.is_empty()).await;
    wait_for_metrics(&unix, |requests| !requests.is_empty()).await;
    let after = client.tracking().unwrap();
    assert_eq!(
        after[3], report[3],
        "chronyd updated its report during the test"
    );

    let requests = read_metrics(&udp, true);
    let one = |name: &str| {
        let points = named_numbers(&requests, name);
        assert_eq!(points.len(), 1, "{name}: {points:?}");
        points[0].clone()
    };
    assert_eq!(
        one("ntp.stratum"),
        (String::new(), 11.0),
        "one hop below the server's 10"
    );
    let normal = "leap.status=normal".to_owned();
    assert_eq!(after[13], "Normal");
    // chronyc prints seconds to 9 decimals and ppm to 3.
    let (label, frequency) = one("ntp.frequency.offset");
    assert_eq!(label, normal);
    close(frequency, &after[7], 0.0005, "frequency");
    assert!(frequency < 0.0, "the drift file's sign: {frequency}");
    close(one("ntp.skew").1, &after[9], 0.0005, "skew");
    for (name, field) in [
        ("ntp.time.last_offset", 5),
        ("ntp.time.rms_offset", 6),
        ("ntp.time.root_delay", 10),
    ] {
        let (label, value) = one(name);
        assert_eq!(label, normal, "{name}");
        close(value, &after[field], 1e-9, name);
    }
    let root_delay = one("ntp.time.root_delay").1;
    assert!(
        root_delay > 0.0,
        "a real exchange over loopback takes time: {root_delay}"
    );
    // The system time's correction grows while chronyd does not steer the clock: about 12 µs a second here.
    close(one("ntp.time.correction").1, &after[4], 1e-3, "correction");

    let unix_requests = read_metrics(&unix, true);
    let mut names: Vec<&str> = unix_requests[0].resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|metric| metric.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["ntp.skew", "ntp.time.correction", "ntp.time.last_offset"],
        "otelcol's defaults"
    );
    assert_eq!(
        named_numbers(&unix_requests, "ntp.skew"),
        named_numbers(&requests, "ntp.skew"),
        "the same report over either socket"
    );
    let left: Vec<_> = std::fs::read_dir(socket.parent().unwrap())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("otlp-suite."))
        .collect();
    assert!(left.is_empty(), "the reply socket is removed: {left:?}");

    tokio::time::sleep(Duration::from_millis(800)).await;
    let silent = collector.path("silent.jsonl");
    assert!(
        !silent.exists() || read_metrics(&silent, true).is_empty(),
        "a chronyd that does not answer reports nothing"
    );
    collector.shut_down_cleanly().await;
}
