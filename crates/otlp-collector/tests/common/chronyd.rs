//! chronyd daemons of a test's own (Debian's `chrony`; `cargo xtask setup` installs it), on free loopback ports,
//! never steering the host's clock (`-x`). They run as root, as the tests do on CI.

use super::{free_port, server_program};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running chronyd, stopped when dropped.
pub struct Chronyd {
    child: Child,
    /// The NTP port it serves, or 0.
    pub ntp_port: u16,
    /// The UDP port it takes commands on (`chronyc -p`), or 0.
    pub command_port: u16,
    /// Its unix command socket, when it has one.
    pub command_socket: Option<PathBuf>,
}

impl Chronyd {
    /// An NTP server on 127.0.0.1 serving the host's own clock at stratum 10 (`local`), with no sources of its own
    /// and no command port. Returns once it answers NTP clients with time.
    pub fn serving(dir: &Path) -> Chronyd {
        let ntp_port = free_port();
        let mut server = Chronyd::spawn(
            dir,
            "server",
            &format!(
                "port {ntp_port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 10\ncmdport 0\n"
            ),
            ntp_port,
            0,
            None,
        );
        server.wait_until("it serves time", |server| server.answers_ntp());
        server
    }

    /// A client of the NTP server on 127.0.0.1 at `ntp_port`, polling it in a quick burst and then every 64 s,
    /// taking commands on a free UDP port of 127.0.0.1 and on a unix socket in `dir/run`, and starting from the
    /// frequency and skew (ppm) of a drift file, as a host's chronyd restarts. Returns once it is synchronised.
    pub fn following(dir: &Path, ntp_port: u16, frequency_ppm: f64, skew_ppm: f64) -> Chronyd {
        let command_port = free_port();
        // chronyd refuses a socket in a directory others may enter, as a temporary directory may be.
        let sockets = dir.join("run");
        std::fs::create_dir_all(&sockets).unwrap();
        std::fs::set_permissions(
            &sockets,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let socket = sockets.join("chronyd.sock");
        let drift = dir.join("client.drift");
        std::fs::write(&drift, format!("{frequency_ppm} {skew_ppm}\n")).unwrap();
        let mut client = Chronyd::spawn(
            dir,
            "client",
            &format!(
                // `user root`: chronyd accepts a unix socket only in a directory its user owns.
                "user root\nport 0\nserver 127.0.0.1 port {ntp_port} iburst minpoll 6 maxpoll 6\n\
                 cmdport {command_port}\nbindcmdaddress 127.0.0.1\nbindcmdaddress {socket}\ndriftfile {drift}\n",
                socket = socket.display(),
                drift = drift.display(),
            ),
            0,
            command_port,
            Some(socket),
        );
        client.wait_until("it is synchronised", |client| {
            client.tracking().is_some_and(|fields| fields[2] != "0")
        });
        client
    }

    fn spawn(
        dir: &Path,
        name: &str,
        directives: &str,
        ntp_port: u16,
        command_port: u16,
        command_socket: Option<PathBuf>,
    ) -> Chronyd {
        let config = dir.join(format!("{name}.conf"));
        let pid = dir.join(format!("{name}.pid"));
        std::fs::write(&config, format!("{directives}pidfile {}\n", pid.display())).unwrap();
        let child = Command::new(server_program("chronyd"))
            // -x: never steer the host's clock; -d: stay in the foreground.
            .args(["-x", "-d", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run chronyd: {e}; run `cargo xtask setup`"));
        Chronyd {
            child,
            ntp_port,
            command_port,
            command_socket,
        }
    }

    fn wait_until(&mut self, what: &str, ready: impl Fn(&Chronyd) -> bool) {
        for _ in 0..150 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chronyd exited before {what}: {status}");
            }
            if ready(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chronyd: not ready after 15 s ({what})");
    }

    /// Whether the server answers a client request with time: a stratum, and a clock it counts as synchronized
    /// (as chronyd's `local` directive makes it, once it has started).
    fn answers_ntp(&self) -> bool {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut request = [0u8; 48];
        request[0] = (4 << 3) | 3;
        let _ = socket.send_to(&request, ("127.0.0.1", self.ntp_port));
        let mut answer = [0u8; 48];
        socket.recv(&mut answer).is_ok_and(|n| n == 48) && answer[1] != 0 && answer[0] >> 6 != 3
    }

    /// `chronyc -c tracking` asked over the command port, split at its commas: reference id, name, stratum,
    /// reference time, system time, last offset, RMS offset, frequency, residual frequency, skew, root delay, root
    /// dispersion, update interval, leap status. `None` when chronyd does not answer (yet).
    pub fn tracking(&self) -> Option<Vec<String>> {
        let output = Command::new("chronyc")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.command_port.to_string(),
                "-c",
                "tracking",
            ])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let line = String::from_utf8(output.stdout).ok()?;
        let fields: Vec<String> = line.trim().split(',').map(str::to_owned).collect();
        (output.status.success() && fields.len() == 14).then_some(fields)
    }
}

impl Drop for Chronyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
