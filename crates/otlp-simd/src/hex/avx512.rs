//! AVX-512 hex for columns, 64 input bytes per step. Encoding splits nibbles as the AVX2 path does
//! and fixes the 128-bit lane order with one two-source qword permute per output vector.
//! Decoding looks every character up in a 128-entry table with one `vpermt2b` (VBMI): the entry is
//! the digit's value, or has its top bit set for a non-digit, so a single mask (of the entry or
//! the character, for bytes above 127) finds bad input. Heads and tails are masked loads and
//! stores, so no length falls back to the scalar twin.

// Compiled only where build.rs found Rust 1.89 or later, in which these intrinsics are stable;
// the crate's minimum Rust (1.88) builds without this module.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

use crate::error::{Error, Result};

/// The low `n` bits set (`n <= 64`): the byte mask of an `n`-byte masked load or store.
#[inline]
fn low_bits(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1 << n) - 1 }
}

/// The 128 digits of 64 bytes: those of bytes 0..32, then of bytes 32..64.
#[target_feature(enable = "avx512f,avx512bw")]
fn encode64(bytes: __m512i, table: __m512i) -> (__m512i, __m512i) {
    let mask = _mm512_set1_epi8(0x0f);
    let high = _mm512_and_si512(_mm512_srli_epi16::<4>(bytes), mask);
    let low = _mm512_and_si512(bytes, mask);
    // Per 128-bit lane `l`: the digits of the lane's bytes 0..8 (`first`) and 8..16 (`second`).
    let first = _mm512_shuffle_epi8(table, _mm512_unpacklo_epi8(high, low));
    let second = _mm512_shuffle_epi8(table, _mm512_unpackhi_epi8(high, low));
    // Qwords `2l, 2l + 1` of `first` and `8 + 2l, 9 + 2l` (those of `second`) in lane order.
    let order0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    let order1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    (
        _mm512_permutex2var_epi64(first, order0, second),
        _mm512_permutex2var_epi64(first, order1, second),
    )
}

/// Encodes `src` into `dst` (`dst.len() == 2 * src.len()`, checked by the caller).
///
/// # Safety
/// The CPU must support AVX-512 F and BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn encode(src: &[u8], dst: &mut [u8]) {
    let table = _mm512_broadcast_i32x4(
        // SAFETY: `HEX_DIGITS` is 16 bytes, the width of the unaligned load.
        unsafe { _mm_loadu_si128(super::HEX_DIGITS.as_ptr().cast()) },
    );
    let length = src.len().min(dst.len() / 2);
    let mut i = 0;
    while i + 64 <= length {
        // SAFETY: bytes `i..i + 64` of `src` are in bounds (loop condition).
        let bytes = unsafe { _mm512_loadu_si512(src.as_ptr().add(i).cast()) };
        let (out0, out1) = encode64(bytes, table);
        // SAFETY: bytes `2i..2i + 128` of `dst` are in bounds (`dst` holds `2 * length` bytes).
        unsafe {
            _mm512_storeu_si512(dst.as_mut_ptr().add(2 * i).cast(), out0);
            _mm512_storeu_si512(dst.as_mut_ptr().add(2 * i + 64).cast(), out1);
        }
        i += 64;
    }
    let rest = length - i;
    if rest == 0 {
        return;
    }
    // SAFETY: the mask enables bytes `i..length` of `src` only, all in bounds; a masked load
    // touches no disabled byte.
    let bytes = unsafe { _mm512_maskz_loadu_epi8(low_bits(rest), src.as_ptr().add(i).cast()) };
    let (out0, out1) = encode64(bytes, table);
    // SAFETY: the masks enable bytes `2i..2 * length` of `dst` only, all in bounds; the second
    // store (and its pointer, at most one past the end) exists only when it has bytes to write.
    unsafe {
        _mm512_mask_storeu_epi8(dst.as_mut_ptr().add(2 * i).cast(), low_bits(2 * rest), out0);
        if rest > 32 {
            let pointer = dst.as_mut_ptr().add(2 * i + 64).cast();
            _mm512_mask_storeu_epi8(pointer, low_bits(2 * rest - 64), out1);
        }
    }
}

