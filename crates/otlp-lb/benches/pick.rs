//! ns per pick for every algorithm at 10, 100 and 1000 endpoints, beside tower's p2c
//! balancer and a plain HashMap-modulo pick measured in the same run; key-owner lookups one at a
//! time (beside the memory floor of one random read in an array the ring's size) and a whole
//! batch of trace ids split by owner, as the `loadbalancing` exporter does.

use std::collections::HashMap;
use std::convert::Infallible;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_lb::policy::{
    ConsistentHash, KeyedPolicy, LeastConnections, LeastLatency, Maglev, PeakEwma, Policy, Ring,
    RoundRobin, SmoothWeightedRoundRobin, WeightedRandom,
};
use otlp_lb::{Balancer, Endpoint, hash_key};
use tower::Service;
use tower::balance::p2c::Balance;
use tower::discover::ServiceList;
use tower::load::{CompleteOnResponse, PendingRequests};

const SIZES: [usize; 3] = [10, 100, 1000];
/// Distinct trace ids cycled through, so keyed lookups touch the whole table.
const KEYS: usize = 1 << 16;

fn endpoints(n: usize) -> Vec<Endpoint> {
    (0..n)
        .map(|i| {
            Endpoint::new(format!(
                "10.{}.{}.{}:4317",
                i / 65_536,
                i / 256 % 256,
                i % 256
            ))
            .with_weight(1 + (i % 3) as u32)
        })
        .collect()
}

fn trace_ids() -> Vec<[u8; 16]> {
    let mut state = 0x1234_5678_u64;
    (0..KEYS)
        .map(|_| {
            let mut id = [0_u8; 16];
            for half in id.chunks_mut(8) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                half.copy_from_slice(&state.to_le_bytes());
            }
            id
        })
        .collect()
}

fn balancer<P: Policy>(policy: P, n: usize) -> Balancer<P> {
    Balancer::builder(policy)
        .seed(1)
        .endpoints(endpoints(n))
        .build()
        .expect("valid")
}

fn unkeyed<P: Policy>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    policy: P,
    n: usize,
) {
    let balancer = balancer(policy, n);
    group.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| {
            let pick = balancer.pick().expect("endpoints");
            black_box(pick.endpoint());
            pick.success();
        });
    });
}

fn keyed<P: Policy>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    policy: P,
    n: usize,
    keys: &[[u8; 16]],
) {
    let balancer = balancer(policy, n);
    let mut next = 0;
    group.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| {
            next = (next + 1) & (KEYS - 1);
            let pick = balancer.pick_key(&keys[next]).expect("endpoints");
            black_box(pick.endpoint());
            pick.success();
        });
    });
}

fn hashmap_modulo(n: usize) -> HashMap<u64, Endpoint> {
    endpoints(n)
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i as u64, e))
        .collect()
}

fn pick(c: &mut Criterion) {
    let keys = trace_ids();
    let mut group = c.benchmark_group("lb_pick");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        unkeyed(&mut group, "round_robin", RoundRobin::new(), n);
        unkeyed(
            &mut group,
            "smooth_weighted_round_robin",
            SmoothWeightedRoundRobin::new(),
            n,
        );
        unkeyed(&mut group, "least_connections", LeastConnections::new(), n);
        unkeyed(&mut group, "weighted_random", WeightedRandom::new(), n);
        unkeyed(&mut group, "p2c_peak_ewma", PeakEwma::new(), n);
        unkeyed(&mut group, "least_latency", LeastLatency::new(), n);
        keyed(
            &mut group,
            "consistent_hash",
            ConsistentHash::new(),
            n,
            &keys,
        );
        keyed(
            &mut group,
            "consistent_hash_bounded_1.25",
            ConsistentHash::new().bounded(1.25).expect("valid"),
            n,
            &keys,
        );
        keyed(&mut group, "maglev", Maglev::new(), n, &keys);

        // Peer: tower's p2c balancer over n always-ready services with pending-request load.
        let services: Vec<_> = (0..n)
            .map(|_| {
                PendingRequests::new(
                    tower::service_fn(|_: ()| std::future::ready(Ok::<_, Infallible>(()))),
                    CompleteOnResponse::default(),
                )
            })
            .collect();
        let mut tower_p2c = Balance::new(ServiceList::new(services));
        let mut cx = Context::from_waker(Waker::noop());
        group.bench_function(BenchmarkId::new("peer_tower_p2c", n), |b| {
            b.iter(|| {
                assert!(matches!(tower_p2c.poll_ready(&mut cx), Poll::Ready(Ok(()))));
                let mut response = std::pin::pin!(tower_p2c.call(()));
                black_box(response.as_mut().poll(&mut cx).is_ready());
            });
        });

        // Peer: a plain HashMap from index to endpoint, picked by key hash modulo n.
        let map = hashmap_modulo(n);
        let mut next = 0;
        group.bench_function(BenchmarkId::new("peer_hashmap_modulo", n), |b| {
            b.iter(|| {
                next = (next + 1) & (KEYS - 1);
                let endpoint = &map[&(hash_key(&keys[next]) % n as u64)];
                black_box(endpoint.clone());
            });
        });
    }
    group.finish();
}

