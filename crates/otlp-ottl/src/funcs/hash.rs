//! Hash converters: `SHA1`, `SHA256`, `SHA512`, `MD5`, `FNV`, `XXH3`, `XXH128`, `Murmur3Hash`,
//! `Murmur3Hash128`.
//!
//! Each takes one string (`target`, the name otelcol's argument structs give it) and fails on
//! any other type, as otelcol's `StringGetter` does. Every one that returns a string is also a
//! `StringFn`, so `replace_pattern(..., SHA1, ...)` and the other `replace_*` editors can use
//! it. FNV-1a and MurmurHash3 have no dependency: they are short and fixed by their
//! specifications, and otelcol's outputs pin down width, variant, seed and byte order.

use std::borrow::Cow;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use super::{FunctionDef, StringFn, TARGET, expect_string, unary, unary_def};
use crate::error::Result;
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        string_fn: Some(sha1_hex),
        ..unary_def("SHA1", TARGET, |a| {
            unary(a, |v| hashed(v, "SHA1", sha1_hex))
        })
    },
    FunctionDef {
        string_fn: Some(sha256_hex),
        ..unary_def("SHA256", TARGET, |a| {
            unary(a, |v| hashed(v, "SHA256", sha256_hex))
        })
    },
    FunctionDef {
        string_fn: Some(sha512_hex),
        ..unary_def("SHA512", TARGET, |a| {
            unary(a, |v| hashed(v, "SHA512", sha512_hex))
        })
    },
    FunctionDef {
        string_fn: Some(md5_hex),
        ..unary_def("MD5", TARGET, |a| unary(a, |v| hashed(v, "MD5", md5_hex)))
    },
    unary_def("FNV", TARGET, |a| unary(a, fnv)),
    FunctionDef {
        string_fn: Some(xxh3_hex),
        ..unary_def("XXH3", TARGET, |a| {
            unary(a, |v| hashed(v, "XXH3", xxh3_hex))
        })
    },
    FunctionDef {
        string_fn: Some(xxh128_hex),
        ..unary_def("XXH128", TARGET, |a| {
            unary(a, |v| hashed(v, "XXH128", xxh128_hex))
        })
    },
    FunctionDef {
        string_fn: Some(murmur3_32_hex),
        ..unary_def("Murmur3Hash", TARGET, |a| {
            unary(a, |v| hashed(v, "Murmur3Hash", murmur3_32_hex))
        })
    },
    FunctionDef {
        string_fn: Some(murmur3_128_hex),
        ..unary_def("Murmur3Hash128", TARGET, |a| {
            unary(a, |v| hashed(v, "Murmur3Hash128", murmur3_128_hex))
        })
    },
];

/// Applies the string hash `f` to a string argument; anything else is an error naming `function`,
/// as otelcol's `StringGetter` rejects it (no conversion of ints, bytes or nil).
fn hashed<'c>(value: Value<'c>, function: &str, f: StringFn) -> Result<Value<'c>> {
    let text = expect_string(value, function, "target")?;
    Ok(Value::Str(Cow::Owned(f(&text)?)))
}

/// The lowercase hex SHA-1 of `text`'s bytes (otelcol hashes the empty string too).
pub(crate) fn sha1_hex(text: &str) -> Result<String> {
    Ok(hex::encode(Sha1::digest(text.as_bytes())))
}

/// The lowercase hex SHA-256 of `text`'s bytes.
pub(crate) fn sha256_hex(text: &str) -> Result<String> {
    Ok(hex::encode(Sha256::digest(text.as_bytes())))
}

/// The lowercase hex SHA-512 of `text`'s bytes.
pub(crate) fn sha512_hex(text: &str) -> Result<String> {
    Ok(hex::encode(Sha512::digest(text.as_bytes())))
}

/// The lowercase hex MD5 of `text`'s bytes; kept for configs that match digests made elsewhere.
pub(crate) fn md5_hex(text: &str) -> Result<String> {
    Ok(hex::encode(Md5::digest(text.as_bytes())))
}

/// XXH3-64 (seed 0) as 16 hex digits, big-endian: Go's `xxh3.Hasher.Sum` appends the digest in
/// that order.
pub(crate) fn xxh3_hex(text: &str) -> Result<String> {
    Ok(hex::encode(xxh3_64(text.as_bytes()).to_be_bytes()))
}

