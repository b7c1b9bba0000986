//! AVX-512 aggregation. `i64`: eight lanes with AVX-512's own 64-bit `vpminsq`/`vpmaxsq` (AVX2
//! needs a compare and a blend for each), two accumulators per statistic to overlap their
//! latencies, and a masked load for the tail. `f64`: one eight-lane accumulator per statistic,
//! which is the fixed order itself (lane `i` takes element `i` of each whole block of 8);
//! `vminpd`/`vmaxpd` are exactly `pick_min`/`pick_max`, and NaN lanes are counted through a mask.

// Compiled only where build.rs found Rust 1.89 or later, in which these intrinsics are stable;
// the crate's minimum Rust (1.88) builds without this module.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

use super::scalar::combine_f64;
use super::{F64Summary, I64Summary};

/// # Safety
/// The CPU must support AVX-512 F; `values` is not empty.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn summarize_i64(values: &[i64]) -> I64Summary {
    let mut sum = [_mm512_setzero_si512(); 2];
    let mut min = [_mm512_set1_epi64(i64::MAX); 2];
    let mut max = [_mm512_set1_epi64(i64::MIN); 2];
    let (blocks, tail) = values.as_chunks::<16>();
    for block in blocks {
        for half in 0..2 {
            // SAFETY: `block` is 16 values; the load reads values `8 * half..8 * half + 8`.
            let value = unsafe { _mm512_loadu_si512(block.as_ptr().add(8 * half).cast()) };
            sum[half] = _mm512_add_epi64(sum[half], value);
            min[half] = _mm512_min_epi64(min[half], value);
            max[half] = _mm512_max_epi64(max[half], value);
        }
    }
    // The tail's up to 15 values: a whole vector and a masked one; the masked lanes leave each
    // accumulator as it was.
    for (chunk, slot) in tail.chunks(8).zip(0..) {
        let lanes = ((1u16 << chunk.len()) - 1) as u8;
        // SAFETY: the mask enables the `chunk.len()` values of `chunk` only; a masked load
        // touches no disabled lane.
        let value = unsafe { _mm512_maskz_loadu_epi64(lanes, chunk.as_ptr().cast()) };
        sum[slot] = _mm512_add_epi64(sum[slot], value);
        min[slot] = _mm512_mask_min_epi64(min[slot], lanes, min[slot], value);
        max[slot] = _mm512_mask_max_epi64(max[slot], lanes, max[slot], value);
    }
    I64Summary {
        count: values.len() as u64,
        sum: _mm512_reduce_add_epi64(_mm512_add_epi64(sum[0], sum[1])),
        min: _mm512_reduce_min_epi64(_mm512_min_epi64(min[0], min[1])),
        max: _mm512_reduce_max_epi64(_mm512_max_epi64(max[0], max[1])),
    }
}

/// # Safety
/// The CPU must support AVX-512 F; `values` is not empty.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn summarize_f64(values: &[f64]) -> F64Summary {
    let mut sum = _mm512_setzero_pd();
    let mut min = _mm512_set1_pd(f64::INFINITY);
    let mut max = _mm512_set1_pd(f64::NEG_INFINITY);
    let mut nans = _mm512_setzero_si512();
    let one = _mm512_set1_epi64(1);
    let (blocks, tail) = values.as_chunks::<8>();
    for block in blocks {
        // SAFETY: `block` is 8 values, 64 bytes, the width of the unaligned load.
        let value = unsafe { _mm512_loadu_pd(block.as_ptr()) };
        sum = _mm512_add_pd(sum, value);
        min = _mm512_min_pd(value, min);
        max = _mm512_max_pd(value, max);
        let is_nan = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(value, value);
        nans = _mm512_mask_add_epi64(nans, is_nan, nans, one);
    }
    let nan_count = _mm512_reduce_add_epi64(nans) as u64;
    combine_f64(
        values.len(),
        [lanes_of(sum), lanes_of(min), lanes_of(max)],
        nan_count,
        tail,
    )
}

/// The eight lanes of an accumulator, in lane order.
#[target_feature(enable = "avx512f")]
fn lanes_of(vector: __m512d) -> [f64; 8] {
    let mut lanes = [0.0f64; 8];
    // SAFETY: `lanes` is 8 f64, 64 bytes, the width of the unaligned store.
    unsafe { _mm512_storeu_pd(lanes.as_mut_ptr(), vector) };
    lanes
}
