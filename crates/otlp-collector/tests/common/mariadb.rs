//! A MariaDB server of a test's own (Debian's, on a free loopback port and a socket of its own, with TLS from the
//! test PKI), for the tests of the receivers that read one.
//!
//! `mariadbd`, `mariadb-install-db` and the `mariadb` client come from Debian's `mariadb-server` (`cargo xtask
//! setup` installs it). The setup runs as the server's root account over its socket, which MariaDB lets the
//! system's root (or the user running the test) in without a password.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A MariaDB server of its own, stopped when dropped.
pub struct Mariadb {
    child: Child,
    pub port: u16,
    pub socket: PathBuf,
}

/// `--user=root` where the test runs as root: the server refuses root otherwise.
fn as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

impl Mariadb {
    /// A new server in `dir` (which holds the test PKI), with performance_schema on and a 16 MiB buffer pool.
    pub fn start(dir: &Path) -> Mariadb {
        let data = dir.join("data");
        let mut install = Command::new("mariadb-install-db");
        install
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=socket", "--skip-test-db"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if as_root() {
            install.arg("--user=root");
        }
        let status = install.status().unwrap_or_else(|e| {
            panic!("cannot run mariadb-install-db: {e}; run `cargo xtask setup`")
        });
        assert!(status.success(), "mariadb-install-db failed");
        let (port, socket) = (super::free_port(), dir.join("mariadb.sock"));
        let p = dir.display();
        let mut server = Command::new(super::server_program("mariadbd"));
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--pid-file={p}/mariadb.pid"))
            .arg(format!("--log-error={p}/mariadb.err"))
            .arg(format!("--ssl-cert={p}/server.pem"))
            .arg(format!("--ssl-key={p}/server-key.pem"))
            .args([
                "--bind-address=127.0.0.1",
                "--performance-schema=ON",
                "--innodb-buffer-pool-size=16M",
                "--max-connections=50",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if as_root() {
            server.arg("--user=root");
        }
        let child = server.spawn().expect("running mariadbd");
        let mut server = Mariadb {
            child,
            port,
            socket,
        };
        for _ in 0..300 {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("mariadb.err")).unwrap_or_default();
                panic!("mariadbd exited before it was ready: {status}\n{log}");
            }
            if server.sql("SELECT 1").is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("mariadbd does not answer after 15 s");
    }

    /// Runs `statements` as the server's root over its socket; the rows, tab-separated, without the header.
    pub fn sql(&self, statements: &str) -> Result<String, String> {
        let output = Command::new("mariadb")
            .arg(format!("--socket={}", self.socket.display()))
            .args([
                "-u",
                "root",
                "--batch",
                "--skip-column-names",
                "-e",
                statements,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// The whole-number answer to `query`.
    pub fn number(&self, query: &str) -> i64 {
        let answer = self.sql(query).unwrap();
        answer
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{query}: {answer}"))
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
