//! Count, sum, min and max of `i64` and `f64` columns.
//!
//! * `i64`: the sum wraps on overflow (two's complement), the same in every lane order, so
//!   every ISA gives the same answer; min and max are exact.
//! * `f64`, whose addition is not associative: every ISA sums in the same fixed order, eight
//!   interleaved partial sums (element `i` of each whole block of 8 goes to partial sum
//!   `i % 8`), combined as `((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7))`, then the
//!   remaining `len % 8` elements added one by one. The result is therefore bit-identical on
//!   AVX-512, AVX2, NEON and the scalar twin, though it can differ in the last bits from a
//!   left-to-right sum.
//! * `f64` NaN semantics: the sum follows IEEE 754 (any NaN, or `+inf + -inf`, makes it NaN);
//!   min and max skip NaN values and are NaN only when every value is NaN; `nan_count` says how
//!   many there were. `-0.0` and `0.0` compare equal: which one min or max reports when both
//!   are present is unspecified (but the same on every ISA).

pub mod scalar;

#[cfg(otlp_simd_avx512)]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::Result;
use crate::isa::{self, Isa};

/// The summary of a non-empty `i64` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I64Summary {
    /// Number of values.
    pub count: u64,
    /// Sum, wrapping on overflow.
    pub sum: i64,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
}

/// The summary of a non-empty `f64` column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct F64Summary {
    /// Number of values, NaN included.
    pub count: u64,
    /// Number of NaN values.
    pub nan_count: u64,
    /// Sum in the fixed 8-lane order described in the module docs.
    pub sum: f64,
    /// Smallest non-NaN value (NaN when all are NaN).
    pub min: f64,
    /// Largest non-NaN value (NaN when all are NaN).
    pub max: f64,
}

impl F64Summary {
    /// Whether two summaries are identical bit for bit except for NaN payloads (any NaN equals
    /// any NaN, `-0.0` differs from `0.0`): the equality the scalar twin guarantees. Rust does
    /// not specify which NaN bit pattern an operation on NaNs returns, so no code can promise
    /// more.
    pub fn bit_eq(&self, other: &Self) -> bool {
        let same = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits();
        self.count == other.count
            && self.nan_count == other.nan_count
            && same(self.sum, other.sum)
            && same(self.min, other.min)
            && same(self.max, other.max)
    }
}

/// Count, wrapping sum, min and max of `values`; `None` when empty.
pub fn summarize_i64(values: &[i64]) -> Option<I64Summary> {
    // SAFETY: `current()` returns only an instruction set the CPU supports.
    unsafe { summarize_i64_with(isa::current(), values) }
}

/// [`summarize_i64`] on `isa` instead of the detected instruction set (to compare the paths in
/// tests and benchmarks); [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU
/// cannot run it.
pub fn summarize_i64_on(isa: Isa, values: &[i64]) -> Result<Option<I64Summary>> {
    isa.check()?;
    // SAFETY: `check` found that the CPU supports `isa`.
    Ok(unsafe { summarize_i64_with(isa, values) })
}

/// # Safety
/// The CPU must support `isa`.
#[inline]
unsafe fn summarize_i64_with(isa: Isa, values: &[i64]) -> Option<I64Summary> {
    if values.is_empty() {
        return None;
    }
    Some(match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::summarize_i64(values) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::summarize_i64(values) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::summarize_i64(values) },
        _ => scalar::summarize_i64(values),
    })
}

/// Count, NaN count, sum, min and max of `values` (semantics in the module docs); `None` when
/// empty.
pub fn summarize_f64(values: &[f64]) -> Option<F64Summary> {
    // SAFETY: `current()` returns only an instruction set the CPU supports.
    unsafe { summarize_f64_with(isa::current(), values) }
}

/// [`summarize_f64`] on `isa` instead of the detected instruction set;
/// [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU cannot run it.
pub fn summarize_f64_on(isa: Isa, values: &[f64]) -> Result<Option<F64Summary>> {
    isa.check()?;
    // SAFETY: `check` found that the CPU supports `isa`.
    Ok(unsafe { summarize_f64_with(isa, values) })
}

/// # Safety
/// The CPU must support `isa`.
#[inline]
unsafe fn summarize_f64_with(isa: Isa, values: &[f64]) -> Option<F64Summary> {
    if values.is_empty() {
        return None;
    }
    Some(match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::summarize_f64(values) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::summarize_f64(values) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::summarize_f64(values) },
        _ => scalar::summarize_f64(values),
    })
}

/// The parts of an `f64` summary the vector loops produce, finished the same way everywhere.
pub(crate) fn finish_f64(count: usize, nan_count: u64, sum: f64, min: f64, max: f64) -> F64Summary {
    let all_nan = nan_count == count as u64;
    F64Summary {
        count: count as u64,
        nan_count,
        sum,
        min: if all_nan { f64::NAN } else { min },
        max: if all_nan { f64::NAN } else { max },
    }
}

/// `a < b ? a : b`, the exact rule of x86 `minpd` (and so of every path here).
#[inline]
pub(crate) fn pick_min(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// `a > b ? a : b`, the exact rule of x86 `maxpd`.
#[inline]
pub(crate) fn pick_max(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_summary() {
        let values: Vec<i64> = (-50..=100).collect();
        let summary = summarize_i64(&values).unwrap();
        assert_eq!(
            summary,
            I64Summary {
                count: 151,
                sum: (-50..=100).sum(),
                min: -50,
                max: 100
            }
        );
        assert_eq!(summarize_i64(&[]), None);
        let wrapped = summarize_i64(&[i64::MAX, 1]).unwrap();
        assert_eq!(wrapped.sum, i64::MIN);
    }

    #[test]
    fn float_summary_skips_nan_in_min_and_max() {
        let mut values: Vec<f64> = (0..20).map(f64::from).collect();
        values[3] = f64::NAN;
        let summary = summarize_f64(&values).unwrap();
        assert_eq!((summary.count, summary.nan_count), (20, 1));
        assert!(summary.sum.is_nan());
        assert_eq!((summary.min, summary.max), (0.0, 19.0));
        let all_nan = summarize_f64(&[f64::NAN; 11]).unwrap();
        assert!(all_nan.min.is_nan() && all_nan.max.is_nan());
        let exact = summarize_f64(&[1.5, -2.0, 4.0, f64::INFINITY]).unwrap();
        assert_eq!(
            (exact.sum, exact.min, exact.max),
            (f64::INFINITY, -2.0, f64::INFINITY)
        );
        assert_eq!(summarize_f64(&[]), None);
    }
}
