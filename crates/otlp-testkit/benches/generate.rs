//! Generation throughput of the synthetic data: spans, data points and log records per
//! second for typical request sizes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_testkit::Generator;
use std::hint::black_box;
use std::time::Duration;

fn generation(c: &mut Criterion) {
    let mut group = c.benchmark_group("testkit_generate");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for items in [100u64, 1000] {
        let n = items as usize;
        group.throughput(Throughput::Elements(items));
        let mut generator = Generator::new(1);
        group.bench_with_input(BenchmarkId::new("traces", items), &n, |b, &n| {
            b.iter(|| black_box(generator.traces(n)))
        });
        let mut generator = Generator::new(1);
        group.bench_with_input(BenchmarkId::new("metrics", items), &n, |b, &n| {
            b.iter(|| black_box(generator.metrics(n)))
        });
        let mut generator = Generator::new(1);
        group.bench_with_input(BenchmarkId::new("logs", items), &n, |b, &n| {
            b.iter(|| black_box(generator.logs(n)))
        });
    }
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
