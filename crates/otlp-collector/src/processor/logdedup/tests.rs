use super::*;
use crate::processor::capture::{Capture, with_context};
use crate::telemetry::Telemetry;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn build(yaml: &str, telemetry: &Telemetry) -> (Arc<dyn Consumer>, Arc<Capture>) {
    let config: LogDedupConfig = serde_norway::from_str(yaml).unwrap();
    config.validate().unwrap();
    let capture = Arc::new(Capture::default());
    let next: Arc<dyn Consumer> = capture.clone();
    let stage = with_context("logdedup", Signal::Logs, telemetry, |context| {
        Factory.build(&config, context, next).unwrap()
    });
    (stage, capture)
}

/// A record of `body` with severity `severity` (9 INFO, 13 WARN) and attribute `request.id`.
fn record(body: &str, severity: i32, request_id: &str) -> LogRecord {
    LogRecord {
        body: Some(otlp_ottl::string_value(body)),
        severity_number: severity,
        attributes: vec![otlp_ottl::key_value(
            "request.id",
            otlp_ottl::string_value(request_id),
        )],
        ..LogRecord::default()
    }
}

fn batch(records: Vec<LogRecord>) -> Batch {
    Batch::new(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![otlp_ottl::key_value(
                    "service.name",
                    otlp_ottl::string_value("checkout"),
                )],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "app".into(),
                    ..InstrumentationScope::default()
                }),
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

/// Every record the next stage was given, as (body, log_count if any).
fn sent(capture: &Capture) -> Vec<(String, Option<i64>)> {
    capture
        .batches
        .lock()
        .iter()
        .flat_map(|batch| {
            let Some(request) = batch.get::<ExportLogsServiceRequest>() else {
                return Vec::new();
            };
            request
                .resource_logs
                .iter()
                .flat_map(|rl| &rl.scope_logs)
                .flat_map(|sl| &sl.log_records)
                .map(|record| {
                    let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                        Some(any_value::Value::StringValue(text)) => text.clone(),
                        _ => String::new(),
                    };
                    let count = record
                        .attributes
                        .iter()
                        .find(|kv| kv.key == "log_count")
                        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            any_value::Value::IntValue(n) => Some(*n),
                            _ => None,
                        });
                    (body, count)
                })
                .collect()
        })
        .collect()
}

fn deduplicated(telemetry: &Telemetry) -> Option<u64> {
    telemetry.value(
        "otelcol_processor_dropped_log_records",
        &[("processor", "logdedup"), ("reason", "deduplicated")],
    )
}

#[tokio::test(start_paused = true)]
async fn identical_records_are_sent_on_as_one_when_the_interval_ends() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("interval: 10s", &telemetry);
    let records = vec![
        record("timeout", 13, "a"),
        record("refused", 13, "a"),
        record("timeout", 13, "a"),
        record("timeout", 13, "a"),
    ];
    stage.consume(batch(records.clone())).await.unwrap();
    stage.consume(batch(records[..2].to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(sent(&capture).is_empty());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sent(&capture),
        [("timeout".into(), Some(4)), ("refused".into(), Some(2))]
    );
    assert_eq!(deduplicated(&telemetry), Some(4));
    // The next interval starts empty.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(sent(&capture).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn records_no_condition_holds_for_pass_on_at_once() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build(
        "conditions: ['severity_number >= SEVERITY_NUMBER_WARN']",
        &telemetry,
    );
    let records = vec![
        record("started", 9, "a"),
        record("disk full", 13, "a"),
        record("started", 9, "a"),
        record("disk full", 13, "a"),
    ];
    stage.consume(batch(records)).await.unwrap();
    assert_eq!(
        sent(&capture),
        [("started".into(), None), ("started".into(), None)]
    );
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(sent(&capture)[2..], [("disk full".into(), Some(2))]);
}

