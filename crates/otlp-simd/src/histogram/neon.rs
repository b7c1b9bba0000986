//! NEON bucket counting, two values per step: each `bound < value` mask (all ones, minus one)
//! is subtracted from the index vector.

use std::arch::aarch64::*;

use super::scalar;

/// # Safety
/// The CPU must support NEON; `counts.len() == bounds.len() + 1`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn count(values: &[f64], bounds: &[f64], counts: &mut [u64]) -> u64 {
    let mut nan = 0;
    let (blocks, tail) = values.as_chunks::<2>();
    for block in blocks {
        // SAFETY: `block` is 2 values, the width of the load.
        let value = unsafe { vld1q_f64(block.as_ptr()) };
        let mut index = vdupq_n_u64(0);
        for &bound in bounds {
            index = vsubq_u64(index, vcltq_f64(vdupq_n_f64(bound), value));
        }
        let is_number = vceqq_f64(value, value);
        let lanes = [
            (vgetq_lane_u64::<0>(is_number), vgetq_lane_u64::<0>(index)),
            (vgetq_lane_u64::<1>(is_number), vgetq_lane_u64::<1>(index)),
        ];
        for (number, bucket) in lanes {
            if number == 0 {
                nan += 1;
            } else if let Some(count) = counts.get_mut(bucket as usize) {
                *count += 1;
            }
        }
    }
    nan + scalar::count(tail, bounds, counts)
}
