//! AVX-512 comparison: 128 bytes per step in two 64-byte compares straight into mask registers,
//! the first mismatch from the mask's trailing zeros, and the tail in one masked step.

// Compiled only where build.rs found Rust 1.89 or later, in which these intrinsics are stable;
// the crate's minimum Rust (1.88) builds without this module.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX-512 F and BW; `a.len() == b.len()`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    let length = a.len().min(b.len());
    let (a, b) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    while i + 128 <= length {
        // SAFETY: bytes `i..i + 128` of both slices are in bounds (loop condition).
        let (low, high) = unsafe {
            (
                _mm512_cmpneq_epi8_mask(
                    _mm512_loadu_si512(a.add(i).cast()),
                    _mm512_loadu_si512(b.add(i).cast()),
                ),
                _mm512_cmpneq_epi8_mask(
                    _mm512_loadu_si512(a.add(i + 64).cast()),
                    _mm512_loadu_si512(b.add(i + 64).cast()),
                ),
            )
        };
        if low | high != 0 {
            return Some(if low != 0 {
                i + low.trailing_zeros() as usize
            } else {
                i + 64 + high.trailing_zeros() as usize
            });
        }
        i += 128;
    }
    while i < length {
        let rest = length - i;
        let lanes = if rest >= 64 {
            u64::MAX
        } else {
            (1 << rest) - 1
        };
        // SAFETY: the mask enables bytes `i..min(i + 64, length)` of both slices only, all in
        // bounds; a masked load touches no disabled byte.
        let differ = unsafe {
            _mm512_cmpneq_epi8_mask(
                _mm512_maskz_loadu_epi8(lanes, a.add(i).cast()),
                _mm512_maskz_loadu_epi8(lanes, b.add(i).cast()),
            )
        };
        if differ != 0 {
            return Some(i + differ.trailing_zeros() as usize);
        }
        i += 64;
    }
    None
}