fn owner_of<P: KeyedPolicy>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    policy: P,
    n: usize,
    keys: &[[u8; 16]],
) {
    let router = balancer(policy, n).router();
    let mut next = 0;
    group.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| {
            next = (next + 1) & (KEYS - 1);
            // The owner by reference, as routing uses it: cloning the endpoint here would add an atomic
            // increment per lookup, which also keeps the CPU from overlapping one lookup's cache misses with the
            // next one's.
            black_box(router.owner(&keys[next]));
        });
    });
}

/// The exporter's per-trace question alone: which endpoint owns this key.
fn owner(c: &mut Criterion) {
    let keys = trace_ids();
    let mut group = c.benchmark_group("lb_key_owner");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        owner_of(
            &mut group,
            "consistent_hash",
            ConsistentHash::new(),
            n,
            &keys,
        );
        owner_of(
            &mut group,
            "consistent_hash_vnodes_160",
            ConsistentHash::new().vnodes(160).expect("valid"),
            n,
            &keys,
        );
        owner_of(&mut group, "maglev", Maglev::new(), n, &keys);
        let map = hashmap_modulo(n);
        let mut next = 0;
        group.bench_function(BenchmarkId::new("peer_hashmap_modulo", n), |b| {
            b.iter(|| {
                next = (next + 1) & (KEYS - 1);
                black_box(map.get(&(hash_key(&keys[next]) % n as u64)));
            });
        });
        // Peer: the floor of an exact ring lookup. One read at a random place in an array as large as the ring's
        // points: what any search of that many points pays for one cache miss per key. The ring's slot table
        // answers owner lookups without touching the points.
        let mut sorted = endpoints(n);
        sorted.sort_by(|a, b| a.id().cmp(b.id()));
        let points = Ring::new(&sorted, ConsistentHash::DEFAULT_VNODES)
            .expect("valid")
            .len();
        let array: Vec<u64> = (0..points as u64).collect();
        let mut next = 0;
        group.bench_function(BenchmarkId::new("peer_one_random_read", n), |b| {
            b.iter(|| {
                next = (next + 1) & (KEYS - 1);
                let at = ((u128::from(hash_key(&keys[next])) * points as u128) >> 64) as usize;
                black_box(array[at]);
            });
        });
    }
    group.finish();
}

/// Keys routed per iteration of the batch benchmarks: a batch processor's worth of trace ids.
const BATCH: usize = 1024;

fn partition_of<P: KeyedPolicy>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    policy: P,
    n: usize,
    keys: &[[u8; 16]],
) {
    let router = balancer(policy, n).router();
    let mut next = 0;
    group.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| {
            next = (next + BATCH) & (KEYS - 1);
            let batch: Vec<&[u8; 16]> = keys[next..next + BATCH].iter().collect();
            black_box(router.partition_routed(batch, |id| otlp_lb::Key::from(*id)))
        });
    });
}

/// The exporter's per-batch question: split a batch of trace ids by the endpoint each goes to.
fn partition(c: &mut Criterion) {
    let keys = trace_ids();
    let mut group = c.benchmark_group("lb_partition_batch");
    group.throughput(Throughput::Elements(BATCH as u64));
    for n in SIZES {
        partition_of(
            &mut group,
            "consistent_hash",
            ConsistentHash::new(),
            n,
            &keys,
        );
        partition_of(&mut group, "maglev", Maglev::new(), n, &keys);
        // Peer: the same split by `hash % n` into one vector per endpoint.
        let mut next = 0;
        group.bench_function(BenchmarkId::new("peer_hashmap_modulo", n), |b| {
            let map = hashmap_modulo(n);
            b.iter(|| {
                next = (next + BATCH) & (KEYS - 1);
                let mut parts: HashMap<u64, Vec<&[u8; 16]>> = HashMap::new();
                for id in &keys[next..next + BATCH] {
                    let index = hash_key(id) % n as u64;
                    if map.contains_key(&index) {
                        parts.entry(index).or_default().push(id);
                    }
                }
                black_box(parts)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, pick, owner, partition);
criterion_main!(benches);
