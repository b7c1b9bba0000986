//! The `webhookevent` receiver taking webhooks from real HTTP clients (`curl`, gzip-compressed, and reqwest): a
//! body a record or split by line or JSON value, query parameters on the resource, chosen headers on the records,
//! the required header's secret checked and never copied, and the answers otelcol gives.

mod common;

use common::{TestCollector, free_port, log_records, wait_for_log_records};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::process::Command;

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::ArrayValue(list)) => list
            .values
            .iter()
            .map(|v| text(Some(v)))
            .collect::<Vec<_>>()
            .join("|"),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_become_records_with_their_query_and_headers() {
    let (port, lines_port) = (free_port(), free_port());
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  webhookevent:
    endpoint: "127.0.0.1:{port}"
    path: /github
    required_header: {{ key: X-Webhook-Secret, value: s3cret }}
    header_attribute_regex: "X-Github-.*"
    split_logs_at_json_boundary: true
  webhookevent/lines:
    endpoint: "127.0.0.1:{lines_port}"
    split_logs_at_newline: true
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
  file/lines: {{ path: "{{dir}}/lines.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [webhookevent], exporters: [file] }}
    logs/lines: {{ receivers: [webhookevent/lines], exporters: [file/lines] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/github?repo=otlp-suite&empty=");

    let refused = client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.json::<serde_json::Value>().await.unwrap(),
        "request was missing required header or incorrect header value"
    );
    let empty = client
        .post(&url)
        .header("X-Webhook-Secret", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);
    let health = client
        .get(format!("http://127.0.0.1:{port}/health_check"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // Two JSON values, one across lines, compressed by curl's --compressed-less way: a gzip body.
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("event.json.gz");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut gzip,
        b"{\"action\": \"opened\",\n \"number\": 7}{\"action\": \"closed\", \"number\": 8}",
    )
    .unwrap();
    std::fs::write(&body, gzip.finish().unwrap()).unwrap();
    let sent = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-binary",
        ])
        .arg(format!("@{}", body.display()))
        .args([
            "-H",
            "Content-Encoding: gzip",
            "-H",
            "Content-Type: application/json",
            "-H",
            "X-Webhook-Secret: s3cret",
            "-H",
            "X-GitHub-Event: pull_request",
            "-H",
            "X-GitHub-Delivery: 72d3162e",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sent.stdout), "200", "{sent:?}");

    let lines = client
        .post(format!("http://127.0.0.1:{lines_port}/events"))
        .body("first line\r\nsecond line\n")
        .send()
        .await
        .unwrap();
    assert_eq!(lines.status(), 200);

    let requests = wait_for_log_records(&collector.path("logs.jsonl"), 2).await;
    let records = log_records(&requests);
    let bodies: Vec<String> = records.iter().map(|r| text(r.body.as_ref())).collect();
    assert_eq!(
        bodies,
        [
            "{\"action\": \"opened\",\n \"number\": 7}",
            "{\"action\": \"closed\", \"number\": 8}"
        ]
    );
    let mut attributes: Vec<(String, String)> = records[0]
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect();
    attributes.sort();
    assert_eq!(
        attributes,
        [
            ("header.X-Github-Delivery".to_owned(), "72d3162e".to_owned()),
            (
                "header.X-Github-Event".to_owned(),
                "pull_request".to_owned()
            )
        ],
        "the secret is no attribute"
    );
    assert!(records[0].observed_time_unix_nano > 0);
    let resource = &requests[0].resource_logs[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(
        resource.len(),
        1,
        "an empty parameter is left out: {resource:?}"
    );
    assert_eq!(
        (
            resource[0].key.as_str(),
            text(resource[0].value.as_ref()).as_str()
        ),
        ("repo", "otlp-suite")
    );
    let scope = requests[0].resource_logs[0].scope_logs[0]
        .scope
        .as_ref()
        .unwrap();
    assert!(scope.name.ends_with("receiver/webhookeventreceiver"));
    assert_eq!(text(scope.attributes[0].value.as_ref()), "webhookevent");

    let lines = wait_for_log_records(&collector.path("lines.jsonl"), 2).await;
    let bodies: Vec<String> = log_records(&lines)
        .iter()
        .map(|r| text(r.body.as_ref()))
        .collect();
    assert_eq!(bodies, ["first line", "second line"]);
    collector.shut_down_cleanly().await;
}
