//! NEON decisions, two ids per step: a zip gathers the high halves of two ids, a byte reversal
//! makes them big-endian values, and an unsigned compare decides both.

use std::arch::aarch64::*;

use super::scalar;

/// Decides `trace_ids` against `threshold` (at most `2^56`) into `bitmap`.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn sample(trace_ids: &[[u8; 16]], threshold: u64, bitmap: &mut [u64]) {
    let threshold_vector = vdupq_n_u64(threshold);
    let low_56 = vdupq_n_u64(super::REJECT_ALL - 1);
    let (whole, rest) = trace_ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (pair, two) in ids.chunks_exact(2).enumerate() {
            // SAFETY: `two` is 2 ids, 32 contiguous bytes; each load reads one id's 16 bytes
            // (byte loads: no alignment is needed).
            let (first, second) = unsafe {
                (
                    vreinterpretq_u64_u8(vld1q_u8(two[0].as_ptr())),
                    vreinterpretq_u64_u8(vld1q_u8(two[1].as_ptr())),
                )
            };
            let high_halves = vzip2q_u64(first, second);
            let randomness = vandq_u64(
                vreinterpretq_u64_u8(vrev64q_u8(vreinterpretq_u8_u64(high_halves))),
                low_56,
            );
            let kept = vcgeq_u64(randomness, threshold_vector);
            let mask = (vgetq_lane_u64::<0>(kept) & 1) | (vgetq_lane_u64::<1>(kept) & 2);
            bits |= mask << (2 * pair);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()..) {
        scalar::sample(rest, threshold, last);
    }
}