#[tokio::test(start_paused = true)]
async fn a_full_next_stage_gets_the_whole_batch_back_and_nothing_is_gathered() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("conditions: ['severity_number >= 13']", &telemetry);
    capture.full_for.store(1, Ordering::Relaxed);
    let whole = batch(vec![
        record("started", 9, "a"),
        record("disk full", 13, "a"),
    ]);
    let refused = stage.consume(whole.clone()).await.unwrap_err();
    assert_eq!(refused.batch.map(|b| b.item_count()), Some(2));
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert!(sent(&capture).is_empty());
    // Offered again, it is taken once.
    stage.consume(whole).await.unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        sent(&capture),
        [("started".into(), None), ("disk full".into(), Some(1))]
    );
}

#[tokio::test(start_paused = true)]
async fn excluded_fields_do_not_tell_records_apart_and_are_not_sent_on() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build(r"exclude_fields: ['attributes.request\.id']", &telemetry);
    let records = vec![record("timeout", 13, "a"), record("timeout", 13, "b")];
    stage.consume(batch(records)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(sent(&capture), [("timeout".into(), Some(2))]);
    let batches = capture.batches.lock();
    let request = batches[0].get::<ExportLogsServiceRequest>().unwrap();
    let attributes = &request.resource_logs[0].scope_logs[0].log_records[0].attributes;
    let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "log_count",
            "first_observed_timestamp",
            "last_observed_timestamp"
        ]
    );
}

#[tokio::test]
async fn shutting_down_sends_what_was_gathered() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("interval: 1h", &telemetry);
    stage
        .consume(batch(vec![
            record("timeout", 13, "a"),
            record("timeout", 13, "a"),
        ]))
        .await
        .unwrap();
    stage
        .shutdown(Instant::now() + Duration::from_secs(5))
        .await;
    assert_eq!(sent(&capture), [("timeout".into(), Some(2))]);
    let refused = stage.consume(batch(vec![record("late", 13, "a")])).await;
    assert!(refused.unwrap_err().batch.is_some());
}

#[tokio::test]
async fn records_that_never_repeat_are_sent_on_before_they_fill_the_memory() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("interval: 1h", &telemetry);
    let records: Vec<LogRecord> = (0..MOST_DISTINCT)
        .map(|i| record(&format!("order {i} failed"), 17, "a"))
        .collect();
    stage.consume(batch(records)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sent(&capture).len() < MOST_DISTINCT && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sent(&capture).len(), MOST_DISTINCT);
}

#[test]
fn observed_times_are_written_as_go_writes_rfc_3339() {
    let nanos = 1_700_000_000_123_456_789;
    assert_eq!(observed(nanos, &TimeZone::UTC), "2023-11-14T22:13:20Z");
    let new_york = crate::clock::zone("America/New_York").unwrap();
    assert_eq!(observed(nanos, &new_york), "2023-11-14T17:13:20-05:00");
}

#[test]
fn config_mistakes_are_named() {
    let problems = |yaml: &str| -> Vec<String> {
        let config: LogDedupConfig = serde_norway::from_str(yaml).unwrap();
        match config.validate() {
            Ok(()) => Vec::new(),
            Err(invalid) => invalid.lines(),
        }
    };
    assert!(problems("{}").is_empty());
    let found = problems(
        "{ interval: 0s, timezone: Mars/Olympus, include_fields: [body.a], exclude_fields: [body, resource.x], \
         conditions: ['attributes[\"a\"] ==='] }",
    );
    let keys: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "interval",
            "timezone",
            "include_fields",
            "exclude_fields[0]",
            "exclude_fields[1]",
            "conditions[0]"
        ],
        "{found:?}"
    );
    assert!(found[3].contains("not the whole body"), "{found:?}");
    let metadata = serde_norway::from_str::<LogDedupConfig>("metadata_keys: [x-scope-orgid]");
    assert!(
        metadata
            .unwrap_err()
            .to_string()
            .contains("request metadata"),
        "partitioning by client metadata is refused with its reason"
    );
}
