//! The default output, as an analyst meets it: the embedded default config writes Parquet files, one row per
//! span, log record and data point, laid out by signal, date and hour; DuckDB answers questions about what an
//! instrumented application sent in one SQL statement each, with no code of ours, and pyarrow and Polars read the
//! same directories. Files complete by age while the collector runs and read back losslessly, in Parquet and in
//! Arrow IPC.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes, with duckdb, polars and pyarrow),
//! else `python3`.

use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{LogExporter, MetricExporter, SpanExporter, WithExportConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_arrow::AnyRequest;
use otlp_arrow::flat::{FlatIpcReader, FlatParquetReader};
use otlp_collector::{
    Batch, Collector, Config, FileExporterConfig, HealthCheckConfig, OtlpReceiverConfig,
};
use otlp_testkit::Generator;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The embedded default config, moved to free ports and a temporary directory.
fn default_config_in(dir: &Path) -> Config {
    let mut config = Config::embedded_default().unwrap();
    for receiver in config.receivers.values_mut() {
        let Some(otlp) = receiver.get_mut::<OtlpReceiverConfig>() else {
            continue;
        };
        if let Some(grpc) = otlp.protocols.grpc.as_mut() {
            grpc.endpoint = "127.0.0.1:0".into();
        }
        if let Some(http) = otlp.protocols.http.as_mut() {
            http.endpoint = "127.0.0.1:0".into();
        }
    }
    for exporter in config.exporters.values_mut() {
        let Some(file) = exporter.get_mut::<FileExporterConfig>() else {
            continue;
        };
        file.path = dir.join("otlp-data");
    }
    for extension in config.extensions.values_mut() {
        let Some(health) = extension.get_mut::<HealthCheckConfig>() else {
            continue;
        };
        health.endpoint = "127.0.0.1:0".into();
    }
    config.service.telemetry.metrics_address = Some("127.0.0.1:0".into());
    config
}

/// Completed files under `dir` (recursively) ending in `extension`.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn python() -> String {
    std::env::var("OTLP_SUITE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// What the application sent, computed here to check the SQL answers against.
#[derive(Debug, Default)]
struct Sent {
    /// (spans, error spans) per service.
    per_service: BTreeMap<String, (u64, u64)>,
    /// Durations in nanoseconds per operation.
    durations: BTreeMap<String, Vec<i64>>,
    /// Spans with `app.attempt = 2`.
    second_retries: u64,
    logs: u64,
}

const SERVICES: [&str; 3] = ["cart", "checkout", "payment"];
const OPERATIONS: [&str; 4] = ["GET /cart", "POST /checkout", "charge", "SELECT orders"];

/// An instrumented application: three services sending spans (some failed, with known durations), logs and a
/// counter over OTLP/gRPC with the `opentelemetry-otlp` exporters.
fn run_application(endpoint: String) -> Sent {
    let mut sent = Sent::default();
    let base = SystemTime::now();
    for (s, service) in SERVICES.into_iter().enumerate() {
        let resource = Resource::builder().with_service_name(service).build();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_batch_exporter(
                SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(&endpoint)
                    .build()
                    .unwrap(),
            )
            .build();
        let tracer = provider.tracer("shop");
        for i in 0..(200 + 50 * s) {
            let operation = OPERATIONS[(i + s) % OPERATIONS.len()];
            let duration = Duration::from_micros(100 + ((i * 7919 + s * 31) % 5000) as u64);
            let start = base + Duration::from_millis(i as u64);
            let mut span = tracer
                .span_builder(operation)
                .with_start_time(start)
                .start(&tracer);
            span.set_attribute(KeyValue::new("app.attempt", (i % 3) as i64));
            sent.second_retries += u64::from(i % 3 == 2);
            let failed = i % 9 == 0;
            if failed {
                span.set_status(Status::error("declined"));
            }
            span.end_with_timestamp(start + duration);
            let entry = sent.per_service.entry(service.to_owned()).or_default();
            entry.0 += 1;
            entry.1 += u64::from(failed);
            sent.durations
                .entry(operation.to_owned())
                .or_default()
                .push(duration.as_nanos() as i64);
        }
        provider.shutdown().unwrap();

        let loggers = SdkLoggerProvider::builder()
            .with_resource(resource.clone())
            .with_batch_exporter(
                LogExporter::builder()
                    .with_tonic()
                    .with_endpoint(&endpoint)
                    .build()
                    .unwrap(),
            )
            .build();
        let logger = loggers.logger("shop");
        for i in 0..30 {
            let mut record = logger.create_log_record();
            record.set_severity_number(Severity::Warn);
            record.set_body(AnyValue::from(format!("{service} retry {i}")));
            logger.emit(record);
            sent.logs += 1;
        }
        loggers.shutdown().unwrap();

        let meters = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_periodic_exporter(
                MetricExporter::builder()
                    .with_tonic()
                    .with_endpoint(&endpoint)
                    .build()
                    .unwrap(),
            )
            .build();
        let orders = meters.meter("shop").u64_counter("orders").build();
        orders.add(3, &[KeyValue::new("region", "eu")]);
        meters.shutdown().unwrap();
    }
    sent
}

/// DuckDB's `quantile_cont`: linear interpolation between the two closest ranks.
fn quantile_cont(mut values: Vec<i64>, q: f64) -> f64 {
    values.sort_unstable();
    let position = q * (values.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    let fraction = position - low as f64;
    values[low] as f64 + (values[high] - values[low]) as f64 * fraction
}

const ANALYST: &str = r#"
import json, sys
try:
    import duckdb, polars as pl, pyarrow.dataset as ds
except ImportError as e:
    print(f"python packages missing: run `cargo xtask setup` ({e})")
    sys.exit(3)
root = sys.argv[1]
traces = f"read_parquet('{root}/traces/**/*.parquet', hive_partitioning = true)"
per_service = duckdb.sql(f"""
    SELECT service_name, count(*) AS spans, count(*) FILTER (WHERE status_code = 2) AS errors
    FROM {traces} GROUP BY service_name ORDER BY service_name""").fetchall()
p99 = duckdb.sql(f"""
    SELECT name, quantile_cont(duration_ns, 0.99) AS p99
    FROM {traces} GROUP BY name ORDER BY name""").fetchall()
by_attribute = duckdb.sql(f"""
    SELECT count(*) FROM {traces} WHERE attributes['app.attempt'].int = 2""").fetchall()[0][0]
partitions = duckdb.sql(f"SELECT DISTINCT date, hour FROM {traces}").fetchall()
counts = {}
for signal in ["traces", "logs", "metrics"]:
    glob = f"{root}/{signal}/**/*.parquet"
    counts[signal] = {
        "duckdb": duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()[0][0],
        "polars": pl.scan_parquet(glob, hive_partitioning=True).select(pl.len()).collect().item(),
        "pyarrow": ds.dataset(f"{root}/{signal}", format="parquet", partitioning="hive").count_rows(),
    }
print(json.dumps({
    "per_service": per_service,
    "p99": p99,
    "by_attribute": by_attribute,
    "partitions": [[str(d), h] for d, h in partitions],
    "counts": counts,
}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_answers_questions_about_what_the_default_config_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::new(default_config_in(dir.path()))
        .start()
        .await
        .unwrap();
    let endpoint = format!("http://{}", collector.grpc_addr("otlp").unwrap());
    let sent = tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    let report = collector.shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");

    let root = dir.path().join("otlp-data");
    assert!(
        files(&root, "partial").is_empty(),
        "every file is completed at shutdown"
    );
    let output = Command::new(python())
        .arg("-c")
        .arg(ANALYST)
        .arg(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    let per_service: Vec<(String, u64, u64)> = sent
        .per_service
        .iter()
        .map(|(service, (spans, errors))| (service.clone(), *spans, *errors))
        .collect();
    assert_eq!(answer["per_service"], serde_json::json!(per_service));
    for (row, (operation, durations)) in answer["p99"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&sent.durations)
    {
        assert_eq!(row[0], operation.as_str());
        let expected = quantile_cont(durations.clone(), 0.99);
        let got = row[1].as_f64().unwrap();
        assert!(
            (got - expected).abs() < 1e-6 * expected,
            "{operation}: DuckDB says {got}, sent {expected}"
        );
    }
    let spans: u64 = sent.per_service.values().map(|(s, _)| s).sum();
    assert_eq!(
        answer["by_attribute"], sent.second_retries,
        "attribute filter by key"
    );
    assert_eq!(
        answer["partitions"].as_array().unwrap().len(),
        1,
        "one date and hour"
    );
    for (signal, expected) in [
        ("traces", Some(spans)),
        ("logs", Some(sent.logs)),
        ("metrics", None),
    ] {
        let counts = &answer["counts"][signal];
        let duckdb = counts["duckdb"].as_u64().unwrap();
        assert_eq!(
            counts["polars"], duckdb,
            "{signal}: Polars reads what DuckDB reads"
        );
        assert_eq!(
            counts["pyarrow"], duckdb,
            "{signal}: pyarrow reads what DuckDB reads"
        );
        match expected {
            Some(expected) => assert_eq!(duckdb, expected, "{signal}: one row per item sent"),
            None => assert!(duckdb >= 3, "{signal}: every service's counter"),
        }
    }
}

/// Every span of `requests` as (trace id, span id, name, attributes debug text).
fn span_set<'a>(
    requests: impl IntoIterator<Item = &'a otlp_model::ExportTraceServiceRequest>,
) -> BTreeSet<(Vec<u8>, Vec<u8>, String, String)> {
    requests
        .into_iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| {
            (
                s.trace_id.clone(),
                s.span_id.clone(),
                s.name.clone(),
                format!("{:?}", s.attributes),
            )
        })
        .collect()
}

async fn completes_by_age_and_reads_back(format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_yaml(&format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  file: {{ path: "{}/data", format: {format}, rotation: {{ max_age: 100ms }} }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        dir.path().display()
    ))
    .unwrap();
    let collector = Collector::new(config).start().await.unwrap();
    let mut generator = Generator::new(5);
    // One request decoded in process, the others through a real gRPC client (read in place from their bytes).
    let mut sent = vec![generator.traces(100)];
    collector.submit(Batch::new(sent[0].clone())).await.unwrap();
    let mut client =
        TraceServiceClient::connect(format!("http://{}", collector.grpc_addr("otlp").unwrap()))
            .await
            .unwrap();
    for size in [1, 700, 50] {
        let request = generator.traces(size);
        client.export(request.clone()).await.unwrap();
        sent.push(request);
    }
    // The age rotation completes the file while the collector keeps running (bounded wait).
    let extension = if format == "arrow" {
        "arrow"
    } else {
        "parquet"
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while files(dir.path(), extension).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no file completed by age"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());

    let mut read = Vec::new();
    for file in files(dir.path(), extension) {
        let back = if extension == "parquet" {
            FlatParquetReader::read_all(std::fs::File::open(&file).unwrap()).unwrap()
        } else {
            FlatIpcReader::read_all(std::fs::File::open(&file).unwrap()).unwrap()
        };
        let AnyRequest::Traces(back) = back else {
            panic!("not traces: {}", file.display())
        };
        read.push(back);
    }
    assert_eq!(
        span_set(&read),
        span_set(&sent),
        "{format}: every span back, with its attributes"
    );
    let rows: usize = read.iter().map(otlp_testkit::span_count).sum();
    assert_eq!(
        rows,
        sent.iter().map(otlp_testkit::span_count).sum::<usize>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_files_complete_by_age_and_read_back_losslessly() {
    completes_by_age_and_reads_back("parquet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_files_complete_by_age_and_read_back_losslessly() {
    completes_by_age_and_reads_back("arrow").await;
}
