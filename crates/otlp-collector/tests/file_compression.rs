//! The `file` exporter's `compression: zstd`, read back as otelcol frames it: each request one zstd frame behind
//! a 4-byte big-endian length, for `json` and `proto` alike.

mod common;

use common::TestCollector;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_collector::Batch;
use otlp_testkit::Generator;
use prost::Message;

/// The requests of a compressed file, decoded by the framing otelcol's `file_writer.go` writes.
fn read_compressed(file: &[u8], json: bool) -> Vec<ExportTraceServiceRequest> {
    let mut rest = file;
    let mut requests = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let frame = &rest[4..4 + len];
        assert_eq!(frame[..4], [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
        let plain = zstd::stream::decode_all(frame).unwrap();
        requests.push(if json {
            serde_json::from_slice(&plain).unwrap()
        } else {
            ExportTraceServiceRequest::decode(plain.as_slice()).unwrap()
        });
        rest = &rest[4 + len..];
    }
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_files_read_back_every_span_in_both_formats() {
    for format in ["json", "proto"] {
        let harness = TestCollector::start(&format!(
            r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  file:
    path: "{{dir}}/out.{format}.zst"
    format: {format}
    compression: zstd
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
        ))
        .await;
        let mut generator = Generator::new(31);
        for _ in 0..5 {
            harness
                .submit_retrying(Batch::new(generator.traces(40)))
                .await;
        }
        let dir = harness.shut_down_cleanly().await;
        let file = std::fs::read(dir.path().join(format!("out.{format}.zst"))).unwrap();
        let requests = read_compressed(&file, format == "json");
        assert_eq!(requests.len(), 5, "{format}: one record per export");
        assert_eq!(common::spans(&requests).len(), 200, "{format}");
    }
}

#[test]
fn zstd_is_refused_for_columnar_formats_with_the_reason() {
    let yaml = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
exporters:
  file: { path: ./out, format: parquet, compression: zstd }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
"#;
    let error = otlp_collector::Config::from_yaml(yaml)
        .unwrap_err()
        .to_string();
    assert!(error.contains("compressed by their own format"), "{error}");
}
