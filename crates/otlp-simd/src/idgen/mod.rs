//! Batch generation of trace and span ids: SplitMix64 over a counter.
//!
//! Word `k` of a generator's stream is `mix(seed + (k + 1) * GAMMA)`, SplitMix64 (Steele, Lea and
//! Flood, 2014; it passes BigCrush), evaluated at independent counter positions so eight words
//! come out of one AVX-512 step (four out of one AVX2 step). A span id is one word, a trace id two consecutive words, written
//! little-endian. `mix` is a bijection with `mix(0) = 0`, so:
//!
//! * a trace id is never all-zero: its two words come from inputs `GAMMA` apart, which cannot
//!   both be zero;
//! * the one counter position in `2^64` whose span id would be zero yields `mix(GAMMA)` instead.
//!
//! The generator is not cryptographic: ids must be unique and well spread, not unguessable. Seed
//! it from the OS ([`IdGenerator::new`]) or fix the seed for reproducible tests
//! ([`IdGenerator::from_seed`]).

pub mod scalar;

#[cfg(otlp_simd_avx512)]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod x86;

use rand::{RngCore, SeedableRng, rngs::StdRng};

use crate::error::Result;
use crate::isa::{self, Isa};

/// SplitMix64's increment, the odd integer closest to `2^64 / φ`.
pub const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
const MIX1: u64 = 0xbf58_476d_1ce4_e5b9;
const MIX2: u64 = 0x94d0_49bb_1331_11eb;

/// SplitMix64's output function (a bijection on `u64`).
pub fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(MIX1);
    let z = (z ^ (z >> 27)).wrapping_mul(MIX2);
    z ^ (z >> 31)
}

/// A stream of ids from a 64-bit seed; cheap to create, one per thread or per batch.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    seed: u64,
    counter: u64,
}

impl IdGenerator {
    /// A generator seeded from the operating system's random source.
    pub fn new() -> Self {
        Self::from_seed(StdRng::from_os_rng().next_u64())
    }

    /// A generator with a fixed seed: the same seed yields the same ids, on every CPU.
    pub fn from_seed(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    /// Fills `ids` with fresh trace ids.
    pub fn fill_trace_ids(&mut self, ids: &mut [[u8; 16]]) {
        // SAFETY: `current()` returns only an instruction set the CPU supports.
        unsafe { self.fill_words(isa::current(), ids.as_flattened_mut()) };
    }

    /// [`fill_trace_ids`](Self::fill_trace_ids) on `isa` instead of the detected instruction
    /// set (to compare the paths in tests and benchmarks; every path yields the same ids);
    /// [`Error::UnsupportedIsa`](crate::Error::UnsupportedIsa) when this CPU cannot run it, and
    /// then the generator has not advanced.
    pub fn fill_trace_ids_on(&mut self, isa: Isa, ids: &mut [[u8; 16]]) -> Result<()> {
        isa.check()?;
        // SAFETY: `check` found that the CPU supports `isa`.
        unsafe { self.fill_words(isa, ids.as_flattened_mut()) };
        Ok(())
    }

    /// Fills `ids` with fresh span ids.
    pub fn fill_span_ids(&mut self, ids: &mut [[u8; 8]]) {
        // SAFETY: `current()` returns only an instruction set the CPU supports.
        unsafe { self.fill_words(isa::current(), ids.as_flattened_mut()) };
        for id in ids.iter_mut() {
            if *id == [0; 8] {
                *id = mix(GAMMA).to_le_bytes();
            }
        }
    }

    /// One fresh trace id.
    pub fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [[0; 16]];
        self.fill_trace_ids(&mut id);
        id[0]
    }

    /// One fresh span id.
    pub fn span_id(&mut self) -> [u8; 8] {
        let mut id = [[0; 8]];
        self.fill_span_ids(&mut id);
        id[0]
    }

    /// Writes the next `bytes.len() / 8` words (`bytes.len()` is a multiple of 8) and advances.
    ///
    /// # Safety
    /// The CPU must support `isa`.
    unsafe fn fill_words(&mut self, isa: Isa, bytes: &mut [u8]) {
        let start = self
            .seed
            .wrapping_add(self.counter.wrapping_add(1).wrapping_mul(GAMMA));
        match isa {
            #[cfg(otlp_simd_avx512)]
            // SAFETY: the caller guarantees the CPU has the AVX-512 tier (F, BW, VL, DQ, VBMI).
            Isa::Avx512 => unsafe { avx512::fill(start, bytes) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the caller guarantees the CPU supports AVX2.
            Isa::Avx2 => unsafe { x86::fill(start, bytes) },
            // NEON has no 64-bit lane multiply, and aarch64's scalar `mul` issues one per cycle:
            // the scalar twin is the fast path there.
            _ => scalar::fill(start, bytes),
        }
        self.counter = self.counter.wrapping_add((bytes.len() / 8) as u64);
    }
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_words_are_splitmix64s() {
        // SplitMix64 seeded with 0 starts 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4 (reference C).
        let mut generator = IdGenerator::from_seed(0);
        let id = generator.trace_id();
        assert_eq!(id[..8], 0xe220_a839_7b1d_cdaf_u64.to_le_bytes());
        assert_eq!(id[8..], 0x6e78_9e6a_a1b9_65f4_u64.to_le_bytes());
        assert_eq!(generator.span_id(), 0x06c4_5d18_8009_454f_u64.to_le_bytes());
    }

    #[test]
    fn batches_continue_the_stream() {
        let mut one = IdGenerator::from_seed(42);
        let mut batch = vec![[0; 16]; 37];
        one.fill_trace_ids(&mut batch);
        let mut other = IdGenerator::from_seed(42);
        let singles: Vec<[u8; 16]> = (0..37).map(|_| other.trace_id()).collect();
        assert_eq!(batch, singles);
        assert_eq!(one.span_id(), other.span_id());
    }

    #[test]
    fn the_zero_span_id_position_yields_a_nonzero_id() {
        // Counter position 0 maps to input `seed + GAMMA`: seed it to make that input zero.
        let mut generator = IdGenerator::from_seed(GAMMA.wrapping_neg());
        assert_eq!(generator.span_id(), mix(GAMMA).to_le_bytes());
        let mut generator = IdGenerator::from_seed(GAMMA.wrapping_neg());
        assert_ne!(generator.trace_id(), [0; 16]);
    }

    #[test]
    fn bits_are_balanced() {
        let mut ids = vec![[0u8; 16]; 4096];
        IdGenerator::from_seed(7).fill_trace_ids(&mut ids);
        let ones: u32 = ids
            .as_flattened()
            .iter()
            .map(|byte| byte.count_ones())
            .sum();
        let bits = (ids.len() * 128) as f64;
        // Binomial(524288, 1/2): the standard deviation is 362 bits; allow 6 of them.
        assert!(
            (f64::from(ones) - bits / 2.0).abs() < 6.0 * 362.0,
            "{ones} of {bits}"
        );
        let mut seen = std::collections::HashSet::new();
        assert!(ids.iter().all(|id| seen.insert(*id)));
        assert_ne!(IdGenerator::new().trace_id(), IdGenerator::new().trace_id());
    }
}
