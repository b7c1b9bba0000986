//! The `splunk_hec` receiver taking what is sent to Splunk's HTTP Event Collector: Splunk's Python logging handler
//! (`splunk_handler`, batching events into one request), and HEC's documented requests over reqwest (metric
//! events, raw text, mixed requests); answers and error codes as Splunk gives them, and nothing of a refused request
//! taken.

mod common;

use common::{
    TestCollector, attribute, config_problems, free_port, log_records, named_numbers, python,
    read_logs, read_metrics, wait_for_log_records,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use serde_json::json;
use std::process::Command;

const TOKEN: &str = "8f0c2d7e-4b1a-4f0e-9c3d-2a6b5e1f7c90";

/// Splunk's logging handler, batching: the three records go in one request when the handler closes.
const SEND: &str = r#"
import logging, sys
from splunk_handler import SplunkHandler

handler = SplunkHandler(
    host="127.0.0.1", port=int(sys.argv[1]), protocol="http", verify=False, token=sys.argv[2],
    index="main", hostname="web-1", source="checkout", sourcetype="_json",
    flush_interval=30, allow_overrides=True, retry_count=0,
)
log = logging.getLogger("shop")
log.propagate = False
log.addHandler(handler)
log.setLevel(logging.INFO)
log.info("order placed id=%d", 17)
log.warning("payment slow", extra={"_index": "audit"})
log.error('unicode \u2713 "quoted"\nsecond line')
handler.close()
"#;

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splunks_logging_handler_sends_records_with_their_metadata() {
    let port = free_port();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  splunk_hec:
    endpoint: "127.0.0.1:{port}"
    access_token_passthrough: true
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [splunk_hec], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(["-c", SEND, &port.to_string(), TOKEN])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()))
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && !printed.contains("Exception"),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let requests = wait_for_log_records(&collector.path("logs.jsonl"), 3).await;

    // One request of three events, two indexes: two resources, each with the event's metadata and the token.
    let resources: Vec<_> = requests.iter().flat_map(|r| &r.resource_logs).collect();
    assert_eq!(resources.len(), 2);
    let mut bodies = Vec::new();
    for resource in &resources {
        let attributes = &resource.resource.as_ref().unwrap().attributes;
        assert_eq!(text(attribute(attributes, "host.name")), "web-1");
        assert_eq!(text(attribute(attributes, "com.splunk.source")), "checkout");
        assert_eq!(
            text(attribute(attributes, "com.splunk.sourcetype")),
            "_json"
        );
        assert_eq!(
            text(attribute(attributes, "com.splunk.hec.access_token")),
            TOKEN
        );
        let index = text(attribute(attributes, "com.splunk.index"));
        for record in &resource.scope_logs[0].log_records {
            // The handler stamps each event with time.time(): seconds with their fraction, kept to the microsecond.
            assert!(
                record.time_unix_nano >= before / 1000 * 1000
                    && record.time_unix_nano <= record.observed_time_unix_nano,
                "{record:?}"
            );
            let body = record.body.as_ref().and_then(|b| b.value.as_ref());
            bodies.push((index.clone(), text(body)));
        }
    }
    bodies.sort();
    assert_eq!(
        bodies,
        [
            ("audit".to_owned(), "payment slow".to_owned()),
            ("main".to_owned(), "order placed id=17".to_owned()),
            (
                "main".to_owned(),
                "unicode \u{2713} \"quoted\"\nsecond line".to_owned()
            ),
        ]
    );
    collector.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hec_requests_are_answered_as_splunk_answers_them() {
    let (port, logs_only) = (free_port(), free_port());
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  splunk_hec:
    endpoint: "127.0.0.1:{port}"
    hec_metadata_to_otel_attrs: {{ index: splunk.index }}
  splunk_hec/logs_only:
    endpoint: "127.0.0.1:{logs_only}"
exporters:
  file/logs: {{ path: "{{dir}}/logs.jsonl", format: json }}
  file/metrics: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [splunk_hec, splunk_hec/logs_only], exporters: [file/logs] }}
    metrics: {{ receivers: [splunk_hec], exporters: [file/metrics] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let post = |path: &str, body: String| {
        client
            .post(format!("{base}{path}"))
            .header("Authorization", format!("Splunk {TOKEN}"))
            .body(body)
            .send()
    };
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().await.unwrap())
    };

    let health = client
        .get(format!("{base}/services/collector/health/1.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer(health).await,
        (200, json!({"text": "HEC is healthy", "code": 17}))
    );

    // Splunk's multi-metric example, a second with the single-metric layout, and a log event, in one request.
    let mixed = [
        json!({"time": 1765130000.5, "host": "db-1", "source": "collectd", "event": "metric",
               "fields": {"region": "eu", "cores": 8, "metric_name:cpu.idle": 97.5, "metric_name:cpu.user": "2.5"}}),
        json!({"time": 1765130001, "host": "db-1", "source": "collectd", "event": "metric",
               "fields": {"metric_name": "mem.used", "_value": 512}}),
        json!({"time": "1765130002.25", "host": "db-1", "index": "ops", "event": {"msg": "vacuum done", "ms": 41},
               "fields": {"table": "orders", "tags": ["nightly", "maint"]}}),
    ]
    .iter()
    .map(|event| event.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let taken = post("/services/collector/event/1.0", mixed).await.unwrap();
    assert_eq!(
        answer(taken).await,
        (200, json!({"text": "Success", "code": 0}))
    );

    // Raw text, gzip-compressed, its metadata in the query: a record per line.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gzip, b"first line\r\nsecond line\n").unwrap();
    let raw = client
        .post(format!(
            "{base}/services/collector/raw?host=fw-2&sourcetype=syslog&channel=x"
        ))
        .header("Content-Encoding", "gzip")
        .body(gzip.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);

    // Refusals: HEC's code and text, the event at fault, and nothing of the request taken.
    for (body, code, text, event) in [
        ("", 5, "No data", None),
        (
            r#"{"event": "ok"} {"host": "h"}"#,
            12,
            "Event field is required",
            Some(1),
        ),
        (
            r#"{"event": ""}"#,
            13,
            "Event field cannot be blank",
            Some(0),
        ),
        (
            r#"{"event": "ok"}{"event": "x", "fields": {"user": {"id": 1}}}"#,
            15,
            "Error in handling indexed fields",
            Some(1),
        ),
        (
            r#"{"event": "ok"}{"event": "#,
            6,
            "Invalid data format",
            Some(1),
        ),
        (
            r#"{"event": "ok"}{"event": "metric", "fields": {"metric_name:load": "high"}}"#,
            6,
            "Invalid data format",
            Some(1),
        ),
    ] {
        let (status, answer) =
            answer(post("/services/collector", body.to_owned()).await.unwrap()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(
            (answer["code"].as_u64(), answer["text"].as_str()),
            (Some(code), Some(text)),
            "{body}"
        );
        assert_eq!(
            answer["invalid-event-number"].as_u64(),
            event.map(|e| e as u64),
            "{body}"
        );
        assert!(
            answer["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{answer}"
        );
    }
    let (status, refused) = answer(
        client
            .get(format!("{base}/services/collector"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, refused["text"].as_str()),
        (400, Some("Only \"POST\" method is supported"))
    );
    let (status, refused) = answer(
        client
            .post(format!("http://127.0.0.1:{logs_only}/services/collector"))
            .body(r#"{"event": "metric", "fields": {"metric_name:x": 1}}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, refused["text"].as_str()),
        (400, Some("Unsupported metric event"))
    );

    let logs = wait_for_log_records(&collector.path("logs.jsonl"), 3).await;
    let metrics_path = collector.path("metrics.jsonl");
    common::wait_for_metrics(&metrics_path, |requests| {
        !named_numbers(requests, "mem.used").is_empty()
    })
    .await;
    let dir = collector.shut_down_cleanly().await;
    let records = log_records(&read_logs(&dir.path().join("logs.jsonl"), true))
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    // The log event and the two raw lines; none of the refused requests' "ok" events.
    assert_eq!(records.len(), 3, "{records:?}");
    let event = &records[0];
    assert_eq!(event.time_unix_nano, 1_765_130_002_250_000_000);
    let Some(Value::KvlistValue(body)) = event.body.as_ref().and_then(|b| b.value.as_ref()) else {
        panic!("{event:?}")
    };
    assert_eq!(text(attribute(&body.values, "msg")), "vacuum done");
    assert_eq!(
        attribute(&body.values, "ms"),
        Some(&Value::DoubleValue(41.0))
    );
    assert_eq!(text(attribute(&event.attributes, "table")), "orders");
    assert!(
        matches!(attribute(&event.attributes, "tags"), Some(Value::ArrayValue(tags)) if tags.values.len() == 2)
    );
    let raw_lines: Vec<String> = records[1..]
        .iter()
        .map(|r| text(r.body.as_ref().and_then(|b| b.value.as_ref())))
        .collect();
    assert_eq!(raw_lines, ["first line", "second line"]);
    let resources: Vec<_> = logs
        .iter()
        .flat_map(|r| &r.resource_logs)
        .map(|rl| rl.resource.clone().unwrap_or_default().attributes)
        .collect();
    assert_eq!(text(attribute(&resources[0], "splunk.index")), "ops");
    assert_eq!(
        text(attribute(resources.last().unwrap(), "host.name")),
        "fw-2"
    );
    assert_eq!(
        text(attribute(
            resources.last().unwrap(),
            "com.splunk.sourcetype"
        )),
        "syslog"
    );

    let metrics = read_metrics(&dir.path().join("metrics.jsonl"), true);
    assert_eq!(
        named_numbers(&metrics, "cpu.idle"),
        [("cores=8,region=eu".to_owned(), 97.5)]
    );
    assert_eq!(
        named_numbers(&metrics, "cpu.user"),
        [("cores=8,region=eu".to_owned(), 2.5)]
    );
    assert_eq!(
        named_numbers(&metrics, "mem.used"),
        [(String::new(), 512.0)]
    );
    let resource = &metrics[0].resource_metrics[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(text(attribute(resource, "com.splunk.source")), "collectd");
}

#[test]
fn indexer_acknowledgement_is_refused_with_the_reason() {
    let problems = config_problems(
        r#"
receivers:
  splunk_hec:
    ack: { extension: ack }
    hec_metadata_to_otel_attrs: { host: "" }
exporters:
  debug:
service:
  pipelines:
    logs: { receivers: [splunk_hec], exporters: [debug] }
"#,
    );
    let keys: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        keys,
        [
            "receivers.splunk_hec.hec_metadata_to_otel_attrs.host",
            "receivers.splunk_hec.ack"
        ],
        "{problems:?}"
    );
    assert!(problems[1].1.contains("not supported"), "{problems:?}");
}
