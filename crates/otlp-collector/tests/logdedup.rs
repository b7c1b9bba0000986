//! The `logdedup` processor on logs the real `opentelemetry-otlp` exporter sends: a warning repeated fifty times
//! comes out once with its count, the records no condition selects come out as they were sent.

mod common;

use common::{TestCollector, read_logs};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_otlp::{LogExporter, WithExportConfig as _};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  log_dedup:
    interval: 1h
    conditions: ['log.severity_number >= SEVERITY_NUMBER_WARN']
    exclude_fields: [attributes.attempt]
    timezone: Europe/Paris
exporters:
  file: { path: "{dir}/logs.jsonl", format: json }
service:
  pipelines:
    logs: { receivers: [otlp], processors: [log_dedup], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

fn run_application(endpoint: String) {
    let provider = SdkLoggerProvider::builder()
        .with_resource(Resource::builder().with_service_name("payments").build())
        .with_batch_exporter(
            LogExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .unwrap(),
        )
        .build();
    let logger = provider.logger("payments");
    for attempt in 0..50 {
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_body(AnyValue::from("card processor timed out"));
        record.add_attribute("attempt", attempt);
        logger.emit(record);
        if attempt % 10 == 0 {
            let mut record = logger.create_log_record();
            record.set_severity_number(Severity::Info);
            record.set_body(AnyValue::from(format!("order {attempt} paid")));
            logger.emit(record);
        }
    }
    provider.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_warning_comes_out_once_with_its_count() {
    let collector = TestCollector::start(CONFIG).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    let telemetry = collector.collector.telemetry().clone();
    // Shutting down sends on what was gathered, an hour early.
    let dir = collector.shut_down_cleanly().await;
    let requests = read_logs(&dir.path().join("logs.jsonl"), true);
    let records: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .collect();
    let body = |record: &opentelemetry_proto::tonic::logs::v1::LogRecord| match record
        .body
        .as_ref()
        .and_then(|b| b.value.as_ref())
    {
        Some(Value::StringValue(text)) => text.clone(),
        _ => String::new(),
    };
    let attribute = |record: &opentelemetry_proto::tonic::logs::v1::LogRecord, key: &str| {
        record
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone()?.value)
    };
    let paid: Vec<String> = records
        .iter()
        .filter(|r| r.severity_number == Severity::Info as i32)
        .map(|r| body(r))
        .collect();
    assert_eq!(
        paid,
        [
            "order 0 paid",
            "order 10 paid",
            "order 20 paid",
            "order 30 paid",
            "order 40 paid"
        ]
    );
    let warnings: Vec<_> = records
        .iter()
        .filter(|r| r.severity_number == Severity::Warn as i32)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0];
    assert_eq!(body(warning), "card processor timed out");
    assert_eq!(attribute(warning, "log_count"), Some(Value::IntValue(50)));
    assert_eq!(attribute(warning, "attempt"), None);
    let Some(Value::StringValue(first)) = attribute(warning, "first_observed_timestamp") else {
        panic!("{warning:?}");
    };
    // Paris is an hour or two ahead of UTC.
    assert!(
        first.ends_with("+01:00") || first.ends_with("+02:00"),
        "{first}"
    );
    let resource = requests
        .iter()
        .flat_map(|r| &r.resource_logs)
        .find(|rl| {
            rl.scope_logs.iter().any(|sl| {
                sl.log_records
                    .iter()
                    .any(|r| r.severity_number == Severity::Warn as i32)
            })
        })
        .and_then(|rl| rl.resource.as_ref())
        .unwrap();
    assert!(resource.attributes.iter().any(|kv| kv.key == "service.name"
        && kv.value.as_ref().and_then(|v| v.value.clone())
            == Some(Value::StringValue("payments".into()))));
    assert_eq!(telemetry.total("otelcol_receiver_accepted_log_records"), 55);
    assert_eq!(
        telemetry.total_with_label(
            "otelcol_processor_dropped_log_records",
            "reason",
            "deduplicated"
        ),
        49
    );
    assert_eq!(telemetry.total("otelcol_exporter_sent_log_records"), 6);
}
