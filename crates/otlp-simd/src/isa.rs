//! Which instruction set the kernels run on, detected once per process.
//!
//! Detection is a CPUID (x86_64) or `HWCAP` (aarch64) query; its answer is cached in an atomic so
//! that a kernel call pays one relaxed load and a predictable branch, not a query.
//!
//! The tiers nest: a CPU on the [`Isa::Avx512`] tier also runs every AVX2 kernel, and a kernel
//! whose 512-bit code measured no faster than its 256-bit code keeps running the AVX2 code there
//! (each kernel module says which it does, and why).

use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};

/// The instruction set a kernel call is dispatched to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isa {
    /// Portable Rust: the scalar twins.
    Scalar,
    /// x86_64 AVX2 (256-bit integer and double vectors).
    Avx2,
    /// x86_64 AVX-512 (512-bit vectors and mask registers): AVX2 plus AVX-512 F, BW, VL, DQ and
    /// VBMI, as on Intel Ice Lake and later and AMD Zen 4 and later. Skylake-SP has no VBMI and
    /// stays on [`Isa::Avx2`], as does every CPU when the crate was built with a Rust older than
    /// 1.89, which lacks stable AVX-512 intrinsics.
    Avx512,
    /// aarch64 Advanced SIMD (NEON, 128-bit vectors).
    Neon,
}

impl Isa {
    /// Every instruction set a kernel may be compiled for, scalar first.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon];

    /// A short lower-case name (`scalar`, `avx2`, `avx512`, `neon`), as benchmarks and logs print
    /// it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Whether this CPU can run this instruction set's kernels (a CPUID or `HWCAP` query, cached
    /// by the standard library). [`FORCE_SCALAR_ENV`] does not change the answer: it steers
    /// [`current`], not what the CPU can do.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            _ if cfg!(miri) => false,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => has_avx512(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            _ => false,
        }
    }

    /// `Ok(())` when [`Isa::is_supported`], else [`Error::UnsupportedIsa`]: the check the `*_on`
    /// kernel variants make before running a vector path.
    #[inline]
    pub fn check(self) -> Result<()> {
        // The detected tier is known to be supported: one cached load instead of the CPUID
        // cache's several, which a benchmark of a short input would otherwise count.
        if self == current() || self.is_supported() {
            Ok(())
        } else {
            Err(Error::UnsupportedIsa { isa: self })
        }
    }
}

/// The instruction sets this CPU can run, scalar first and then from narrowest to widest vectors:
/// what tests and benchmarks iterate over to compare every compiled path with its scalar twin.
pub fn supported() -> Vec<Isa> {
    Isa::ALL
        .into_iter()
        .filter(|isa| isa.is_supported())
        .collect()
}

// AVX2 and AVX-512 are adjacent, so that `x86_vector_tier` is one range check on the cached byte.
const UNKNOWN: u8 = 0;
const SCALAR: u8 = 1;
const AVX2: u8 = 2;
const AVX512: u8 = 3;
const NEON: u8 = 4;

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
        AVX512 => Isa::Avx512,
        AVX2 => Isa::Avx2,
        NEON => Isa::Neon,
        SCALAR => Isa::Scalar,
        _ => detect_and_cache(),
    }
}

/// Whether this process dispatches to an x86_64 vector tier, AVX2 or AVX-512: the test the
/// single-id hex functions make on every call. On the cached byte itself, so that it stays one
/// range check however `current()`'s match compiles.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn x86_vector_tier() -> bool {
    match DETECTED.load(Ordering::Relaxed) {
        AVX2 | AVX512 => true,
        UNKNOWN => matches!(detect_and_cache(), Isa::Avx2 | Isa::Avx512),
        _ => false,
    }
}

#[cold]
fn detect_and_cache() -> Isa {
    let code = detect();
    // Every thread computes the same answer, so a race only repeats the query.
    DETECTED.store(code, Ordering::Relaxed);
    match code {
        AVX512 => Isa::Avx512,
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

/// Exactly the features the AVX-512 kernels enable (`#[target_feature]` lists in the `avx512`
/// modules), and AVX2, which the tier's single-id hex functions use. False where the compiler
/// predates stable AVX-512 and build.rs left the kernels out: the tier must not be picked with no
/// kernels to run.
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    cfg!(otlp_simd_avx512)
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vbmi")
}

#[cfg(target_arch = "x86_64")]
fn detect_cpu() -> u8 {
    if has_avx512() {
        AVX512
    } else if std::arch::is_x86_feature_detected!("avx2") {
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
            let expected = if has_avx512() {
                Isa::Avx512
            } else if std::arch::is_x86_feature_detected!("avx2") {
                Isa::Avx2
            } else {
                Isa::Scalar
            };
            assert_eq!(isa, expected);
        }
        #[cfg(target_arch = "aarch64")]
        if std::env::var_os(FORCE_SCALAR_ENV).is_none() {
            assert_eq!(isa, Isa::Neon);
        }
        if std::env::var_os(FORCE_SCALAR_ENV).is_some_and(|value| value == "1") {
            assert_eq!(isa, Isa::Scalar);
        }
        assert_eq!(current(), isa, "the cached answer is stable");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(x86_vector_tier(), matches!(isa, Isa::Avx2 | Isa::Avx512));
        assert!(isa.is_supported(), "dispatch picks only what the CPU runs");
        assert!(!isa.name().is_empty());
    }

    #[test]
    fn supported_lists_scalar_first_and_only_what_the_cpu_runs() {
        let isas = supported();
        assert_eq!(isas.first(), Some(&Isa::Scalar));
        for isa in Isa::ALL {
            assert_eq!(isas.contains(&isa), isa.is_supported(), "{}", isa.name());
            assert_eq!(isa.check().is_ok(), isa.is_supported());
        }
        #[cfg(target_arch = "x86_64")]
        {
            assert!(!Isa::Neon.is_supported());
            // The AVX-512 tier runs AVX2 kernels too, so it must never be reported without AVX2.
            assert!(!Isa::Avx512.is_supported() || Isa::Avx2.is_supported());
        }
    }
}
