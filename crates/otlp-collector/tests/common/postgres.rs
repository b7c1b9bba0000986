//! A PostgreSQL server of a test's own (Debian's, on a free loopback port and a socket of its own, with TLS from
//! the test PKI and SCRAM passwords), for the tests of the receivers that read one.
//!
//! `initdb` and `postgres` come from PATH, else from Debian's `/usr/lib/postgresql/<version>/bin` (`cargo xtask
//! setup` installs them). As root, the server runs as the `postgres` user the package creates: it refuses root.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_postgres::{Client, Config, NoTls};

pub const SUPERUSER_PASSWORD: &str = "super secret";
pub const RECEIVER_PASSWORD: &str = "otel's password";

/// A PostgreSQL server of its own, stopped when dropped.
pub struct Postgres {
    child: Child,
    pub port: u16,
    pub sockets: PathBuf,
}

/// Where Debian's PostgreSQL keeps `program` when PATH does not have it: the newest version's.
fn program(program: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    if let Some(found) = on_path {
        return found;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| {
            panic!("no {program} on PATH and no /usr/lib/postgresql ({e}); run `cargo xtask setup`")
        })
        .filter_map(|entry| {
            entry
                .ok()
                .map(|entry| entry.path().join("bin").join(program))
        })
        .filter(|candidate| candidate.is_file())
        .collect();
    versions.sort_by_key(|path| {
        path.components()
            .nth(3)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
    });
    versions
        .pop()
        .unwrap_or_else(|| panic!("no {program}; run `cargo xtask setup`"))
}

/// The `postgres` user's (uid, gid) when the test runs as root, which the server refuses to run as.
fn server_user() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .unwrap();
    if uid != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let entry = passwd
        .lines()
        .find(|line| line.starts_with("postgres:"))
        .expect("running as root, the server needs the `postgres` user; run `cargo xtask setup`");
    let fields: Vec<&str> = entry.split(':').collect();
    Some((fields[2].parse().unwrap(), fields[3].parse().unwrap()))
}

/// `path` made the server user's, readable by it alone (a key file must be, for the server to take it).
fn hand_over(path: &Path, user: Option<(u32, u32)>, mode: u32) {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn as_server_user(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

impl Postgres {
    /// A new cluster in `dir` (holding the test PKI), listening on a free loopback port with TLS, and on a socket
    /// in `dir/sockets`; the superuser `postgres` logs in with SCRAM.
    pub fn start(dir: &Path) -> Postgres {
        let user = server_user();
        hand_over(dir, None, 0o755);
        let (data, sockets) = (dir.join("data"), dir.join("sockets"));
        for owned in [&data, &sockets] {
            std::fs::create_dir(owned).unwrap();
            hand_over(owned, user, 0o700);
        }
        hand_over(&sockets, user, 0o755);
        let password_file = dir.join("superuser-password");
        std::fs::write(&password_file, SUPERUSER_PASSWORD).unwrap();
        hand_over(&password_file, user, 0o600);
        let status = as_server_user(&mut Command::new(program("initdb")), user)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", password_file.display()))
            .stdout(Stdio::null())
            .status()
            .expect("running initdb");
        assert!(status.success(), "initdb failed");
        for (file, name) in [
            ("server.pem", "server.crt"),
            ("server-key.pem", "server.key"),
        ] {
            std::fs::copy(dir.join(file), data.join(name)).unwrap();
            hand_over(&data.join(name), user, 0o600);
        }
        let port = super::free_port();
        let child = as_server_user(&mut Command::new(program("postgres")), user)
            .arg("-D")
            .arg(&data)
            .args([
                "-c",
                &format!("port={port}"),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .args([
                "-c",
                &format!("unix_socket_directories={}", sockets.display()),
            ])
            .args([
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
            ])
            // Nothing but the test changes the tables: no autovacuum behind its back.
            .args([
                "-c",
                "autovacuum=off",
                "-c",
                "track_functions=all",
                "-c",
                "max_connections=37",
            ])
            .args([
                "-c",
                "shared_preload_libraries=pg_stat_statements",
                "-c",
                "fsync=off",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("running postgres");
        let mut server = Postgres {
            child,
            port,
            sockets,
        };
        for _ in 0..300 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("postgres exited before it was ready: {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("postgres does not answer after 15 s");
    }

    /// A server in `dir`, with the test PKI, the role the receivers log in as (`otel`) and what `statements`
    /// make, and a superuser's client of its `postgres` database.
    pub async fn prepared(dir: &Path, statements: &[&str]) -> (Postgres, Client) {
        super::pki::write_pki(dir);
        let server = Postgres::start(dir);
        let admin = server.client("postgres").await;
        let role = format!(
            "CREATE ROLE otel LOGIN PASSWORD '{}' IN ROLE pg_monitor",
            RECEIVER_PASSWORD.replace('\'', "''")
        );
        execute(&admin, &[&role]).await;
        execute(&admin, statements).await;
        (server, admin)
    }

    /// A client of database `database` as the superuser, in plain text.
    pub async fn client(&self, database: &str) -> Client {
        let stream = loop {
            // The server listens before it takes logins: "the database system is starting up".
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .unwrap();
            let mut config = Config::new();
            config
                .user("postgres")
                .password(SUPERUSER_PASSWORD)
                .dbname(database);
            match config.connect_raw(stream, NoTls).await {
                Ok(pair) => break pair,
                Err(e) if e.to_string().contains("db error") => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("{e}"),
            }
        };
        let (client, connection) = stream;
        tokio::spawn(connection);
        client
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs each of `statements` on its own (`VACUUM` and `CREATE DATABASE` refuse to share a query string).
pub async fn execute(client: &Client, statements: &[&str]) {
    for statement in statements {
        client
            .batch_execute(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
    }
}
