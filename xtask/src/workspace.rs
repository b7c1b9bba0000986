//! Where the workspace is, which `cargo` to use, and running child processes loudly.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace xtask operates on and the cargo that started it.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root: the parent of xtask's own manifest directory.
    pub root: PathBuf,
    /// The `cargo` executable that runs xtask, so nested builds use the same toolchain.
    pub cargo: OsString,
}

impl Workspace {
    /// Finds the workspace from the environment `cargo run` gives xtask.
    pub fn locate() -> Result<Self> {
        // Prefer the run-time value: a binary built in one checkout and run from another must act
        // on the checkout it was started in.
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let root = manifest_dir
            .parent()
            .with_context(|| {
                format!(
                    "xtask's manifest directory {} has no parent directory",
                    manifest_dir.display()
                )
            })?
            .to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        Ok(Self { root, cargo })
    }

    /// A `cargo` command that runs in the workspace root.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command.current_dir(&self.root);
        command
    }

    /// `cargo metadata --no-deps` of the workspace: its packages, their targets and dependencies.
    pub fn metadata(&self) -> Result<serde_json::Value> {
        let output = self
            .cargo()
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .context("could not run `cargo metadata`")?;
        if !output.status.success() {
            bail!(
                "`cargo metadata` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        serde_json::from_slice(&output.stdout)
            .context("`cargo metadata` printed something that is not JSON")
    }

    /// The target directory cargo uses for this workspace (honours `CARGO_TARGET_DIR` and config).
    pub fn target_dir(&self) -> Result<PathBuf> {
        self.metadata()?
            .get("target_directory")
            .and_then(serde_json::Value::as_str)
            .map(PathBuf::from)
            .context("`cargo metadata` output has no `target_directory` string")
    }

    /// `path` relative to the workspace root when it is inside it, for short messages.
    pub fn display<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}

/// How a command reads in a log: program and arguments separated by spaces.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Prints `command`, runs it with inherited stdio and fails unless it exits successfully.
pub fn run(command: &mut Command) -> Result<()> {
    let description = describe(command);
    println!("xtask: running `{description}`");
    let status = command
        .status()
        .with_context(|| format!("could not start `{description}`"))?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    Ok(())
}

/// Bytes available to this user on the file system holding `path`, as `df -Pk` reports them;
/// `None` when `df` is missing or prints something unexpected (the number is only informative).
pub fn available_disk_bytes(path: &Path) -> Option<u64> {
    let output = Command::new("df").arg("-Pk").arg(path).output().ok()?;
    if !output.status.success() {
        return None;
    }
    parse_df_available_kib(&String::from_utf8_lossy(&output.stdout)).map(|kib| kib * 1024)
}

/// The "Available" column (in KiB) of the data line of POSIX `df -Pk` output.
fn parse_df_available_kib(text: &str) -> Option<u64> {
    // Filesystem 1024-blocks Used Available Capacity Mounted-on; a long device name cannot wrap
    // under -P, so the data line always has the fourth field.
    text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

/// A byte count as GiB with one decimal, for log lines.
pub fn gibibytes(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Formats a duration in seconds the way the step log prints it.
pub fn seconds(duration: std::time::Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_joins_program_and_arguments() {
        let mut command = Command::new("cargo");
        command.args(["fmt", "--all", "--", "--check"]);
        assert_eq!(describe(&command), "cargo fmt --all -- --check");
    }

    #[test]
    fn located_workspace_contains_xtask() {
        let workspace = Workspace::locate().unwrap();
        assert!(workspace.root.join("xtask").join("Cargo.toml").is_file());
        assert!(workspace.root.join("Cargo.toml").is_file());
    }

    #[test]
    fn run_reports_a_failing_command() {
        let error = run(Command::new("false").arg("ignored")).unwrap_err();
        assert!(
            error.to_string().contains("`false ignored` failed"),
            "{error}"
        );
    }

    #[test]
    fn reads_available_kib_from_posix_df_output() {
        let text = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                    /dev/vda         264091636 55051812 196217148      22% /\n";
        assert_eq!(parse_df_available_kib(text), Some(196_217_148));
        assert_eq!(parse_df_available_kib("Filesystem\n"), None);
        assert_eq!(parse_df_available_kib(""), None);
    }

    #[test]
    fn this_checkout_has_a_disk_with_a_size() {
        let workspace = Workspace::locate().unwrap();
        assert!(available_disk_bytes(&workspace.root).is_some());
        assert_eq!(gibibytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn seconds_has_one_decimal() {
        assert_eq!(seconds(std::time::Duration::from_millis(1260)), "1.3s");
        assert_eq!(seconds(std::time::Duration::from_secs(90)), "90.0s");
    }
}
