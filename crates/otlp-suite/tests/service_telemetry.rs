//! `service.telemetry.logs` as an operator bringing an otelcol config uses it: the real binary runs with the
//! settings, and the test reads the log files it wrote.

mod support;

use otlp_testkit::Generator;
use std::path::Path;
use support::{BINARY, Client, Collector};

/// A collector whose `debug` exporter logs one line per span, from one call site: what sampling acts on.
fn config(telemetry_logs: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{{grpc}}" }}
exporters:
  debug: {{ verbosity: normal }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:{{metrics}}" }}
    logs:
{telemetry_logs}
"#
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of the `debug` exporter's one-per-span call site.
fn span_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains(" span trace_id=") || line.contains(r#""message":"span""#))
        .collect()
}

async fn send_spans(collector: &Collector, spans: usize) {
    let mut client = Client::connect(collector.grpc).await;
    client.send(&Generator::new(7).traces(spans)).await;
}

#[tokio::test]
async fn text_lines_go_to_every_output_with_the_initial_fields_the_caller_and_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first.log"), dir.path().join("second.log"));
    // Appended to, as zap's file sink: what was there stays.
    std::fs::write(&first, "written before\n").unwrap();
    let logs = format!(
        r#"      level: info
      encoding: console
      output_paths: [stderr, "{}", "file://{}"]
      initial_fields: {{ region: eu-west-1, shard: 2 }}
      disable_caller: false
      sampling: {{ tick: 1h, initial: 3, thereafter: 10 }}"#,
        first.display(),
        second.display()
    );
    let collector = Collector::start("text", dir.path(), &config(&logs)).await;
    send_spans(&collector, 30).await;
    let stderr = collector.dir.join("collector.log");
    collector.stop().await;

    let (first, second, stderr) = (read(&first), read(&second), read(&stderr));
    assert_eq!(
        first.strip_prefix("written before\n"),
        Some(second.as_str()),
        "every line goes to each file"
    );
    assert_eq!(second, stderr, "and to stderr");
    let lines: Vec<&str> = second.lines().collect();
    assert!(lines.len() > 2, "{second}");
    for line in &lines {
        assert!(line.ends_with(" region=eu-west-1 shard=2"), "{line}");
    }
    assert!(
        lines.iter().any(
            |line| line.contains(" otlp_suite: crates/otlp-suite/src/main.rs:")
                && line.contains("collector running")
        ),
        "the caller's file and line with disable_caller: false\n{second}"
    );
    // One call site, 30 events in one tick: the 1st to 3rd, then the 13th and the 23rd.
    assert_eq!(span_lines(&second).len(), 5, "{second}");
}

#[tokio::test]
async fn json_lines_carry_the_initial_fields_as_top_level_keys_and_nothing_is_sampled_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("collector.json");
    let logs = format!(
        r#"      encoding: json
      output_paths: ["{}"]
      initial_fields: {{ region: eu-west-1, shard: 2, owner: {{ team: obs }} }}"#,
        log.display()
    );
    let collector = Collector::start("json", dir.path(), &config(&logs)).await;
    send_spans(&collector, 30).await;
    let stderr = collector.dir.join("collector.log");
    collector.stop().await;

    assert_eq!(read(&stderr), "", "only the configured output is written");
    let log = read(&log);
    for line in log.lines() {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert_eq!(event["region"], "eu-west-1", "{line}");
        assert_eq!(event["shard"], 2, "{line}");
        assert_eq!(event["owner"]["team"], "obs", "{line}");
        assert!(event["fields"]["message"].is_string(), "{line}");
        // The caller is shown only when `disable_caller: false` is written out.
        assert!(event.get("filename").is_none(), "{line}");
    }
    // otelcol would sample these; without `sampling` this collector writes every one.
    assert_eq!(span_lines(&log).len(), 30, "{log}");
}

#[tokio::test]
async fn a_failed_write_is_reported_on_the_error_outputs() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (errors, log) = (dir.path().join("errors.log"), dir.path().join("ok.log"));
    let logs = format!(
        r#"      output_paths: ["{}", "{}"]
      error_output_paths: ["{}"]
      development: true
      disable_stacktrace: false"#,
        full.display(),
        log.display(),
        errors.display()
    );
    let collector = Collector::start("errors", dir.path(), &config(&logs)).await;
    collector.stop().await;

    let log = read(&log);
    assert!(log.contains("collector running"), "{log}");
    assert!(
        log.contains(
            "taken, but it changes nothing here: zap's development mode (stack traces from warn, DPanic-level \
             events that panic) has no counterpart in this collector's log at=service.telemetry.logs.development"
        ),
        "{log}"
    );
    let errors = read(&errors);
    let reported: Vec<&str> = errors.lines().collect();
    assert_eq!(reported.len(), log.lines().count(), "{errors}");
    for line in reported {
        assert!(
            line.contains(" write error: cannot write a log line to /dev/full: "),
            "{line}"
        );
    }
}

#[test]
fn a_log_file_in_a_missing_directory_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir/collector.log");
    let path = dir.path().join("config.yaml");
    let logs = format!("      output_paths: [stderr, \"{}\"]", missing.display());
    std::fs::write(
        &path,
        config(&logs)
            .replace("{grpc}", "0")
            .replace("{metrics}", "0"),
    )
    .unwrap();

    let validated = otlp_testkit::process::command(BINARY)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "the directory is looked for at the start"
    );

    let output = otlp_testkit::process::command(BINARY)
        .args(["collect", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot start: at `service.telemetry.logs.output_paths[1]`: cannot write the log to {}: the directory {} \
             does not exist",
            missing.display(),
            missing.parent().unwrap().display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("collector running"), "{stderr}");
}
