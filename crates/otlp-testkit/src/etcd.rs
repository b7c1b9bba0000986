//! A real `etcd` server for tests: one member on free loopback ports in a temporary directory.
//!
//! ```no_run
//! use otlp_testkit::etcd::EtcdServer;
//!
//! let mut etcd = EtcdServer::start()?;            // fails naming `etcd-server` when etcd is missing
//! let endpoint = etcd.endpoint();                 // "http://127.0.0.1:<port>"
//! etcd.stop()?;                                   // SIGTERM, then wait
//! etcd.restart()?;                                // same data dir, same ports
//! # let _ = endpoint;
//! # Ok::<(), otlp_testkit::etcd::EtcdError>(())
//! ```
//!
//! [`EtcdServer::start_with_tls`] serves the client port over TLS (`https://`), and with a client CA
//! demands client certificates (etcd's `--client-cert-auth`).
//!
//! The server is killed when the value is dropped. Start-up waits for `GET /health` on a plain-HTTP
//! metrics port to answer `"health":"true"` (so a TLS client port needs no certificate to probe),
//! polling with a doubling backoff up to [`START_DEADLINE`]: a child process offers no readiness event
//! to wait on, and the deadline bounds the wait.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian package that provides the `etcd` binary.
pub const ETCD_PACKAGE: &str = "etcd-server";

/// How long [`EtcdServer::start`] and [`EtcdServer::restart`] wait for the server to be healthy.
pub const START_DEADLINE: Duration = Duration::from_secs(30);

/// Errors starting or stopping the test etcd.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EtcdError {
    /// No `etcd` executable on PATH (or in /usr/bin, /usr/sbin).
    #[error(
        "no `etcd` binary (looked at $OTLP_SUITE_ETCD if set, else PATH, /usr/bin, /usr/sbin): \
         install the Debian package `{ETCD_PACKAGE}` (`cargo xtask setup` does, or \
         `apt-get install {ETCD_PACKAGE}`)"
    )]
    Missing,
    /// An I/O error around the child process or its directory.
    #[error("etcd test server: {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The server exited or did not become healthy in time.
    #[error("etcd did not become healthy: {reason}; last lines of its log:\n{log_tail}")]
    NotReady {
        /// Why we gave up.
        reason: String,
        /// The end of etcd's own log, for diagnosis.
        log_tail: String,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EtcdError {
    let context = context.into();
    move |source| EtcdError::Io { context, source }
}

/// TLS on the test etcd's client port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdTls {
    /// PEM server certificate (it must name `127.0.0.1`, the address clients dial).
    pub cert_file: PathBuf,
    /// PEM key of `cert_file`.
    pub key_file: PathBuf,
    /// When set, every client must present a certificate this CA signed.
    pub client_ca_file: Option<PathBuf>,
}

/// A running (or stopped) single-member etcd owned by a test.
#[derive(Debug)]
pub struct EtcdServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    metrics_port: u16,
    tls: Option<EtcdTls>,
    child: Option<Child>,
}

impl EtcdServer {
    /// Starts etcd on two free loopback ports with a fresh data directory and waits until it is
    /// healthy.
    ///
    /// # Errors
    ///
    /// [`EtcdError::Missing`] (naming the Debian package) when there is no `etcd` binary;
    /// [`EtcdError::NotReady`] when it exits or stays unhealthy past [`START_DEADLINE`].
    pub fn start() -> Result<Self, EtcdError> {
        Self::start_inner(None)
    }

    /// Starts etcd as [`start`](Self::start) does, serving clients over TLS with `tls`.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start); a certificate etcd cannot load ends in [`EtcdError::NotReady`] with
    /// etcd's own log.
    pub fn start_with_tls(tls: EtcdTls) -> Result<Self, EtcdError> {
        Self::start_inner(Some(tls))
    }

    fn start_inner(tls: Option<EtcdTls>) -> Result<Self, EtcdError> {
        let binary = find_etcd().ok_or(EtcdError::Missing)?;
        let dir = tempfile::Builder::new()
            .prefix("otlp-testkit-etcd-")
            .tempdir()
            .map_err(io("create the temporary directory"))?;
        let client_port = free_port()?;
        let peer_port = free_port()?;
        let metrics_port = free_port()?;
        let mut server = Self {
            binary,
            dir,
            client_port,
            peer_port,
            metrics_port,
            tls,
            child: None,
        };
        server.spawn()?;
        Ok(server)
    }

