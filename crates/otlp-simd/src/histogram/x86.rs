//! AVX2 bucket counting, four values per step: the bucket index is built by subtracting each
//! `bound < value` mask (all ones, minus one) from a zero vector, with no branch.

use std::arch::x86_64::*;

use super::scalar;

/// # Safety
/// The CPU must support AVX2; `counts.len() == bounds.len() + 1`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn count(values: &[f64], bounds: &[f64], counts: &mut [u64]) -> u64 {
    let mut nan = 0;
    let (blocks, tail) = values.as_chunks::<4>();
    for block in blocks {
        // SAFETY: `block` is 4 values, the width of the unaligned load.
        let value = unsafe { _mm256_loadu_pd(block.as_ptr()) };
        let mut index = _mm256_setzero_si256();
        for &bound in bounds {
            let below = _mm256_cmp_pd::<_CMP_LT_OQ>(_mm256_set1_pd(bound), value);
            index = _mm256_sub_epi64(index, _mm256_castpd_si256(below));
        }
        let is_nan = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_UNORD_Q>(value, value));
        let mut indexes = [0u64; 4];
        // SAFETY: `indexes` is 4 u64, the width of the unaligned store.
        unsafe { _mm256_storeu_si256(indexes.as_mut_ptr().cast(), index) };
        for (lane, &bucket) in indexes.iter().enumerate() {
            if is_nan & (1 << lane) != 0 {
                nan += 1;
            } else if let Some(count) = counts.get_mut(bucket as usize) {
                *count += 1;
            }
        }
    }
    nan + scalar::count(tail, bounds, counts)
}
