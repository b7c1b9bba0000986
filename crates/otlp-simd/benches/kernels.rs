//! Criterion benchmarks: each otlp-simd kernel (function `otlp_simd`, dispatched to the best ISA
//! of the machine) beside its scalar twin (`peer_scalar_*`) in the same group, and where there is
//! one, the code a caller would otherwise use (`peer_hex_crate`, `peer_otlp_sampling`,
//! `peer_std_*`: the standard library, which for byte equality is glibc's vectorised `memcmp`),
//! and for the single-id hex encoders the loop's floor (`peer_floor_copy`: the id copied, no
//! digits). Throughput is in elements and bytes, so the tables show GB/s.
//!
//! On a CPU with the AVX-512 tier, each kernel that has an AVX-512 path also runs it and its AVX2
//! path by name, through the `*_on` variants: `otlp_simd_avx512*` (ours) beside `peer_avx2_*`
//! and the scalar twin, so the table gives AVX-512's ratio over AVX2 and over scalar from one
//! run, and `otlp_simd` shows which of the two dispatch picked (and what dispatch costs).

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use otlp_sampling::consistent::{Randomness, Threshold};
use otlp_simd::idgen::{GAMMA, IdGenerator};
use otlp_simd::isa::Isa;
use otlp_simd::{aggregate, bytes, hex, histogram, id_match, threshold, utf8};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const IDS: usize = 1024;
const VALUES: usize = 4096;

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(14)
}

/// Whether to bench the AVX-512 and AVX2 paths by name: only where the CPU runs both.
fn wide() -> bool {
    Isa::Avx512.is_supported()
}

fn throughput(elements: usize, bytes_each: usize) -> Throughput {
    Throughput::ElementsAndBytes {
        elements: elements as u64,
        bytes: (elements * bytes_each) as u64,
    }
}

fn hex_encode(c: &mut Criterion) {
    let mut rng = rng();
    let trace_ids: Vec<[u8; 16]> = (0..IDS).map(|_| rng.random()).collect();
    let span_ids: Vec<[u8; 8]> = (0..IDS).map(|_| rng.random()).collect();
    let mut group = c.benchmark_group("hex_encode");
    group.throughput(throughput(IDS, 16));
    group.bench_function(BenchmarkId::new("otlp_simd", "trace_id"), |b| {
        b.iter(|| {
            for id in &trace_ids {
                black_box(hex::encode_trace_id(black_box(id)));
            }
        })
    });
    group.bench_function(BenchmarkId::new("peer_scalar_encode", "trace_id"), |b| {
        b.iter(|| {
            for id in &trace_ids {
                let mut out = [0u8; 32];
                hex::scalar::encode(black_box(id), &mut out);
                black_box(out);
            }
        })
    });
    group.bench_function(BenchmarkId::new("peer_hex_crate", "trace_id"), |b| {
        b.iter(|| {
            for id in &trace_ids {
                let mut out = [0u8; 32];
                ::hex::encode_to_slice(black_box(id), &mut out).unwrap();
                black_box(out);
            }
        })
    });
    // The floor under any single-id encoder in this loop: the id read and 32 bytes written, no
    // digits computed. What ours takes above it is the encoding (and its dispatch).
    group.bench_function(BenchmarkId::new("peer_floor_copy", "trace_id"), |b| {
        b.iter(|| {
            for id in &trace_ids {
                let id = black_box(id);
                let mut out = [0u8; 32];
                out[..16].copy_from_slice(id);
                out[16..].copy_from_slice(id);
                black_box(out);
            }
        })
    });
    let mut column = vec![0u8; 32 * IDS];
    group.bench_function(BenchmarkId::new("otlp_simd", "trace_id_column"), |b| {
        b.iter(|| hex::encode_into(black_box(trace_ids.as_flattened()), &mut column).unwrap())
    });
    group.bench_function(
        BenchmarkId::new("peer_scalar_encode", "trace_id_column"),
        |b| b.iter(|| hex::scalar::encode(black_box(trace_ids.as_flattened()), &mut column)),
    );
    if wide() {
        for (function, isa) in [
            ("otlp_simd_avx512", Isa::Avx512),
            ("peer_avx2_encode", Isa::Avx2),
        ] {
            group.bench_function(BenchmarkId::new(function, "trace_id_column"), |b| {
                b.iter(|| {
                    hex::encode_into_on(isa, black_box(trace_ids.as_flattened()), &mut column)
                        .unwrap()
                })
            });
        }
    }
    group.throughput(throughput(IDS, 8));
    group.bench_function(BenchmarkId::new("otlp_simd", "span_id"), |b| {
        b.iter(|| {
            for id in &span_ids {
                black_box(hex::encode_span_id(black_box(id)));
            }
        })
    });
    group.bench_function(BenchmarkId::new("peer_scalar_encode", "span_id"), |b| {
        b.iter(|| {
            for id in &span_ids {
                let mut out = [0u8; 16];
                hex::scalar::encode(black_box(id), &mut out);
                black_box(out);
            }
        })
    });
    group.bench_function(BenchmarkId::new("peer_floor_copy", "span_id"), |b| {
        b.iter(|| {
            for id in &span_ids {
                let id = black_box(id);
                let mut out = [0u8; 16];
                out[..8].copy_from_slice(id);
                out[8..].copy_from_slice(id);
                black_box(out);
            }
        })
    });
    group.finish();
}