/// `DECODE[c]` for ASCII `c`: the digit's value, or `0x80` when `c` is not a hex digit.
const DECODE: [u8; 128] = {
    let mut table = [0x80u8; 128];
    let mut digit = 0;
    while digit < 16 {
        table[super::HEX_DIGITS[digit] as usize] = digit as u8;
        table[super::HEX_DIGITS[digit].to_ascii_uppercase() as usize] = digit as u8;
        digit += 1;
    }
    table
};

/// The 32 bytes that 64 hex characters stand for, and a bit mask of the characters that are not
/// hex digits.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn decode64(chars: __m512i, low_table: __m512i, high_table: __m512i) -> (__m256i, u64) {
    // `vpermt2b` indexes with the low 7 bits: characters above 127 land on an ASCII entry, so
    // their own top bit is checked as well.
    let values = _mm512_permutex2var_epi8(low_table, chars, high_table);
    let invalid = _mm512_movepi8_mask(_mm512_or_si512(values, chars));
    // `maddubs` with these weights turns each (high, low) nibble pair into `high * 16 + low`.
    let pairs = _mm512_maddubs_epi16(values, _mm512_set1_epi16(0x0110));
    (_mm512_cvtepi16_epi8(pairs), invalid)
}

/// The error for the first set bit of `invalid`, a mask over `src[start..]`.
fn first_invalid(src: &[u8], start: usize, invalid: u64) -> Error {
    let index = start + invalid.trailing_zeros() as usize;
    Error::InvalidHexDigit {
        index,
        byte: src[index],
    }
}

/// Decodes `src` into `dst` (`src.len() == 2 * dst.len()`, checked by the caller).
///
/// # Safety
/// The CPU must support AVX-512 F, BW, VL and VBMI.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi")]
pub(super) unsafe fn decode(src: &[u8], dst: &mut [u8]) -> Result<()> {
    // SAFETY: `DECODE` is 128 bytes; the loads read bytes 0..64 and 64..128.
    let (low_table, high_table) = unsafe {
        (
            _mm512_loadu_si512(DECODE.as_ptr().cast()),
            _mm512_loadu_si512(DECODE.as_ptr().add(64).cast()),
        )
    };
    let length = dst.len().min(src.len() / 2);
    let mut i = 0;
    while i + 32 <= length {
        // SAFETY: bytes `2i..2i + 64` of `src` are in bounds (`src` holds `2 * length` bytes).
        let chars = unsafe { _mm512_loadu_si512(src.as_ptr().add(2 * i).cast()) };
        let (bytes, invalid) = decode64(chars, low_table, high_table);
        if invalid != 0 {
            return Err(first_invalid(src, 2 * i, invalid));
        }
        // SAFETY: bytes `i..i + 32` of `dst` are in bounds (loop condition).
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().add(i).cast(), bytes) };
        i += 32;
    }
    let rest = length - i;
    if rest == 0 {
        return Ok(());
    }
    let load_mask = low_bits(2 * rest);
    // SAFETY: the mask enables bytes `2i..2 * length` of `src` only, all in bounds.
    let chars = unsafe { _mm512_maskz_loadu_epi8(load_mask, src.as_ptr().add(2 * i).cast()) };
    let (bytes, invalid) = decode64(chars, low_table, high_table);
    // The zeros the masked load put past the end are not hex digits, and not input.
    let invalid = invalid & load_mask;
    if invalid != 0 {
        return Err(first_invalid(src, 2 * i, invalid));
    }
    // SAFETY: the mask enables bytes `i..length` of `dst` only (`rest < 32`), all in bounds.
    unsafe {
        _mm256_mask_storeu_epi8(dst.as_mut_ptr().add(i).cast(), low_bits(rest) as u32, bytes)
    };
    Ok(())
}
