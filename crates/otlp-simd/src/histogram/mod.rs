//! Explicit-bucket histogram counting, as OTLP's `ExplicitBucketHistogramDataPoint` defines the
//! buckets: with bounds `b0 < b1 < … < b(n-1)`, bucket 0 holds `v <= b0`, bucket `i` holds
//! `b(i-1) < v <= b(i)`, and bucket `n` holds `v > b(n-1)`. The bucket of `v` is the number of
//! bounds strictly below it. NaN values belong to no bucket; they are counted and reported.

pub mod scalar;

#[cfg(otlp_simd_avx512)]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::{Error, Result, expect_len};
use crate::isa::{self, Isa};

/// Above this many bounds the vector kernel (one compare per bound per value) loses to the
/// scalar twin's binary search (about `log2(n)` compares per value), so it is not used. The limit
/// was measured for AVX2; the AVX-512 kernel keeps it (its cost grows by a compare and a masked
/// add per bound per 8 values, and its own crossover has not been measured).
pub const MAX_VECTOR_BOUNDS: usize = 48;

/// Adds the bucket counts of `values` into `counts` (exactly `bounds.len() + 1` buckets) and
/// returns how many values were NaN and so counted nowhere. `bounds` must be strictly
/// increasing and free of NaN.
pub fn count_buckets(values: &[f64], bounds: &[f64], counts: &mut [u64]) -> Result<u64> {
    expect_len("histogram counts", bounds.len() + 1, counts.len())?;
    check_bounds(bounds)?;
    // SAFETY: `current()` returns only an instruction set the CPU supports.
    Ok(unsafe { count_with(isa::current(), values, bounds, counts) })
}

/// [`count_buckets`] on `isa` instead of the detected instruction set (to compare the paths in
/// tests and benchmarks); [`Error::UnsupportedIsa`] when this CPU cannot run it.
pub fn count_buckets_on(
    isa: Isa,
    values: &[f64],
    bounds: &[f64],
    counts: &mut [u64],
) -> Result<u64> {
    isa.check()?;
    expect_len("histogram counts", bounds.len() + 1, counts.len())?;
    check_bounds(bounds)?;
    // SAFETY: `check` found that the CPU supports `isa`.
    Ok(unsafe { count_with(isa, values, bounds, counts) })
}

/// # Safety
/// The CPU must support `isa`; `counts.len() == bounds.len() + 1`.
#[inline]
unsafe fn count_with(isa: Isa, values: &[f64], bounds: &[f64], counts: &mut [u64]) -> u64 {
    match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 if bounds.len() <= MAX_VECTOR_BOUNDS => unsafe {
            avx512::count(values, bounds, counts)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 if bounds.len() <= MAX_VECTOR_BOUNDS => unsafe {
            x86::count(values, bounds, counts)
        },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon if bounds.len() <= MAX_VECTOR_BOUNDS => unsafe {
            neon::count(values, bounds, counts)
        },
        _ => scalar::count(values, bounds, counts),
    }
}

/// Rejects NaN bounds and bounds that do not increase strictly.
pub fn check_bounds(bounds: &[f64]) -> Result<()> {
    if let Some(index) = bounds.iter().position(|bound| bound.is_nan()) {
        return Err(Error::UnsortedBounds { index });
    }
    match bounds.windows(2).position(|pair| pair[0] >= pair[1]) {
        Some(index) => Err(Error::UnsortedBounds { index: index + 1 }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upper_inclusive() {
        let bounds = [0.0, 5.0, 10.0];
        let values = [
            -1.0,
            0.0,
            0.5,
            5.0,
            7.0,
            10.0,
            10.5,
            f64::INFINITY,
            f64::NAN,
        ];
        let mut counts = [0u64; 4];
        let nan = count_buckets(&values, &bounds, &mut counts).unwrap();
        assert_eq!((nan, counts), (1, [2, 2, 2, 2]));
        // Counts accumulate across calls.
        count_buckets(&[11.0], &bounds, &mut counts).unwrap();
        assert_eq!(counts, [2, 2, 2, 3]);
    }

    #[test]
    fn bad_bounds_and_counts_are_rejected() {
        let mut counts = [0u64; 3];
        assert_eq!(
            count_buckets(&[1.0], &[1.0, 1.0], &mut counts),
            Err(Error::UnsortedBounds { index: 1 })
        );
        assert_eq!(
            count_buckets(&[1.0], &[f64::NAN, 1.0], &mut counts),
            Err(Error::UnsortedBounds { index: 0 })
        );
        assert!(count_buckets(&[1.0], &[1.0], &mut counts).is_err());
        let mut one = [0u64; 1];
        assert_eq!(count_buckets(&[3.0, f64::NAN], &[], &mut one), Ok(1));
        assert_eq!(one, [1]);
    }
}
