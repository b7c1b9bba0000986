//! AVX-512 SplitMix64, eight counter positions per step. AVX-512 DQ multiplies 64-bit lanes
//! (`vpmullq`), which AVX2 builds from three 32-bit multiplies, and the tail is a masked store.

// Compiled only where build.rs found Rust 1.89 or later, in which these intrinsics are stable;
// the crate's minimum Rust (1.88) builds without this module.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

use super::{GAMMA, MIX1, MIX2};

#[target_feature(enable = "avx512f,avx512dq")]
fn mix8(z: __m512i, mix1: __m512i, mix2: __m512i) -> __m512i {
    let z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64::<30>(z)), mix1);
    let z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64::<27>(z)), mix2);
    _mm512_xor_si512(z, _mm512_srli_epi64::<31>(z))
}

/// Writes `mix(start + k * GAMMA)` little-endian into the `k`-th 8 bytes of `bytes` (whose
/// length is a multiple of 8).
///
/// # Safety
/// The CPU must support AVX-512 F and DQ.
#[target_feature(enable = "avx512f,avx512dq")]
pub(super) unsafe fn fill(start: u64, bytes: &mut [u8]) {
    let mix1 = _mm512_set1_epi64(MIX1 as i64);
    let mix2 = _mm512_set1_epi64(MIX2 as i64);
    let step = _mm512_set1_epi64(GAMMA.wrapping_mul(8) as i64);
    let offsets: [i64; 8] = std::array::from_fn(|k| GAMMA.wrapping_mul(k as u64) as i64);
    // SAFETY: `offsets` is 8 i64, 64 bytes, the width of the unaligned load.
    let offsets = unsafe { _mm512_loadu_si512(offsets.as_ptr().cast()) };
    let mut z = _mm512_add_epi64(_mm512_set1_epi64(start as i64), offsets);
    let mut chunks = bytes.chunks_exact_mut(64);
    for chunk in &mut chunks {
        // SAFETY: `chunk` is 64 bytes, the width of the unaligned store.
        unsafe { _mm512_storeu_si512(chunk.as_mut_ptr().cast(), mix8(z, mix1, mix2)) };
        z = _mm512_add_epi64(z, step);
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let words = ((1u16 << (rest.len() / 8)) - 1) as u8;
        // SAFETY: the mask enables the `rest.len() / 8` whole words of `rest` only, all in
        // bounds; a masked store touches no disabled lane.
        unsafe { _mm512_mask_storeu_epi64(rest.as_mut_ptr().cast(), words, mix8(z, mix1, mix2)) };
    }
}
