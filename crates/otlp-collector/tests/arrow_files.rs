//! The default output: Arrow IPC files, completed atomically, that pyarrow reads without any code of ours and in
//! which it finds exactly the spans that were sent.
//!
//! pyarrow comes from the interpreter in `$OTLP_SUITE_PYTHON` (set by `cargo xtask test`), else `python3`.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_arrow::{AnyRequest, ArrowIpcReader, IpcFormat};
use otlp_collector::{Batch, Collector, Config};
use otlp_collector::{FileExporterConfig, HealthCheckConfig, OtlpReceiverConfig};
use otlp_testkit::Generator;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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
        let name = file.path.file_name().unwrap().to_owned();
        file.path = dir.join(name);
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

fn arrow_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".arrow")
        })
        .collect();
    files.sort();
    files
}

const PYARROW_SPANS: &str = r#"
import sys
try:
    import pyarrow as pa
    import pyarrow.ipc as ipc
except ImportError as e:
    print(f"pyarrow missing: run `cargo xtask setup` ({e})")
    sys.exit(3)
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        table = ipc.open_file(f).read_all()
    for chunk in table.column("spans").chunks:
        spans = chunk.flatten()
        for trace_id, span_id, name in zip(spans.field("trace_id").to_pylist(), spans.field("span_id").to_pylist(), spans.field("name").to_pylist()):
            print(trace_id.hex(), span_id.hex(), name.encode().hex())
"#;

fn python() -> String {
    std::env::var("OTLP_SUITE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyarrow_reads_exactly_the_spans_sent_to_the_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::new(default_config_in(dir.path()))
        .start()
        .await
        .unwrap();
    let mut client =
        TraceServiceClient::connect(format!("http://{}", collector.grpc_addr("otlp").unwrap()))
            .await
            .unwrap();
    let mut generator = Generator::new(77);
    let mut sent = BTreeSet::new();
    for size in [1, 50, 3000, 700] {
        let request = generator.traces(size);
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            sent.insert(format!(
                "{} {} {}",
                hex(&span.trace_id),
                hex(&span.span_id),
                hex(span.name.as_bytes())
            ));
        }
        client.export(request).await.unwrap();
    }
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());

    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "every file is completed at shutdown: {leftovers:?}"
    );
    let files = arrow_files(dir.path(), "traces");
    assert!(!files.is_empty());

    let output = Command::new(python())
        .arg("-c")
        .arg(PYARROW_SPANS)
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert_eq!(read.len(), sent.len(), "pyarrow read every span once");
    assert_eq!(read.into_iter().collect::<BTreeSet<_>>(), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_complete_by_age_while_running_and_rotate_when_dictionaries_fill() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_yaml(&format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  file: {{ path: "{}/traces.arrow", format: arrow, rotation: {{ max_age: 100ms }} }}
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
    let first = generator.traces(100);
    collector.submit(Batch::new(first.clone())).await.unwrap();
    // Bounded wait for the age rotation to complete the first file while the collector keeps running.
    for _ in 0..100 {
        if !arrow_files(dir.path(), "traces").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let completed = arrow_files(dir.path(), "traces");
    assert_eq!(
        completed.len(),
        1,
        "the aged file was completed while running"
    );
    let mut reader =
        ArrowIpcReader::new(std::fs::File::open(&completed[0]).unwrap(), IpcFormat::File).unwrap();
    let Some(AnyRequest::Traces(back)) = reader.next_request().unwrap() else {
        panic!("no traces")
    };
    assert_eq!(back, first);

    // 70,000 distinct values of one attribute cannot share one file's 16-bit dictionary: the exporter completes
    // the file and goes on in a new one instead of failing.
    let mut high_cardinality = generator.traces(7000);
    let mut unique = 0u32;
    for span in high_cardinality
        .resource_spans
        .iter_mut()
        .flat_map(|r| &mut r.scope_spans)
        .flat_map(|s| &mut s.spans)
    {
        for _ in 0..10 {
            unique += 1;
            span.attributes
                .push(opentelemetry_proto::tonic::common::v1::KeyValue {
                    key: "app.request.id".into(),
                    value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                        value: Some(
                            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                                format!("req-{unique}"),
                            ),
                        ),
                    }),
                    ..Default::default()
                });
        }
    }
    let mut remaining = Batch::new(high_cardinality);
    let mut expected = 100;
    while !remaining.is_empty() {
        let part = remaining.split_front(1000);
        expected += part.item_count();
        collector.submit(part).await.unwrap();
    }
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(telemetry.total("otelcol_exporter_send_failed_spans"), 0);
    let mut spans = 0;
    for file in arrow_files(dir.path(), "traces") {
        for request in
            ArrowIpcReader::new(std::fs::File::open(&file).unwrap(), IpcFormat::File).unwrap()
        {
            let AnyRequest::Traces(request) = request.unwrap() else {
                panic!("not traces")
            };
            spans += otlp_testkit::span_count(&request);
        }
    }
    assert_eq!(spans, expected);
}
