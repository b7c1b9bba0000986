//! Every kernel equals its scalar twin: for random inputs of every length 0..=257, starting at
//! unaligned offsets (the vector paths use unaligned loads; this proves they handle every head
//! and tail). On this machine the dispatched kernel is the one `isa::current()` names.

use otlp_simd::aggregate::{self, F64Summary};
use otlp_simd::idgen::{self, GAMMA, IdGenerator};
use otlp_simd::{bytes, hex, histogram, threshold};
use proptest::prelude::*;

const MAX_LEN: usize = 257;
const OFFSETS: [usize; 4] = [0, 1, 3, 7];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    }
}

/// `f64` values that exercise the interesting cases: NaN, infinities, signed zeros, and values
/// from a small set so that min and max see ties.
fn special_f64(bits: u64) -> f64 {
    match bits % 16 {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => 0.0,
        4 => -0.0,
        5 => ((bits >> 8) % 7) as f64 - 3.0,
        _ => f64::from_bits(bits >> 2) * if bits & 2 == 0 { 1.0 } else { -1.0 },
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hex_encode_equals_scalar(pool in proptest::collection::vec(any::<u8>(), MAX_LEN + 8)) {
        for offset in OFFSETS {
            for len in 0..=MAX_LEN.min(pool.len() - offset) {
                let src = &pool[offset..offset + len];
                let mut ours = vec![0u8; 2 * len + 1];
                let mut twin = vec![0u8; 2 * len + 1];
                hex::encode_into(src, &mut ours[1..]).unwrap();
                hex::scalar::encode(src, &mut twin[1..]);
                prop_assert_eq!(&ours, &twin, "len {} offset {}", len, offset);
                let reference = ::hex::encode(src);
                prop_assert_eq!(&ours[1..], reference.as_bytes());
            }
        }
    }

    #[test]
    fn hex_decode_equals_scalar(
        digits in proptest::collection::vec(0usize..22, 2 * MAX_LEN + 8),
        bad in proptest::option::of((0usize..2 * MAX_LEN, any::<u8>())),
    ) {
        let alphabet = b"0123456789abcdefABCDEF";
        let mut chars: Vec<u8> = digits.iter().map(|&digit| alphabet[digit]).collect();
        if let Some((index, byte)) = bad {
            chars[index] = byte;
        }
        for offset in OFFSETS {
            for len in 0..=MAX_LEN {
                let src = &chars[offset..offset + 2 * len];
                let mut ours = vec![0u8; len];
                let mut twin = vec![0u8; len];
                let result = hex::decode_into(src, &mut ours);
                let twin_result = hex::scalar::decode(src, &mut twin);
                prop_assert_eq!(&result, &twin_result, "len {} offset {}", len, offset);
                if result.is_ok() {
                    prop_assert_eq!(&ours, &twin);
                    prop_assert_eq!(&ours, &::hex::decode(src).unwrap());
                }
            }
        }
    }

    #[test]
    fn id_functions_equal_scalar(
        trace in any::<[u8; 16]>(),
        span in any::<[u8; 8]>(),
        bad in proptest::option::of((0usize..32, any::<u8>())),
    ) {
        let mut twin = [0u8; 32];
        hex::scalar::encode(&trace, &mut twin);
        prop_assert_eq!(hex::encode_trace_id(&trace), twin);
        let mut twin_span = [0u8; 16];
        hex::scalar::encode(&span, &mut twin_span);
        prop_assert_eq!(hex::encode_span_id(&span), twin_span);
        if let Some((index, byte)) = bad {
            twin[index] = byte;
        }
        let mut decoded = [0u8; 16];
        let expected = hex::scalar::decode(&twin, &mut decoded).map(|()| decoded);
        prop_assert_eq!(hex::decode_trace_id(&twin), expected);
        let mut decoded = [0u8; 8];
        let expected = hex::scalar::decode(&twin[..16], &mut decoded).map(|()| decoded);
        prop_assert_eq!(hex::decode_span_id(&twin[..16]), expected);
    }

    #[test]
    fn threshold_equals_scalar_and_otlp_sampling(
        pool in proptest::collection::vec(any::<u8>(), 16 * MAX_LEN + 8),
        raw in any::<u64>(),
        pick in any::<usize>(),
    ) {
        for offset in OFFSETS {
            let (ids, _) = pool[offset..].as_chunks::<16>();
            // Thresholds over the whole range, including one equal to an id's randomness.
            let thresholds = [
                raw >> 8,
                raw,
                threshold::randomness(&ids[pick % ids.len()]),
                0,
                threshold::REJECT_ALL,
            ];
            for len in 0..=MAX_LEN.min(ids.len()) {
                let ids = &ids[..len];
                for &t in &thresholds {
                    let mut ours = vec![u64::MAX; threshold::bitmap_words(len)];
                    let mut twin = vec![0u64; threshold::bitmap_words(len)];
                    let kept = threshold::sample_bitmap(ids, t, &mut ours).unwrap();
                    threshold::scalar::sample(ids, t.min(threshold::REJECT_ALL), &mut twin);
                    prop_assert_eq!(&ours, &twin, "len {} offset {} threshold {:#x}", len, offset, t);
                    let reference = otlp_sampling::consistent::Threshold::from_raw(t.min(threshold::REJECT_ALL - 1));
                    if let (Ok(reference), true) = (reference, t < threshold::REJECT_ALL) {
                        let expected = ids.iter().filter(|id| {
                            reference.should_sample(otlp_sampling::consistent::Randomness::from_trace_id(**id))
                        }).count();
                        prop_assert_eq!(kept, expected);
                        for (i, id) in ids.iter().enumerate() {
                            let bit = ours[i / 64] >> (i % 64) & 1 == 1;
                            prop_assert_eq!(bit, reference.should_sample(
                                otlp_sampling::consistent::Randomness::from_trace_id(*id)));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn id_generation_equals_scalar(seed in any::<u64>(), skip in 0usize..5) {
        for len in 0..=MAX_LEN {
            let mut generator = IdGenerator::from_seed(seed);
            // Start at different counter positions, so the vector steps start unaligned too.
            for _ in 0..skip {
                generator.span_id();
            }
            let mut ours = vec![[0u8; 16]; len];
            generator.fill_trace_ids(&mut ours);
            let mut twin = vec![0u8; 16 * len];
            idgen::scalar::fill(seed.wrapping_add((skip as u64 + 1).wrapping_mul(GAMMA)), &mut twin);
            prop_assert_eq!(ours.as_flattened(), &twin[..]);
            prop_assert!(ours.iter().all(|id| *id != [0; 16]));
        }
    }

    #[test]
    fn i64_summary_equals_scalar(pool in proptest::collection::vec(any::<i64>(), MAX_LEN + 8)) {
        for offset in OFFSETS {
            for len in 0..=MAX_LEN {
                let values = &pool[offset..offset + len];
                prop_assert_eq!(
                    aggregate::summarize_i64(values),
                    (len > 0).then(|| aggregate::scalar::summarize_i64(values))
                );
            }
        }
    }

    #[test]
    fn f64_summary_equals_scalar_bit_for_bit(bits in proptest::collection::vec(any::<u64>(), MAX_LEN + 8)) {
        let pool: Vec<f64> = bits.iter().map(|&b| special_f64(b)).collect();
        for offset in OFFSETS {
            for len in 1..=MAX_LEN {
                let values = &pool[offset..offset + len];
                let ours: F64Summary = aggregate::summarize_f64(values).unwrap();
                let twin = aggregate::scalar::summarize_f64(values);
                prop_assert!(ours.bit_eq(&twin), "len {} offset {}: {:?} vs {:?}", len, offset, ours, twin);
                let nans = values.iter().filter(|v| v.is_nan()).count() as u64;
                prop_assert_eq!(ours.nan_count, nans);
                let numbers = values.iter().copied().filter(|v| !v.is_nan());
                if nans < len as u64 {
                    prop_assert_eq!(ours.min, numbers.clone().fold(f64::INFINITY, f64::min));
                    prop_assert_eq!(ours.max, numbers.fold(f64::NEG_INFINITY, f64::max));
                }
            }
        }
    }

    #[test]
    fn histogram_equals_scalar(
        bits in proptest::collection::vec(any::<u64>(), MAX_LEN + 8),
        mut bounds in proptest::collection::vec(-5i32..5, 0..60),
    ) {
        bounds.sort_unstable();
        bounds.dedup();
        let bounds: Vec<f64> = bounds.iter().map(|&b| f64::from(b) * 0.5).collect();
        let pool: Vec<f64> = bits.iter().map(|&b| special_f64(b)).collect();
        for offset in OFFSETS {
            for len in 0..=MAX_LEN {
                let values = &pool[offset..offset + len];
                let mut ours = vec![1u64; bounds.len() + 1];
                let mut twin = vec![1u64; bounds.len() + 1];
                let nan = histogram::count_buckets(values, &bounds, &mut ours).unwrap();
                let twin_nan = histogram::scalar::count(values, &bounds, &mut twin);
                prop_assert_eq!((nan, &ours), (twin_nan, &twin), "len {} offset {}", len, offset);
            }
        }
    }

    #[test]
    fn byte_comparison_equals_scalar(
        pool in proptest::collection::vec(any::<u8>(), MAX_LEN + 8),
        flip in proptest::option::of((0usize..MAX_LEN, 1u8..)),
    ) {
        let mut other = pool.clone();
        if let Some((index, delta)) = flip {
            other[index] = other[index].wrapping_add(delta);
        }
        for offset in OFFSETS {
            for len in 0..=MAX_LEN {
                let a = &pool[offset..offset + len];
                let b = &other[offset..offset + len];
                let twin = bytes::scalar::mismatch(a, b);
                prop_assert_eq!(bytes::mismatch(a, b), twin, "len {} offset {}", len, offset);
                prop_assert_eq!(bytes::eq(a, b), twin.is_none());
                prop_assert_eq!(bytes::eq(a, b), a == b);
                prop_assert_eq!(bytes::starts_with(&pool[offset..], b), pool[offset..].starts_with(b));
            }
        }
    }
}
