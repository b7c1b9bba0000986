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

/// The digits of 16 nibbles (one per byte), looked up in [`HEX_DIGITS`](super::HEX_DIGITS) with
/// one `vpshufb`.
///
/// The instruction is written as inline assembly, and the function is built for SSE2 only, so
/// that it inlines into callers built for the x86_64 baseline: a `#[target_feature(enable =
/// "avx2")]` function cannot, and for one id the call cost more than the encoding. SSE2 alone
/// has no byte shuffle; its arithmetic (`'0' + n`, plus `'a' - '0' - 10` where `n > 9`) took
/// three more instructions per 16 digits, and the span-id encoder 0.89 ns per id instead of 0.70
/// (`hex_encode` bench, back-to-back runs).
///
/// # Safety
/// The CPU must support AVX.
#[inline]
#[target_feature(enable = "sse2")]
unsafe fn digits(nibbles: __m128i) -> __m128i {
    // SAFETY: `HEX_DIGITS` is 16 bytes, the width of the unaligned load.
    let table = unsafe { _mm_loadu_si128(super::HEX_DIGITS.as_ptr().cast()) };
    let digits: __m128i;
    // SAFETY: `vpshufb` reads two registers and writes a third, touching no memory, stack or
    // flags; the caller guarantees AVX, which its VEX encoding needs. Every index is below 16,
    // so no lane is zeroed.
    unsafe {
        std::arch::asm!(
            "vpshufb {digits}, {table}, {nibbles}",
            digits = lateout(xmm_reg) digits,
            table = in(xmm_reg) table,
            nibbles = in(xmm_reg) nibbles,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    digits
}

/// The nibbles of the 16 bytes of `bytes`, high nibble first, one per byte: those of bytes 0..8,
/// then those of bytes 8..16.
#[inline]
#[target_feature(enable = "sse2")]
fn nibbles16(bytes: __m128i) -> (__m128i, __m128i) {
    let mask = _mm_set1_epi8(0x0f);
    let high = _mm_and_si128(_mm_srli_epi16::<4>(bytes), mask);
    let low = _mm_and_si128(bytes, mask);
    (_mm_unpacklo_epi8(high, low), _mm_unpackhi_epi8(high, low))
}

/// The hex of one 16-byte trace id: one load, two stores, no loop and no call (inlined).
///
/// # Safety
/// The CPU must support AVX (see [`digits`]).
#[inline]
#[target_feature(enable = "sse2")]
pub(super) unsafe fn encode_trace_id(id: &[u8; 16]) -> [u8; 32] {
    // SAFETY: `id` is 16 bytes, the width of the unaligned load.
    let bytes = unsafe { _mm_loadu_si128(id.as_ptr().cast()) };
    let (first, second) = nibbles16(bytes);
    // SAFETY: the caller guarantees AVX.
    let (first, second) = unsafe { (digits(first), digits(second)) };
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 bytes; the unaligned stores write bytes 0..16 and 16..32.
    unsafe {
        _mm_storeu_si128(out.as_mut_ptr().cast(), first);
        _mm_storeu_si128(out.as_mut_ptr().add(16).cast(), second);
    }
    out
}

/// The hex of one 8-byte span id (inlined).
///
/// # Safety
/// The CPU must support AVX (see [`digits`]).
#[inline]
#[target_feature(enable = "sse2")]
pub(super) unsafe fn encode_span_id(id: &[u8; 8]) -> [u8; 16] {
    let bytes = _mm_cvtsi64_si128(i64::from_le_bytes(*id));
    // The upper half of the register is zero, and its nibbles are not computed: the compiler
    // drops the unused half.
    let (nibbles, _) = nibbles16(bytes);
    // SAFETY: the caller guarantees AVX.
    let digits = unsafe { digits(nibbles) };
    let mut out = [0u8; 16];
    // SAFETY: `out` is 16 bytes, the width of the unaligned store.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), digits) };
    out
}

/// Digit values of 16 hex characters and a bit mask of those that are not hex digits, with SSE2
/// only (no `pblendvb`, no `pmaddubsw`), so that the single-id decoders inline into any caller.
#[inline]
#[target_feature(enable = "sse2")]
fn nibbles_sse2(chars: __m128i) -> (__m128i, u32) {
    let digit = _mm_sub_epi8(chars, _mm_set1_epi8(b'0' as i8));
    let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(digit, _mm_set1_epi8(9)), digit);
    // `| 0x20` folds `A-F` onto `a-f` and maps no other byte into `a-f`.
    let letter = _mm_sub_epi8(
        _mm_or_si128(chars, _mm_set1_epi8(0x20)),
        _mm_set1_epi8(b'a' as i8),
    );
    let is_letter = _mm_cmpeq_epi8(_mm_min_epu8(letter, _mm_set1_epi8(5)), letter);
    let values = _mm_or_si128(
        _mm_and_si128(is_digit, digit),
        _mm_andnot_si128(is_digit, _mm_add_epi8(letter, _mm_set1_epi8(10))),
    );
    let valid = _mm_or_si128(is_digit, is_letter);
    (values, !(_mm_movemask_epi8(valid) as u32) & 0xffff)
}

/// The 8 bytes whose digit values (high nibble first) are `values`, as 16-bit lanes
/// `high * 16 + low`: the 8 bytes are in the low half of the result.
#[inline]
#[target_feature(enable = "sse2")]
fn pairs_sse2(values: __m128i) -> __m128i {
    // Little-endian lanes: the high nibble is the low byte, the low nibble the high byte.
    let high = _mm_slli_epi16::<4>(_mm_and_si128(values, _mm_set1_epi16(0x00ff)));
    _mm_or_si128(high, _mm_srli_epi16::<8>(values))
}

/// Decodes one trace id from its 32 hex digits; `None` if one is not a hex digit (the caller
/// finds which). SSE2 and inlined, like [`encode_trace_id`].
#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn decode_trace_id(hex: &[u8; 32]) -> Option<[u8; 16]> {
    // SAFETY: `hex` is 32 bytes; the unaligned loads read bytes 0..16 and 16..32.
    let (first, second) = unsafe {
        (
            _mm_loadu_si128(hex.as_ptr().cast()),
            _mm_loadu_si128(hex.as_ptr().add(16).cast()),
        )
    };
    let (first, first_invalid) = nibbles_sse2(first);
    let (second, second_invalid) = nibbles_sse2(second);
    if first_invalid | second_invalid != 0 {
        return None;
    }
    let bytes = _mm_packus_epi16(pairs_sse2(first), pairs_sse2(second));
    let mut out = [0u8; 16];
    // SAFETY: `out` is 16 bytes, the width of the unaligned store.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), bytes) };
    Some(out)
}

/// Decodes one span id from its 16 hex digits; `None` if one is not a hex digit.
#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn decode_span_id(hex: &[u8; 16]) -> Option<[u8; 8]> {
    // SAFETY: `hex` is 16 bytes, the width of the unaligned load.
    let chars = unsafe { _mm_loadu_si128(hex.as_ptr().cast()) };
    let (values, invalid) = nibbles_sse2(chars);
    if invalid != 0 {
        return None;
    }
    let pairs = pairs_sse2(values);
    let bytes = _mm_packus_epi16(pairs, pairs);
    Some((_mm_cvtsi128_si64(bytes) as u64).to_le_bytes())
}