fn hex_decode(c: &mut Criterion) {
    let mut rng = rng();
    let trace_hex: Vec<[u8; 32]> = (0..IDS)
        .map(|_| hex::encode_trace_id(&rng.random()))
        .collect();
    let span_hex: Vec<[u8; 16]> = (0..IDS)
        .map(|_| hex::encode_span_id(&rng.random()))
        .collect();
    let mut group = c.benchmark_group("hex_decode");
    group.throughput(throughput(IDS, 32));
    group.bench_function(BenchmarkId::new("otlp_simd", "trace_id"), |b| {
        b.iter(|| {
            for text in &trace_hex {
                black_box(hex::decode_trace_id(black_box(text)).unwrap());
            }
        })
    });
    group.bench_function(BenchmarkId::new("peer_scalar_decode", "trace_id"), |b| {
        b.iter(|| {
            for text in &trace_hex {
                let mut out = [0u8; 16];
                hex::scalar::decode(black_box(text), &mut out).unwrap();
                black_box(out);
            }
        })
    });
    group.bench_function(BenchmarkId::new("peer_hex_crate", "trace_id"), |b| {
        b.iter(|| {
            for text in &trace_hex {
                let mut out = [0u8; 16];
                ::hex::decode_to_slice(black_box(text), &mut out).unwrap();
                black_box(out);
            }
        })
    });
    let mut column = vec![0u8; 16 * IDS];
    group.bench_function(BenchmarkId::new("otlp_simd", "trace_id_column"), |b| {
        b.iter(|| hex::decode_into(black_box(trace_hex.as_flattened()), &mut column).unwrap())
    });
    group.bench_function(
        BenchmarkId::new("peer_scalar_decode", "trace_id_column"),
        |b| {
            b.iter(|| {
                hex::scalar::decode(black_box(trace_hex.as_flattened()), &mut column).unwrap()
            })
        },
    );
    if wide() {
        for (function, isa) in [
            ("otlp_simd_avx512", Isa::Avx512),
            ("peer_avx2_decode", Isa::Avx2),
        ] {
            group.bench_function(BenchmarkId::new(function, "trace_id_column"), |b| {
                b.iter(|| {
                    hex::decode_into_on(isa, black_box(trace_hex.as_flattened()), &mut column)
                        .unwrap()
                })
            });
        }
    }
    group.throughput(throughput(IDS, 16));
    group.bench_function(BenchmarkId::new("otlp_simd", "span_id"), |b| {
        b.iter(|| {
            for text in &span_hex {
                black_box(hex::decode_span_id(black_box(text)).unwrap());
            }
        })
    });
    group.bench_function(BenchmarkId::new("peer_scalar_decode", "span_id"), |b| {
        b.iter(|| {
            for text in &span_hex {
                let mut out = [0u8; 8];
                hex::scalar::decode(black_box(text), &mut out).unwrap();
                black_box(out);
            }
        })
    });
    group.finish();
}

