//! Sets `cfg(otlp_simd_avx512)`, which compiles the AVX-512 kernels, on x86_64 when the compiler
//! is Rust 1.89 or later: the AVX-512 intrinsics and `#[target_feature(enable = "avx512f")]` are
//! stable from 1.89, and the workspace's minimum Rust is 1.88, which builds the crate without them
//! (its x86_64 tiers are then AVX2 and scalar).

use std::env;
use std::process::Command;

/// The first Rust minor version with stable AVX-512 intrinsics.
const AVX512_STABLE_MINOR: u32 = 89;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(otlp_simd_avx512)");
    println!("cargo:rerun-if-changed=build.rs");
    let x86_64 = env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "x86_64");
    if x86_64 && rustc_minor().is_some_and(|minor| minor >= AVX512_STABLE_MINOR) {
        println!("cargo:rustc-cfg=otlp_simd_avx512");
    }
}

/// The minor version of the compiler cargo builds with, from `rustc --version` ("rustc 1.95.0
/// (…)"); `None` when it cannot be read, which leaves the AVX-512 kernels out.
fn rustc_minor() -> Option<u32> {
    let rustc = env::var_os("RUSTC")?;
    let output = Command::new(rustc).arg("--version").output().ok()?;
    let version = String::from_utf8(output.stdout).ok()?;
    version
        .split_whitespace()
        .nth(1)?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}
