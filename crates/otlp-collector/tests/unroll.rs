//! The `unroll` processor behind `filelog` and `transform`, as otelcol's README shows it: a line of comma-separated
//! values split into a list, and a line holding a JSON array parsed into one, become a record per element, each
//! with the line's file attributes; a plain line goes through as it was.

mod common;

use common::{TestCollector, log_records, wait_for_log_records};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_holding_many_events_become_a_record_per_event() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(
        input.path().join("events.log"),
        "1,2,3\n[{\"user\": \"ann\"}, {\"user\": \"bob\"}]\nsingle\n",
    )
    .unwrap();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  filelog:
    include: ["{}/*.log"]
    start_at: beginning
    poll_interval: 20ms
processors:
  transform:
    log_statements:
      - context: log
        statements:
          - set(body, ParseJSON(body)) where IsMatch(body, "^\\[")
          - set(body, Split(body, ",")) where IsString(body) and IsMatch(body, ",")
  unroll:
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [filelog], processors: [transform, unroll], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        input.path().display()
    ))
    .await;
    wait_for_log_records(&collector.path("logs.jsonl"), 6).await;
    let dir = collector.shut_down_cleanly().await;
    let requests = common::read_logs(&dir.path().join("logs.jsonl"), true);
    let records = log_records(&requests);
    let bodies: Vec<String> = records
        .iter()
        .map(
            |record| match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::KvlistValue(map)) => map
                    .values
                    .iter()
                    .map(|kv| {
                        format!(
                            "{}={:?}",
                            kv.key,
                            kv.value.as_ref().and_then(|v| v.value.as_ref())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => format!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(
        bodies,
        [
            "1",
            "2",
            "3",
            "user=Some(StringValue(\"ann\"))",
            "user=Some(StringValue(\"bob\"))",
            "single"
        ]
    );
    assert!(records.iter().all(
        |record| common::attribute(&record.attributes, "log.file.name")
            == Some(&Value::StringValue("events.log".to_owned()))
    ));
}
