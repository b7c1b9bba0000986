//! AVX2 matches: each 256-bit compare takes two trace ids or four span ids as 64-bit lanes, and `vmovmskpd`
//! keeps one bit per lane. A trace id matches when both of its lanes do.

use std::arch::x86_64::*;

use super::{both_lanes, scalar};

/// Marks the trace ids of `ids` equal to `wanted` in `bitmap`, whose length the caller has checked.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn trace_ids(ids: &[[u8; 16]], wanted: &[u8; 16], bitmap: &mut [u64]) {
    // SAFETY: `wanted` is 16 readable bytes, the width of the unaligned load.
    let pair = _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(wanted.as_ptr().cast()) });
    let (whole, rest) = ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (group, sixteen) in ids.as_chunks::<16>().0.iter().enumerate() {
            let mut lanes = 0u32;
            for (step, two) in sixteen.as_chunks::<2>().0.iter().enumerate() {
                // SAFETY: `two` is 2 ids, 32 contiguous bytes.
                let two = unsafe { _mm256_loadu_si256(two.as_ptr().cast()) };
                let equal = _mm256_castsi256_pd(_mm256_cmpeq_epi64(two, pair));
                lanes |= (_mm256_movemask_pd(equal) as u32) << (4 * step);
            }
            bits |= u64::from(both_lanes(lanes)) << (16 * group);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()..) {
        scalar::matches(rest, wanted, last);
    }
}

/// Marks the span ids of `ids` equal to `wanted` in `bitmap`, whose length the caller has checked.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn span_ids(ids: &[[u8; 8]], wanted: &[u8; 8], bitmap: &mut [u64]) {
    let wanted_lanes = _mm256_set1_epi64x(i64::from_ne_bytes(*wanted));
    let (whole, rest) = ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (step, four) in ids.as_chunks::<4>().0.iter().enumerate() {
            // SAFETY: `four` is 4 ids, 32 contiguous bytes.
            let four = unsafe { _mm256_loadu_si256(four.as_ptr().cast()) };
            let equal = _mm256_castsi256_pd(_mm256_cmpeq_epi64(four, wanted_lanes));
            bits |= u64::from(_mm256_movemask_pd(equal) as u32) << (4 * step);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()..) {
        scalar::matches(rest, wanted, last);
    }
}