fn threshold_bitmap(c: &mut Criterion) {
    let mut rng = rng();
    let ids: Vec<[u8; 16]> = (0..VALUES).map(|_| rng.random()).collect();
    let raw = 0xc0_0000_0000_0000; // 25%
    let reference = Threshold::from_raw(raw).unwrap();
    let mut bitmap = vec![0u64; threshold::bitmap_words(ids.len())];
    let mut group = c.benchmark_group("threshold_bitmap");
    group.throughput(throughput(ids.len(), 16));
    group.bench_function("otlp_simd", |b| {
        b.iter(|| threshold::sample_bitmap(black_box(&ids), raw, &mut bitmap).unwrap())
    });
    if wide() {
        for (function, isa) in [
            ("otlp_simd_avx512", Isa::Avx512),
            ("peer_avx2_sample", Isa::Avx2),
        ] {
            group.bench_function(function, |b| {
                b.iter(|| {
                    threshold::sample_bitmap_on(isa, black_box(&ids), raw, &mut bitmap).unwrap()
                })
            });
        }
    }
    group.bench_function("peer_scalar_sample", |b| {
        b.iter(|| {
            threshold::scalar::sample(black_box(&ids), raw, &mut bitmap);
            black_box(&bitmap);
        })
    });
    group.bench_function("peer_otlp_sampling_per_id", |b| {
        b.iter(|| {
            black_box(&ids)
                .iter()
                .filter(|id| reference.should_sample(Randomness::from_trace_id(**id)))
                .count()
        })
    });
    group.finish();
}

/// A column of random ids with the wanted one at every 100th row: a trace's few spans among many.
fn id_column<const W: usize>(rng: &mut ChaCha8Rng) -> (Vec<[u8; W]>, [u8; W]) {
    let wanted: [u8; W] = rng.random();
    let ids = (0..VALUES)
        .map(|row| if row % 100 == 7 { wanted } else { rng.random() })
        .collect();
    (ids, wanted)
}

/// One id width's kernel in `group`: `run` on the detected instruction set (`None`), on AVX-512 and AVX2 by
/// name where the CPU has both, and the scalar twin.
fn id_match_width<const W: usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    parameter: &str,
    (ids, wanted): (Vec<[u8; W]>, [u8; W]),
    run: impl Fn(Option<Isa>, &[[u8; W]], &[u8; W], &mut [u64]) -> otlp_simd::Result<usize>,
) {
    let mut bitmap = vec![0u64; id_match::bitmap_words(ids.len())];
    group.throughput(throughput(ids.len(), W));
    let mut paths = vec![("otlp_simd", None)];
    if wide() {
        paths.extend([
            ("otlp_simd_avx512", Some(Isa::Avx512)),
            ("peer_avx2_matches", Some(Isa::Avx2)),
        ]);
    }
    for (function, isa) in paths {
        group.bench_function(BenchmarkId::new(function, parameter), |b| {
            b.iter(|| run(isa, black_box(&ids), &wanted, &mut bitmap).unwrap())
        });
    }
    group.bench_function(BenchmarkId::new("peer_scalar_matches", parameter), |b| {
        b.iter(|| {
            id_match::scalar::matches(black_box(&ids), &wanted, &mut bitmap);
            black_box(&bitmap);
        })
    });
}

fn id_match(c: &mut Criterion) {
    let mut rng = rng();
    let mut group = c.benchmark_group("id_match");
    id_match_width(
        &mut group,
        "trace_id",
        id_column::<16>(&mut rng),
        |isa, ids, wanted, bitmap| match isa {
            Some(isa) => id_match::trace_ids_on(isa, ids, wanted, bitmap),
            None => id_match::trace_ids(ids, wanted, bitmap),
        },
    );
    id_match_width(
        &mut group,
        "span_id",
        id_column::<8>(&mut rng),
        |isa, ids, wanted, bitmap| match isa {
            Some(isa) => id_match::span_ids_on(isa, ids, wanted, bitmap),
            None => id_match::span_ids(ids, wanted, bitmap),
        },
    );
    group.finish();
}

