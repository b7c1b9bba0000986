//! The `filelog` receiver following a real application's log: Python's `logging` module writing through its
//! `RotatingFileHandler` (which renames the file every few kilobytes) while the collector reads, with
//! tracebacks spanning lines. Every record must arrive exactly once, whole, with its parsed time and severity;
//! and a collector restarted with a storage extension reads on where it stopped.

mod common;

use common::{TestCollector, log_records, python};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::collections::BTreeMap;
use std::path::Path;

/// Writes `count` numbered records to `app.log` in the directory given, rotating at 4000 bytes; every 50th is an
/// error with a traceback. Slow enough that the collector reads while it writes and rotates.
const APPLICATION: &str = r#"
import logging, logging.handlers, sys, time
directory, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
handler = logging.handlers.RotatingFileHandler(f"{directory}/app.log", maxBytes=4000, backupCount=10000)
handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
log = logging.getLogger("app")
log.addHandler(handler)
log.setLevel(logging.INFO)
for n in range(first, first + count):
    if n % 50 == 0:
        try:
            raise ValueError(f"bad value {n}")
        except ValueError:
            log.exception("record %d failed", n)
    elif n % 7 == 0:
        log.warning("record %d is slow", n)
    else:
        log.info("record %d", n)
    if n % 20 == 0:
        time.sleep(0.01)
"#;

const CONFIG: &str = r#"
extensions:
  file_storage: { directory: "{dir}/state", create_directory: true }
receivers:
  filelog:
    include: ["{logs}/app.log*"]
    start_at: beginning
    poll_interval: 20ms
    storage: file_storage
    multiline: { line_start_pattern: '^\d{4}-\d{2}-\d{2} ' }
    resource: { service.name: app }
    operators:
      - type: regex_parser
        regex: '^(?P<time>\S+ \S+) (?P<level>[A-Z]+) (?P<message>(?s:.*))$'
        timestamp: { parse_from: attributes.time, layout: '%Y-%m-%d %H:%M:%S.%L', location: UTC }
        severity: { parse_from: attributes.level }
      - type: move
        from: attributes.message
        to: body
      - type: remove
        field: attributes.time
exporters:
  file: { path: "{dir}/logs.jsonl", format: json }
service:
  extensions: [file_storage]
  pipelines:
    logs: { receivers: [filelog], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

fn body(record: &LogRecord) -> &str {
    match record.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(Value::StringValue(text)) => text,
        other => panic!("body {other:?}"),
    }
}

/// The number of the record a body names (`... record 12 ...`).
fn number(body: &str) -> u64 {
    let mut words = body.split_whitespace();
    words
        .find(|word| *word == "record")
        .and_then(|_| words.next()?.parse().ok())
        .unwrap_or_else(|| panic!("no number in {body:?}"))
}

fn run_application(logs: &Path, first: u64, count: u64) {
    let status = std::process::Command::new(python())
        .args(["-c", APPLICATION])
        .arg(logs)
        .args([first.to_string(), count.to_string()])
        .status()
        .expect("python3 runs");
    assert!(status.success());
}

