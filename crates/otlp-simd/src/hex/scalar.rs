//! The scalar twins, the code the vector paths must equal: a 256-entry table of digit pairs for
//! encoding (one 2-byte load and store per byte), a 256-entry table of nibbles for decoding.

use super::HEX_DIGITS;
use crate::error::{Error, Result};

/// `DECODE[byte]` is the nibble a hex digit stands for, or [`INVALID`].
const DECODE: [u8; 256] = decode_table();
const INVALID: u8 = 0xff;

const fn decode_table() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX_DIGITS[digit] as usize] = digit as u8;
        table[HEX_DIGITS[digit].to_ascii_uppercase() as usize] = digit as u8;
        digit += 1;
    }
    table
}

/// `ENCODE[byte]` is the two lower-case digits of `byte`, high nibble first.
const ENCODE: [[u8; 2]; 256] = encode_table();

const fn encode_table() -> [[u8; 2]; 256] {
    let mut table = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = [HEX_DIGITS[byte >> 4], HEX_DIGITS[byte & 0x0f]];
        byte += 1;
    }
    table
}

/// Lower-case hex of `src` into `dst`; `dst` is exactly `2 * src.len()` long (not checked).
///
/// One table lookup per byte (a 512-byte table, as fast scalar encoders use) rather than one
/// per nibble: half the loads, and one 2-byte store instead of two 1-byte stores.
pub fn encode(src: &[u8], dst: &mut [u8]) {
    for (byte, pair) in src.iter().zip(dst.chunks_exact_mut(2)) {
        pair.copy_from_slice(&ENCODE[usize::from(*byte)]);
    }
}

/// Decodes `src` into `dst`; `src` is exactly `2 * dst.len()` long (not checked).
pub fn decode(src: &[u8], dst: &mut [u8]) -> Result<()> {
    for (index, (pair, out)) in src.chunks_exact(2).zip(dst.iter_mut()).enumerate() {
        let high = DECODE[usize::from(pair[0])];
        let low = DECODE[usize::from(pair[1])];
        if high > 0x0f || low > 0x0f {
            let bad = if high > 0x0f { 0 } else { 1 };
            return Err(Error::InvalidHexDigit {
                index: 2 * index + bad,
                byte: pair[bad],
            });
        }
        *out = (high << 4) | low;
    }
    Ok(())
}

/// [`decode`] of a chunk that starts at `offset` in the caller's input, with the error's index
/// relative to that input.
pub(crate) fn decode_at(offset: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    decode(src, dst).map_err(|error| match error {
        Error::InvalidHexDigit { index, byte } => Error::InvalidHexDigit {
            index: index + offset,
            byte,
        },
        other => other,
    })
}
