//! `cargo xtask cross [-p PACKAGE]... [-- TEST_ARGS]`: build for `aarch64-unknown-linux-gnu` and
//! run the tests under qemu's user-mode emulator, so the NEON paths run on an x86_64 machine.
//!
//! Installs what is missing the way `cargo xtask setup` does: what the tests themselves need (etcd,
//! protoc, the Python venv with pyarrow and DuckDB: the test binaries run under qemu, the host
//! programs they start run natively), Debian's cross gcc (the linker, and the C compiler for crates
//! that build C: zstd-sys, ring, ...) and `qemu-user` through apt, the Rust standard library for
//! the target through rustup.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::check::PYTHON_ENV;
use crate::setup::{apt_install, find_executable, missing_packages, run_setup};
use crate::workspace::{Workspace, run};

/// The target triple cross builds for.
pub const TARGET: &str = "aarch64-unknown-linux-gnu";

/// The tools cross needs: (executable looked up on PATH, Debian package providing it).
pub const CROSS_TOOLS: &[(&str, &str)] = &[
    ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    ("qemu-aarch64", "qemu-user"),
];

/// Where Debian's cross toolchain keeps the aarch64 C library, qemu's sysroot for dynamic binaries.
const SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// The aarch64 C headers and libraries, which the cross gcc only recommends (and so
/// `--no-install-recommends` leaves out): (a file they install, their Debian package).
pub const CROSS_LIBC: (&str, &str) = (
    "/usr/aarch64-linux-gnu/include/stdio.h",
    "libc6-dev-arm64-cross",
);

/// What `cargo xtask cross` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct CrossOptions {
    /// Only these packages (default: the whole workspace).
    pub packages: Vec<String>,
    /// Arguments for the test binaries (after `--` of `cargo test`).
    pub test_args: Vec<String>,
}

/// Installs what is missing, then builds and tests the selected packages for aarch64 under qemu.
pub fn run_cross(workspace: &Workspace, options: &CrossOptions) -> Result<ExitCode> {
    let environment = run_setup(workspace)?;
    ensure_cross_packages()?;
    ensure_target(workspace)?;
    let mut test = workspace.cargo();
    // An emulated run takes half an hour: report every failing test binary, not only the first.
    test.args([
        "test",
        "--target",
        TARGET,
        "--all-features",
        "--no-fail-fast",
    ]);
    if options.packages.is_empty() {
        test.arg("--workspace");
    }
    for package in &options.packages {
        test.args(["--package", package]);
    }
    if !options.test_args.is_empty() {
        test.arg("--").args(&options.test_args);
    }
    test.envs(cross_env()).env(PYTHON_ENV, &environment.python);
    run(&mut test)?;
    println!("xtask cross: tests passed on {TARGET} under qemu-aarch64");
    Ok(ExitCode::SUCCESS)
}

/// The environment that makes cargo link with the cross gcc, build C dependencies with it and run
/// the test binaries under qemu.
pub fn cross_env() -> Vec<(String, String)> {
    let triple_upper = TARGET.to_uppercase().replace('-', "_");
    let triple_lower = TARGET.replace('-', "_");
    let runner = format!("qemu-aarch64 -L {SYSROOT}");
    vec![
        (
            format!("CARGO_TARGET_{triple_upper}_LINKER"),
            "aarch64-linux-gnu-gcc".to_owned(),
        ),
        (
            format!("CARGO_TARGET_{triple_upper}_RUNNER"),
            runner.clone(),
        ),
        // Cargo starts the test binaries through its runner, but the programs the tests start themselves (the
        // `otlp-suite` binary, examples) would need binfmt_misc, which containers lack: the tests put this in front
        // (`otlp_testkit::process::RUNNER_ENV`).
        ("OTLP_SUITE_TEST_RUNNER".to_owned(), runner),
        (
            format!("CC_{triple_lower}"),
            "aarch64-linux-gnu-gcc".to_owned(),
        ),
        (
            format!("AR_{triple_lower}"),
            "aarch64-linux-gnu-ar".to_owned(),
        ),
    ]
}

fn ensure_cross_packages() -> Result<()> {
    let path = std::env::var_os("PATH");
    let mut missing = missing_packages(CROSS_TOOLS, |probe| {
        find_executable(probe, path.as_deref()).is_some()
    });
    if !Path::new(CROSS_LIBC.0).exists() {
        missing.push(CROSS_LIBC.1);
    }
    if missing.is_empty() {
        println!("xtask cross: cross gcc, aarch64 libc and qemu-user present");
        return Ok(());
    }
    println!(
        "xtask cross: installing the Debian packages {}",
        missing.join(" ")
    );
    apt_install(&missing)
}

fn ensure_target(workspace: &Workspace) -> Result<()> {
    if find_executable("rustup", std::env::var_os("PATH").as_deref()).is_none() {
        bail!(
            "cross builds need the Rust standard library for {TARGET}; install it with your toolchain manager (rustup is not available)"
        );
    }
    // In the workspace root, so that a pinned toolchain file applies.
    let installed = Command::new("rustup")
        .current_dir(&workspace.root)
        .args(["target", "list", "--installed"])
        .output()
        .context("could not run `rustup target list --installed`")?;
    if target_installed(&String::from_utf8_lossy(&installed.stdout)) {
        println!("xtask cross: Rust target {TARGET} present");
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.current_dir(&workspace.root)
        .args(["target", "add", TARGET]);
    run(&mut add)
}

/// Whether `rustup target list --installed` output lists [`TARGET`].
pub fn target_installed(listing: &str) -> bool {
    listing.lines().any(|line| line.trim() == TARGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_points_cargo_and_cc_at_the_cross_toolchain() {
        let env = cross_env();
        let get = |key: &str| {
            env.iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(
            get("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"),
            Some("aarch64-linux-gnu-gcc")
        );
        assert_eq!(
            get("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"),
            Some("qemu-aarch64 -L /usr/aarch64-linux-gnu")
        );
        assert_eq!(
            get("CC_aarch64_unknown_linux_gnu"),
            Some("aarch64-linux-gnu-gcc")
        );
        assert_eq!(
            get("OTLP_SUITE_TEST_RUNNER"),
            get("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER")
        );
    }

    #[test]
    fn installed_targets_are_matched_by_whole_line() {
        assert!(target_installed(
            "x86_64-unknown-linux-gnu\naarch64-unknown-linux-gnu\n"
        ));
        assert!(!target_installed("aarch64-unknown-linux-gnueabi\n"));
        assert!(!target_installed(""));
    }

    #[test]
    fn cross_tools_are_debian_packages() {
        for (probe, package) in CROSS_TOOLS {
            assert!(!probe.contains('/'));
            assert!(
                package
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
            );
        }
    }
}
