//! The `otlpjson` connector: OTLP/JSON export requests read as log lines by `filelog` (here, the files a collector's
//! `file` exporter wrote of what the real `opentelemetry-otlp` exporters sent it) come out of the traces, metrics
//! and logs pipelines as they were sent; lines that are no request, or do not decode, are skipped and lose
//! nothing else.

mod common;

use common::json_recording::{SPANS, WRITER, run_application, wait_for_traces};
use common::{TestCollector, read_logs, read_metrics, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::time::Duration;

/// A collector reading lines of the files `include` matches, through the connector, into a file per signal.
fn reader(include: &str) -> String {
    format!(
        r#"
receivers:
  filelog:
    include: ["{include}"]
    start_at: beginning
    poll_interval: 20ms
connectors:
  otlpjson:
exporters:
  file/traces: {{ path: "{{dir}}/traces.jsonl", format: json }}
  file/metrics: {{ path: "{{dir}}/metrics.jsonl", format: json }}
  file/logs: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  pipelines:
    logs/lines: {{ receivers: [filelog], exporters: [otlpjson] }}
    traces: {{ receivers: [otlpjson], exporters: [file/traces] }}
    metrics: {{ receivers: [otlpjson], exporters: [file/metrics] }}
    logs: {{ receivers: [otlpjson], exporters: [file/logs] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_logged_as_json_lines_come_out_of_each_signals_pipelines() {
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
    assert_eq!(spans(&sent_traces).len(), SPANS);

    let include = format!("{}/*.jsonl", written.display());
    let reading = TestCollector::start(&reader(&include)).await;
    wait_for_traces(&reading.path("traces.jsonl"), |requests| {
        spans(requests).len() >= SPANS
    })
    .await;
    // Long enough for the other files' lines, and for anything read twice to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir = reading.shut_down_cleanly().await;
    // A batch of lines goes on as one request: the same resources, in the same order, as were sent.
    let resources = |requests: Vec<ExportTraceServiceRequest>| {
        requests
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        resources(read_traces(&dir.path().join("traces.jsonl"), true)),
        resources(sent_traces)
    );
    let metric_resources = |requests: Vec<
        opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
    >| {
        requests
            .into_iter()
            .flat_map(|r| r.resource_metrics)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        metric_resources(read_metrics(&dir.path().join("metrics.jsonl"), true)),
        metric_resources(sent_metrics)
    );
    let log_resources = |requests: Vec<
        opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest,
    >| {
        requests
            .into_iter()
            .flat_map(|r| r.resource_logs)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        log_resources(read_logs(&dir.path().join("logs.jsonl"), true)),
        log_resources(sent_logs)
    );
}

/// One request of one span named `name`, as an OTLP/JSON line.
fn span_line(name: &str, span_id: &str) -> String {
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{span_id}","name":"{name}","startTimeUnixNano":"1","endTimeUnixNano":"2"}}]}}]}}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_that_are_no_request_or_do_not_decode_lose_nothing_else() {
    let input = tempfile::tempdir().unwrap();
    let lines = [
        span_line("first", "00f067aa0ba902b1"),
        "GET /cart 200 a plain log line".to_owned(),
        span_line("bad span id", "xyz"),
        span_line("truncated", "00f067aa0ba902b2")[..90].to_owned(),
        span_line("last", "00f067aa0ba902b3"),
    ];
    std::fs::write(input.path().join("in.jsonl"), lines.join("\n") + "\n").unwrap();
    let include = format!("{}/*.jsonl", input.path().display());
    let reading = TestCollector::start(&reader(&include)).await;
    wait_for_traces(&reading.path("traces.jsonl"), |requests| {
        spans(requests).iter().any(|span| span.name == "last")
    })
    .await;
    let dir = reading.shut_down_cleanly().await;
    let names: Vec<String> = spans(&read_traces(&dir.path().join("traces.jsonl"), true))
        .iter()
        .map(|span| span.name.clone())
        .collect();
    assert_eq!(names, ["first", "last"]);
    // The plain line is no request of any signal: nothing in the other pipelines either.
    assert!(read_logs(&dir.path().join("logs.jsonl"), true).is_empty());
}
