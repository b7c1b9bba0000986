//! AVX2 aggregation. `i64`: four lanes, min and max through compare and blend (AVX2 has no
//! 64-bit min/max). `f64`: two four-lane accumulators per statistic, the eight lanes of the
//! fixed order; `minpd`/`maxpd` are exactly `pick_min`/`pick_max`.

use std::arch::x86_64::*;

use super::scalar::combine_f64;
use super::{F64Summary, I64Summary};

/// # Safety
/// The CPU must support AVX2; `values` is not empty.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn summarize_i64(values: &[i64]) -> I64Summary {
    let mut sum = _mm256_setzero_si256();
    let mut min = _mm256_set1_epi64x(i64::MAX);
    let mut max = _mm256_set1_epi64x(i64::MIN);
    let (blocks, tail) = values.as_chunks::<4>();
    for block in blocks {
        // SAFETY: `block` is 4 values, 32 bytes, the width of the unaligned load.
        let value = unsafe { _mm256_loadu_si256(block.as_ptr().cast()) };
        sum = _mm256_add_epi64(sum, value);
        min = _mm256_blendv_epi8(min, value, _mm256_cmpgt_epi64(min, value));
        max = _mm256_blendv_epi8(max, value, _mm256_cmpgt_epi64(value, max));
    }
    let mut lanes = [[0i64; 4]; 3];
    for (lane, vector) in lanes.iter_mut().zip([sum, min, max]) {
        // SAFETY: `lane` is 4 i64, 32 bytes, the width of the unaligned store.
        unsafe { _mm256_storeu_si256(lane.as_mut_ptr().cast(), vector) };
    }
    let [sums, mins, maxs] = lanes;
    let mut summary = I64Summary {
        count: values.len() as u64,
        sum: sums.iter().fold(0i64, |a, &b| a.wrapping_add(b)),
        min: mins.iter().copied().fold(i64::MAX, i64::min),
        max: maxs.iter().copied().fold(i64::MIN, i64::max),
    };
    for &value in tail {
        summary.sum = summary.sum.wrapping_add(value);
        summary.min = summary.min.min(value);
        summary.max = summary.max.max(value);
    }
    summary
}

/// # Safety
/// The CPU must support AVX2; `values` is not empty.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn summarize_f64(values: &[f64]) -> F64Summary {
    let mut sum = [_mm256_setzero_pd(); 2];
    let mut min = [_mm256_set1_pd(f64::INFINITY); 2];
    let mut max = [_mm256_set1_pd(f64::NEG_INFINITY); 2];
    let mut nans = _mm256_setzero_si256();
    let (blocks, tail) = values.as_chunks::<8>();
    for block in blocks {
        for half in 0..2 {
            // SAFETY: `block` is 8 values; the load reads values `4 * half..4 * half + 4`.
            let value = unsafe { _mm256_loadu_pd(block.as_ptr().add(4 * half)) };
            sum[half] = _mm256_add_pd(sum[half], value);
            min[half] = _mm256_min_pd(value, min[half]);
            max[half] = _mm256_max_pd(value, max[half]);
            let is_nan = _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_UNORD_Q>(value, value));
            nans = _mm256_sub_epi64(nans, is_nan);
        }
    }
    let mut nan_lanes = [0u64; 4];
    // SAFETY: `nan_lanes` is 4 u64, 32 bytes, the width of the unaligned store.
    unsafe { _mm256_storeu_si256(nan_lanes.as_mut_ptr().cast(), nans) };
    let nan_count: u64 = nan_lanes.iter().sum();
    combine_f64(
        values.len(),
        [lanes_of(sum), lanes_of(min), lanes_of(max)],
        nan_count,
        tail,
    )
}

/// The eight lanes of two accumulators, in lane order.
#[target_feature(enable = "avx2")]
fn lanes_of(halves: [__m256d; 2]) -> [f64; 8] {
    let mut lanes = [0.0f64; 8];
    // SAFETY: `lanes` is 8 f64; each store writes 4 of them, at offsets 0 and 4.
    unsafe {
        _mm256_storeu_pd(lanes.as_mut_ptr(), halves[0]);
        _mm256_storeu_pd(lanes.as_mut_ptr().add(4), halves[1]);
    }
    lanes
}
