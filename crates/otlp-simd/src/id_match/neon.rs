//! NEON matches: a 128-bit compare takes one trace id or two span ids as 64-bit lanes. For trace ids, a zip
//! pairs the low lanes and the high lanes of two ids, so that one AND leaves one lane per id.

use std::arch::aarch64::*;

use super::scalar;

/// Bit 0 from lane 0 and bit 1 from lane 1 of an all-ones-or-zero compare result.
#[inline]
#[target_feature(enable = "neon")]
fn two_bits(equal: uint64x2_t) -> u64 {
    (vgetq_lane_u64::<0>(equal) & 1) | (vgetq_lane_u64::<1>(equal) & 2)
}

/// Marks the trace ids of `ids` equal to `wanted` in `bitmap`, whose length the caller has checked.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn trace_ids(ids: &[[u8; 16]], wanted: &[u8; 16], bitmap: &mut [u64]) {
    // SAFETY: `wanted` is 16 readable bytes (byte loads need no alignment).
    let wanted_lanes = vreinterpretq_u64_u8(unsafe { vld1q_u8(wanted.as_ptr()) });
    let (low, high) = (
        vdupq_laneq_u64::<0>(wanted_lanes),
        vdupq_laneq_u64::<1>(wanted_lanes),
    );
    let (whole, rest) = ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (pair, two) in ids.as_chunks::<2>().0.iter().enumerate() {
            // SAFETY: `two` is 2 ids, 32 contiguous bytes; each load reads one id's 16 bytes.
            let (first, second) = unsafe {
                (
                    vreinterpretq_u64_u8(vld1q_u8(two[0].as_ptr())),
                    vreinterpretq_u64_u8(vld1q_u8(two[1].as_ptr())),
                )
            };
            let equal = vandq_u64(
                vceqq_u64(vzip1q_u64(first, second), low),
                vceqq_u64(vzip2q_u64(first, second), high),
            );
            bits |= two_bits(equal) << (2 * pair);
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
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn span_ids(ids: &[[u8; 8]], wanted: &[u8; 8], bitmap: &mut [u64]) {
    let wanted_lanes = vdupq_n_u64(u64::from_ne_bytes(*wanted));
    let (whole, rest) = ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (pair, two) in ids.as_chunks::<2>().0.iter().enumerate() {
            // SAFETY: `two` is 2 ids, 16 contiguous bytes.
            let two = vreinterpretq_u64_u8(unsafe { vld1q_u8(two.as_ptr().cast()) });
            bits |= two_bits(vceqq_u64(two, wanted_lanes)) << (2 * pair);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()..) {
        scalar::matches(rest, wanted, last);
    }
}
