//! Every kernel equals its scalar twin: for random inputs of every length 0..=257, starting at
//! unaligned offsets (the vector paths use unaligned loads and masked tails; this proves they
//! handle every head and tail). Each test runs every instruction set this CPU supports through
//! the kernels' `*_on` variants (AVX2 and AVX-512 on such an x86_64, NEON on aarch64), so a path
//! that dispatch no longer picks here stays tested, and then the dispatched kernel, the one
//! `isa::current()` names. Outputs are written between guard bytes, which must stay untouched.

use otlp_simd::aggregate::{self, F64Summary};
use otlp_simd::idgen::{self, GAMMA, IdGenerator};
use otlp_simd::isa::{self, Isa};
use otlp_simd::{bytes, hex, histogram, id_match, threshold, utf8};
use proptest::prelude::*;

/// The instruction sets to compare with the scalar twin: every one this CPU runs, and `None` for
/// the dispatched entry point.
fn paths() -> Vec<Option<Isa>> {
    let mut paths: Vec<Option<Isa>> = isa::supported().into_iter().map(Some).collect();
    paths.push(None);
    paths
}

fn name(path: Option<Isa>) -> &'static str {
    path.map_or("dispatched", Isa::name)
}

const GUARD: u8 = 0xa5;

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

/// One id width's kernel (`run`: on a named instruction set, or dispatched) against its scalar twin and a plain
/// count, on every path.
fn id_match_twin<const W: usize>(
    ids: &[[u8; W]],
    wanted: &[u8; W],
    offset: usize,
    run: impl Fn(Option<Isa>, &[[u8; W]], &[u8; W], &mut [u64]) -> otlp_simd::Result<usize>,
) -> Result<(), TestCaseError> {
    let mut twin = vec![0u64; id_match::bitmap_words(ids.len())];
    id_match::scalar::matches(ids, wanted, &mut twin);
    let expected = ids.iter().filter(|id| *id == wanted).count();
    for path in paths() {
        let mut ours = vec![u64::MAX; twin.len()];
        let found = run(path, ids, wanted, &mut ours).unwrap();
        prop_assert_eq!(
            &ours,
            &twin,
            "{}-byte ids {} len {} offset {}",
            W,
            name(path),
            ids.len(),
            offset
        );
        prop_assert_eq!(found, expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hex_encode_equals_scalar(pool in proptest::collection::vec(any::<u8>(), MAX_LEN + 8)) {
        for offset in OFFSETS {
            for len in 0..=MAX_LEN.min(pool.len() - offset) {
                let src = &pool[offset..offset + len];
                let mut twin = vec![GUARD; 2 * len + 2];
                hex::scalar::encode(src, &mut twin[1..=2 * len]);
                let reference = ::hex::encode(src);
                prop_assert_eq!(&twin[1..=2 * len], reference.as_bytes());
                for path in paths() {
                    let mut ours = vec![GUARD; 2 * len + 2];
                    let out = &mut ours[1..=2 * len];
                    match path {
                        Some(isa) => hex::encode_into_on(isa, src, out).unwrap(),
                        None => hex::encode_into(src, out).unwrap(),
                    }
                    prop_assert_eq!(&ours, &twin, "{} len {} offset {}", name(path), len, offset);
                }
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
                let mut twin = vec![0u8; len];
                let twin_result = hex::scalar::decode(src, &mut twin);
                if twin_result.is_ok() {
                    prop_assert_eq!(&twin, &::hex::decode(src).unwrap());
                }
                for path in paths() {
                    let mut ours = vec![GUARD; len + 2];
                    let out = &mut ours[1..=len];
                    let result = match path {
                        Some(isa) => hex::decode_into_on(isa, src, out),
                        None => hex::decode_into(src, out),
                    };
                    prop_assert_eq!(&result, &twin_result, "{} len {} offset {}", name(path), len, offset);
                    prop_assert_eq!((ours[0], ours[len + 1]), (GUARD, GUARD));
                    if result.is_ok() {
                        prop_assert_eq!(&ours[1..=len], &twin[..], "{} len {}", name(path), len);
                    }
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
                    let mut twin = vec![0u64; threshold::bitmap_words(len)];
                    threshold::scalar::sample(ids, t.min(threshold::REJECT_ALL), &mut twin);
                    let mut ours = vec![u64::MAX; threshold::bitmap_words(len)];
                    let mut kept = 0;
                    for path in paths() {
                        ours.fill(u64::MAX);
                        kept = match path {
                            Some(isa) => threshold::sample_bitmap_on(isa, ids, t, &mut ours),
                            None => threshold::sample_bitmap(ids, t, &mut ours),
                        }
                        .unwrap();
                        prop_assert_eq!(&ours, &twin, "{} len {} offset {} threshold {:#x}", name(path), len, offset, t);
                    }
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
    fn id_match_equals_scalar(
        pool in proptest::collection::vec(any::<u8>(), 16 * MAX_LEN + 8),
        picks in proptest::collection::vec(any::<usize>(), 8),
        random in any::<[u8; 16]>(),
    ) {
        // Random ids never repeat, so the pool is given repeats: copies of one id, and ids equal to it but
        // for one byte (each position in turn), which a comparison of only some of the bytes would match.
        let mut pool = pool;
        let copies = pool.len() / 16;
        let wanted: [u8; 16] = pool[16 * (picks[0] % copies)..][..16].try_into().unwrap();
        for (n, pick) in picks.iter().enumerate().skip(1) {
            let at = 16 * (pick % copies);
            pool[at..at + 16].copy_from_slice(&wanted);
            if n % 2 == 0 {
                pool[at + pick % 16] ^= 1 << (pick % 8);
            }
        }
        for offset in OFFSETS {
            let (trace_ids, _) = pool[offset..].as_chunks::<16>();
            let (span_ids, _) = pool[offset..].as_chunks::<8>();
            let span_wanted: [u8; 8] = wanted[..8].try_into().unwrap();
            let random_span: [u8; 8] = random[8..].try_into().unwrap();
            for len in 0..=MAX_LEN.min(trace_ids.len()) {
                for wanted in [wanted, random] {
                    id_match_twin(&trace_ids[..len], &wanted, offset, |path, ids, wanted, bitmap| match path {
                        Some(isa) => id_match::trace_ids_on(isa, ids, wanted, bitmap),
                        None => id_match::trace_ids(ids, wanted, bitmap),
                    })?;
                }
                for wanted in [span_wanted, random_span] {
                    id_match_twin(&span_ids[..len], &wanted, offset, |path, ids, wanted, bitmap| match path {
                        Some(isa) => id_match::span_ids_on(isa, ids, wanted, bitmap),
                        None => id_match::span_ids(ids, wanted, bitmap),
                    })?;
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
            let mut twin = vec![0u8; 16 * len];
            idgen::scalar::fill(seed.wrapping_add((skip as u64 + 1).wrapping_mul(GAMMA)), &mut twin);
            for path in paths() {
                let mut copy = generator.clone();
                let mut ours = vec![[GUARD; 16]; len + 2];
                let out = &mut ours[1..=len];
                match path {
                    Some(isa) => copy.fill_trace_ids_on(isa, out).unwrap(),
                    None => copy.fill_trace_ids(out),
                }
                prop_assert_eq!(out.as_flattened(), &twin[..], "{} len {}", name(path), len);
                prop_assert!(out.iter().all(|id| *id != [0; 16]));
                prop_assert_eq!((ours[0], ours[len + 1]), ([GUARD; 16], [GUARD; 16]));
                // The next id continues the stream where the batch ended, 2 words per trace id on.
                let mut next = [0u8; 8];
                let position = skip as u64 + 2 * len as u64 + 1;
                idgen::scalar::fill(seed.wrapping_add(position.wrapping_mul(GAMMA)), &mut next);
                if next == [0; 8] {
                    next = idgen::mix(GAMMA).to_le_bytes();
                }
                prop_assert_eq!(copy.span_id(), next, "{} len {}", name(path), len);
            }
        }
    }

    #[test]
    fn i64_summary_equals_scalar(pool in proptest::collection::vec(any::<i64>(), MAX_LEN + 8)) {
        for offset in OFFSETS {
            for len in 0..=MAX_LEN {
                let values = &pool[offset..offset + len];
                let twin = (len > 0).then(|| aggregate::scalar::summarize_i64(values));
                for path in paths() {
                    let ours = match path {
                        Some(isa) => aggregate::summarize_i64_on(isa, values).unwrap(),
                        None => aggregate::summarize_i64(values),
                    };
                    prop_assert_eq!(ours, twin, "{} len {} offset {}", name(path), len, offset);
                }
            }
        }
    }

    #[test]
    fn f64_summary_equals_scalar_bit_for_bit(bits in proptest::collection::vec(any::<u64>(), MAX_LEN + 8)) {
        let pool: Vec<f64> = bits.iter().map(|&b| special_f64(b)).collect();
        for offset in OFFSETS {
            for len in 1..=MAX_LEN {
                let values = &pool[offset..offset + len];
                let twin = aggregate::scalar::summarize_f64(values);
                for path in paths() {
                    let ours: F64Summary = match path {
                        Some(isa) => aggregate::summarize_f64_on(isa, values).unwrap(),
                        None => aggregate::summarize_f64(values),
                    }
                    .unwrap();
                    prop_assert!(ours.bit_eq(&twin), "{} len {} offset {}: {:?} vs {:?}", name(path), len, offset, ours, twin);
                }
                // Every path equals the twin bit for bit, so checking the twin's semantics
                // checks theirs.
                let nans = values.iter().filter(|v| v.is_nan()).count() as u64;
                prop_assert_eq!(twin.nan_count, nans);
                let numbers = values.iter().copied().filter(|v| !v.is_nan());
                if nans < len as u64 {
                    prop_assert_eq!(twin.min, numbers.clone().fold(f64::INFINITY, f64::min));
                    prop_assert_eq!(twin.max, numbers.fold(f64::NEG_INFINITY, f64::max));
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
                let mut twin = vec![1u64; bounds.len() + 1];
                let twin_nan = histogram::scalar::count(values, &bounds, &mut twin);
                for path in paths() {
                    let mut ours = vec![1u64; bounds.len() + 1];
                    let nan = match path {
                        Some(isa) => histogram::count_buckets_on(isa, values, &bounds, &mut ours),
                        None => histogram::count_buckets(values, &bounds, &mut ours),
                    }
                    .unwrap();
                    prop_assert_eq!((nan, &ours), (twin_nan, &twin), "{} len {} offset {}", name(path), len, offset);
                }
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
                for path in paths() {
                    let ours = match path {
                        Some(isa) => bytes::mismatch_on(isa, a, b).unwrap(),
                        None => bytes::mismatch(a, b),
                    };
                    prop_assert_eq!(ours, twin, "{} len {} offset {}", name(path), len, offset);
                    // Unequal lengths: the shorter's length when it is a prefix of the longer.
                    let longer = &other[offset..offset + len + 1];
                    let ours = match path {
                        Some(isa) => bytes::mismatch_on(isa, a, longer).unwrap(),
                        None => bytes::mismatch(a, longer),
                    };
                    prop_assert_eq!(ours, twin.or(Some(len)), "{} len {} offset {}", name(path), len, offset);
                }
                prop_assert_eq!(bytes::eq(a, b), twin.is_none());
                prop_assert_eq!(bytes::eq(a, b), a == b);
                prop_assert_eq!(bytes::starts_with(&pool[offset..], b), pool[offset..].starts_with(b));
            }
        }
    }

    #[test]
    fn utf8_equals_std(pieces in proptest::collection::vec(utf8_piece(), MAX_LEN + 8)) {
        // Mostly ASCII like OTLP's strings, with characters of every width and stray bytes; slices
        // that cut a character in two check the errors as well.
        let pool: Vec<u8> = pieces.concat();
        for offset in OFFSETS {
            for len in 0..=MAX_LEN.min(pool.len() - offset) {
                let slice = &pool[offset..offset + len];
                let ours = utf8::from_utf8(slice);
                let twin = std::str::from_utf8(slice);
                prop_assert_eq!(ours, twin, "len {} offset {}", len, offset);
                prop_assert_eq!(utf8::is_valid(slice), twin.is_ok());
            }
        }
    }
}

/// One piece of a UTF-8 test string: an ASCII byte (most often), a whole character of any width,
/// or any byte.
fn utf8_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (0u8..0x80).prop_map(|b| vec![b]),
        2 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ]
}

#[test]
fn the_on_variants_refuse_an_isa_this_cpu_lacks() {
    let unsupported: Vec<Isa> = Isa::ALL
        .into_iter()
        .filter(|isa| !isa.is_supported())
        .collect();
    // Every CPU lacks the other architecture's vector ISA.
    assert!(!unsupported.is_empty());
    for isa in unsupported {
        let error = otlp_simd::Error::UnsupportedIsa { isa };
        assert!(error.to_string().contains(isa.name()), "{error}");
        let refused = Err(error);
        assert_eq!(hex::encode_into_on(isa, b"ab", &mut [0; 4]), refused);
        assert_eq!(hex::decode_into_on(isa, b"ab", &mut [0; 1]), refused);
        let ids = [[7u8; 16]; 3];
        assert_eq!(
            threshold::sample_bitmap_on(isa, &ids, 0, &mut [0]),
            refused.clone().map(|()| 0)
        );
        assert_eq!(
            id_match::trace_ids_on(isa, &ids, &[7; 16], &mut [0]),
            refused.clone().map(|()| 0)
        );
        assert_eq!(
            id_match::span_ids_on(isa, &[[7; 8]], &[7; 8], &mut [0]),
            refused.clone().map(|()| 0)
        );
        assert_eq!(
            aggregate::summarize_i64_on(isa, &[1]),
            refused.clone().map(|()| None)
        );
        assert!(aggregate::summarize_f64_on(isa, &[1.0]).is_err());
        assert_eq!(
            histogram::count_buckets_on(isa, &[1.0], &[0.0], &mut [0, 0]),
            refused.clone().map(|()| 0)
        );
        assert_eq!(
            bytes::mismatch_on(isa, b"a", b"b"),
            refused.clone().map(|()| None)
        );
        let mut generator = IdGenerator::from_seed(3);
        let mut ids = [[0u8; 16]; 2];
        assert_eq!(generator.fill_trace_ids_on(isa, &mut ids), refused);
        assert_eq!(ids, [[0; 16]; 2], "nothing written");
        assert_eq!(
            generator.trace_id(),
            IdGenerator::from_seed(3).trace_id(),
            "not advanced"
        );
    }
}
