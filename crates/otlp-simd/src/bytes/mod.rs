//! Byte-string comparison for attribute filters: the first mismatch, 32 (AVX2) or 16 (NEON)
//! bytes per step, and equality and prefix tests.

pub mod scalar;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::isa::{self, Isa};

/// The first index at which `a` and `b` differ, comparing `min(a.len(), b.len())` bytes, or
/// that length when one is a prefix of the other and they differ in length; `None` when equal.
pub fn mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.len().min(b.len());
    let found = common_mismatch(&a[..common], &b[..common]);
    match found {
        Some(index) => Some(index),
        None if a.len() != b.len() => Some(common),
        None => None,
    }
}

/// Whether `a` and `b` are the same bytes.
///
/// This is the standard library's slice equality, which calls the C library's `memcmp`: glibc
/// picks an AVX2/EVEX `memcmp` at load time, and it measured faster than this crate's kernel at
/// every length (docs/benchmarks.md, group `bytes_compare`), so equality uses it.
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// Whether `value` starts with `prefix` (slice equality on the prefix, as [`eq`]).
pub fn starts_with(value: &[u8], prefix: &[u8]) -> bool {
    value.starts_with(prefix)
}

/// First differing index of two slices of equal length.
fn common_mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    match isa::current() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `current()` returns `Avx2` only when the CPU reports AVX2.
        Isa::Avx2 => unsafe { x86::mismatch(a, b) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `current()` returns `Neon` only when the CPU reports NEON.
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
