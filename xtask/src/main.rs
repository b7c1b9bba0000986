//! Project automation for otlp-suite, run as `cargo xtask <command>` (an alias in
//! `.cargo/config.toml`).
//!
//! - `cargo xtask setup`: install the system tools (apt), Rust components (rustup) and Python
//!   packages (a venv in `.venv`) the tests need, only those that are missing.
//! - `cargo xtask test` (and its alias `cargo xtask ci`, what CI runs): setup, then fmt, clippy,
//!   every test with every feature, and rustdoc, stopping at the first failure.
//! - `cargo xtask bench [filter...]`: run the criterion benches and write `docs/benchmarks.md`.
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
mod setup;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run the criterion benches (all, or those matching a filter) and update docs/benchmarks.md.
    Bench {
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
            packages,
            benches,
            filters,
        } => {
            bench::run_bench(&workspace, &packages, &benches, &filters)?;
            Ok(ExitCode::SUCCESS)
        }
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
        let Task::Bench { filters, .. } = cli.command else {
            panic!("expected the bench task");
        };
        assert_eq!(filters, ["sampling", "arrow"]);
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
