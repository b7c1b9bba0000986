//! AVX2 SplitMix64, four counter positions per step. AVX2 has no 64-bit lane multiply, so
//! `a * b mod 2^64` is built from three 32x32->64 multiplies (`vpmuludq`).

use std::arch::x86_64::*;

use super::{GAMMA, MIX1, MIX2, scalar};

/// The low 64 bits of `a * b` in each lane.
#[target_feature(enable = "avx2")]
fn mul64(a: __m256i, b: __m256i) -> __m256i {
    let low = _mm256_mul_epu32(a, b);
    let cross = _mm256_add_epi64(
        _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), b),
        _mm256_mul_epu32(a, _mm256_srli_epi64::<32>(b)),
    );
    _mm256_add_epi64(low, _mm256_slli_epi64::<32>(cross))
}

#[target_feature(enable = "avx2")]
fn mix4(z: __m256i, mix1: __m256i, mix2: __m256i) -> __m256i {
    let z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64::<30>(z)), mix1);
    let z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64::<27>(z)), mix2);
    _mm256_xor_si256(z, _mm256_srli_epi64::<31>(z))
}

/// Writes `mix(start + k * GAMMA)` little-endian into the `k`-th 8 bytes of `bytes`.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn fill(start: u64, bytes: &mut [u8]) {
    let mix1 = _mm256_set1_epi64x(MIX1 as i64);
    let mix2 = _mm256_set1_epi64x(MIX2 as i64);
    let step = _mm256_set1_epi64x(GAMMA.wrapping_mul(4) as i64);
    let mut z = _mm256_setr_epi64x(
        start as i64,
        start.wrapping_add(GAMMA) as i64,
        start.wrapping_add(GAMMA.wrapping_mul(2)) as i64,
        start.wrapping_add(GAMMA.wrapping_mul(3)) as i64,
    );
    let mut chunks = bytes.chunks_exact_mut(32);
    let mut done = 0u64;
    for chunk in &mut chunks {
        // SAFETY: `chunk` is 32 bytes, the width of the unaligned store.
        unsafe { _mm256_storeu_si256(chunk.as_mut_ptr().cast(), mix4(z, mix1, mix2)) };
        z = _mm256_add_epi64(z, step);
        done += 4;
    }
    scalar::fill(
        start.wrapping_add(done.wrapping_mul(GAMMA)),
        chunks.into_remainder(),
    );
}
