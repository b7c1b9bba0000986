//! AVX-512 matches: each 512-bit compare takes four trace ids or eight span ids as 64-bit lanes and writes one
//! bit per lane into a mask register. A trace id matches when both of its lanes do.

// Compiled only where build.rs found Rust 1.89 or later, in which these intrinsics are stable; the crate's
// minimum Rust (1.88) builds without this module.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

use super::{both_lanes, scalar};

/// Marks the trace ids of `ids` equal to `wanted` in `bitmap`, whose length the caller has checked.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn trace_ids(ids: &[[u8; 16]], wanted: &[u8; 16], bitmap: &mut [u64]) {
    // SAFETY: `wanted` is 16 readable bytes, the width of the unaligned load.
    let pairs = _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(wanted.as_ptr().cast()) });
    let (whole, rest) = ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (group, sixteen) in ids.as_chunks::<16>().0.iter().enumerate() {
            let mut lanes = 0u32;
            for (step, four) in sixteen.as_chunks::<4>().0.iter().enumerate() {
                // SAFETY: `four` is 4 ids, 64 contiguous bytes.
                let four = unsafe { _mm512_loadu_si512(four.as_ptr().cast()) };
                lanes |= u32::from(_mm512_cmpeq_epi64_mask(four, pairs)) << (8 * step);
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
/// The CPU must support AVX-512 F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn span_ids(ids: &[[u8; 8]], wanted: &[u8; 8], bitmap: &mut [u64]) {
    let wanted_lanes = _mm512_set1_epi64(i64::from_ne_bytes(*wanted));
    let (whole, rest) = ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (step, eight) in ids.as_chunks::<8>().0.iter().enumerate() {
            // SAFETY: `eight` is 8 ids, 64 contiguous bytes.
            let eight = unsafe { _mm512_loadu_si512(eight.as_ptr().cast()) };
            bits |= u64::from(_mm512_cmpeq_epi64_mask(eight, wanted_lanes)) << (8 * step);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()..) {
        scalar::matches(rest, wanted, last);
    }
}
