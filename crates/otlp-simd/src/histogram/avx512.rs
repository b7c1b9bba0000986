//! AVX-512 bucket counting without a scatter. Instead of each value's bucket index (which the
//! AVX2 path builds and then adds to `counts` one lane at a time), it counts, for every bound
//! `b(j)`, how many values lie above it: a compare into a mask register and a masked add per
//! bound and 8 values, with the counters in registers. Since the bounds increase, bucket `i`
//! holds `above(i - 1) - above(i)` values, bucket 0 the non-NaN values not above `b0`, and the
//! last bucket `above(n - 1)`. NaN is above no bound, so it falls out of every bucket by itself.

// Compiled only where build.rs found Rust 1.89 or later, in which these intrinsics are stable;
// the crate's minimum Rust (1.88) builds without this module.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

/// Bounds compared per pass over the values: sixteen counters and the value stay in registers
/// (AVX-512 has 32), and the SDK's default 15 bounds take one pass.
const GROUP: usize = 16;

/// Adds the bucket counts of `values` into `counts` and returns the number of NaN values.
///
/// # Safety
/// The CPU must support AVX-512 F; `counts.len() == bounds.len() + 1`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn count(values: &[f64], bounds: &[f64], counts: &mut [u64]) -> u64 {
    let (blocks, tail) = values.as_chunks::<8>();
    let tail_lanes = ((1u16 << tail.len()) - 1) as u8;
    let one = _mm512_set1_epi64(1);
    let mut nans = _mm512_setzero_si512();
    for block in blocks {
        // SAFETY: `block` is 8 values, 64 bytes, the width of the unaligned load.
        let value = unsafe { _mm512_loadu_pd(block.as_ptr()) };
        let is_nan = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(value, value);
        nans = _mm512_mask_add_epi64(nans, is_nan, nans, one);
    }
    // SAFETY: the mask enables the `tail.len()` values of `tail` only; a masked load touches no
    // disabled lane.
    let tail_value = unsafe { _mm512_maskz_loadu_pd(tail_lanes, tail.as_ptr()) };
    let is_nan = _mm512_mask_cmp_pd_mask::<_CMP_UNORD_Q>(tail_lanes, tail_value, tail_value);
    let nan = _mm512_reduce_add_epi64(_mm512_mask_add_epi64(nans, is_nan, nans, one)) as u64;

    let mut below = (values.len() as u64) - nan;
    for (group_index, group) in bounds.chunks(GROUP).enumerate() {
        // `+inf` pads the last group: no value is above it, and its counters are not read.
        let mut bound = [_mm512_set1_pd(f64::INFINITY); GROUP];
        for (vector, &value) in bound.iter_mut().zip(group) {
            *vector = _mm512_set1_pd(value);
        }
        let mut above = [_mm512_setzero_si512(); GROUP];
        for block in blocks {
            // SAFETY: `block` is 8 values, 64 bytes, the width of the unaligned load.
            let value = unsafe { _mm512_loadu_pd(block.as_ptr()) };
            for (counter, &bound) in above.iter_mut().zip(&bound) {
                let is_above = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(bound, value);
                *counter = _mm512_mask_add_epi64(*counter, is_above, *counter, one);
            }
        }
        for (counter, &bound) in above.iter_mut().zip(&bound) {
            // The zeros loaded past the tail are not values: the compare masks them out.
            let is_above = _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(tail_lanes, bound, tail_value);
            *counter = _mm512_mask_add_epi64(*counter, is_above, *counter, one);
        }
        for (offset, counter) in above.iter().take(group.len()).enumerate() {
            let above = _mm512_reduce_add_epi64(*counter) as u64;
            counts[group_index * GROUP + offset] += below - above;
            below = above;
        }
    }
    counts[bounds.len()] += below;
    nan
}
