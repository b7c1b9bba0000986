//! Which instruction set the kernels run on, detected once per process.
//!
//! Detection is a CPUID (x86_64) or `HWCAP` (aarch64) query; its answer is cached in an atomic so
//! that a kernel call pays one relaxed load and a predictable branch, not a query.

use std::sync::atomic::{AtomicU8, Ordering};

/// The instruction set a kernel call is dispatched to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isa {
    /// Portable Rust: the scalar twins.
    Scalar,
    /// x86_64 AVX2 (256-bit integer and double vectors).
    Avx2,
    /// aarch64 Advanced SIMD (NEON, 128-bit vectors).
    Neon,
}

impl Isa {
    /// A short lower-case name (`scalar`, `avx2`, `neon`), as benchmarks and logs print it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Neon => "neon",
        }
    }
}

const UNKNOWN: u8 = 0;
const SCALAR: u8 = 1;
const AVX2: u8 = 2;
const NEON: u8 = 3;

static DETECTED: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The environment variable that, set to `1` when the process first calls a kernel, pins every
/// kernel to its scalar twin (to rule the vector paths out when chasing a bug).
pub const FORCE_SCALAR_ENV: &str = "OTLP_SIMD_FORCE_SCALAR";

/// The instruction set this process dispatches to: the best the CPU supports, unless
/// [`FORCE_SCALAR_ENV`] is set, or the crate runs under Miri (which interprets only the scalar
/// paths).
#[inline]
pub fn current() -> Isa {
    // Inlined so that a kernel's dispatch is a load and a compare in its caller, not a call.
    match DETECTED.load(Ordering::Relaxed) {
        AVX2 => Isa::Avx2,
        NEON => Isa::Neon,
        SCALAR => Isa::Scalar,
        _ => detect_and_cache(),
    }
}

#[cold]
fn detect_and_cache() -> Isa {
    let code = detect();
    // Every thread computes the same answer, so a race only repeats the query.
    DETECTED.store(code, Ordering::Relaxed);
    match code {
        AVX2 => Isa::Avx2,
        NEON => Isa::Neon,
        _ => Isa::Scalar,
    }
}

fn detect() -> u8 {
    if cfg!(miri) || std::env::var_os(FORCE_SCALAR_ENV).is_some_and(|value| value == "1") {
        return SCALAR;
    }
    detect_cpu()
}

#[cfg(target_arch = "x86_64")]
fn detect_cpu() -> u8 {
    if std::arch::is_x86_feature_detected!("avx2") {
        AVX2
    } else {
        SCALAR
    }
}

#[cfg(target_arch = "aarch64")]
fn detect_cpu() -> u8 {
    if std::arch::is_aarch64_feature_detected!("neon") {
        NEON
    } else {
        SCALAR
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect_cpu() -> u8 {
    SCALAR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_matches_the_cpu() {
        let isa = current();
        #[cfg(target_arch = "x86_64")]
        if std::env::var_os(FORCE_SCALAR_ENV).is_none() {
            assert_eq!(
                isa == Isa::Avx2,
                std::arch::is_x86_feature_detected!("avx2")
            );
        }
        #[cfg(target_arch = "aarch64")]
        if std::env::var_os(FORCE_SCALAR_ENV).is_none() {
            assert_eq!(isa, Isa::Neon);
        }
        assert_eq!(current(), isa, "the cached answer is stable");
        assert!(!isa.name().is_empty());
    }
}
