//! Local protection on the hot path, each beside a peer:
//!
//! * the degradation keep decision vs otlp-sampling's threshold built per call and compared
//!   (`peer_threshold_per_span`): what a naive caller of the sampling API would do per span;
//! * the per-tenant admission check (governor, keyed) vs one mutex-guarded token bucket per
//!   tenant in a `HashMap` (`peer_mutex_bucket`);
//! * a circuit-breaker call (acquire + record, with its clock read) vs a clock read and one
//!   mutex-guarded failure counter update (`peer_mutex_counter`): the floor of any locked
//!   breaker, without a window or states.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otlp_control::protect::{
    AdmissionLimiter, BreakerConfig, CircuitBreaker, DegradationLevel, RateLimit, should_keep,
};
use otlp_sampling::consistent::{Randomness, Threshold};
use parking_lot::Mutex;

const SPANS: u64 = 10_000;

fn randomness() -> Vec<u64> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..SPANS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state >> 8
        })
        .collect()
}

fn keep_decision(c: &mut Criterion) {
    let values = randomness();
    let mut group = c.benchmark_group("degradation_keep");
    group.throughput(Throughput::Elements(SPANS));
    group.bench_function("should_keep", |b| {
        b.iter(|| {
            values
                .iter()
                .enumerate()
                .filter(|(i, r)| should_keep(DegradationLevel::Moderate, i % 100 == 0, **r))
                .count()
        });
    });
    group.bench_function("peer_threshold_per_span", |b| {
        b.iter(|| {
            values
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    i % 100 == 0
                        || Threshold::from_probability(black_box(0.1))
                            .is_ok_and(|t| t.should_sample(Randomness::from_raw(**r)))
                })
                .count()
        });
    });
    group.finish();
}

struct NaiveBucket {
    tokens: f64,
    last: Instant,
}

fn admission(c: &mut Criterion) {
    let tenants: Vec<String> = (0..64).map(|i| format!("tenant-{i}")).collect();
    let limit = RateLimit {
        items_per_second: u32::MAX / 2,
        burst: u32::MAX / 2,
    };
    let limiter = AdmissionLimiter::builder()
        .per_tenant(limit)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("admission_per_tenant");
    group.throughput(Throughput::Elements(tenants.len() as u64));
    group.bench_function("governor_keyed", |b| {
        b.iter(|| {
            for tenant in &tenants {
                black_box(limiter.check("otlp", Some(tenant), 100));
            }
        });
    });
    let naive: Mutex<HashMap<String, NaiveBucket>> = Mutex::new(HashMap::new());
    group.bench_function("peer_mutex_bucket", |b| {
        b.iter(|| {
            for tenant in &tenants {
                let now = Instant::now();
                let mut buckets = naive.lock();
                let bucket = buckets.entry(tenant.clone()).or_insert(NaiveBucket {
                    tokens: f64::from(limit.burst),
                    last: now,
                });
                let refill = now.duration_since(bucket.last).as_secs_f64()
                    * f64::from(limit.items_per_second);
                bucket.tokens = (bucket.tokens + refill).min(f64::from(limit.burst));
                bucket.last = now;
                let admitted = bucket.tokens >= 100.0;
                if admitted {
                    bucket.tokens -= 100.0;
                }
                black_box(admitted);
            }
        });
    });
    group.finish();
}

fn breaker(c: &mut Criterion) {
    let start = Instant::now();
    let breaker = CircuitBreaker::new(BreakerConfig::default(), start).unwrap();
    let mut group = c.benchmark_group("circuit_breaker_call");
    group.bench_function("acquire_and_record", |b| {
        b.iter(|| {
            let now = Instant::now();
            if let Ok(permit) = breaker.try_acquire(now) {
                breaker.record(permit, true, now);
            }
        });
    });
    let counter = Mutex::new((0u64, 0u64));
    group.bench_function("peer_mutex_counter", |b| {
        b.iter(|| {
            // The same clock read the breaker's caller makes, then one locked counter update.
            black_box(Instant::now());
            let mut counts = counter.lock();
            counts.0 += 1;
            black_box(counts.1 as f64 / counts.0 as f64 >= 0.5);
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let mut c = std::mem::take(c)
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    keep_decision(&mut c);
    admission(&mut c);
    breaker(&mut c);
}

criterion_group!(protection, benches);
criterion_main!(protection);