fn id_generation(c: &mut Criterion) {
    let mut ids = vec![[0u8; 16]; IDS];
    let mut group = c.benchmark_group("id_generation");
    group.throughput(throughput(IDS, 16));
    let mut generator = IdGenerator::from_seed(1);
    group.bench_function("otlp_simd", |b| {
        b.iter(|| generator.fill_trace_ids(black_box(&mut ids)))
    });
    if wide() {
        for (function, isa) in [
            ("otlp_simd_avx512", Isa::Avx512),
            ("peer_avx2_fill", Isa::Avx2),
        ] {
            group.bench_function(function, |b| {
                b.iter(|| {
                    generator
                        .fill_trace_ids_on(isa, black_box(&mut ids))
                        .unwrap()
                })
            });
        }
    }
    let mut start = 1u64;
    group.bench_function("peer_scalar_fill", |b| {
        b.iter(|| {
            otlp_simd::idgen::scalar::fill(start, black_box(ids.as_flattened_mut()));
            start = start.wrapping_add(GAMMA.wrapping_mul(2 * IDS as u64));
        })
    });
    let mut chacha = rng();
    group.bench_function("peer_chacha8_fill_bytes", |b| {
        b.iter(|| chacha.fill_bytes(black_box(ids.as_flattened_mut())))
    });
    group.finish();
}

fn aggregation(c: &mut Criterion) {
    let mut rng = rng();
    let integers: Vec<i64> = (0..VALUES).map(|_| rng.random()).collect();
    let floats: Vec<f64> = (0..VALUES)
        .map(|_| rng.random::<f64>() * 1e6 - 5e5)
        .collect();
    let mut group = c.benchmark_group("aggregate");
    group.throughput(throughput(VALUES, 8));
    group.bench_function(BenchmarkId::new("otlp_simd", "i64"), |b| {
        b.iter(|| aggregate::summarize_i64(black_box(&integers)))
    });
    group.bench_function(BenchmarkId::new("peer_scalar_summarize", "i64"), |b| {
        b.iter(|| aggregate::scalar::summarize_i64(black_box(&integers)))
    });
    if wide() {
        for (function, isa) in [
            ("otlp_simd_avx512", Isa::Avx512),
            ("peer_avx2_summarize", Isa::Avx2),
        ] {
            group.bench_function(BenchmarkId::new(function, "i64"), |b| {
                b.iter(|| aggregate::summarize_i64_on(isa, black_box(&integers)).unwrap())
            });
            group.bench_function(BenchmarkId::new(function, "f64"), |b| {
                b.iter(|| aggregate::summarize_f64_on(isa, black_box(&floats)).unwrap())
            });
        }
    }
    group.bench_function(BenchmarkId::new("otlp_simd", "f64"), |b| {
        b.iter(|| aggregate::summarize_f64(black_box(&floats)))
    });
    group.bench_function(BenchmarkId::new("peer_scalar_summarize", "f64"), |b| {
        b.iter(|| aggregate::scalar::summarize_f64(black_box(&floats)))
    });
    group.finish();
}

fn histogram_buckets(c: &mut Criterion) {
    let mut rng = rng();
    // The SDK's default explicit bounds (15 of them, in milliseconds).
    let bounds = [
        0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0,
        7500.0, 10000.0,
    ];
    let values: Vec<f64> = (0..VALUES)
        .map(|_| rng.random::<f64>().powi(3) * 12000.0)
        .collect();
    let mut counts = vec![0u64; bounds.len() + 1];
    let mut group = c.benchmark_group("histogram_buckets");
    group.throughput(throughput(VALUES, 8));
    group.bench_function("otlp_simd", |b| {
        b.iter(|| histogram::count_buckets(black_box(&values), &bounds, &mut counts).unwrap())
    });
    if wide() {
        for (function, isa) in [
            ("otlp_simd_avx512", Isa::Avx512),
            ("peer_avx2_count", Isa::Avx2),
        ] {
            group.bench_function(function, |b| {
                b.iter(|| {
                    histogram::count_buckets_on(isa, black_box(&values), &bounds, &mut counts)
                        .unwrap()
                })
            });
        }
    }
    group.bench_function("peer_scalar_count", |b| {
        b.iter(|| histogram::scalar::count(black_box(&values), &bounds, &mut counts))
    });
    group.finish();
}