/// Waits (bounded) until the file exporter has written `count` records, then shuts down and reads them.
fn config(logs: &Path, state: &Path) -> String {
    CONFIG
        .replace("{logs}", &logs.display().to_string())
        .replace("{dir}/state", &state.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotating_python_log_arrives_whole_once_and_parsed() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let harness = TestCollector::start(&config(logs.path(), state.path())).await;
    let writer = {
        let logs = logs.path().to_owned();
        std::thread::spawn(move || run_application(&logs, 1, 1000))
    };
    writer.join().unwrap();
    let rotated = std::fs::read_dir(logs.path()).unwrap().count();
    assert!(rotated > 10, "the handler rotated the file {rotated} times");
    let requests = harness.drain_log_records("logs.jsonl", 1000).await;

    let records = log_records(&requests);
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for record in &records {
        *seen.entry(number(body(record))).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    let missing: Vec<u64> = (1..=1000).filter(|n| !seen.contains_key(n)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(records.len(), 1000);

    for record in &records {
        let text = body(record);
        let n = number(text);
        let (severity, level) = if n.is_multiple_of(50) {
            (17, "ERROR")
        } else if n.is_multiple_of(7) {
            (13, "WARNING")
        } else {
            (9, "INFO")
        };
        assert_eq!(
            (record.severity_number, record.severity_text.as_str()),
            (severity, level),
            "{text}"
        );
        if n.is_multiple_of(50) {
            assert!(
                text.contains("Traceback (most recent call last):")
                    && text.ends_with(&format!("ValueError: bad value {n}")),
                "the traceback stays with its record: {text:?}"
            );
        }
        // Python wrote the time in the local zone of this machine, read here as UTC: only checked to be a
        // time of this century to the millisecond.
        assert!(record.time_unix_nano > 1_600_000_000_000_000_000, "{text}");
        assert_eq!(record.time_unix_nano % 1_000_000, 0);
        let keys: Vec<&str> = record.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["level", "log.file.name"], "{text}");
    }
    let resource = requests[0].resource_logs[0].resource.as_ref().unwrap();
    assert_eq!(resource.attributes[0].key, "service.name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reads_on_from_the_saved_offsets() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    // Without rotation, so that what is read is only what the offsets say.
    let plain = config(logs.path(), state.path()).replace("{logs}/app.log*", "{logs}/app.log");
    let plain = plain.replace("{logs}", &logs.path().display().to_string());

    let first = TestCollector::start(&plain).await;
    append(logs.path(), 1..=30);
    let before = first.drain_log_records("logs.jsonl", 30).await;
    assert_eq!(log_records(&before).len(), 30);

    append(logs.path(), 31..=45);
    // start_at: end would skip everything already there; the saved offset wins for the file it knows.
    let second = TestCollector::start(&plain.replace("start_at: beginning", "start_at: end")).await;
    let after = second.drain_log_records("logs.jsonl", 15).await;
    let numbers: Vec<u64> = log_records(&after)
        .iter()
        .map(|r| number(body(r)))
        .collect();
    assert_eq!(numbers, (31..=45).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_larger_than_the_queue_waits_for_it_and_loses_nothing() {
    let logs = tempfile::tempdir().unwrap();
    append(logs.path(), 1..=60_000);
    // A queue of two requests of at most a thousand records: the backlog is read far faster than it is
    // written out, so the pipelines are full most of the time.
    let yaml = format!(
        r#"
receivers:
  filelog: {{ include: ["{}/app.log"], start_at: beginning }}
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json, sending_queue: {{ queue_size: 2, num_consumers: 1 }} }}
service:
  pipelines:
    logs: {{ receivers: [filelog], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        logs.path().display()
    );
    let harness = TestCollector::start(&yaml).await;
    let requests = harness.drain_log_records("logs.jsonl", 60_000).await;
    let numbers: Vec<u64> = log_records(&requests)
        .iter()
        .map(|r| number(body(r)))
        .collect();
    assert_eq!(
        numbers,
        (1..=60_000).collect::<Vec<_>>(),
        "every record once, in order"
    );
}

/// The Kubernetes preset of the OpenTelemetry Helm chart (`presets.logsCollection`), on pod logs as the
/// kubelet lays them out: CRI lines, one of them cut by the runtime, and a docker JSON line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_logs_become_records_with_their_pod_as_resource() {
    let root = tempfile::tempdir().unwrap();
    let pod = root
        .path()
        .join("var/log/pods/shop_checkout-7d9f_0f1e2d3c-aaaa-4bbb-8ccc-123456789abc/server");
    std::fs::create_dir_all(&pod).unwrap();
    std::fs::write(
        pod.join("0.log"),
        "2026-12-06T10:00:00.000000001Z stdout F started\n\
         2026-12-06T10:00:01.000000001Z stderr P a long line the runtime c\n\
         2026-12-06T10:00:01.000000002Z stderr F ut in two\n",
    )
    .unwrap();
    std::fs::write(
        pod.join("1.log"),
        "{\"log\":\"restarted\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-06T10:05:00.5Z\"}\n",
    )
    .unwrap();
    let yaml = format!(
        r#"
receivers:
  filelog:
    include: ["{root}/var/log/pods/*/*/*.log"]
    exclude: ["{root}/var/log/pods/*/otel-collector/*.log"]
    start_at: beginning
    include_file_path: true
    include_file_name: false
    operators:
      - type: container
        id: container-parser
        max_log_size: 102400
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [filelog], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        root = root.path().display()
    );
    let harness = TestCollector::start(&yaml).await;
    let requests = harness.drain_log_records("logs.jsonl", 3).await;
    let mut seen: Vec<(String, &str, u64, String)> = Vec::new();
    for resource_logs in requests.iter().flat_map(|r| &r.resource_logs) {
        let resource: BTreeMap<&str, String> = resource_logs
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.as_str(),
                    format!("{:?}", kv.value.as_ref().unwrap().value.as_ref().unwrap()),
                )
            })
            .collect();
        assert_eq!(resource["k8s.namespace.name"], "StringValue(\"shop\")");
        assert_eq!(resource["k8s.pod.name"], "StringValue(\"checkout-7d9f\")");
        assert_eq!(resource["k8s.container.name"], "StringValue(\"server\")");
        for record in resource_logs.scope_logs.iter().flat_map(|s| &s.log_records) {
            let stream = record
                .attributes
                .iter()
                .find(|kv| kv.key == "log.iostream")
                .map(|kv| format!("{:?}", kv.value.as_ref().unwrap().value.as_ref().unwrap()))
                .unwrap();
            seen.push((
                resource["k8s.container.restart_count"].clone(),
                body(record),
                record.time_unix_nano,
                stream,
            ));
        }
    }
    seen.sort();
    let restart = |n: &str| format!("StringValue(\"{n}\")");
    let stream = |s: &str| format!("StringValue(\"{s}\")");
    assert_eq!(
        seen,
        [
            (
                restart("0"),
                "a long line the runtime cut in two",
                1_796_551_201_000_000_001,
                stream("stderr")
            ),
            (
                restart("0"),
                "started",
                1_796_551_200_000_000_001,
                stream("stdout")
            ),
            (
                restart("1"),
                "restarted\n",
                1_796_551_500_500_000_000,
                stream("stdout")
            ),
        ]
    );
}

fn append(logs: &Path, numbers: std::ops::RangeInclusive<u64>) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join("app.log"))
        .unwrap();
    for n in numbers {
        writeln!(file, "2026-12-06 10:00:00.000 INFO record {n}").unwrap();
    }
}

#[test]
fn a_storage_that_is_not_defined_is_named_at_its_key() {
    let yaml = CONFIG
        .replace("storage: file_storage", "storage: file_storag")
        .replace("{logs}", "/tmp")
        .replace("{dir}", "/tmp");
    let error = otlp_collector::Config::from_yaml(&yaml)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("receivers.filelog.storage")
            && error.contains("storage extension `file_storag` is not defined"),
        "{error}"
    );
}
