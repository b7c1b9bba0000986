//! AVX2 hex: nibbles become digits through one in-register table lookup (`vpshufb`), and
//! digits become nibbles through range checks whose failures are collected in a bit mask.

use std::arch::x86_64::*;

use super::scalar;
use crate::error::Result;

#[target_feature(enable = "avx2")]
fn digit_table() -> __m128i {
    // SAFETY: `HEX_DIGITS` is 16 bytes, the width of the unaligned load.
    unsafe { _mm_loadu_si128(super::HEX_DIGITS.as_ptr().cast()) }
}

/// Encodes `src` into `dst` (`dst.len() == 2 * src.len()`, checked by the caller).
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn encode(src: &[u8], dst: &mut [u8]) {
    let table128 = digit_table();
    let table = _mm256_broadcastsi128_si256(table128);
    let mask = _mm256_set1_epi8(0x0f);
    let mut i = 0;
    while i + 32 <= src.len() && 2 * i + 64 <= dst.len() {
        // SAFETY: bytes `i..i + 32` of `src` are in bounds (loop condition).
        let bytes = unsafe { _mm256_loadu_si256(src.as_ptr().add(i).cast()) };
        let high = _mm256_and_si256(_mm256_srli_epi16::<4>(bytes), mask);
        let low = _mm256_and_si256(bytes, mask);
        // Per 128-bit lane: bytes 0..8 / 16..24 and 8..16 / 24..32, nibbles interleaved.
        let first = _mm256_unpacklo_epi8(high, low);
        let second = _mm256_unpackhi_epi8(high, low);
        let out0 = _mm256_shuffle_epi8(table, _mm256_permute2x128_si256::<0x20>(first, second));
        let out1 = _mm256_shuffle_epi8(table, _mm256_permute2x128_si256::<0x31>(first, second));
        // SAFETY: bytes `2i..2i + 64` of `dst` are in bounds (loop condition).
        unsafe {
            _mm256_storeu_si256(dst.as_mut_ptr().add(2 * i).cast(), out0);
            _mm256_storeu_si256(dst.as_mut_ptr().add(2 * i + 32).cast(), out1);
        }
        i += 32;
    }
    let mask = _mm_set1_epi8(0x0f);
    if i + 16 <= src.len() && 2 * i + 32 <= dst.len() {
        // SAFETY: bytes `i..i + 16` of `src` are in bounds (checked above).
        let bytes = unsafe { _mm_loadu_si128(src.as_ptr().add(i).cast()) };
        let high = _mm_and_si128(_mm_srli_epi16::<4>(bytes), mask);
        let low = _mm_and_si128(bytes, mask);
        let out0 = _mm_shuffle_epi8(table128, _mm_unpacklo_epi8(high, low));
        let out1 = _mm_shuffle_epi8(table128, _mm_unpackhi_epi8(high, low));
        // SAFETY: bytes `2i..2i + 32` of `dst` are in bounds (checked above).
        unsafe {
            _mm_storeu_si128(dst.as_mut_ptr().add(2 * i).cast(), out0);
            _mm_storeu_si128(dst.as_mut_ptr().add(2 * i + 16).cast(), out1);
        }
        i += 16;
    }
    if i + 8 <= src.len() && 2 * i + 16 <= dst.len() {
        // SAFETY: bytes `i..i + 8` of `src` are in bounds (checked above); the load reads 8 bytes.
        let bytes = unsafe { _mm_loadl_epi64(src.as_ptr().add(i).cast()) };
        let high = _mm_and_si128(_mm_srli_epi16::<4>(bytes), mask);
        let low = _mm_and_si128(bytes, mask);
        let out = _mm_shuffle_epi8(table128, _mm_unpacklo_epi8(high, low));
        // SAFETY: bytes `2i..2i + 16` of `dst` are in bounds (checked above).
        unsafe { _mm_storeu_si128(dst.as_mut_ptr().add(2 * i).cast(), out) };
        i += 8;
    }
    scalar::encode(&src[i..], &mut dst[2 * i..]);
}