    /// The client URL, e.g. `http://127.0.0.1:43125` (`https://` with TLS).
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// The client address.
    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.client_port))
    }

    /// The data directory, kept across [`stop`](Self::stop) and [`restart`](Self::restart).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit; a no-op when stopped.
    ///
    /// # Errors
    ///
    /// An I/O error when the signal cannot be sent or the wait fails.
    pub fn stop(&mut self) -> Result<(), EtcdError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let terminated = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .map_err(io("send SIGTERM to etcd"))?;
        if !terminated.success() {
            child.kill().map_err(io("kill etcd"))?;
        }
        child.wait().map_err(io("wait for etcd to exit"))?;
        Ok(())
    }

    /// Kills the server at once (SIGKILL), as a crash would, and waits for it to exit.
    ///
    /// # Errors
    ///
    /// An I/O error when the kill or the wait fails.
    pub fn kill(&mut self) -> Result<(), EtcdError> {
        if let Some(mut child) = self.child.take() {
            child.kill().map_err(io("kill etcd"))?;
            child.wait().map_err(io("wait for etcd to exit"))?;
        }
        Ok(())
    }

    /// Starts the server again on the same ports and data directory (stopping it first if it
    /// runs), and waits until it is healthy.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn restart(&mut self) -> Result<(), EtcdError> {
        self.stop()?;
        self.spawn()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    fn spawn(&mut self) -> Result<(), EtcdError> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io("open etcd's log file"))?;
        let log_err = log.try_clone().map_err(io("open etcd's log file"))?;
        let client_url = self.endpoint();
        let peer_url = format!("http://127.0.0.1:{}", self.peer_port);
        let mut command = Command::new(&self.binary);
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cert-file={}", tls.cert_file.display()))
                .arg(format!("--key-file={}", tls.key_file.display()));
            if let Some(ca) = &tls.client_ca_file {
                command
                    .arg("--client-cert-auth")
                    .arg(format!("--trusted-ca-file={}", ca.display()));
            }
        }
        let child = command
            .arg("--name=testkit")
            .arg(format!("--data-dir={}", self.data_dir().display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=testkit={peer_url}"))
            .arg("--initial-cluster-state=new")
            .arg(format!(
                "--listen-metrics-urls=http://127.0.0.1:{}",
                self.metrics_port
            ))
            // Tests hold leases of a few seconds; etcd's default 5 s throttling of its
            // expiry checks is not involved, but a small snapshot count keeps the dir small.
            .arg("--snapshot-count=10000")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io(format!("run {}", self.binary.display())))?;
        self.child = Some(child);
        self.wait_healthy()
    }

    fn wait_healthy(&mut self) -> Result<(), EtcdError> {
        let deadline = Instant::now() + START_DEADLINE;
        let mut backoff = Duration::from_millis(10);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(self.not_ready(format!("etcd exited with {status}")));
            }
            if health(SocketAddr::from((Ipv4Addr::LOCALHOST, self.metrics_port))) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                let _ = self.kill();
                return Err(self.not_ready(format!(
                    "no healthy answer on {} within {START_DEADLINE:?}",
                    self.endpoint()
                )));
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(Duration::from_millis(200));
        }
    }

    fn not_ready(&self, reason: String) -> EtcdError {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let log_tail = lines[lines.len().saturating_sub(20)..].join("\n");
        EtcdError::NotReady { reason, log_tail }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// `GET /health` answered with `"health":"true"`.
fn health(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.") && response.contains(r#""health":"true""#)
}

fn free_port() -> Result<u16, EtcdError> {
    crate::net::free_port().map_err(io("find a free loopback port"))
}

/// `$OTLP_SUITE_ETCD`, else `etcd` on PATH, /usr/bin or /usr/sbin.
fn find_etcd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OTLP_SUITE_ETCD") {
        let path = PathBuf::from(path);
        return is_executable(&path).then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("etcd"))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_debian_package() {
        let message = EtcdError::Missing.to_string();
        assert!(message.contains("etcd-server"), "{message}");
    }

    #[test]
    fn starts_stops_and_restarts_on_the_same_ports() {
        let mut etcd = EtcdServer::start().unwrap();
        let endpoint = etcd.endpoint();
        assert!(health(etcd.client_addr()));
        etcd.stop().unwrap();
        assert!(!etcd.is_running());
        assert!(!health(etcd.client_addr()));
        etcd.restart().unwrap();
        assert_eq!(etcd.endpoint(), endpoint);
        assert!(etcd.is_running());
        assert!(etcd.data_dir().join("member").is_dir());
    }
}
