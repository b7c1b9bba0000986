//! Files back into a pipeline: pyarrow reads the collector's Parquet files and sends the tables, as they are, to an
//! `arrow_flight` receiver with its own Flight client; the spans that come out are the spans that went in, resource
//! and scope included. This is how an archive is replayed to a backend without code of ours.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes, with pyarrow), else `python3`.

mod common;

use common::{TestCollector, python, read_traces};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_collector::Batch;
use otlp_testkit::Generator;
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;

const PARQUET_CONFIG: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
exporters:
  file: { path: "{dir}/archive", format: parquet }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

const FLIGHT_CONFIG: &str = r#"
receivers:
  arrow_flight: { endpoint: "127.0.0.1:0", bearer_token: s3cret }
exporters:
  file: { path: "{dir}/replayed.jsonl" }
service:
  pipelines:
    traces: { receivers: [arrow_flight], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

/// Sends every Parquet file named after the address, a table per `do_put` in batches of 700 rows, and prints how many
/// batches the receiver acknowledged.
const REPLAY: &str = r#"
import sys
import pyarrow.flight as flight
import pyarrow.parquet as pq

address, files = sys.argv[1], sys.argv[2:]
client = flight.FlightClient(f"grpc://{address}")
options = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer s3cret")])
acknowledged = 0
for path in files:
    table = pq.read_table(path)
    writer, reader = client.do_put(flight.FlightDescriptor.for_path("traces"), table.schema, options)
    writer.write_table(table, max_chunksize=700)
    writer.done_writing()
    while reader.read() is not None:
        acknowledged += 1
    writer.close()
print(acknowledged)
"#;

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// One span with its resource and scope, each encoded with its schema URL.
type SpanInContext = (Vec<u8>, Option<Vec<u8>>, String, Option<Vec<u8>>, String);

/// Every span with its resource and scope, in a stable order: what must survive the trip whatever the grouping of the
/// requests.
fn spans_in_context(requests: &[ExportTraceServiceRequest]) -> Vec<SpanInContext> {
    let mut spans = Vec::new();
    for rs in requests.iter().flat_map(|request| &request.resource_spans) {
        let resource = rs.resource.as_ref().map(Message::encode_to_vec);
        for ss in &rs.scope_spans {
            let scope = ss.scope.as_ref().map(Message::encode_to_vec);
            for span in &ss.spans {
                spans.push((
                    span.encode_to_vec(),
                    resource.clone(),
                    rs.schema_url.clone(),
                    scope.clone(),
                    ss.schema_url.clone(),
                ));
            }
        }
    }
    spans.sort();
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyarrow_replays_parquet_files_through_arrow_flight_losslessly() {
    let mut generator = Generator::new(11);
    let sent: Vec<_> = (0..4).map(|_| generator.traces(500)).collect();
    let archive = TestCollector::start(PARQUET_CONFIG).await;
    for request in &sent {
        archive.submit_retrying(Batch::new(request.clone())).await;
    }
    let archive = archive.shut_down_cleanly().await;
    let files = parquet_files(&archive.path().join("archive"));
    assert!(!files.is_empty(), "no Parquet file was written");

    let replay = TestCollector::start(FLIGHT_CONFIG).await;
    let address = replay.collector.flight_addr("arrow_flight").unwrap();
    let python_command = python();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python_command)
            .arg("-c")
            .arg(REPLAY)
            .arg(address.to_string())
            .args(&files)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let acknowledged: usize = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    // 2,000 rows in batches of at most 700: at least three per file's worth.
    assert!(acknowledged >= 3, "{acknowledged} batches acknowledged");

    let replayed = replay.shut_down_cleanly().await;
    let replayed = read_traces(&replayed.path().join("replayed.jsonl"), true);
    let (expected, found) = (spans_in_context(&sent), spans_in_context(&replayed));
    assert_eq!(found.len(), 2_000);
    assert!(
        found == expected,
        "the replayed spans differ from those sent"
    );
}
