//! UTF-8 validation that takes the ASCII way first.
//!
//! OTLP strings are mostly short ASCII: attribute keys, service and span names, routes. For
//! those, `std::str::from_utf8` spends most of its time getting started: it reads words only
//! from an aligned address and walks the bytes before it one at a time, so a 10-byte key is
//! checked byte by byte. `<[u8]>::is_ascii` reads unaligned words from the start. Every ASCII
//! string is valid UTF-8, so when that check passes the string needs no further look; anything
//! else goes to the standard library, which also makes the error.
//!
//! The scalar twin is `std::str::from_utf8` itself: same answer, same error, for every input.

use std::str::Utf8Error;

/// `bytes` as a `&str` if it is valid UTF-8: `std::str::from_utf8`'s answer and error, found
/// faster for ASCII strings.
///
/// ```
/// assert_eq!(otlp_simd::utf8::from_utf8(b"http.route"), Ok("http.route"));
/// assert_eq!(otlp_simd::utf8::from_utf8("café".as_bytes()), Ok("café"));
/// let error = otlp_simd::utf8::from_utf8(b"caf\xe9").unwrap_err();
/// assert_eq!(error.valid_up_to(), 3);
/// ```
#[inline]
pub fn from_utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: every byte is below 0x80, and a string of ASCII bytes is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// Whether `bytes` is valid UTF-8, as [`from_utf8`] finds it.
#[inline]
pub fn is_valid(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}
