//! Lower-case hex encoding and validating decoding of byte strings, trace ids and span ids.
//!
//! Decoding accepts `0-9`, `a-f` and `A-F` (OTLP/JSON writes lower case; some producers do not)
//! and reports the index of the first byte that is not a hex digit. On error the output buffer's
//! contents are unspecified.

pub mod scalar;

#[cfg(otlp_simd_avx512)]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::{Result, expect_len};
use crate::isa::{self, Isa};

/// The 16 lower-case hex digits, indexed by nibble.
pub(crate) const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes the lower-case hex of `src` into `dst`, which must be exactly twice as long.
pub fn encode_into(src: &[u8], dst: &mut [u8]) -> Result<()> {
    expect_len("hex output", src.len() * 2, dst.len())?;
    // SAFETY: `current()` returns only an instruction set the CPU supports.
    unsafe { encode_with(isa::current(), src, dst) };
    Ok(())
}

/// [`encode_into`] on `isa` instead of the detected instruction set (to compare the paths in
/// tests and benchmarks); [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU
/// cannot run it.
pub fn encode_into_on(isa: Isa, src: &[u8], dst: &mut [u8]) -> Result<()> {
    isa.check()?;
    expect_len("hex output", src.len() * 2, dst.len())?;
    // SAFETY: `check` found that the CPU supports `isa`.
    unsafe { encode_with(isa, src, dst) };
    Ok(())
}

/// # Safety
/// The CPU must support `isa`.
#[inline]
unsafe fn encode_with(isa: Isa, src: &[u8], dst: &mut [u8]) {
    match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::encode(src, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::encode(src, dst) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::encode(src, dst) },
        _ => scalar::encode(src, dst),
    }
}

/// Decodes the hex digits in `src` into `dst`, which must be exactly half as long.
pub fn decode_into(src: &[u8], dst: &mut [u8]) -> Result<()> {
    expect_len("hex input", dst.len() * 2, src.len())?;
    // SAFETY: `current()` returns only an instruction set the CPU supports.
    unsafe { decode_with(isa::current(), src, dst) }
}

/// [`decode_into`] on `isa` instead of the detected instruction set;
/// [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU cannot run it.
pub fn decode_into_on(isa: Isa, src: &[u8], dst: &mut [u8]) -> Result<()> {
    isa.check()?;
    expect_len("hex input", dst.len() * 2, src.len())?;
    // SAFETY: `check` found that the CPU supports `isa`.
    unsafe { decode_with(isa, src, dst) }
}

