//! Criterion benchmark: what a pooled buffer saves the collector's gRPC receiver, which copies every received
//! request once, into an allocation of the request's own size (`peer_exact_vec`), under the collector's
//! allocator (mimalloc). Sizes: a request of 100 spans as `otlp-suite loadgen` sends them, and ten times that.
//! Throughput is the request's bytes: both sides copy them, and the difference between the two rows is what
//! the allocation costs beside the copy.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_mempool::BufferPool;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn request_buffer(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_buffer");
    for (name, len) in [("request_51k", 51_500), ("request_515k", 515_000)] {
        let request: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        group.throughput(Throughput::Bytes(len as u64));
        let buffers = BufferPool::new(64, len, 4 * len);
        group.bench_function(BenchmarkId::new("otlp_mempool", name), |b| {
            b.iter(|| {
                let mut buffer = buffers.get_owned();
                buffer.extend_from_slice(black_box(&request));
                black_box(&buffer);
            })
        });
        group.bench_function(BenchmarkId::new("peer_exact_vec", name), |b| {
            b.iter(|| {
                let mut buffer = Vec::with_capacity(request.len());
                buffer.extend_from_slice(black_box(&request));
                black_box(buffer);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, request_buffer);
criterion_main!(benches);
