//! Batch consistent-probability sampling decisions over trace ids.
//!
//! The rule is the one `otlp-sampling`'s `Threshold::should_sample` applies to one id at a time
//! (OpenTelemetry's "TraceState: Probability Sampling"): the randomness `R` of a trace id is its
//! last 7 bytes read big-endian (the low 56 bits), and the id is kept when `R >= T` for the
//! 56-bit rejection threshold `T`. Here a whole column of ids is decided at once into a bitmap:
//! bit `i % 64` of word `i / 64` is set when id `i` is kept.

pub mod scalar;

#[cfg(otlp_simd_avx512)]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::{Result, expect_len};
use crate::isa::{self, Isa};

/// `2^56`, the threshold that rejects everything; larger thresholds are clamped to it.
pub const REJECT_ALL: u64 = 1 << 56;

/// The 56-bit randomness of a trace id: its last 7 bytes, big-endian.
pub fn randomness(trace_id: &[u8; 16]) -> u64 {
    let [.., a, b, c, d, e, f, g] = *trace_id;
    u64::from_be_bytes([0, a, b, c, d, e, f, g])
}

/// The number of `u64` words a bitmap of `ids` decisions needs.
pub fn bitmap_words(ids: usize) -> usize {
    ids.div_ceil(64)
}

/// Decides every id in `trace_ids` against `threshold` into `bitmap` (exactly
/// [`bitmap_words`]`(trace_ids.len())` words; bits past the last id are cleared) and returns how
/// many are kept.
pub fn sample_bitmap(trace_ids: &[[u8; 16]], threshold: u64, bitmap: &mut [u64]) -> Result<usize> {
    expect_len(
        "sampling bitmap",
        bitmap_words(trace_ids.len()),
        bitmap.len(),
    )?;
    // SAFETY: `current()` returns only an instruction set the CPU supports.
    unsafe { sample_with(isa::current(), trace_ids, threshold, bitmap) };
    Ok(kept(bitmap))
}

/// [`sample_bitmap`] into a bitmap it sizes itself: `bitmap` is cleared and resized to
/// [`bitmap_words`]`(trace_ids.len())` words, so no length can be wrong. Returns how many ids are kept. For callers
/// that decide column after column into one reused buffer.
pub fn sample_into(trace_ids: &[[u8; 16]], threshold: u64, bitmap: &mut Vec<u64>) -> usize {
    bitmap.clear();
    bitmap.resize(bitmap_words(trace_ids.len()), 0);
    // SAFETY: `current()` returns only an instruction set the CPU supports, and the bitmap was just sized for
    // `trace_ids`.
    unsafe { sample_with(isa::current(), trace_ids, threshold, bitmap) };
    kept(bitmap)
}

/// [`sample_bitmap`] on `isa` instead of the detected instruction set (to compare the paths in
/// tests and benchmarks); [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU
/// cannot run it.
pub fn sample_bitmap_on(
    isa: Isa,
    trace_ids: &[[u8; 16]],
    threshold: u64,
    bitmap: &mut [u64],
) -> Result<usize> {
    isa.check()?;
    expect_len(
        "sampling bitmap",
        bitmap_words(trace_ids.len()),
        bitmap.len(),
    )?;
    // SAFETY: `check` found that the CPU supports `isa`.
    unsafe { sample_with(isa, trace_ids, threshold, bitmap) };
    Ok(kept(bitmap))
}

fn kept(bitmap: &[u64]) -> usize {
    bitmap.iter().map(|word| word.count_ones() as usize).sum()
}

/// # Safety
/// The CPU must support `isa`; `bitmap` has [`bitmap_words`]`(trace_ids.len())` words.
#[inline]
unsafe fn sample_with(isa: Isa, trace_ids: &[[u8; 16]], threshold: u64, bitmap: &mut [u64]) {
    let threshold = threshold.min(REJECT_ALL);
    match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::sample(trace_ids, threshold, bitmap) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::sample(trace_ids, threshold, bitmap) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::sample(trace_ids, threshold, bitmap) },
        _ => scalar::sample(trace_ids, threshold, bitmap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ids_whose_low_56_bits_reach_the_threshold() {
        let mut low = [0u8; 16];
        low[9] = 0x40; // R = 0x40_0000_0000_0000
        let mut high = [0xffu8; 16];
        high[0] = 0; // the first 9 bytes do not count
        let ids = [low, high, [0; 16]];
        let mut bitmap = [0u64; 1];
        let kept = sample_bitmap(&ids, 0x40_0000_0000_0000, &mut bitmap).unwrap();
        assert_eq!((kept, bitmap[0]), (2, 0b011));
        assert_eq!(sample_bitmap(&ids, 0, &mut bitmap).unwrap(), 3);
        assert_eq!(sample_bitmap(&ids, REJECT_ALL, &mut bitmap).unwrap(), 0);
        assert_eq!(sample_bitmap(&ids, u64::MAX, &mut bitmap).unwrap(), 0);
        assert!(sample_bitmap(&ids, 0, &mut []).is_err());
    }

    #[test]
    fn sample_into_sizes_the_bitmap_and_agrees_with_sample_bitmap() {
        let ids: Vec<[u8; 16]> = (0..130u8).map(|i| [i.wrapping_mul(37); 16]).collect();
        let mut reused = vec![u64::MAX; 7];
        for len in [0, 1, 63, 64, 65, 130] {
            for threshold in [0, 0x80_0000_0000_0000, REJECT_ALL] {
                let mut expected = vec![0u64; bitmap_words(len)];
                let kept = sample_bitmap(&ids[..len], threshold, &mut expected).unwrap();
                assert_eq!(sample_into(&ids[..len], threshold, &mut reused), kept);
                assert_eq!(reused, expected, "len {len} threshold {threshold:#x}");
            }
        }
    }
}
