//! AVX2 decisions, four ids per step: the high halves of four ids are gathered into one vector
//! by an unpack, byte-swapped and masked to 56 bits by one shuffle, and compared with a signed
//! 64-bit compare (both sides are below `2^63`, so signed order is unsigned order).

use std::arch::x86_64::*;

use super::scalar;

/// The unpack leaves the ids in the order 0, 2, 1, 3: this maps the compare's 4-bit mask back.
const REORDER: [u8; 16] = {
    let mut table = [0u8; 16];
    let mut mask = 0;
    while mask < 16 {
        table[mask] = ((mask & 0b1001) | ((mask & 0b0010) << 1) | ((mask & 0b0100) >> 1)) as u8;
        mask += 1;
    }
    table
};

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
        for (group, four) in ids.chunks_exact(4).enumerate() {
            let pointer = four.as_ptr().cast::<u8>();
            // SAFETY: `four` is 4 ids, 64 contiguous bytes: both 32-byte loads are in bounds.
            let (first, second) = unsafe {
                (
                    _mm256_loadu_si256(pointer.cast()),
                    _mm256_loadu_si256(pointer.add(32).cast()),
                )
            };
            let high_halves = _mm256_unpackhi_epi64(first, second);
            let randomness = _mm256_shuffle_epi8(high_halves, swap);
            let rejected = _mm256_cmpgt_epi64(threshold_vector, randomness);
            let kept = !_mm256_movemask_pd(_mm256_castsi256_pd(rejected)) & 0x0f;
            bits |= u64::from(REORDER[kept as usize]) << (4 * group);
        }
        *word = bits;
    }
    if let Some(last) = bitmap.get_mut(whole.len()..) {
        scalar::sample(rest, threshold, last);
    }
}
