//! NEON aggregation: two-lane vectors, four of them per `f64` statistic for the eight lanes of
//! the fixed order; min and max through compare and select, exactly `pick_min`/`pick_max`.

use std::arch::aarch64::*;

use super::scalar::combine_f64;
use super::{F64Summary, I64Summary};

/// # Safety
/// The CPU must support NEON; `values` is not empty.
#[target_feature(enable = "neon")]
pub(super) unsafe fn summarize_i64(values: &[i64]) -> I64Summary {
    let mut sum = vdupq_n_s64(0);
    let mut min = vdupq_n_s64(i64::MAX);
    let mut max = vdupq_n_s64(i64::MIN);
    let (blocks, tail) = values.as_chunks::<2>();
    for block in blocks {
        // SAFETY: `block` is 2 values, the width of the load.
        let value = unsafe { vld1q_s64(block.as_ptr()) };
        sum = vaddq_s64(sum, value);
        min = vbslq_s64(vcltq_s64(value, min), value, min);
        max = vbslq_s64(vcgtq_s64(value, max), value, max);
    }
    let mut summary = I64Summary {
        count: values.len() as u64,
        sum: vgetq_lane_s64::<0>(sum).wrapping_add(vgetq_lane_s64::<1>(sum)),
        min: vgetq_lane_s64::<0>(min).min(vgetq_lane_s64::<1>(min)),
        max: vgetq_lane_s64::<0>(max).max(vgetq_lane_s64::<1>(max)),
    };
    for &value in tail {
        summary.sum = summary.sum.wrapping_add(value);
        summary.min = summary.min.min(value);
        summary.max = summary.max.max(value);
    }
    summary
}

/// # Safety
/// The CPU must support NEON; `values` is not empty.
#[target_feature(enable = "neon")]
pub(super) unsafe fn summarize_f64(values: &[f64]) -> F64Summary {
    let mut sum = [vdupq_n_f64(0.0); 4];
    let mut min = [vdupq_n_f64(f64::INFINITY); 4];
    let mut max = [vdupq_n_f64(f64::NEG_INFINITY); 4];
    let mut numbers = vdupq_n_u64(0);
    let (blocks, tail) = values.as_chunks::<8>();
    for block in blocks {
        for quarter in 0..4 {
            // SAFETY: `block` is 8 values; the load reads values `2 * quarter..2 * quarter + 2`.
            let value = unsafe { vld1q_f64(block.as_ptr().add(2 * quarter)) };
            sum[quarter] = vaddq_f64(sum[quarter], value);
            min[quarter] = vbslq_f64(vcltq_f64(value, min[quarter]), value, min[quarter]);
            max[quarter] = vbslq_f64(vcgtq_f64(value, max[quarter]), value, max[quarter]);
            // All ones (minus one) for each lane that is a number.
            numbers = vsubq_u64(numbers, vceqq_f64(value, value));
        }
    }
    let whole = (blocks.len() * 8) as u64;
    let nan_count = whole - vgetq_lane_u64::<0>(numbers) - vgetq_lane_u64::<1>(numbers);
    combine_f64(
        values.len(),
        [lanes_of(sum), lanes_of(min), lanes_of(max)],
        nan_count,
        tail,
    )
}

/// The eight lanes of four two-lane accumulators, in lane order.
#[target_feature(enable = "neon")]
fn lanes_of(quarters: [float64x2_t; 4]) -> [f64; 8] {
    let mut lanes = [0.0f64; 8];
    for (pair, quarter) in lanes.chunks_exact_mut(2).zip(quarters) {
        // SAFETY: `pair` is 2 f64, the width of the store.
        unsafe { vst1q_f64(pair.as_mut_ptr(), quarter) };
    }
    lanes
}
