//! The scalar twin: one SplitMix64 word per step.

use super::{GAMMA, mix};

/// Writes `mix(start + k * GAMMA)` little-endian into the `k`-th 8 bytes of `bytes` (whose
/// length is a multiple of 8).
pub fn fill(start: u64, bytes: &mut [u8]) {
    let mut z = start;
    for word in bytes.chunks_exact_mut(8) {
        word.copy_from_slice(&mix(z).to_le_bytes());
        z = z.wrapping_add(GAMMA);
    }
}