/// Digit values of 32 hex characters and a bit mask of those that are not hex digits.
#[target_feature(enable = "avx2")]
fn nibbles256(chars: __m256i) -> (__m256i, u32) {
    let digit = _mm256_sub_epi8(chars, _mm256_set1_epi8(b'0' as i8));
    let is_digit = _mm256_cmpeq_epi8(_mm256_min_epu8(digit, _mm256_set1_epi8(9)), digit);
    // `| 0x20` folds `A-F` onto `a-f` and maps no other byte into `a-f`.
    let letter = _mm256_sub_epi8(
        _mm256_or_si256(chars, _mm256_set1_epi8(0x20)),
        _mm256_set1_epi8(b'a' as i8),
    );
    let is_letter = _mm256_cmpeq_epi8(_mm256_min_epu8(letter, _mm256_set1_epi8(5)), letter);
    let valid = _mm256_or_si256(is_digit, is_letter);
    let values = _mm256_blendv_epi8(
        _mm256_add_epi8(letter, _mm256_set1_epi8(10)),
        digit,
        is_digit,
    );
    (values, !(_mm256_movemask_epi8(valid) as u32))
}

/// The 128-bit twin of [`nibbles256`] (16 characters, 16-bit mask).
#[target_feature(enable = "avx2")]
fn nibbles128(chars: __m128i) -> (__m128i, u32) {
    let digit = _mm_sub_epi8(chars, _mm_set1_epi8(b'0' as i8));
    let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(digit, _mm_set1_epi8(9)), digit);
    let letter = _mm_sub_epi8(
        _mm_or_si128(chars, _mm_set1_epi8(0x20)),
        _mm_set1_epi8(b'a' as i8),
    );
    let is_letter = _mm_cmpeq_epi8(_mm_min_epu8(letter, _mm_set1_epi8(5)), letter);
    let valid = _mm_or_si128(is_digit, is_letter);
    let values = _mm_blendv_epi8(_mm_add_epi8(letter, _mm_set1_epi8(10)), digit, is_digit);
    (values, !(_mm_movemask_epi8(valid) as u32) & 0xffff)
}

/// Decodes `src` into `dst` (`src.len() == 2 * dst.len()`, checked by the caller).
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn decode(src: &[u8], dst: &mut [u8]) -> Result<()> {
    // `maddubs` with these weights turns each (high, low) nibble pair into `high * 16 + low`.
    let weights256 = _mm256_set1_epi16(0x0110);
    let weights128 = _mm_set1_epi16(0x0110);
    let mut i = 0;
    while i + 16 <= dst.len() && 2 * i + 32 <= src.len() {
        // SAFETY: bytes `2i..2i + 32` of `src` are in bounds (loop condition).
        let chars = unsafe { _mm256_loadu_si256(src.as_ptr().add(2 * i).cast()) };
        let (values, invalid) = nibbles256(chars);
        if invalid != 0 {
            return scalar::decode_at(2 * i, &src[2 * i..2 * i + 32], &mut dst[i..i + 16]);
        }
        let pairs = _mm256_maddubs_epi16(values, weights256);
        let packed = _mm256_packus_epi16(pairs, pairs);
        let ordered = _mm256_permute4x64_epi64::<0b00_00_10_00>(packed);
        // SAFETY: bytes `i..i + 16` of `dst` are in bounds (loop condition).
        unsafe {
            _mm_storeu_si128(
                dst.as_mut_ptr().add(i).cast(),
                _mm256_castsi256_si128(ordered),
            )
        };
        i += 16;
    }
    if i + 8 <= dst.len() && 2 * i + 16 <= src.len() {
        // SAFETY: bytes `2i..2i + 16` of `src` are in bounds (checked above).
        let chars = unsafe { _mm_loadu_si128(src.as_ptr().add(2 * i).cast()) };
        let (values, invalid) = nibbles128(chars);
        if invalid != 0 {
            return scalar::decode_at(2 * i, &src[2 * i..2 * i + 16], &mut dst[i..i + 8]);
        }
        let pairs = _mm_maddubs_epi16(values, weights128);
        let packed = _mm_packus_epi16(pairs, pairs);
        // SAFETY: bytes `i..i + 8` of `dst` are in bounds (checked above); the store writes 8.
        unsafe { _mm_storel_epi64(dst.as_mut_ptr().add(i).cast(), packed) };
        i += 8;
    }
    scalar::decode_at(2 * i, &src[2 * i..], &mut dst[i..])
}

