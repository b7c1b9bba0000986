//! AVX-512 decisions, eight ids per step: one two-source byte permute (`vpermt2b`, VBMI) gathers
//! the last 7 bytes of eight ids, byte-reversed into big-endian values with the top byte zeroed by
//! its mask, and one unsigned 64-bit compare writes the eight decisions into a mask register, in
//! id order: the bitmap's bits with no reordering. The ids past the last whole group of 8 are
//! decided with masked loads.

// Compiled only where build.rs found Rust 1.89 or later, in which these intrinsics are stable;
// the crate's minimum Rust (1.88) builds without this module.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

/// The byte indexes of the permute: result qword `q` takes id `q`'s bytes 15 down to 9 (`64 +`
/// for the ids 4..8 of the second source); byte 7 of each qword is zeroed by [`KEEP_56`].
const GATHER: [u8; 64] = {
    let mut table = [0u8; 64];
    let mut q = 0;
    while q < 8 {
        let base = if q < 4 { 16 * q } else { 64 + 16 * (q - 4) };
        let mut byte = 0;
        while byte < 7 {
            table[8 * q + byte] = (base + 15 - byte) as u8;
            byte += 1;
        }
        q += 1;
    }
    table
};

/// Bytes 0..7 of each qword: the 56 bits of randomness.
const KEEP_56: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The kept-mask of the `count` (at most 8) ids at `pointer`, bit `k` for id `k`.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VBMI, and `pointer` must be valid for reading
/// `16 * count` bytes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn eight(pointer: *const u8, count: usize, gather: __m512i, threshold: __m512i) -> u8 {
    let (first, second) = if count == 8 {
        // SAFETY: the caller guarantees 128 readable bytes: both 64-byte loads are in bounds.
        unsafe {
            (
                _mm512_loadu_si512(pointer.cast()),
                _mm512_loadu_si512(pointer.add(64).cast()),
            )
        }
    } else {
        // Two qwords per id; the masks enable exactly the `16 * count` readable bytes, and the
        // second pointer is formed only when it has ids to read (then it is in bounds).
        let qwords = |ids: usize| ((1u16 << (2 * ids)) - 1) as u8;
        // SAFETY: as above; a masked load touches no disabled qword.
        unsafe {
            (
                _mm512_maskz_loadu_epi64(qwords(count.min(4)), pointer.cast()),
                if count > 4 {
                    _mm512_maskz_loadu_epi64(qwords(count - 4), pointer.add(64).cast())
                } else {
                    _mm512_setzero_si512()
                },
            )
        }
    };
    let randomness = _mm512_maskz_permutex2var_epi8(KEEP_56, first, gather, second);
    // The zeros loaded past the last id would pass a zero threshold: only real ids may count.
    let ids = if count >= 8 {
        u8::MAX
    } else {
        (1u8 << count) - 1
    };
    _mm512_mask_cmpge_epu64_mask(ids, randomness, threshold)
}

/// Decides `trace_ids` against `threshold` (at most `2^56`) into `bitmap`.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VBMI.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) unsafe fn sample(trace_ids: &[[u8; 16]], threshold: u64, bitmap: &mut [u64]) {
    // SAFETY: `GATHER` is 64 bytes, the width of the unaligned load.
    let gather = unsafe { _mm512_loadu_si512(GATHER.as_ptr().cast()) };
    let threshold_vector = _mm512_set1_epi64(threshold as i64);
    let (whole, rest) = trace_ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (group, eight_ids) in ids.as_chunks::<8>().0.iter().enumerate() {
            // SAFETY: `eight_ids` is 8 ids, 128 contiguous bytes.
            let kept = unsafe { eight(eight_ids.as_ptr().cast(), 8, gather, threshold_vector) };
            bits |= u64::from(kept) << (8 * group);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()) {
        let mut bits = 0u64;
        for (group, eight_ids) in rest.chunks(8).enumerate() {
            // SAFETY: `eight_ids` holds `eight_ids.len()` ids, 16 contiguous bytes each.
            let kept = unsafe {
                eight(
                    eight_ids.as_ptr().cast(),
                    eight_ids.len(),
                    gather,
                    threshold_vector,
                )
            };
            bits |= u64::from(kept) << (8 * group);
        }
        *last = bits;
    }
}
