//! Keys for the keyed algorithms, and the one hash they all use.

/// What a keyed pick is routed by: bytes (a trace id is 16 bytes) or a 64-bit hash the caller
/// already computed with [`hash_key`] (so a key routed many times is hashed once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// Raw key bytes, hashed with xxh3 when used.
    Bytes(&'a [u8]),
    /// A well-mixed 64-bit hash, used as is. Pass [`hash_key`]'s output, not a counter: the
    /// ring and Maglev rely on the hash being uniform.
    Hash(u64),
}

impl Key<'_> {
    /// The key's 64-bit position: xxh3 of the bytes, or the given hash.
    #[inline]
    pub fn hash(self) -> u64 {
        match self {
            Key::Bytes(bytes) => hash_key(bytes),
            Key::Hash(hash) => hash,
        }
    }
}

impl<'a> From<&'a [u8]> for Key<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Key::Bytes(bytes)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Key<'a> {
    fn from(bytes: &'a [u8; N]) -> Self {
        Key::Bytes(bytes)
    }
}

impl<'a> From<&'a str> for Key<'a> {
    fn from(text: &'a str) -> Self {
        Key::Bytes(text.as_bytes())
    }
}

impl From<u64> for Key<'_> {
    fn from(hash: u64) -> Self {
        Key::Hash(hash)
    }
}

/// xxh3-64 of `bytes`: the hash every keyed algorithm here places keys with.
///
/// ```
/// let trace_id = [0x4b_u8; 16];
/// assert_eq!(otlp_lb::hash_key(&trace_id), otlp_lb::Key::from(&trace_id).hash());
/// ```
#[inline]
pub fn hash_key(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// SplitMix64's finalizer: a bijective mix of a 64-bit value, used to derive further
/// independent-looking positions from one hash.
#[inline]
pub(crate) fn mix64(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// Maps a uniform 64-bit value onto `0..n` without a division (Lemire's multiply-shift).
#[inline]
pub(crate) fn reduce(value: u64, n: usize) -> usize {
    ((u128::from(value) * n as u128) >> 64) as usize
}
