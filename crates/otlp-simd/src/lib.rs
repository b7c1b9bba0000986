//! ```
//! use otlp_simd::{hex, threshold};
//!
//! // Hex ids: vector code where the CPU has it (AVX-512, AVX2, NEON), the same answers everywhere.
//! let trace_id = hex::decode_trace_id(b"4bf92f3577b34da6a3ce929d0e0e4736")?;
//! assert_eq!(&hex::encode_trace_id(&trace_id), b"4bf92f3577b34da6a3ce929d0e0e4736");
//! let error = hex::decode_span_id(b"00f067aa0ba9o2b7").unwrap_err();
//! assert_eq!(error.to_string(), "invalid hex digit 0x6f at index 12");
//!
//! // Consistent-probability decisions for a column of ids: a 25% sampler's threshold is
//! // 0xc0000000000000, and an id is kept when its last 7 bytes (big-endian) reach it.
//! let ids = [trace_id, [0u8; 16]];
//! let mut bitmap = vec![0u64; threshold::bitmap_words(ids.len())];
//! let kept = threshold::sample_bitmap(&ids, 0xc0_0000_0000_0000, &mut bitmap)?;
//! assert_eq!((kept, bitmap[0]), (1, 0b01)); // 0xce929d0e0e4736 is kept, zero is not
//!
//! // Which instruction set the kernels run on here.
//! println!("otlp-simd dispatches to {}", otlp_simd::isa::current().name());
//! # Ok::<(), otlp_simd::Error>(())
//! ```
//!
//! Vector kernels for the hot paths of OpenTelemetry pipelines, written with `std::arch`
//! intrinsics and chosen at run time for the CPU at hand ([`isa::current`]): AVX-512 or AVX2 on
//! x86_64, NEON on aarch64, and otherwise the portable **scalar twin** every kernel has. A kernel
//! and its twin give the same answer for every input (property-tested for every length 0..=257
//! and unaligned starts, on every vector path the CPU runs), so callers never see which one ran.
//!
//! The column kernels (hex encoding and decoding of any length, sampling decisions, id
//! matches, id generation, aggregation, histogram buckets, first mismatch) have AVX-512 paths (F, BW, VL,
//! DQ and VBMI: Intel Ice Lake and later, AMD Zen 4 and later), each measured faster than its
//! AVX2 path; the single-id hex functions keep inlined 128-bit code on both x86_64 tiers. Each
//! kernel also has an `*_on` variant that runs a named [`isa::Isa`] (for tests and benchmarks
//! that compare the paths); it refuses one the CPU lacks with [`Error::UnsupportedIsa`].
//!
//! * [`hex`] — lower-case hex encoding and validating decoding of trace and span ids and of any
//!   byte string; decoding reports the first bad byte's index.
//! * [`threshold`] — consistent-probability sampling decisions for a column of trace ids into a
//!   bitmap (`R >= T` on each id's low 56 bits).
//! * [`id_match`] — which ids of a column of trace or span ids equal one id, into a bitmap: the
//!   predicate of a lookup by id.
//! * [`idgen`] — fast batch generation of trace and span ids (SplitMix64 over a counter), never
//!   all-zero.
//! * [`aggregate`] — count, sum, min and max of `i64` and `f64` columns.
//! * [`histogram`] — explicit-bucket histogram counting (OTLP's upper-inclusive buckets).
//! * [`bytes`] — byte-string equality, first mismatch and prefix tests for attribute filters.
//! * [`utf8`] — UTF-8 validation that checks for ASCII first: the standard library's answer,
//!   about 3x sooner for the short ASCII strings OTLP is made of.
//!
//! `unsafe` in this crate is confined to the per-architecture modules (unaligned loads and
//! stores, and calling `#[target_feature]` functions once the feature is detected); each block
//! says why it is sound.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod aggregate;
pub mod bytes;
mod error;
pub mod hex;
pub mod histogram;
pub mod id_match;
pub mod idgen;
pub mod isa;
pub mod threshold;
pub mod utf8;

pub use error::{Error, Result};

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
