//! The scalar twin: one big-endian load and compare per id, 64 decisions per bitmap word.

use super::randomness;

/// Decides `trace_ids` against `threshold` (at most `2^56`) into `bitmap`, whose length the
/// caller has checked.
pub fn sample(trace_ids: &[[u8; 16]], threshold: u64, bitmap: &mut [u64]) {
    for (word, ids) in bitmap.iter_mut().zip(trace_ids.chunks(64)) {
        let mut bits = 0u64;
        for (bit, id) in ids.iter().enumerate() {
            bits |= u64::from(randomness(id) >= threshold) << bit;
        }
        *word = bits;
    }
}