/// # Safety
/// The CPU must support `isa`.
#[inline]
unsafe fn decode_with(isa: Isa, src: &[u8], dst: &mut [u8]) -> Result<()> {
    match isa {
        #[cfg(otlp_simd_avx512)]
        // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
        Isa::Avx512 => unsafe { avx512::decode(src, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees the CPU supports AVX2.
        Isa::Avx2 => unsafe { x86::decode(src, dst) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller guarantees the CPU supports NEON.
        Isa::Neon => unsafe { neon::decode(src, dst) },
        _ => scalar::decode(src, dst),
    }
}

/// Whether the single-id functions take their inlined kernels (SSE2 code, and for encoding one
/// `vpshufb` in inline assembly): on the AVX2 and AVX-512 tiers (16 or 32 bytes do not fill a
/// 512-bit vector, and code built for the baseline inlines where AVX2 or AVX-512 code would cost
/// a call).
#[cfg(target_arch = "x86_64")]
#[inline]
fn single_id_inlined() -> bool {
    isa::x86_vector_tier()
}

// The single-id encoders call SSE2 functions without detecting SSE2: x86_64 includes it.
#[cfg(target_arch = "x86_64")]
const _: () = assert!(cfg!(target_feature = "sse2"));

/// The 32 lower-case hex digits of a trace id.
///
/// Inlined, dispatch included: on x86_64 with AVX2 (or AVX-512) the kernel is SSE2 code (the x86_64 baseline)
/// and one `vpshufb` written as inline assembly, which runs in the caller without a call, where
/// the general path's AVX2 function would cost a call that, for 16 bytes, takes longer than the
/// encoding.
#[inline]
pub fn encode_trace_id(id: &[u8; 16]) -> [u8; 32] {
    #[cfg(target_arch = "x86_64")]
    if single_id_inlined() {
        // SAFETY: the kernel needs SSE2, part of every x86_64 target (asserted below), and AVX,
        // which the AVX2 and AVX-512 tiers include.
        return unsafe { x86::encode_trace_id(id) };
    }
    encode_trace_id_elsewhere(id)
}

/// [`encode_trace_id`] off x86_64's AVX2 and AVX-512 tiers: NEON or the scalar twin, through [`encode_into`].
fn encode_trace_id_elsewhere(id: &[u8; 16]) -> [u8; 32] {
    let mut out = [0; 32];
    // The lengths are fixed by the types, so the length check cannot fail.
    let _ = encode_into(id, &mut out);
    out
}

/// The 16 lower-case hex digits of a span id (inlined, like [`encode_trace_id`]).
#[inline]
pub fn encode_span_id(id: &[u8; 8]) -> [u8; 16] {
    #[cfg(target_arch = "x86_64")]
    if single_id_inlined() {
        // SAFETY: the kernel needs SSE2, part of every x86_64 target (asserted below), and AVX,
        // which the AVX2 and AVX-512 tiers include.
        return unsafe { x86::encode_span_id(id) };
    }
    encode_span_id_elsewhere(id)
}

/// [`encode_span_id`] off x86_64's AVX2 tier.
fn encode_span_id_elsewhere(id: &[u8; 8]) -> [u8; 16] {
    let mut out = [0; 16];
    let _ = encode_into(id, &mut out);
    out
}

/// Decodes a trace id from exactly 32 hex digits.
///
/// Inlined, dispatch included, with an SSE2 kernel on x86_64's AVX2 and AVX-512 tiers, as
/// [`encode_trace_id`]; input with a bad digit or of the wrong length goes the general way, which
/// finds the error.
#[inline]
pub fn decode_trace_id(hex: &[u8]) -> Result<[u8; 16]> {
    #[cfg(target_arch = "x86_64")]
    if let (true, Ok(digits)) = (single_id_inlined(), <&[u8; 32]>::try_from(hex)) {
        // SAFETY: the kernel needs SSE2 only, part of every x86_64 target (asserted above).
        if let Some(id) = unsafe { x86::decode_trace_id(digits) } {
            return Ok(id);
        }
    }
    decode_trace_id_elsewhere(hex)
}

/// [`decode_trace_id`] through [`decode_into`]: other ISAs, and errors on every ISA.
fn decode_trace_id_elsewhere(hex: &[u8]) -> Result<[u8; 16]> {
    let mut out = [0; 16];
    decode_into(hex, &mut out)?;
    Ok(out)
}

/// Decodes a span id from exactly 16 hex digits (inlined, like [`decode_trace_id`]).
#[inline]
pub fn decode_span_id(hex: &[u8]) -> Result<[u8; 8]> {
    #[cfg(target_arch = "x86_64")]
    if let (true, Ok(digits)) = (single_id_inlined(), <&[u8; 16]>::try_from(hex)) {
        // SAFETY: the kernel needs SSE2 only, part of every x86_64 target (asserted above).
        if let Some(id) = unsafe { x86::decode_span_id(digits) } {
            return Ok(id);
        }
    }
    decode_span_id_elsewhere(hex)
}

/// [`decode_span_id`] through [`decode_into`].
fn decode_span_id_elsewhere(hex: &[u8]) -> Result<[u8; 8]> {
    let mut out = [0; 8];
    decode_into(hex, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn trace_and_span_ids_round_trip() {
        let hex = b"4bf92f3577b34da6a3ce929d0e0e4736";
        let id = decode_trace_id(hex).unwrap();
        assert_eq!(id[0], 0x4b);
        assert_eq!(id[15], 0x36);
        assert_eq!(&encode_trace_id(&id), hex);
        let span = decode_span_id(b"00F067AA0BA902B7").unwrap();
        assert_eq!(span, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        assert_eq!(&encode_span_id(&span), b"00f067aa0ba902b7");
    }

    #[test]
    fn single_id_encoders_equal_the_scalar_twin_for_every_byte_in_every_position() {
        for start in 0..=u8::MAX {
            let trace: [u8; 16] = std::array::from_fn(|i| start.wrapping_add(i as u8 * 17));
            let mut twin = [0u8; 32];
            scalar::encode(&trace, &mut twin);
            assert_eq!(encode_trace_id(&trace), twin, "{trace:?}");
            let span: [u8; 8] =
                std::array::from_fn(|i| start.wrapping_mul(31).wrapping_add(i as u8));
            let mut twin = [0u8; 16];
            scalar::encode(&span, &mut twin);
            assert_eq!(encode_span_id(&span), twin, "{span:?}");
        }
    }

    #[test]
    fn single_id_decoders_equal_the_scalar_twin_for_every_byte_in_every_position() {
        let digits = b"0123456789abcdefABCDEF";
        for byte in 0..=u8::MAX {
            for index in 0..32 {
                let mut hex: [u8; 32] = std::array::from_fn(|i| digits[(i * 7 + index) % 22]);
                hex[index] = byte;
                let mut twin = [0u8; 16];
                let expected = scalar::decode(&hex, &mut twin).map(|()| twin);
                assert_eq!(decode_trace_id(&hex), expected, "{byte} at {index}");
                let mut twin = [0u8; 8];
                let expected = scalar::decode(&hex[..16], &mut twin).map(|()| twin);
                assert_eq!(decode_span_id(&hex[..16]), expected, "{byte} at {index}");
            }
        }
    }

    #[test]
    fn decode_reports_the_first_bad_byte() {
        let mut hex = *b"4bf92f3577b34da6a3ce929d0e0e4736";
        hex[20] = b'g';
        hex[27] = b' ';
        assert_eq!(
            decode_trace_id(&hex),
            Err(Error::InvalidHexDigit {
                index: 20,
                byte: b'g'
            })
        );
        assert!(matches!(
            decode_trace_id(&hex[..31]),
            Err(Error::Length {
                expected: 32,
                actual: 31,
                ..
            })
        ));
    }

    #[test]
    fn every_non_hex_byte_is_rejected_in_every_position() {
        for byte in 0..=u8::MAX {
            if byte.is_ascii_hexdigit() {
                continue;
            }
            for index in [0, 7, 15, 16, 31, 32, 47, 63] {
                let mut hex = [b'a'; 64];
                hex[index] = byte;
                let mut out = [0; 32];
                assert_eq!(
                    decode_into(&hex, &mut out),
                    Err(Error::InvalidHexDigit { index, byte })
                );
            }
        }
    }
}
