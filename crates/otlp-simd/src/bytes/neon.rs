//! NEON comparison: 16 bytes per compare; a chunk that differs is scanned for the exact index.

use std::arch::aarch64::*;

use super::scalar;

/// # Safety
/// The CPU must support NEON; `a.len() == b.len()`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    let length = a.len().min(b.len());
    let mut i = 0;
    while i + 16 <= length {
        // SAFETY: bytes `i..i + 16` of both slices are in bounds (loop condition).
        let (x, y) = unsafe { (vld1q_u8(a.as_ptr().add(i)), vld1q_u8(b.as_ptr().add(i))) };
        if vminvq_u8(vceqq_u8(x, y)) != u8::MAX {
            return scalar::mismatch(&a[i..i + 16], &b[i..i + 16]).map(|index| index + i);
        }
        i += 16;
    }
    scalar::mismatch(&a[i..length], &b[i..length]).map(|index| index + i)
}