fn byte_comparison(c: &mut Criterion) {
    let mut group = c.benchmark_group("bytes_compare");
    for len in [24usize, 256, 4096] {
        let a: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut b = a.clone();
        // Differ in the last byte: every function reads everything.
        b[len - 1] ^= 1;
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("otlp_simd_mismatch", len), |bench| {
            bench.iter(|| bytes::mismatch(black_box(&a), black_box(&b)))
        });
        if wide() {
            for (function, isa) in [
                ("otlp_simd_avx512_mismatch", Isa::Avx512),
                ("peer_avx2_mismatch", Isa::Avx2),
            ] {
                group.bench_function(BenchmarkId::new(function, len), |bench| {
                    bench.iter(|| bytes::mismatch_on(isa, black_box(&a), black_box(&b)).unwrap())
                });
            }
        }
        group.bench_function(BenchmarkId::new("peer_scalar_mismatch", len), |bench| {
            bench.iter(|| bytes::scalar::mismatch(black_box(&a), black_box(&b)))
        });
        // Equality only (no index): what `bytes::eq` uses.
        group.bench_function(BenchmarkId::new("peer_std_slice_eq", len), |bench| {
            bench.iter(|| black_box(&a[..]) == black_box(&b[..]))
        });
    }
    group.finish();
}

/// Strings as OTLP carries them: semantic-convention keys and typical values, 2 to 49 bytes.
const OTLP_STRINGS: [&str; 16] = [
    "http.request.method",
    "GET",
    "service.name",
    "checkout",
    "http.route",
    "/api/cart/{id}",
    "server.address",
    "10.1.2.3",
    "user_agent.original",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    "db.system",
    "postgresql",
    "rpc.method",
    "PlaceOrder",
    "app.product.id",
    "OLJCESPC7Z",
];

/// The same, in languages whose text is not ASCII.
const NON_ASCII_STRINGS: [&str; 4] = [
    "Größe der Bestellung",
    "commande validée",
    "注文を確定する",
    "оформление заказа",
];

fn utf8_validation(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8_validate");
    for (parameter, strings) in [
        ("otlp_ascii", &OTLP_STRINGS[..]),
        ("non_ascii", &NON_ASCII_STRINGS[..]),
    ] {
        // 1024 strings laid end to end, each read at its own (mostly unaligned) start.
        let mut text = Vec::new();
        let mut ranges = Vec::new();
        for i in 0..1024 {
            let start = text.len();
            text.extend_from_slice(strings[(i * 7 + i / 3) % strings.len()].as_bytes());
            ranges.push(start..text.len());
        }
        group.throughput(throughput(ranges.len(), text.len() / ranges.len()));
        group.bench_function(BenchmarkId::new("otlp_simd", parameter), |b| {
            b.iter(|| {
                ranges
                    .iter()
                    .filter(|r| utf8::from_utf8(black_box(&text[(*r).clone()])).is_ok())
                    .count()
            })
        });
        group.bench_function(BenchmarkId::new("peer_std_from_utf8", parameter), |b| {
            b.iter(|| {
                ranges
                    .iter()
                    .filter(|r| std::str::from_utf8(black_box(&text[(*r).clone()])).is_ok())
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    hex_encode,
    hex_decode,
    threshold_bitmap,
    id_match,
    id_generation,
    aggregation,
    histogram_buckets,
    byte_comparison,
    utf8_validation
);
criterion_main!(benches);