/// The hex of one 16-byte trace id: one load, one table lookup per half, two stores; no loop,
/// so a single id does not pay for the general path's length logic.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn encode_trace_id(id: &[u8; 16]) -> [u8; 32] {
    let table = digit_table();
    let mask = _mm_set1_epi8(0x0f);
    // SAFETY: `id` is 16 bytes, the width of the unaligned load.
    let bytes = unsafe { _mm_loadu_si128(id.as_ptr().cast()) };
    let high = _mm_and_si128(_mm_srli_epi16::<4>(bytes), mask);
    let low = _mm_and_si128(bytes, mask);
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 bytes; the stores write bytes 0..16 and 16..32.
    unsafe {
        _mm_storeu_si128(
            out.as_mut_ptr().cast(),
            _mm_shuffle_epi8(table, _mm_unpacklo_epi8(high, low)),
        );
        _mm_storeu_si128(
            out.as_mut_ptr().add(16).cast(),
            _mm_shuffle_epi8(table, _mm_unpackhi_epi8(high, low)),
        );
    }
    out
}

/// The hex of one 8-byte span id.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn encode_span_id(id: &[u8; 8]) -> [u8; 16] {
    let table = digit_table();
    let mask = _mm_set1_epi8(0x0f);
    // SAFETY: `id` is 8 bytes, what the 64-bit load reads.
    let bytes = unsafe { _mm_loadl_epi64(id.as_ptr().cast()) };
    let high = _mm_and_si128(_mm_srli_epi16::<4>(bytes), mask);
    let low = _mm_and_si128(bytes, mask);
    let mut out = [0u8; 16];
    // SAFETY: `out` is 16 bytes, the width of the store.
    unsafe {
        _mm_storeu_si128(
            out.as_mut_ptr().cast(),
            _mm_shuffle_epi8(table, _mm_unpacklo_epi8(high, low)),
        );
    }
    out
}

/// Decodes one trace id from its 32 hex digits.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn decode_trace_id(hex: &[u8; 32]) -> Result<[u8; 16]> {
    // SAFETY: `hex` is 32 bytes, the width of the unaligned load.
    let chars = unsafe { _mm256_loadu_si256(hex.as_ptr().cast()) };
    let (values, invalid) = nibbles256(chars);
    let mut out = [0u8; 16];
    if invalid != 0 {
        scalar::decode(hex, &mut out)?;
        return Ok(out);
    }
    let pairs = _mm256_maddubs_epi16(values, _mm256_set1_epi16(0x0110));
    let packed = _mm256_packus_epi16(pairs, pairs);
    let ordered = _mm256_permute4x64_epi64::<0b00_00_10_00>(packed);
    // SAFETY: `out` is 16 bytes, the width of the store.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), _mm256_castsi256_si128(ordered)) };
    Ok(out)
}

/// Decodes one span id from its 16 hex digits.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn decode_span_id(hex: &[u8; 16]) -> Result<[u8; 8]> {
    // SAFETY: `hex` is 16 bytes, the width of the unaligned load.
    let chars = unsafe { _mm_loadu_si128(hex.as_ptr().cast()) };
    let (values, invalid) = nibbles128(chars);
    let mut out = [0u8; 8];
    if invalid != 0 {
        scalar::decode(hex, &mut out)?;
        return Ok(out);
    }
    let pairs = _mm_maddubs_epi16(values, _mm_set1_epi16(0x0110));
    let packed = _mm_packus_epi16(pairs, pairs);
    // SAFETY: `out` is 8 bytes, what the 64-bit store writes.
    unsafe { _mm_storel_epi64(out.as_mut_ptr().cast(), packed) };
    Ok(out)
}
