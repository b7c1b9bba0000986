//! NEON hex: table lookups (`tbl`) with interleaving stores for encoding, de-interleaving loads
//! and unsigned range checks for decoding.

use std::arch::aarch64::*;

use super::scalar;
use crate::error::Result;

/// Encodes `src` into `dst` (`dst.len() == 2 * src.len()`, checked by the caller).
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn encode(src: &[u8], dst: &mut [u8]) {
    // SAFETY: `HEX_DIGITS` is 16 bytes, the width of the load.
    let table = unsafe { vld1q_u8(super::HEX_DIGITS.as_ptr()) };
    let mut i = 0;
    while i + 16 <= src.len() && 2 * i + 32 <= dst.len() {
        // SAFETY: bytes `i..i + 16` of `src` are in bounds (loop condition).
        let bytes = unsafe { vld1q_u8(src.as_ptr().add(i)) };
        let high = vqtbl1q_u8(table, vshrq_n_u8::<4>(bytes));
        let low = vqtbl1q_u8(table, vandq_u8(bytes, vdupq_n_u8(0x0f)));
        // SAFETY: bytes `2i..2i + 32` of `dst` are in bounds (loop condition).
        unsafe { vst2q_u8(dst.as_mut_ptr().add(2 * i), uint8x16x2_t(high, low)) };
        i += 16;
    }
    if i + 8 <= src.len() && 2 * i + 16 <= dst.len() {
        // SAFETY: bytes `i..i + 8` of `src` are in bounds (checked above).
        let bytes = unsafe { vld1_u8(src.as_ptr().add(i)) };
        let high = vqtbl1_u8(table, vshr_n_u8::<4>(bytes));
        let low = vqtbl1_u8(table, vand_u8(bytes, vdup_n_u8(0x0f)));
        // SAFETY: bytes `2i..2i + 16` of `dst` are in bounds (checked above).
        unsafe { vst2_u8(dst.as_mut_ptr().add(2 * i), uint8x8x2_t(high, low)) };
        i += 8;
    }
    scalar::encode(&src[i..], &mut dst[2 * i..]);
}

/// Digit values of 16 hex characters and an all-ones lane for each that is a hex digit.
#[target_feature(enable = "neon")]
fn nibbles(chars: uint8x16_t) -> (uint8x16_t, uint8x16_t) {
    let digit = vsubq_u8(chars, vdupq_n_u8(b'0'));
    let is_digit = vcleq_u8(digit, vdupq_n_u8(9));
    // `| 0x20` folds `A-F` onto `a-f` and maps no other byte into `a-f`.
    let letter = vsubq_u8(vorrq_u8(chars, vdupq_n_u8(0x20)), vdupq_n_u8(b'a'));
    let is_letter = vcleq_u8(letter, vdupq_n_u8(5));
    let values = vbslq_u8(is_digit, digit, vaddq_u8(letter, vdupq_n_u8(10)));
    (values, vorrq_u8(is_digit, is_letter))
}

/// Decodes `src` into `dst` (`src.len() == 2 * dst.len()`, checked by the caller).
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn decode(src: &[u8], dst: &mut [u8]) -> Result<()> {
    let mut i = 0;
    while i + 16 <= dst.len() && 2 * i + 32 <= src.len() {
        // SAFETY: bytes `2i..2i + 32` of `src` are in bounds (loop condition); `ld2` splits
        // them into the even (high nibble) and odd (low nibble) characters.
        let chars = unsafe { vld2q_u8(src.as_ptr().add(2 * i)) };
        let (high, high_ok) = nibbles(chars.0);
        let (low, low_ok) = nibbles(chars.1);
        if vminvq_u8(vandq_u8(high_ok, low_ok)) != u8::MAX {
            return scalar::decode_at(2 * i, &src[2 * i..2 * i + 32], &mut dst[i..i + 16]);
        }
        let bytes = vorrq_u8(vshlq_n_u8::<4>(high), low);
        // SAFETY: bytes `i..i + 16` of `dst` are in bounds (loop condition).
        unsafe { vst1q_u8(dst.as_mut_ptr().add(i), bytes) };
        i += 16;
    }
    if i + 8 <= dst.len() && 2 * i + 16 <= src.len() {
        // SAFETY: bytes `2i..2i + 16` of `src` are in bounds (checked above).
        let chars = unsafe { vld1q_u8(src.as_ptr().add(2 * i)) };
        let (values, ok) = nibbles(chars);
        if vminvq_u8(ok) != u8::MAX {
            return scalar::decode_at(2 * i, &src[2 * i..2 * i + 16], &mut dst[i..i + 8]);
        }
        let high = vuzp1q_u8(values, values);
        let low = vuzp2q_u8(values, values);
        let bytes = vorrq_u8(vshlq_n_u8::<4>(high), low);
        // SAFETY: bytes `i..i + 8` of `dst` are in bounds (checked above).
        unsafe { vst1_u8(dst.as_mut_ptr().add(i), vget_low_u8(bytes)) };
        i += 8;
    }
    scalar::decode_at(2 * i, &src[2 * i..], &mut dst[i..])
}
