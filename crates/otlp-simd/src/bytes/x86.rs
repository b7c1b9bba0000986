//! AVX2 comparison: 32 bytes per compare, the first mismatch from the mask's trailing ones.

use std::arch::x86_64::*;

use super::scalar;

/// # Safety
/// The CPU must support AVX2; `a.len() == b.len()`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    let length = a.len().min(b.len());
    let mut i = 0;
    while i + 32 <= length {
        // SAFETY: bytes `i..i + 32` of both slices are in bounds (loop condition).
        let (x, y) = unsafe {
            (
                _mm256_loadu_si256(a.as_ptr().add(i).cast()),
                _mm256_loadu_si256(b.as_ptr().add(i).cast()),
            )
        };
        let equal = _mm256_movemask_epi8(_mm256_cmpeq_epi8(x, y)) as u32;
        if equal != u32::MAX {
            return Some(i + equal.trailing_ones() as usize);
        }
        i += 32;
    }
    if i + 16 <= length {
        // SAFETY: bytes `i..i + 16` of both slices are in bounds (checked above).
        let (x, y) = unsafe {
            (
                _mm_loadu_si128(a.as_ptr().add(i).cast()),
                _mm_loadu_si128(b.as_ptr().add(i).cast()),
            )
        };
        let equal = _mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) as u32;
        if equal != 0xffff {
            return Some(i + equal.trailing_ones() as usize);
        }
        i += 16;
    }
    scalar::mismatch(&a[i..length], &b[i..length]).map(|index| index + i)
}
