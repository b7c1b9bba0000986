//! Byte-string comparison for attribute filters: the first mismatch, 128 (AVX-512), 32 (AVX2)
//! or 16 (NEON) bytes per step, and equality and prefix tests.

pub mod scalar;

#[cfg(otlp_simd_avx512)]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::Result;
use crate::isa::{self, Isa};

/// The first index at which `a` and `b` differ, comparing `min(a.len(), b.len())` bytes, or
/// that length when one is a prefix of the other and they differ in length; `None` when equal.
pub fn mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    // SAFETY: `current()` returns only an instruction set the CPU supports.
    unsafe { mismatch_with(isa::current(), a, b) }
}

/// [`mismatch`] on `isa` instead of the detected instruction set (to compare the paths in tests
/// and benchmarks); [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU cannot
/// run it.
#[inline]
pub fn mismatch_on(isa: Isa, a: &[u8], b: &[u8]) -> Result<Option<usize>> {
    isa.check()?;
    // SAFETY: `check` found that the CPU supports `isa`.
    Ok(unsafe { mismatch_with(isa, a, b) })
}

/// # Safety
/// The CPU must support `isa`.
#[inline]
unsafe fn mismatch_with(isa: Isa, a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.len().min(b.len());
    // SAFETY: the caller's guarantee, passed on.
    let found = unsafe { common_mismatch(isa, &a[..common], &b[..common]) };
    match found {
        Some(index) => Some(index),
        None if a.len() != b.len() => Some(common),
        None => None,
    }
}

/// Whether `a` and `b` are the same bytes.
///
/// This is the standard library's slice equality, which calls the C library's `memcmp`: glibc
/// picks an AVX2/EVEX `memcmp` at load time, and it measured faster than this crate's AVX2
/// kernel at every length and than its AVX-512 kernel on short strings (docs/benchmarks.md,
/// group `bytes_compare`: 4.37 ns against 9.26 ns at 24 bytes, 5.82 against 12.0 at 256). The
/// AVX-512 kernel is ahead only at 4096 bytes (52.6 ns against 72.4); attribute values are short,
/// so equality uses `memcmp`.
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// Whether `value` starts with `prefix` (slice equality on the prefix, as [`eq`]).
pub fn starts_with(value: &[u8], prefix: &[u8]) -> bool {
    value.starts_with(prefix)
}

/// First differing index of two slices of equal length.
///
/// # Safety
/// The CPU must support `isa`.
#[inline]
unsafe fn common_mismatch(isa: Isa, a: &[u8], b: &[u8]) -> Option<usize> {
    match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::mismatch(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::mismatch(a, b) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::mismatch(a, b) },
        _ => scalar::mismatch(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_mismatch_and_prefixes() {
        let long = b"service.name=checkout-service-with-a-rather-long-name-0001";
        let mut other = *long;
        other[45] = b'X';
        assert_eq!(mismatch(long, &other), Some(45));
        assert!(!eq(long, &other));
        assert!(eq(long, long));
        assert_eq!(mismatch(long, &long[..20]), Some(20));
        assert_eq!(mismatch(b"", b""), None);
        assert!(starts_with(long, b"service.name="));
        assert!(!starts_with(b"service", b"service.name"));
        assert!(starts_with(b"anything", b""));
    }
}
