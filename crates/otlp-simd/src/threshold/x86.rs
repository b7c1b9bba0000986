//! AVX2 decisions, four ids per step: the high halves of four ids are gathered into one vector
//! by an unpack, byte-swapped and masked to 56 bits by one shuffle, and compared with a signed
//! 64-bit compare (both sides are below `2^63`, so signed order is unsigned order).

use std::arch::x86_64::*;

use super::scalar;

/// The unpack leaves each group of four ids in the order 0, 2, 1, 3: this maps two groups' masks
/// (8 bits, the second group's in the high nibble) back to id order.
const REORDER: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut mask = 0;
    while mask < 256 {
        table[mask] = (swap_middle_bits(mask & 0x0f) | (swap_middle_bits(mask >> 4) << 4)) as u8;
        mask += 1;
    }
    table
};

/// Bits 1 and 2 exchanged: the order 0, 2, 1, 3 back to 0, 1, 2, 3.
const fn swap_middle_bits(mask: usize) -> usize {
    (mask & 0b1001) | ((mask & 0b0010) << 1) | ((mask & 0b0100) >> 1)
}

/// The kept-mask of four ids at `pointer`, in the order 0, 2, 1, 3.
///
/// # Safety
/// The CPU must support AVX2, and `pointer` must be valid for reading 64 bytes.
#[target_feature(enable = "avx2")]
unsafe fn four(pointer: *const u8, swap: __m256i, threshold: __m256i) -> u32 {
    // SAFETY: the caller guarantees 64 readable bytes: both 32-byte loads are in bounds.
    let (first, second) = unsafe {
        (
            _mm256_loadu_si256(pointer.cast()),
            _mm256_loadu_si256(pointer.add(32).cast()),
        )
    };
    let high_halves = _mm256_unpackhi_epi64(first, second);
    let randomness = _mm256_shuffle_epi8(high_halves, swap);
    let rejected = _mm256_cmpgt_epi64(threshold, randomness);
    !(_mm256_movemask_pd(_mm256_castsi256_pd(rejected)) as u32) & 0x0f
}

/// Decides `trace_ids` against `threshold` (at most `2^56`) into `bitmap`.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn sample(trace_ids: &[[u8; 16]], threshold: u64, bitmap: &mut [u64]) {
    // Each 64-bit element holds an id's bytes 8..16; its bytes 15..9 become the value's bytes
    // 0..6 (little-endian, so the value is their big-endian reading) and byte 7 becomes zero.
    let swap = _mm256_setr_epi8(
        7, 6, 5, 4, 3, 2, 1, -1, 15, 14, 13, 12, 11, 10, 9, -1, 7, 6, 5, 4, 3, 2, 1, -1, 15, 14,
        13, 12, 11, 10, 9, -1,
    );
    let threshold_vector = _mm256_set1_epi64x(threshold as i64);
    let (whole, rest) = trace_ids.as_chunks::<64>();
    for (word, ids) in bitmap.iter_mut().zip(whole) {
        let mut bits = 0u64;
        for (group, eight) in ids.chunks_exact(8).enumerate() {
            let pointer = eight.as_ptr().cast::<u8>();
            // SAFETY: `eight` is 8 ids, 128 contiguous bytes: bytes 0..64 and 64..128 are
            // readable.
            let (low, high) = unsafe {
                (
                    four(pointer, swap, threshold_vector),
                    four(pointer.add(64), swap, threshold_vector),
                )
            };
            bits |= u64::from(REORDER[(low | (high << 4)) as usize]) << (8 * group);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()..) {
        scalar::sample(rest, threshold, last);
    }
}
