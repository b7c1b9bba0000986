//! An OTLP/JSON recording of real SDK telemetry: an instrumented application sending spans, a counter and log
//! records through the `opentelemetry-otlp` exporters to a collector whose `file` exporters write each signal as
//! OTLP/JSON lines; what the tests that read such files back start from.

use super::{grpc_tracer_provider, meter_provider, read_traces};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{LogExporter, WithExportConfig as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::Temporality;
use std::path::Path;
use std::time::Duration;

/// Spans and log records [`run_application`] sends.
pub const SPANS: usize = 120;
pub const LOG_RECORDS: usize = 30;

/// A collector writing what the SDK sends, one OTLP/JSON request per line, per signal.
pub const WRITER: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
exporters:
  file/traces: { path: "{dir}/traces.jsonl", format: json }
  file/metrics: { path: "{dir}/metrics.jsonl", format: json }
  file/logs: { path: "{dir}/logs.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file/traces] }
    metrics: { receivers: [otlp], exporters: [file/metrics] }
    logs: { receivers: [otlp], exporters: [file/logs] }
  telemetry:
    metrics: { level: none }
"#;

/// Runs an instrumented application against `endpoint`: spans, a counter and log records.
pub fn run_application(endpoint: String) {
    let resource = Resource::builder().with_service_name("checkout").build();
    let tracer_provider = grpc_tracer_provider(endpoint.clone(), resource.clone());
    let tracer = tracer_provider.tracer("shop");
    for i in 0..SPANS {
        tracer.in_span(format!("GET /cart/{}", i % 5), |_| {});
    }
    tracer_provider.shutdown().unwrap();
    let meters = meter_provider(&endpoint, "checkout", Temporality::Cumulative);
    let orders = meters.meter("shop").u64_counter("orders").build();
    for i in 0..10 {
        orders.add(i, &[opentelemetry::KeyValue::new("region", "eu")]);
    }
    meters.shutdown().unwrap();
    let logs = SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(
            LogExporter::builder()
                .with_tonic()
                .with_endpoint(&endpoint)
                .build()
                .unwrap(),
        )
        .build();
    let logger = logs.logger("shop");
    for i in 0..LOG_RECORDS {
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_body(AnyValue::from(format!("payment retry {i}")));
        logger.emit(record);
    }
    logs.shutdown().unwrap();
}

/// Waits (at most a minute) until `done` holds for the traces written to `path`.
pub async fn wait_for_traces(path: &Path, done: impl Fn(&[ExportTraceServiceRequest]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if path.exists() && done(&read_traces(path, true)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
