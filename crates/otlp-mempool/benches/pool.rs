//! Criterion benchmarks: a pool get+put (guard dropped) beside a heap allocation and free
//! (`peer_box_new_drop`) and beside the `object-pool` crate's pull+drop (`peer_object_pool`),
//! for a 64-byte object and for a 4 KiB buffer, with the floors of a lock-free shared pool; a batch arena's per-batch cost beside boxing
//! each allocation.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_mempool::{BatchArena, BufferPool, Pool};

type Object = [u64; 8];

fn pool_get_put(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool_get_put");
    group.throughput(Throughput::Elements(1));

    let pool = Pool::new(64, || Box::new(Object::default()));
    group.bench_function(BenchmarkId::new("otlp_mempool", "object_64b"), |b| {
        b.iter(|| {
            let mut object = pool.get();
            object[0] = black_box(1);
        })
    });
    group.bench_function(BenchmarkId::new("peer_box_new_drop", "object_64b"), |b| {
        b.iter(|| {
            let mut object = Box::new(Object::default());
            object[0] = black_box(1);
            black_box(object);
        })
    });
    let peer = object_pool::Pool::new(64, || Box::new(Object::default()));
    group.bench_function(BenchmarkId::new("peer_object_pool", "object_64b"), |b| {
        b.iter(|| {
            let mut object = peer.pull(|| Box::new(Object::default()));
            object[0] = black_box(1);
        })
    });

    // The floors of any pool shared without locks: the bare queue's pop and push under the guard, and the two
    // uncontended atomic read-modify-writes that a get and a put need at the least (a locked instruction each
    // on x86). A pool under the second figure needs per-thread caches.
    let queue = crossbeam_queue::ArrayQueue::new(64);
    for _ in 0..64 {
        let _ = queue.push(Box::new(Object::default()));
    }
    group.bench_function(
        BenchmarkId::new("peer_floor_queue_pop_push", "object_64b"),
        |b| {
            b.iter(|| {
                if let Some(mut object) = queue.pop() {
                    object[0] = black_box(1);
                    let _ = queue.push(object);
                }
            })
        },
    );
    let counters = [
        std::sync::atomic::AtomicU64::new(0),
        std::sync::atomic::AtomicU64::new(0),
    ];
    group.bench_function(
        BenchmarkId::new("peer_floor_two_atomic_rmw", "object_64b"),
        |b| {
            b.iter(|| {
                counters[0].fetch_add(black_box(1), std::sync::atomic::Ordering::AcqRel);
                counters[1].fetch_add(black_box(1), std::sync::atomic::Ordering::AcqRel);
            })
        },
    );

    let buffers = BufferPool::new(64, 4096, 1 << 20);
    group.bench_function(BenchmarkId::new("otlp_mempool", "buffer_4k"), |b| {
        b.iter(|| {
            let mut buffer = buffers.get();
            buffer.push(black_box(1));
        })
    });
    group.bench_function(BenchmarkId::new("peer_box_new_drop", "buffer_4k"), |b| {
        b.iter(|| {
            let mut buffer = Vec::<u8>::with_capacity(4096);
            buffer.push(black_box(1));
            black_box(buffer);
        })
    });
    let peer = object_pool::Pool::new(64, || Vec::<u8>::with_capacity(4096));
    group.bench_function(BenchmarkId::new("peer_object_pool", "buffer_4k"), |b| {
        b.iter(|| {
            let mut buffer = peer.pull(|| Vec::with_capacity(4096));
            buffer.clear();
            buffer.push(black_box(1));
        })
    });
    group.finish();
}

fn batch_allocations(c: &mut Criterion) {
    const SPANS: usize = 512;
    let names: Vec<String> = (0..SPANS).map(|i| format!("operation-{i}")).collect();
    let mut group = c.benchmark_group("batch_allocations");
    group.throughput(Throughput::Elements(SPANS as u64));
    let mut arena = BatchArena::with_capacity(1 << 16);
    group.bench_function("otlp_mempool_arena", |b| {
        b.iter(|| {
            let batch = arena.batch();
            for name in &names {
                black_box(batch.alloc_str(name));
                black_box(batch.alloc([0u8; 16]));
            }
        })
    });
    group.bench_function("peer_box_new_drop", |b| {
        b.iter(|| {
            let mut kept = Vec::with_capacity(SPANS);
            for name in &names {
                kept.push((Box::<str>::from(name.as_str()), Box::new([0u8; 16])));
            }
            black_box(kept);
        })
    });
    group.finish();
}

criterion_group!(benches, pool_get_put, batch_allocations);
criterion_main!(benches);
