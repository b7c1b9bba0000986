//! The `memcached` receiver reading real memcached servers (the Debian package's, started by the test on free
//! loopback ports, in plain text and TLS with the test PKI, and on a Unix socket), compared with what a client did
//! to them and what the server says of itself.
//!
//! `memcached` comes from PATH (`cargo xtask setup` installs it).

mod common;

use common::{TestCollector, free_port, named_numbers, read_metrics, sum_starts, wait_for_metrics};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A memcached server of its own, stopped when dropped.
struct Memcached {
    child: Child,
}

impl Memcached {
    /// Starts memcached with `listen` (its `-l` or `-s` and their options) and waits until `ready` connects.
    fn start(arguments: &[&str], ready: impl Fn() -> bool) -> Memcached {
        // `-u root` only matters when the test runs as root, where memcached refuses to start without it.
        let child = Command::new("memcached")
            .args(["-U", "0", "-u", "root", "-m", "16"])
            .args(arguments)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run memcached: {e}; run `cargo xtask setup`"));
        let server = Memcached { child };
        for _ in 0..300 {
            if ready() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("memcached does not answer after 15 s");
    }

    /// Plain text on `port`, TLS with the test PKI in `pki` on `tls_port`.
    fn tcp(port: u16, tls_port: u16, pki: &Path) -> Memcached {
        let pki = pki.display();
        Memcached::start(
            &[
                "-Z",
                "-o",
                &format!("ssl_chain_cert={pki}/server.pem,ssl_key={pki}/server-key.pem"),
                "-l",
                &format!("notls:127.0.0.1:{port},127.0.0.1:{tls_port}"),
            ],
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        )
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `commands` in memcached's text protocol and returns the last line of each answer (a `get`'s `END`, its
/// values skipped).
fn talk(port: u16, commands: &[&str]) -> Vec<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut read_line = || {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    };
    let mut answers = Vec::new();
    for command in commands {
        (&stream).write_all(command.as_bytes()).unwrap();
        let mut line = read_line();
        while line.starts_with("VALUE") {
            read_line();
            line = read_line();
        }
        answers.push(line);
    }
    answers
}

/// The statistic `name` the server reports now.
fn stat(port: u16, name: &str) -> f64 {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    (&stream).write_all(b"stats\r\n").unwrap();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        assert_ne!(line, "END", "no {name} in stats");
        if let Some(value) = line.strip_prefix(&format!("STAT {name} ")) {
            return value.parse().unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_servers_are_read_over_tcp_tls_and_a_socket_and_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    common::pki::write_pki(dir.path());
    let (port, tls_port) = (free_port(), free_port());
    let server = Memcached::tcp(port, tls_port, dir.path());
    let socket = dir.path().join("memcached.sock");
    let socket_text = socket.display().to_string();
    let _socket_server = Memcached::start(&["-s", &socket_text], || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    let answers = talk(
        port,
        &[
            "set a 0 0 1\r\nx\r\n",
            "set counter 0 0 2\r\n10\r\n",
            "get a\r\n",
            "get missing\r\n",
            "get missing-too\r\n",
            "incr counter 5\r\n",
            "decr nothing 1\r\n",
            "touch a 100\r\n",
        ],
    );
    assert_eq!(
        answers,
        [
            "STORED",
            "STORED",
            "END",
            "END",
            "END",
            "15",
            "NOT_FOUND",
            "TOUCHED"
        ]
    );

    let p = dir.path().display();
    let pipeline = |name: &str| {
        format!("metrics/{name}: {{ receivers: [memcached/{name}], exporters: [file/{name}] }}")
    };
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  memcached/plain:
    endpoint: "127.0.0.1:{port}"
    collection_interval: 100ms
    initial_delay: 0s
  memcached/tls:
    endpoint: "localhost:{tls_port}"
    tls: {{ insecure: false, ca_file: "{p}/ca.pem" }}
    collection_interval: 100ms
    initial_delay: 0s
  memcached/socket:
    endpoint: "{socket_text}"
    transport: unix
    collection_interval: 100ms
    initial_delay: 0s
    metrics: {{ memcached.cpu.usage: {{ enabled: false }} }}
exporters:
  file/plain: {{ path: "{{dir}}/plain.jsonl", format: json }}
  file/tls: {{ path: "{{dir}}/tls.jsonl", format: json }}
  file/socket: {{ path: "{{dir}}/socket.jsonl", format: json }}
service:
  pipelines:
    {plain}
    {tls}
    {socket}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        plain = pipeline("plain"),
        tls = pipeline("tls"),
        socket = pipeline("socket"),
    ))
    .await;
    let plain = collector.path("plain.jsonl");
    wait_for_metrics(&plain, |requests| {
        named_numbers(requests, "memcached.bytes").len() >= 2
    })
    .await;
    wait_for_metrics(&collector.path("tls.jsonl"), |requests| {
        !named_numbers(requests, "memcached.bytes").is_empty()
    })
    .await;
    wait_for_metrics(&collector.path("socket.jsonl"), |requests| {
        !named_numbers(requests, "memcached.bytes").is_empty()
    })
    .await;
    let before_restart = read_metrics(&plain, true);
    let bytes_before = stat(port, "bytes");

    // The server stops and starts again on the same ports, empty: the receiver connects again, and the new
    // server's sums start anew.
    drop(server);
    let server = Memcached::tcp(port, tls_port, dir.path());
    talk(port, &["set after-restart 0 0 1\r\ny\r\n"]);
    let count_before = before_restart.len();
    wait_for_metrics(&plain, |requests| {
        requests.len() > count_before
            && named_numbers(&requests[count_before..], "memcached.commands")
                .contains(&("command=set".into(), 1.0))
    })
    .await;
    let threads = stat(port, "threads");
    let dir_out = collector.shut_down_cleanly().await;
    let requests = read_metrics(&dir_out.path().join("plain.jsonl"), true);

    // What the client did, as the first server counted it.
    let first = &before_restart[..];
    let commands = named_numbers(first, "memcached.commands");
    for expected in [
        ("command=set", 2.0),
        ("command=get", 3.0),
        ("command=touch", 1.0),
        ("command=flush", 0.0),
    ] {
        assert!(
            commands.contains(&(expected.0.into(), expected.1)),
            "{expected:?}: {commands:?}"
        );
    }
    let operations = named_numbers(first, "memcached.operations");
    for expected in [
        ("operation=get,type=hit", 1.0),
        ("operation=get,type=miss", 2.0),
        ("operation=increment,type=hit", 1.0),
        ("operation=decrement,type=miss", 1.0),
    ] {
        assert!(
            operations.contains(&(expected.0.into(), expected.1)),
            "{expected:?}: {operations:?}"
        );
    }
    let ratios = named_numbers(first, "memcached.operation_hit_ratio");
    let get_ratio = ratios.iter().find(|(a, _)| a == "operation=get").unwrap().1;
    assert!(
        (get_ratio - 100.0 / 3.0).abs() < 1e-9,
        "one hit in three gets: {ratios:?}"
    );
    assert!(ratios.contains(&("operation=increment".into(), 100.0)));
    assert!(ratios.contains(&("operation=decrement".into(), 0.0)));
    assert!(
        named_numbers(first, "memcached.bytes")
            .iter()
            .all(|(_, v)| *v == bytes_before),
        "nothing changed the items between scrapes"
    );
    assert!(named_numbers(first, "memcached.current_items").contains(&(String::new(), 2.0)));
    assert!(
        named_numbers(first, "memcached.connections.current")
            .iter()
            .all(|(_, v)| *v >= 1.0),
        "its own connection at least"
    );
    let network = named_numbers(first, "memcached.network");
    assert!(
        network
            .iter()
            .any(|(a, v)| a == "direction=received" && *v > 50.0),
        "{network:?}"
    );
    let cpu = named_numbers(first, "memcached.cpu.usage");
    assert!(cpu.iter().any(|(a, _)| a == "state=user"), "{cpu:?}");
    assert!(named_numbers(&requests, "memcached.threads").contains(&(String::new(), threads)));

    // One start for the first server's sums, a later one for the second's.
    let mut distinct = sum_starts(&requests, "memcached.connections.total");
    distinct.dedup();
    assert_eq!(distinct.len(), 2, "{distinct:?}");
    assert!(distinct[0] < distinct[1]);

    // Over TLS, verified with the test CA; over the socket, with the CPU toggled off.
    let tls = read_metrics(&dir_out.path().join("tls.jsonl"), true);
    assert!(!named_numbers(&tls, "memcached.commands").is_empty());
    let socket_requests = read_metrics(&dir_out.path().join("socket.jsonl"), true);
    assert!(!named_numbers(&socket_requests, "memcached.threads").is_empty());
    assert!(named_numbers(&socket_requests, "memcached.cpu.usage").is_empty());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_there_reports_nothing_and_then_is_read_when_it_comes() {
    let dir = tempfile::tempdir().unwrap();
    common::pki::write_pki(dir.path());
    let (port, tls_port) = (free_port(), free_port());
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  memcached:
    endpoint: "127.0.0.1:{port}"
    collection_interval: 100ms
    initial_delay: 0s
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [memcached], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = collector.path("metrics.jsonl");
    assert!(
        !path.exists() || read_metrics(&path, true).is_empty(),
        "no server, no metrics (not zeros)"
    );
    let server = Memcached::tcp(port, tls_port, dir.path());
    wait_for_metrics(&path, |requests| !requests.is_empty()).await;
    let dir_out = collector.shut_down_cleanly().await;
    let requests = read_metrics(&dir_out.path().join("metrics.jsonl"), true);
    assert!(!named_numbers(&requests, "memcached.connections.total").is_empty());
    drop(server);
}
