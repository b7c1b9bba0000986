//! Starting the workspace's own programs from a test, also when the tests run under an emulator.
//!
//! `cargo xtask cross` runs the aarch64 test binaries through qemu's user-mode emulator (cargo's target runner), but
//! a program a test starts (the `otlp-suite` binary, an example, the test binary itself again) does not go through
//! cargo: without binfmt_misc, which containers rarely have, the kernel refuses to execute it. The runner is
//! therefore also handed to the tests in [`RUNNER_ENV`], and [`command`] puts it in front.
//!
//! ```no_run
//! // In a test of the `otlp-suite` package, the path is `env!("CARGO_BIN_EXE_otlp-suite")`.
//! let status = otlp_testkit::process::command("target/debug/otlp-suite")
//!     .arg("--version")
//!     .status()?;
//! assert!(status.success());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::ffi::OsStr;
use std::process::Command;

/// The environment variable holding the command line that runs the tests' target programs (for example
/// `qemu-aarch64 -L /usr/aarch64-linux-gnu`), words separated by spaces; unset or empty on a native run.
pub const RUNNER_ENV: &str = "OTLP_SUITE_TEST_RUNNER";

/// A command that runs `program`, a binary built for the tests' target, through the runner named in
/// [`RUNNER_ENV`] when there is one, and directly otherwise. Host programs (python, etcd, `kill`) are started with
/// [`Command::new`] as usual.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let runner = std::env::var(RUNNER_ENV).unwrap_or_default();
    with_runner(&runner, program.as_ref())
}

fn with_runner(runner: &str, program: &OsStr) -> Command {
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(emulator) => {
            let mut command = Command::new(emulator);
            command.args(words).arg(program);
            command
        }
        None => Command::new(program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runner_goes_in_front_with_its_arguments() {
        let command = with_runner(
            "qemu-aarch64 -L /usr/aarch64-linux-gnu",
            OsStr::new("/t/otlp-suite"),
        );
        assert_eq!(command.get_program(), "qemu-aarch64");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["-L", "/usr/aarch64-linux-gnu", "/t/otlp-suite"]);
    }

    #[test]
    fn without_a_runner_the_program_runs_itself() {
        for runner in ["", "   "] {
            let command = with_runner(runner, OsStr::new("/t/otlp-suite"));
            assert_eq!(command.get_program(), "/t/otlp-suite");
            assert_eq!(command.get_args().count(), 0);
        }
    }
}
