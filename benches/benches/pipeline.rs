//! The collector's pipeline (request → batch processor → file exporter writing protobuf) against a bare prost
//! decode of the same requests, in the same run, two ways in: decoded by prost (`decoding: prost`, the reference
//! path) and checked in place and kept as bytes (what the OTLP receiver does by default). One iteration is 64 requests of 128 realistic spans: exactly
//! one 8192-span batch, so every iteration ends with its batch written.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_benches::{encoded_trace_requests, process_cpu_time};
use otlp_collector::{Batch, Collector, Config, RunningCollector};
use prost::Message;
use std::time::Duration;

// The same allocator as the otlp-suite binary, for both contenders.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REQUESTS: usize = 64;
const SPANS_PER_REQUEST: usize = 128;
const SPANS: usize = REQUESTS * SPANS_PER_REQUEST;

fn start_collector(runtime: &tokio::runtime::Runtime, dir: &std::path::Path) -> RunningCollector {
    let yaml = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
processors:
  batch: {{ send_batch_size: {SPANS}, timeout: 10s }}
exporters:
  file: {{ path: "{}/traces.binpb", format: proto, rotation: {{ max_megabytes: 256, max_backups: 1 }} }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        dir.display()
    );
    let config = Config::from_yaml(&yaml).unwrap();
    runtime.block_on(Collector::new(config).start()).unwrap()
}

/// How a request's bytes become a batch, as the OTLP receiver's `decoding` setting chooses.
#[derive(Clone, Copy)]
enum Decoding {
    Prost,
    InPlace,
}

fn batch_of(bytes: &[u8], decoding: Decoding) -> Batch {
    match decoding {
        Decoding::Prost => Batch::new(ExportTraceServiceRequest::decode(bytes).unwrap()),
        Decoding::InPlace => {
            let scan = otlp_model::wire::scan(otlp_model::Signal::Traces, bytes).unwrap();
            Batch::from_encoded(
                otlp_model::Signal::Traces,
                bytes::Bytes::copy_from_slice(bytes),
                scan.items,
            )
        }
    }
}

/// Submits every request, then waits until the exporter has written the batch they make up.
async fn run_pipeline(
    collector: &RunningCollector,
    requests: &[Vec<u8>],
    decoding: Decoding,
    exported_before: u64,
) -> u64 {
    for bytes in requests {
        collector.submit(batch_of(bytes, decoding)).await.unwrap();
    }
    let target = exported_before + SPANS as u64;
    // Sleeping (rather than spinning) while the file is written keeps the waiting out of the CPU figures.
    while collector.telemetry().total("otelcol_exporter_sent_spans") < target {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    target
}

fn decode_all(requests: &[Vec<u8>]) -> usize {
    requests
        .iter()
        .map(|bytes| {
            ExportTraceServiceRequest::decode(bytes.as_slice())
                .unwrap()
                .resource_spans
                .len()
        })
        .sum()
}

/// Process CPU seconds per million spans over a long run, for the figure criterion's wall time cannot give when
/// the pipeline uses more than one thread (the file write runs on tokio's blocking pool).
fn cpu_per_million_spans(mut work: impl FnMut()) -> Option<f64> {
    const ROUNDS: usize = 250; // about 2 million spans
    let before = process_cpu_time()?;
    for _ in 0..ROUNDS {
        work();
    }
    let used = process_cpu_time()?.checked_sub(before)?;
    Some(used.as_secs_f64() * 1e6 / (ROUNDS * SPANS) as f64)
}

fn pipeline(c: &mut Criterion) {
    let requests = encoded_trace_requests(42, REQUESTS, SPANS_PER_REQUEST);
    let bytes: usize = requests.iter().map(Vec::len).sum();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let collector = start_collector(&runtime, dir.path());
    let mut exported = 0;

    let mut group = c.benchmark_group("collector_pipeline_traces");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(SPANS as u64));
    group.bench_function(BenchmarkId::new("decode_batch_file_export", SPANS), |b| {
        b.iter(|| {
            exported = runtime.block_on(run_pipeline(
                &collector,
                &requests,
                Decoding::Prost,
                exported,
            ))
        })
    });
    group.bench_function(BenchmarkId::new("in_place_batch_file_export", SPANS), |b| {
        b.iter(|| {
            exported = runtime.block_on(run_pipeline(
                &collector,
                &requests,
                Decoding::InPlace,
                exported,
            ))
        })
    });
    group.bench_function(BenchmarkId::new("peer_prost_decode", SPANS), |b| {
        b.iter(|| decode_all(&requests))
    });
    group.finish();

    let pipeline_cpu = cpu_per_million_spans(|| {
        exported = runtime.block_on(run_pipeline(
            &collector,
            &requests,
            Decoding::Prost,
            exported,
        ))
    });
    let in_place_cpu = cpu_per_million_spans(|| {
        exported = runtime.block_on(run_pipeline(
            &collector,
            &requests,
            Decoding::InPlace,
            exported,
        ))
    });
    let decode_cpu = cpu_per_million_spans(|| {
        std::hint::black_box(decode_all(&requests));
    });
    runtime.block_on(collector.shutdown(Duration::from_secs(10)));

    if let (Ok(dir), Some(pipeline_cpu), Some(in_place_cpu), Some(decode_cpu)) = (
        std::env::var("OTLP_BENCH_NOTES"),
        pipeline_cpu,
        in_place_cpu,
        decode_cpu,
    ) {
        let note = format!(
            "### Collector pipeline: CPU time per million spans\n\n\
             Process CPU time (user + system, every thread, from the process CPU clock) over {} spans of realistic \
             traces ({:.0} bytes/span encoded), {REQUESTS} requests of {SPANS_PER_REQUEST} spans per batch, \
             mimalloc.\n\n\
             | path | CPU s per million spans | spans/s per core | ratio |\n|---|---|---|---|\n\
             | prost decode → batch → file export (ours, `decoding: prost`) | {pipeline_cpu:.3} | {:.0} | {:.2}x the decode alone |\n\
             | checked in place → batch → file export (ours, default) | {in_place_cpu:.3} | {:.0} | {:.2}x the decode alone |\n\
             | prost decode only (peer) | {decode_cpu:.3} | {:.0} | 1.00x |\n",
            250 * SPANS,
            bytes as f64 / SPANS as f64,
            1e6 / pipeline_cpu,
            pipeline_cpu / decode_cpu,
            1e6 / in_place_cpu,
            in_place_cpu / decode_cpu,
            1e6 / decode_cpu,
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            std::path::Path::new(&dir).join("collector-pipeline-cpu.md"),
            note,
        )
        .unwrap();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
