//! Project automation for otlp-suite, run as `cargo xtask <command>` (an alias in
//! `.cargo/config.toml`).
//!
//! - `cargo xtask setup`: install the system tools (apt), Rust components (rustup) and Python
//!   packages (a venv in `.venv`) the tests need, only those that are missing.
//! - `cargo xtask test` (and its alias `cargo xtask ci`, what CI runs): setup, then fmt, clippy,
//!   every test with every feature, and rustdoc, stopping at the first failure.
//! - `cargo xtask bench [--quick] [filter...]`: run the benches and write `docs/benchmarks.md`
//!   (`--quick`: a short run of every bench, to see that they all run and write their sections).
//! - `cargo xtask release-check`: the packaging rules, `cargo hack check --each-feature` and
//!   `cargo publish --workspace --dry-run` (installs cargo-hack when missing; not part of `test`).
//! - `cargo xtask cross [-p PACKAGE]...`: build for aarch64 and run the tests under qemu (installs
//!   the cross gcc, qemu-user and the Rust target when missing).

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod bench;
mod benchdoc;
mod check;
mod cross;
mod release;
mod setup;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::bench::BenchOptions;
use crate::check::{PYTHON_ENV, TestOptions};
use crate::cross::CrossOptions;
use crate::workspace::Workspace;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "otlp-suite project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what the tests need (apt packages, Rust components, Python venv), only what is missing.
    Setup,
    /// Setup, then `cargo fmt --check`, clippy, `cargo test` and rustdoc over the whole workspace.
    ///
    /// `ci` is the same command: CI runs exactly what a newcomer runs.
    #[command(visible_alias = "ci")]
    Test {
        /// Skip clippy and rustdoc (local iteration only; CI never passes this).
        #[arg(long)]
        quick: bool,
        /// Passed to the test binaries, e.g. a test-name filter or `--nocapture`.
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// Run the benches (all, or those matching a filter) and update docs/benchmarks.md.
    Bench {
        /// A short run of every selected bench: criterion benches with 0.5 s of warm-up and 10 samples over
        /// 1 s, the custom harnesses with `OTLP_BENCH_QUICK=1` (shorter loads). Noisier figures, marked as such.
        #[arg(long)]
        quick: bool,
        /// Only these packages' benches (default: every package in the workspace).
        #[arg(long = "package", short = 'p')]
        packages: Vec<String>,
        /// Only these bench targets (cargo's `--bench`, e.g. `persistent_queue`), so that a change rebuilds one
        /// bench binary instead of all of them.
        #[arg(long = "bench")]
        benches: Vec<String>,
        /// Criterion filters (regexes); several select the union of their matches.
        filters: Vec<String>,
    },
    /// Before publishing: packaging rules, `cargo hack check --each-feature` on the crates with features, and
    /// `cargo publish --workspace --dry-run` (installs cargo-hack and protoc when missing). Not part of `test`:
    /// it rebuilds the crates once per feature and needs crates.io.
    ReleaseCheck {
        /// Pass `--allow-dirty` to `cargo publish`: package the working tree with its uncommitted changes.
        #[arg(long)]
        allow_dirty: bool,
    },
    /// Build for aarch64-unknown-linux-gnu and run the tests under qemu-aarch64 (installs the
    /// cross gcc, qemu-user and the Rust target when missing).
    Cross {
        /// Only these packages (default: the whole workspace, which is slow under emulation).
        #[arg(long = "package", short = 'p')]
        packages: Vec<String>,
        /// Passed to the test binaries, e.g. a test-name filter.
        #[arg(last = true)]
        test_args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> anyhow::Result<ExitCode> {
    let workspace = Workspace::locate()?;
    match task {
        Task::Setup => {
            let environment = setup::run_setup(&workspace)?;
            println!(
                "xtask setup: done; tests find python through {PYTHON_ENV}={}",
                environment.python.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Task::Test { quick, test_args } => {
            check::run_tests(&workspace, &TestOptions { quick, test_args })
        }
        Task::Bench {
            quick,
            packages,
            benches,
            filters,
        } => {
            bench::run_bench(
                &workspace,
                &BenchOptions {
                    quick,
                    packages,
                    benches,
                    filters,
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Task::ReleaseCheck { allow_dirty } => release::run_release_check(&workspace, allow_dirty),
        Task::Cross {
            packages,
            test_args,
        } => cross::run_cross(
            &workspace,
            &CrossOptions {
                packages,
                test_args,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_an_alias_of_test() {
        let ci = Cli::try_parse_from(["cargo xtask", "ci"]).unwrap();
        assert!(matches!(
            ci.command,
            Task::Test { quick: false, ref test_args } if test_args.is_empty()
        ));
    }

    #[test]
    fn test_passes_arguments_after_double_dash() {
        let cli = Cli::try_parse_from([
            "cargo xtask",
            "test",
            "--quick",
            "--",
            "span",
            "--nocapture",
        ])
        .unwrap();
        let Task::Test { quick, test_args } = cli.command else {
            panic!("expected the test task");
        };
        assert!(quick);
        assert_eq!(test_args, ["span", "--nocapture"]);
    }

    #[test]
    fn bench_takes_filters() {
        let cli = Cli::try_parse_from(["cargo xtask", "bench", "sampling", "arrow"]).unwrap();
        let Task::Bench { filters, quick, .. } = cli.command else {
            panic!("expected the bench task");
        };
        assert_eq!(filters, ["sampling", "arrow"]);
        assert!(!quick);
    }

    #[test]
    fn bench_quick_takes_packages_and_benches() {
        let cli = Cli::try_parse_from([
            "cargo xtask",
            "bench",
            "--quick",
            "-p",
            "otlp-lb",
            "--bench",
            "balance",
        ])
        .unwrap();
        let Task::Bench {
            quick,
            packages,
            benches,
            filters,
        } = cli.command
        else {
            panic!("expected the bench task");
        };
        assert!(quick);
        assert_eq!(packages, ["otlp-lb"]);
        assert_eq!(benches, ["balance"]);
        assert!(filters.is_empty());
    }

    #[test]
    fn release_check_is_a_command_of_its_own() {
        let cli = Cli::try_parse_from(["cargo xtask", "release-check"]).unwrap();
        assert!(matches!(
            cli.command,
            Task::ReleaseCheck { allow_dirty: false }
        ));
        let cli = Cli::try_parse_from(["cargo xtask", "release-check", "--allow-dirty"]).unwrap();
        assert!(matches!(
            cli.command,
            Task::ReleaseCheck { allow_dirty: true }
        ));
    }

    #[test]
    fn cross_takes_packages_and_test_arguments() {
        let cli = Cli::try_parse_from([
            "cargo xtask",
            "cross",
            "-p",
            "otlp-simd",
            "--package",
            "otlp-mempool",
            "--",
            "hex",
        ])
        .unwrap();
        let Task::Cross {
            packages,
            test_args,
        } = cli.command
        else {
            panic!("expected the cross task");
        };
        assert_eq!(packages, ["otlp-simd", "otlp-mempool"]);
        assert_eq!(test_args, ["hex"]);
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
