//! OTLP ⇄ Arrow conversion against prost encode/decode of the same requests, on
//! otlp-testkit data at batch sizes 100, 1000 and 10000; plus bytes per span (raw and
//! zstd level 3, both encodings) written to `$OTLP_BENCH_NOTES/otlp-arrow-sizes.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_arrow::{
    ArrowIpcReader, ArrowIpcWriter, Compression, IpcFormat, LogsEncoder, MetricsEncoder, Signal,
    Telemetry, TracesEncoder, WriterOptions, arrow_to_traces,
};
use otlp_testkit::Generator;
use prost::Message;

const BATCHES: [usize; 3] = [100, 1000, 10_000];
/// Batches per stream in the size measurement: a stream, like a file or a Flight
/// connection, carries many batches, and its dictionaries are sent once.
const STREAM_BATCHES: usize = 10;

fn configure(c: &mut Criterion) -> Criterion {
    std::mem::take(c)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn traces_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("otlp_arrow_traces_encode");
    for n in BATCHES {
        let request = Generator::new(1).traces(n);
        let spans = otlp_testkit::span_count(&request) as u64;
        group.throughput(Throughput::Elements(spans));
        let mut encoder = TracesEncoder::new();
        group.bench_with_input(BenchmarkId::new("otlp_to_arrow", n), &request, |b, r| {
            b.iter(|| encoder.encode(black_box(r)).unwrap());
        });
        group.bench_with_input(
            BenchmarkId::new("peer_prost_encode", n),
            &request,
            |b, r| {
                b.iter(|| black_box(r).encode_to_vec());
            },
        );
    }
    group.finish();
}

fn traces_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("otlp_arrow_traces_decode");
    for n in BATCHES {
        let request = Generator::new(1).traces(n);
        let spans = otlp_testkit::span_count(&request) as u64;
        group.throughput(Throughput::Elements(spans));
        let batch = TracesEncoder::new().encode(&request).unwrap();
        group.bench_with_input(BenchmarkId::new("arrow_to_otlp", n), &batch, |b, batch| {
            b.iter(|| arrow_to_traces(black_box(batch)).unwrap());
        });
        let bytes = request.encode_to_vec();
        group.bench_with_input(
            BenchmarkId::new("peer_prost_decode", n),
            &bytes,
            |b, bytes| {
                b.iter(|| ExportTraceServiceRequest::decode(black_box(bytes.as_slice())).unwrap());
            },
        );
    }
    group.finish();
}

/// The whole export path: request → compressed bytes, Arrow IPC stream + zstd against
/// protobuf + zstd (both level 3).
fn traces_zstd_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("otlp_arrow_traces_write_zstd");
    for n in BATCHES {
        let request = Generator::new(1).traces(n);
        let spans = otlp_testkit::span_count(&request) as u64;
        group.throughput(Throughput::Elements(spans));
        let options = WriterOptions::new(IpcFormat::Stream);
        let mut writer = ArrowIpcWriter::traces(std::io::sink(), options).unwrap();
        group.bench_with_input(BenchmarkId::new("arrow_ipc_zstd", n), &request, |b, r| {
            b.iter(|| writer.write_traces(black_box(r)).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("peer_prost_zstd", n), &request, |b, r| {
            b.iter(|| zstd::bulk::compress(&black_box(r).encode_to_vec(), 3).unwrap());
        });
    }
    group.finish();
}

fn metrics_and_logs_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("otlp_arrow_metrics_encode");
    for n in BATCHES {
        let request: ExportMetricsServiceRequest = Generator::new(1).metrics(n);
        group.throughput(Throughput::Elements(
            otlp_testkit::data_point_count(&request) as u64,
        ));
        let mut encoder = MetricsEncoder::new();
        group.bench_with_input(BenchmarkId::new("otlp_to_arrow", n), &request, |b, r| {
            b.iter(|| encoder.encode(black_box(r)).unwrap());
        });
        group.bench_with_input(
            BenchmarkId::new("peer_prost_encode", n),
            &request,
            |b, r| {
                b.iter(|| black_box(r).encode_to_vec());
            },
        );
    }
    group.finish();
    let mut group = c.benchmark_group("otlp_arrow_logs_encode");
    for n in BATCHES {
        let request: ExportLogsServiceRequest = Generator::new(1).logs(n);
        group.throughput(Throughput::Elements(
            otlp_testkit::log_record_count(&request) as u64,
        ));
        let mut encoder = LogsEncoder::new();
        group.bench_with_input(BenchmarkId::new("otlp_to_arrow", n), &request, |b, r| {
            b.iter(|| encoder.encode(black_box(r)).unwrap());
        });
        group.bench_with_input(
            BenchmarkId::new("peer_prost_encode", n),
            &request,
            |b, r| {
                b.iter(|| black_box(r).encode_to_vec());
            },
        );
    }
    group.finish();
}

