//! The `probabilistic_sampler` processor's work on one batch of received requests (realistic traces from the
//! generator), the way it does it now: each request sampled in its bytes, the trace-id column decided at once, and
//! the batch kept encoded (`sample_batch`, then the encoded batch an exporter sends). The peer is the prost path it
//! replaces: decode the requests, `sample_traces` on the tree, encode the result for the exporter.
//!
//! Besides the times, the heap allocations per span of both (counted on this thread by a wrapper around mimalloc,
//! the binary's allocator) go to `$OTLP_BENCH_NOTES/probabilistic-sampler-allocations.md`.
// A global allocator is an `unsafe impl`; this one only forwards to mimalloc and counts.
#![allow(unsafe_code)]

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_benches::encoded_trace_requests;
use otlp_collector::processor::probabilistic_sampler::sample_batch;
use otlp_collector::{Batch, Signal};
use otlp_sampling::probabilistic::{ProbabilisticSampler, ProbabilisticSamplerConfig, SamplerMode};
use prost::Message;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Const-initialised with no destructor, so reading it inside the allocator never allocates.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every method forwards to mimalloc with the caller's arguments unchanged; counting touches only an atomic
// and a const thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` and `layout` come from this allocator, as the caller guarantees.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const REQUESTS: usize = 16;
const SPANS_PER_REQUEST: usize = 256;
const SPANS: usize = REQUESTS * SPANS_PER_REQUEST;

/// The settings measured: the mode that writes `th` into every kept span, and otelcol's default mode.
const CONFIGS: [(&str, SamplerMode, u32); 2] = [
    ("proportional_25", SamplerMode::Proportional, 0),
    ("hash_seed_25", SamplerMode::HashSeed, 7),
];

/// The requests as a receiver hands them on: one batch of encoded requests.
fn encoded_batch(requests: &[Vec<u8>]) -> Batch {
    let mut batch = Batch::empty(Signal::Traces);
    for bytes in requests {
        let items = otlp_model::wire::scan(Signal::Traces, bytes).unwrap().items;
        batch
            .append(Batch::from_encoded(
                Signal::Traces,
                bytes::Bytes::copy_from_slice(bytes),
                items,
            ))
            .unwrap();
    }
    batch
}

/// Ours: the processor's work on the encoded batch, and the request an exporter then sends.
fn wire_path(sampler: &ProbabilisticSampler, mut batch: Batch) -> bytes::Bytes {
    sample_batch(sampler, &mut batch).unwrap();
    batch.to_protobuf()
}

/// The peer: decode every request into one, sample the tree, encode it for the exporter.
fn prost_path(sampler: &ProbabilisticSampler, requests: &[Vec<u8>]) -> Vec<u8> {
    let mut request = ExportTraceServiceRequest::default();
    for bytes in requests {
        let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        request.resource_spans.extend(decoded.resource_spans);
    }
    sampler.sample_traces(&mut request.resource_spans);
    request.encode_to_vec()
}

/// Rounds of each path the allocations are counted over.
const ROUNDS: usize = 8;

/// Heap allocations per span while `work` runs `ROUNDS` times on this thread (given the round's number).
fn allocations_per_span(mut work: impl FnMut(usize)) -> f64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTED.with(|counted| counted.set(true));
    for round in 0..ROUNDS {
        work(round);
    }
    COUNTED.with(|counted| counted.set(false));
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / (ROUNDS * SPANS) as f64
}

fn probabilistic_sampler(c: &mut Criterion) {
    let requests = encoded_trace_requests(42, REQUESTS, SPANS_PER_REQUEST);
    let bytes_per_span = requests.iter().map(Vec::len).sum::<usize>() as f64 / SPANS as f64;
    let batch = encoded_batch(&requests);
    let mut rows = Vec::new();
    for (name, mode, hash_seed) in CONFIGS {
        let sampler = ProbabilisticSampler::new(ProbabilisticSamplerConfig {
            mode,
            hash_seed,
            sampling_percentage: 25.0,
            ..Default::default()
        })
        .unwrap();
        // Both paths give the same request: the comparison is of equal work.
        let ours = ExportTraceServiceRequest::decode(wire_path(&sampler, batch.clone())).unwrap();
        let peer =
            ExportTraceServiceRequest::decode(prost_path(&sampler, &requests).as_slice()).unwrap();
        assert!(ours == peer, "{name}: the two paths disagree");

        let mut group = c.benchmark_group(format!("probabilistic_sampler_{name}"));
        group.throughput(Throughput::Elements(SPANS as u64));
        group.bench_function(BenchmarkId::new("encoded_column", SPANS), |b| {
            b.iter_batched(
                || batch.clone(),
                |batch| wire_path(&sampler, black_box(batch)),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(
            BenchmarkId::new("peer_prost_decode_sample_encode", SPANS),
            |b| b.iter(|| prost_path(&sampler, black_box(&requests))),
        );
        group.finish();

        // The batches are copied before counting, as the timing leaves the copy out.
        let mut batches: Vec<Option<Batch>> = (0..ROUNDS).map(|_| Some(batch.clone())).collect();
        let ours = allocations_per_span(|round| {
            if let Some(batch) = batches[round].take() {
                black_box(wire_path(&sampler, batch));
            }
        });
        let peer = allocations_per_span(|_| {
            black_box(prost_path(&sampler, &requests));
        });
        println!(
            "probabilistic_sampler_{name}: {ours:.3} allocations/span encoded, {peer:.2} allocations/span prost"
        );
        rows.push((name, ours, peer));
    }

    let Ok(dir) = std::env::var("OTLP_BENCH_NOTES") else {
        return;
    };
    let mut note = format!(
        "### `probabilistic_sampler`: heap allocations per span\n\n\
         One batch of {REQUESTS} received requests of {SPANS_PER_REQUEST} realistic spans ({bytes_per_span:.0} \
         bytes/span encoded), sampled at 25% and encoded for the exporter; allocations counted on the bench thread \
         (mimalloc underneath), the batch's copy before each round not counted. The peer decodes the requests with \
         prost, samples the tree and encodes it.\n\n\
         | mode | sampled in the bytes (ours) | prost decode + sample + encode (peer) | ratio |\n|---|---|---|---|\n"
    );
    for (name, ours, peer) in rows {
        let _ = writeln!(
            note,
            "| `{name}` | {ours:.3} | {peer:.2} | {:.0}x fewer |",
            peer / ours
        );
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        std::path::Path::new(&dir).join("probabilistic-sampler-allocations.md"),
        note,
    )
    .unwrap();
}

criterion_group!(benches, probabilistic_sampler);
criterion_main!(benches);