/// XXH3-128 (seed 0) as 32 hex digits, big-endian (high half first), as Go's
/// `Uint128.Bytes` lays it out.
pub(crate) fn xxh128_hex(text: &str) -> Result<String> {
    Ok(hex::encode(xxh3_128(text.as_bytes()).to_be_bytes()))
}

/// MurmurHash3 x86_32 (seed 0) as 8 hex digits of its little-endian bytes, as otelcol prints it.
pub(crate) fn murmur3_32_hex(text: &str) -> Result<String> {
    Ok(hex::encode(
        murmur3_x86_32(text.as_bytes(), 0).to_le_bytes(),
    ))
}

/// MurmurHash3 x64_128 (seed 0) as 32 hex digits: `h1` then `h2`, each little-endian, as otelcol
/// prints it.
pub(crate) fn murmur3_128_hex(text: &str) -> Result<String> {
    let (h1, h2) = murmur3_x64_128(text.as_bytes(), 0);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&h1.to_le_bytes());
    bytes[8..].copy_from_slice(&h2.to_le_bytes());
    Ok(hex::encode(bytes))
}

/// `FNV(target)`: 64-bit FNV-1a as an integer. otelcol returns Go's `int64(Sum64())`, so digests
/// above `i64::MAX` come out negative; the empty string hashes to the offset basis.
fn fnv(value: Value<'_>) -> Result<Value<'_>> {
    let text = expect_string(value, "FNV", "target")?;
    Ok(Value::Int(fnv1a_64(text.as_bytes()) as i64))
}

/// FNV-1a, 64-bit: xor each byte into the state, then multiply by the FNV prime.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

/// MurmurHash3 x86_32 (Austin Appleby's reference `MurmurHash3_x86_32`).
fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .rev()
            .fold(0u32, |k, &b| (k << 8) | u32::from(b));
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    // The reference mixes the length in as a 32-bit int; longer inputs wrap the same way.
    h ^= data.len() as u32;
    fmix32(h)
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// MurmurHash3 x64_128 (the reference `MurmurHash3_x64_128`), returning `(h1, h2)`.
fn murmur3_x64_128(data: &[u8], seed: u64) -> (u64, u64) {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    let mut h1 = seed;
    let mut h2 = seed;
    let mut blocks = data.chunks_exact(16);
    for block in &mut blocks {
        let (lo, hi) = block.split_at(8);
        let (k1, k2) = (le_word(lo), le_word(hi));
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    // The remaining bytes, zero-padded: bytes 0..8 feed k1, 8..15 k2.
    let (lo, hi) = tail.split_at(tail.len().min(8));
    if !hi.is_empty() {
        h2 ^= le_word(hi)
            .wrapping_mul(C2)
            .rotate_left(33)
            .wrapping_mul(C1);
    }
    if !lo.is_empty() {
        h1 ^= le_word(lo)
            .wrapping_mul(C1)
            .rotate_left(31)
            .wrapping_mul(C2);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

/// The little-endian integer of up to eight bytes (missing high bytes are zero).
fn le_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |k, &b| (k << 8) | u64::from(b))
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published vectors: the FNV reference test suite (isthe.com/chongo/tech/comp/fnv) and the
    // SMHasher / Wikipedia MurmurHash3 examples.
    #[test]
    fn fnv1a_64_reference_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn murmur3_x86_32_reference_vectors() {
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"", 1), 0x514e28b7);
        assert_eq!(murmur3_x86_32(b"", 0xffffffff), 0x81f16f39);
        assert_eq!(murmur3_x86_32(b"\0\0\0\0", 0), 0x2362f9de);
        assert_eq!(murmur3_x86_32(b"aaaa", 0x9747b28c), 0x5a97808a);
        assert_eq!(murmur3_x86_32(b"aaa", 0x9747b28c), 0x283e0130);
        assert_eq!(murmur3_x86_32(b"aa", 0x9747b28c), 0x5d211726);
        assert_eq!(murmur3_x86_32(b"a", 0x9747b28c), 0x7fa09ea6);
        assert_eq!(murmur3_x86_32(b"Hello, world!", 0x9747b28c), 0x24884cba);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0x9747b28c),
            0x2fa826cd
        );
    }

    #[test]
    fn murmur3_x64_128_reference_vectors() {
        assert_eq!(murmur3_x64_128(b"", 0), (0, 0));
        assert_eq!(
            murmur3_x64_128(b"The quick brown fox jumps over the lazy dog", 0),
            (0xe34bbc7bbc071b6c, 0x7a433ca9c49a9347)
        );
    }
}
