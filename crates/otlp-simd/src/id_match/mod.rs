//! Which ids of a column equal one id, into a bitmap: the predicate of a lookup by trace id or span id
//! (`WHERE trace_id = ?`) over a column of fixed-size ids, such as an Arrow `FixedSizeBinary(16)` column's
//! values.
//!
//! Bit `i % 64` of word `i / 64` is set when id `i` equals the wanted id; bits past the last id are cleared.
//! Ids are compared as bytes: a column whose null slots hold zeros (as Arrow's do when written by otlp-arrow)
//! matches an all-zero wanted id there, so a caller that has nulls ANDs the bitmap with its validity.

pub mod scalar;

#[cfg(otlp_simd_avx512)]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::{Result, expect_len};
use crate::isa::{self, Isa};
pub use crate::threshold::bitmap_words;

/// Marks in `bitmap` (exactly [`bitmap_words`]`(ids.len())` words) the trace ids of `ids` equal to `wanted` and
/// returns how many there are.
pub fn trace_ids(ids: &[[u8; 16]], wanted: &[u8; 16], bitmap: &mut [u64]) -> Result<usize> {
    checked(isa::current(), ids, wanted, bitmap, trace_ids_with)
}

/// [`trace_ids`] on `isa` instead of the detected instruction set (to compare the paths in tests and
/// benchmarks); [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU cannot run it.
pub fn trace_ids_on(
    isa: Isa,
    ids: &[[u8; 16]],
    wanted: &[u8; 16],
    bitmap: &mut [u64],
) -> Result<usize> {
    checked(isa, ids, wanted, bitmap, trace_ids_with)
}

/// Marks in `bitmap` (exactly [`bitmap_words`]`(ids.len())` words) the span ids of `ids` equal to `wanted` and
/// returns how many there are.
pub fn span_ids(ids: &[[u8; 8]], wanted: &[u8; 8], bitmap: &mut [u64]) -> Result<usize> {
    checked(isa::current(), ids, wanted, bitmap, span_ids_with)
}

/// [`span_ids`] on `isa` instead of the detected instruction set;
/// [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU cannot run it.
pub fn span_ids_on(
    isa: Isa,
    ids: &[[u8; 8]],
    wanted: &[u8; 8],
    bitmap: &mut [u64],
) -> Result<usize> {
    checked(isa, ids, wanted, bitmap, span_ids_with)
}

/// A kernel of one id width, dispatched on an instruction set.
///
/// # Safety
/// The CPU must support the `Isa`, and the bitmap must have [`bitmap_words`] of the ids' length words.
type Kernel<const W: usize> = unsafe fn(Isa, &[[u8; W]], &[u8; W], &mut [u64]);

/// Checks what the kernels assume, then runs `kernel` and counts the matches.
#[inline]
fn checked<const W: usize>(
    isa: Isa,
    ids: &[[u8; W]],
    wanted: &[u8; W],
    bitmap: &mut [u64],
    kernel: Kernel<W>,
) -> Result<usize> {
    isa.check()?;
    expect_len("id match bitmap", bitmap_words(ids.len()), bitmap.len())?;
    // SAFETY: `check` found that the CPU supports `isa`, and the bitmap's length was just checked.
    unsafe { kernel(isa, ids, wanted, bitmap) };
    Ok(ones(bitmap))
}

/// # Safety
/// See [`Kernel`].
#[inline]
unsafe fn trace_ids_with(isa: Isa, ids: &[[u8; 16]], wanted: &[u8; 16], bitmap: &mut [u64]) {
    match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::trace_ids(ids, wanted, bitmap) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::trace_ids(ids, wanted, bitmap) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::trace_ids(ids, wanted, bitmap) },
        _ => scalar::matches(ids, wanted, bitmap),
    }
}

/// # Safety
/// See [`Kernel`].
#[inline]
unsafe fn span_ids_with(isa: Isa, ids: &[[u8; 8]], wanted: &[u8; 8], bitmap: &mut [u64]) {
    match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::span_ids(ids, wanted, bitmap) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::span_ids(ids, wanted, bitmap) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::span_ids(ids, wanted, bitmap) },
        _ => scalar::matches(ids, wanted, bitmap),
    }
}

fn ones(bitmap: &[u64]) -> usize {
    bitmap.iter().map(|word| word.count_ones() as usize).sum()
}

/// The vector paths compare a trace id as two 8-byte lanes, which leaves one mask bit per lane: bit `2k` and
/// bit `2k + 1` of `lanes` for id `k`. This keeps the ids whose two lanes both matched, one bit per id, in id
/// order (16 ids from 32 lane bits).
#[cfg(any(target_arch = "x86_64", test))]
#[inline(always)]
fn both_lanes(lanes: u32) -> u16 {
    let mut ids = lanes & (lanes >> 1) & 0x5555_5555;
    // Each step halves the gap between the kept bits: a shift-or gathers bit pairs, then nibbles, then bytes.
    ids = (ids | (ids >> 1)) & 0x3333_3333;
    ids = (ids | (ids >> 2)) & 0x0f0f_0f0f;
    ids = (ids | (ids >> 4)) & 0x00ff_00ff;
    (ids | (ids >> 8)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_equal_ids_and_counts_them() {
        let wanted = [0xab; 16];
        let mut near = wanted;
        near[15] = 0; // equal but for the last byte
        let mut high = wanted;
        high[0] = 0; // equal but for the first byte
        let ids = [near, wanted, high, [0; 16], wanted];
        let mut bitmap = [u64::MAX; 1];
        assert_eq!(trace_ids(&ids, &wanted, &mut bitmap), Ok(2));
        assert_eq!(bitmap[0], 0b10010);
        assert_eq!(trace_ids(&ids, &[0; 16], &mut bitmap), Ok(1));
        assert_eq!(bitmap[0], 0b01000);
        assert!(trace_ids(&ids, &wanted, &mut []).is_err());

        let spans = [[1u8; 8], [2; 8], [1; 8]];
        assert_eq!(span_ids(&spans, &[1; 8], &mut bitmap), Ok(2));
        assert_eq!(bitmap[0], 0b101);
        assert_eq!(span_ids(&[], &[1; 8], &mut []), Ok(0));
    }

    #[test]
    fn both_lanes_keeps_an_id_only_when_its_two_lanes_matched() {
        assert_eq!(both_lanes(0), 0);
        assert_eq!(both_lanes(u32::MAX), u16::MAX);
        // id 0 both lanes, id 1 only its low lane, id 2 only its high lane, id 15 both.
        assert_eq!(
            both_lanes(0b11 | 0b01 << 2 | 0b10 << 4 | 0b11 << 30),
            1 | 1 << 15
        );
    }
}
