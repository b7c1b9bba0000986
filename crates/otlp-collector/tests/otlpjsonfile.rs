//! The `otlpjsonfile` receiver reading back what a collector's `file` exporter wrote as OTLP/JSON: traces, metrics
//! and logs sent by the real `opentelemetry-otlp` exporters to one collector come out of a second one, reading
//! the first one's files, as they were written. Bad lines are skipped and lose nothing else; a restart with a
//! storage extension reads on where it stopped; `replay_file` sends a file again and again.

mod common;

use common::json_recording::{WRITER, run_application, wait_for_traces};
use common::{TestCollector, read_logs, read_metrics, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::time::Duration;

/// A collector reading files matching `include` and writing each signal to a file of its own.
fn reader(include: &str, settings: &str) -> String {
    format!(
        r#"
extensions:
  file_storage: {{ directory: "{{dir}}/state", create_directory: true }}
receivers:
  otlpjsonfile:
    include: ["{include}"]
    poll_interval: 20ms
    {settings}
exporters:
  file/traces: {{ path: "{{dir}}/traces.jsonl", format: json }}
  file/metrics: {{ path: "{{dir}}/metrics.jsonl", format: json }}
  file/logs: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  extensions: [file_storage]
  pipelines:
    traces: {{ receivers: [otlpjsonfile], exporters: [file/traces] }}
    metrics: {{ receivers: [otlpjsonfile], exporters: [file/metrics] }}
    logs: {{ receivers: [otlpjsonfile], exporters: [file/logs] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

fn span_names(requests: &[ExportTraceServiceRequest]) -> Vec<String> {
    spans(requests)
        .iter()
        .map(|span| span.name.clone())
        .collect()
}

/// One request of one span named `name`, as an OTLP/JSON line.
fn span_line(name: &str, span_id: &str) -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"batch-job"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{span_id}","name":"{name}","startTimeUnixNano":"1","endTimeUnixNano":"2"}}]}}]}}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_collector_wrote_comes_out_of_another_as_it_was_sent() {
    let writer = TestCollector::start(WRITER).await;
    let endpoint = writer.grpc_endpoint();
    tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    let written = writer.shut_down_cleanly().await;
    let written = written.path();
    let sent_traces = read_traces(&written.join("traces.jsonl"), true);
    let sent_metrics = read_metrics(&written.join("metrics.jsonl"), true);
    let sent_logs = read_logs(&written.join("logs.jsonl"), true);
    assert_eq!(spans(&sent_traces).len(), 120);
    assert!(!sent_metrics.is_empty() && !sent_logs.is_empty());

    let include = format!("{}/*.jsonl", written.display());
    let reading = TestCollector::start(&reader(&include, "start_at: beginning")).await;
    let out = reading.path("traces.jsonl");
    wait_for_traces(&out, |requests| spans(requests).len() >= 120).await;
    // Long enough for anything read twice to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let telemetry = reading.collector.telemetry().clone();
    let dir = reading.shut_down_cleanly().await;
    // Each line is one request, handed over and written as it was: the same requests, in the same order.
    assert_eq!(
        read_traces(&dir.path().join("traces.jsonl"), true),
        sent_traces
    );
    assert_eq!(
        read_metrics(&dir.path().join("metrics.jsonl"), true),
        sent_metrics
    );
    assert_eq!(read_logs(&dir.path().join("logs.jsonl"), true), sent_logs);
    assert_eq!(telemetry.total("otelcol_receiver_accepted_spans"), 120);
    assert_eq!(telemetry.total("otelcol_receiver_accepted_log_records"), 30);
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_skipped_and_lose_nothing_else() {
    let input = tempfile::tempdir().unwrap();
    let without_trace_id = span_line("no trace id", "00f067aa0ba902b7")
        .replace(r#""traceId":"5b8efff798038103d269b633813fc60c","#, "");
    // A line holding a good span and one without its trace id: the good one is kept.
    let mixed = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"00f067aa0ba902b8","name":"kept beside a bad one"},
        {"spanId":"00f067aa0ba902b9","name":"no trace id either"}]}]}]}"#
        .replace('\n', "");
    let lines = [
        span_line("first", "00f067aa0ba902b1"),
        "this is not json".to_string(),
        span_line("truncated", "00f067aa0ba902b2")[..80].to_string(),
        span_line("bad span id", "xyz"),
        without_trace_id,
        mixed,
        String::new(),
        span_line("last", "00f067aa0ba902b3"),
    ];
    std::fs::write(input.path().join("in.jsonl"), lines.join("\n") + "\n").unwrap();
    let include = format!("{}/*.jsonl", input.path().display());
    let reading = TestCollector::start(&reader(&include, "start_at: beginning")).await;
    let out = reading.path("traces.jsonl");
    wait_for_traces(&out, |requests| {
        span_names(requests).contains(&"last".into())
    })
    .await;
    let telemetry = reading.collector.telemetry().clone();
    let dir = reading.shut_down_cleanly().await;
    let names = span_names(&read_traces(&dir.path().join("traces.jsonl"), true));
    assert_eq!(names, ["first", "kept beside a bad one", "last"]);
    // The two spans without a trace id were refused; the lines that are not requests had no items to count.
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 2);
    assert_eq!(telemetry.total("otelcol_receiver_accepted_spans"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_storage_reads_on_where_reading_stopped() {
    let input = tempfile::tempdir().unwrap();
    let file = input.path().join("in.jsonl");
    std::fs::write(
        &file,
        span_line("before the restart", "00f067aa0ba902b1") + "\n",
    )
    .unwrap();
    let include = format!("{}/*.jsonl", input.path().display());
    let settings = "start_at: beginning\n    storage: file_storage";
    let first = TestCollector::start(&reader(&include, settings)).await;
    let out = first.path("traces.jsonl");
    wait_for_traces(&out, |requests| !requests.is_empty()).await;
    let state = first.dir.path().join("state");
    let dir = first.shut_down_cleanly().await;
    assert_eq!(
        span_names(&read_traces(&dir.path().join("traces.jsonl"), true)),
        ["before the restart"]
    );

    let mut appended = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(
        &mut appended,
        (span_line("while stopped", "00f067aa0ba902b2") + "\n").as_bytes(),
    )
    .unwrap();
    let second = TestCollector::start(
        &reader(&include, settings).replace("{dir}/state", &state.display().to_string()),
    )
    .await;
    let out = second.path("traces.jsonl");
    wait_for_traces(&out, |requests| !requests.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = second.shut_down_cleanly().await;
    assert_eq!(
        span_names(&read_traces(&dir.path().join("traces.jsonl"), true)),
        ["while stopped"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_file_sends_a_file_again_at_each_poll() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(
        input.path().join("recorded.jsonl"),
        span_line("recorded", "00f067aa0ba902b1") + "\n",
    )
    .unwrap();
    let include = format!("{}/*.jsonl", input.path().display());
    // start_at: end would skip the file; a replay reads it from its start all the same.
    let reading = TestCollector::start(&reader(&include, "replay_file: true")).await;
    let out = reading.path("traces.jsonl");
    wait_for_traces(&out, |requests| spans(requests).len() >= 3).await;
    let dir = reading.shut_down_cleanly().await;
    let names = span_names(&read_traces(&dir.path().join("traces.jsonl"), true));
    assert!(names.len() >= 3, "{names:?}");
    assert!(names.iter().all(|name| name == "recorded"), "{names:?}");
}

#[test]
fn a_config_mistake_is_named_before_the_collector_starts() {
    let problems = common::config_problems(
        r#"
receivers:
  otlpjsonfile:
    include: []
    replay_file: true
    delete_after_read: true
    compression: gzip
exporters:
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlpjsonfile], exporters: [debug] }
"#,
    );
    let text = format!("{problems:?}");
    assert!(
        text.contains("compressed files are not read here"),
        "{text}"
    );
    let problems = common::config_problems(
        r#"
receivers:
  otlpjsonfile:
    include: []
    replay_file: true
    delete_after_read: true
exporters:
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlpjsonfile], exporters: [debug] }
"#,
    );
    let keys: Vec<&str> = problems.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "receivers.otlpjsonfile.include",
            "receivers.otlpjsonfile.replay_file"
        ],
        "{problems:?}"
    );
}