/// Bytes of `requests` as one Arrow IPC stream.
fn arrow_stream_bytes(signal: Signal, requests: &[Telemetry], compression: Compression) -> usize {
    let options = WriterOptions::new(IpcFormat::Stream).with_compression(compression);
    let mut writer = ArrowIpcWriter::new(Vec::new(), signal, options).unwrap();
    for r in requests {
        writer.write(r).unwrap();
    }
    let bytes = writer.finish().unwrap();
    // A measurement of something that does not read back would be worthless.
    let back: Vec<Telemetry> = ArrowIpcReader::new(bytes.as_slice(), IpcFormat::Stream)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back.as_slice(), requests);
    bytes.len()
}

/// Protobuf bytes of each request on its own (as OTLP/gRPC sends them), raw and zstd.
fn prost_bytes(requests: &[Telemetry]) -> (usize, usize) {
    requests.iter().fold((0, 0), |(raw, z), r| {
        let bytes = match r {
            Telemetry::Traces(r) => r.encode_to_vec(),
            Telemetry::Metrics(r) => r.encode_to_vec(),
            Telemetry::Logs(r) => r.encode_to_vec(),
        };
        (
            raw + bytes.len(),
            z + zstd::bulk::compress(&bytes, 3).unwrap().len(),
        )
    })
}

fn size_notes() {
    let Some(dir) = std::env::var_os("OTLP_BENCH_NOTES") else {
        return;
    };
    let mut md = String::from(
        "### otlp-arrow: bytes per item, OTLP protobuf vs Arrow IPC\n\n\
         otlp-testkit data (seed 1). Protobuf: each request encoded on its own, zstd level 3 per \
         request. Arrow: an IPC stream of the same requests (one batch each, delta dictionaries), \
         buffers compressed with zstd level 3 by arrow-ipc. Streams of 10 batches; the 1-batch \
         column is a stream holding only the first request (schema and full dictionaries \
         included). Ratio = protobuf+zstd / Arrow+zstd (higher is better for Arrow).\n\n\
         | signal | batch | protobuf raw | protobuf+zstd | Arrow raw | Arrow+zstd | Arrow+zstd, 1 batch | ratio | ratio, 1 batch |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        for n in BATCHES {
            let mut generator = Generator::new(1);
            let requests: Vec<Telemetry> = (0..STREAM_BATCHES)
                .map(|_| match signal {
                    Signal::Traces => Telemetry::Traces(generator.traces(n)),
                    Signal::Metrics => Telemetry::Metrics(generator.metrics(n)),
                    Signal::Logs => Telemetry::Logs(generator.logs(n)),
                })
                .collect();
            let items: usize = requests
                .iter()
                .map(|r| match r {
                    Telemetry::Traces(r) => otlp_testkit::span_count(r),
                    Telemetry::Metrics(r) => otlp_testkit::data_point_count(r),
                    Telemetry::Logs(r) => otlp_testkit::log_record_count(r),
                })
                .sum();
            let first_items = items as f64 / STREAM_BATCHES as f64;
            let per = |bytes: usize| bytes as f64 / items as f64;
            let (prost_raw, prost_zstd) = prost_bytes(&requests);
            let arrow_raw = arrow_stream_bytes(signal, &requests, Compression::None);
            let arrow_zstd = arrow_stream_bytes(signal, &requests, Compression::Zstd(3));
            let (_, prost_zstd_one) = prost_bytes(&requests[..1]);
            let arrow_zstd_one = arrow_stream_bytes(signal, &requests[..1], Compression::Zstd(3));
            md.push_str(&format!(
                "| {signal} | {n} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}x | {:.2}x |\n",
                per(prost_raw),
                per(prost_zstd),
                per(arrow_raw),
                per(arrow_zstd),
                arrow_zstd_one as f64 / first_items,
                prost_zstd as f64 / arrow_zstd as f64,
                prost_zstd_one as f64 / arrow_zstd_one as f64,
            ));
        }
    }
    md.push_str(
        "\nBytes per span (traces), per data point (metrics), per log record (logs). \
         Target: Arrow+zstd at least 2.5x smaller than protobuf+zstd for traces at batch ≥ 1000.\n",
    );
    let path = std::path::Path::new(&dir).join("otlp-arrow-sizes.md");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, &md).unwrap();
    println!("{md}");
}

fn benches(c: &mut Criterion) {
    size_notes();
    let mut c = configure(c);
    traces_encode(&mut c);
    traces_decode(&mut c);
    traces_zstd_write(&mut c);
    metrics_and_logs_encode(&mut c);
}

criterion_group!(conversion, benches);
criterion_main!(conversion);
