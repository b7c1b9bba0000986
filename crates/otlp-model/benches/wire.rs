//! Checking and counting an encoded request in place ([`otlp_model::wire::scan`]) beside prost's decode of the
//! same bytes (the peer, and what the collector did before) plus its item count.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_model::{ExportTraceServiceRequest, OtlpRequest, Signal, wire};
use prost::Message;
use std::hint::black_box;

fn scan_vs_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("otlp_model_wire_scan_traces");
    for spans in [100, 1000] {
        let bytes = otlp_testkit::Generator::new(7)
            .traces(spans)
            .encode_to_vec();
        group.throughput(Throughput::Elements(spans as u64));
        group.bench_with_input(BenchmarkId::new("wire_scan", spans), &bytes, |b, bytes| {
            b.iter(|| wire::scan(Signal::Traces, black_box(bytes)).map(|scan| scan.items))
        });
        group.bench_with_input(
            BenchmarkId::new("peer_prost_decode", spans),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    ExportTraceServiceRequest::decode(black_box(bytes.as_slice()))
                        .map(|request| request.item_count())
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, scan_vs_decode);
criterion_main!(benches);
