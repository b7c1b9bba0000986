//! The scalar twin: byte by byte.

/// First differing index of two slices of equal length (the caller trims them).
pub fn mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}
