//! The `mysql` receiver reading a real MariaDB server (Debian's, started by the test on a free loopback port and a
//! socket of its own, with TLS from the test PKI), compared with what a client did to it and what its
//! `performance_schema` says.
//!
//! `mariadbd`, `mariadb-install-db` and the `mariadb` client come from Debian's `mariadb-server` (`cargo xtask
//! setup` installs it). The setup runs as the server's root account over its socket, which MariaDB lets the
//! system's root (or the user running the test) in without a password.

mod common;

use common::{
    TestCollector, free_port, metrics_named, named_numbers, read_metrics, wait_for_metrics,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A MariaDB server of its own, stopped when dropped.
struct Mariadb {
    child: Child,
    port: u16,
    socket: PathBuf,
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
    fn start(dir: &Path) -> Mariadb {
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
        let (port, socket) = (free_port(), dir.join("mariadb.sock"));
        let p = dir.display();
        let mut server = Command::new(common::server_program("mariadbd"));
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
    fn sql(&self, statements: &str) -> Result<String, String> {
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
    fn number(&self, query: &str) -> i64 {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_is_read_over_tls_plain_text_and_its_socket_as_performance_schema_says() {
    let dir = tempfile::tempdir().unwrap();
    common::pki::write_pki(dir.path());
    let server = Mariadb::start(dir.path());
    server
        .sql(
            "CREATE USER 'otel'@'%' IDENTIFIED BY 'otel''s password';
             GRANT PROCESS, SLAVE MONITOR, SELECT ON *.* TO 'otel'@'%';
             CREATE DATABASE shop;
             USE shop;
             CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(10), total INT, KEY customer_idx (customer))
               ENGINE=InnoDB;
             INSERT INTO orders SELECT seq, CONCAT('c', seq % 3), seq * 10 FROM seq_1_to_10;
             UPDATE orders SET total = total + 1 WHERE id <= 3;
             DELETE FROM orders WHERE id > 8;
             SELECT * FROM orders FORCE INDEX (customer_idx) WHERE customer = 'c1';",
        )
        .unwrap();

    let (port, socket) = (server.port, server.socket.display());
    let p = dir.path().display();
    let receiver = |extra: &str| {
        format!(
            "{{ username: otel, password: \"otel's password\", collection_interval: 200ms, initial_delay: 0s, {extra} }}"
        )
    };
    let pipeline = |name: &str| {
        format!("metrics/{name}: {{ receivers: [mysql/{name}], exporters: [file/{name}] }}")
    };
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  mysql/plain: {plain}
  mysql/tls: {tls}
  mysql/socket: {socket_receiver}
  mysql/wrong: {{ endpoint: "127.0.0.1:{port}", username: otel, password: nope, collection_interval: 200ms, initial_delay: 0s }}
exporters:
  file/plain: {{ path: "{{dir}}/plain.jsonl", format: json }}
  file/tls: {{ path: "{{dir}}/tls.jsonl", format: json }}
  file/socket: {{ path: "{{dir}}/socket.jsonl", format: json }}
  file/wrong: {{ path: "{{dir}}/wrong.jsonl", format: json }}
service:
  pipelines:
    {plain_pipeline}
    {tls_pipeline}
    {socket_pipeline}
    {wrong_pipeline}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        plain = receiver(&format!(
            "endpoint: \"127.0.0.1:{port}\", \
             metrics: {{ mysql.commands: {{ enabled: true }}, mysql.statement_event.count: {{ enabled: true }}, \
             mysql.statement_event.wait.time: {{ enabled: true }}, mysql.table.lock_wait.write.count: {{ enabled: true }}, \
             mysql.replica.sql_delay: {{ enabled: true }}, mysql.query.client.count: {{ enabled: true }} }}"
        )),
        tls = receiver(&format!(
            "endpoint: \"localhost:{port}\", tls: {{ insecure: false, ca_file: \"{p}/ca.pem\" }}"
        )),
        socket_receiver = receiver(&format!("endpoint: \"{socket}\", transport: unix")),
        plain_pipeline = pipeline("plain"),
        tls_pipeline = pipeline("tls"),
        socket_pipeline = pipeline("socket"),
        wrong_pipeline = pipeline("wrong"),
    ))
    .await;
    for file in ["plain", "tls", "socket"] {
        wait_for_metrics(&collector.path(&format!("{file}.jsonl")), |requests| {
            requests.len() >= 2
        })
        .await;
    }
    let tls_handshakes = server.number("SHOW GLOBAL STATUS LIKE 'Ssl_accepts'");
    let expected = |column: &str, index: Option<&str>| {
        let (table, filter) = match index {
            Some(index) => (
                "table_io_waits_summary_by_index_usage",
                format!(" AND INDEX_NAME = '{index}'"),
            ),
            None => ("table_io_waits_summary_by_table", String::new()),
        };
        server.number(&format!(
            "SELECT {column} FROM performance_schema.{table} WHERE OBJECT_SCHEMA = 'shop' AND OBJECT_NAME = 'orders'{filter}"
        ))
    };
    let table_counts: Vec<i64> = [
        "COUNT_DELETE",
        "COUNT_FETCH",
        "COUNT_INSERT",
        "COUNT_UPDATE",
    ]
    .iter()
    .map(|column| expected(column, None))
    .collect();
    let insert_picoseconds = expected("SUM_TIMER_INSERT", None);
    let index_fetches = expected("COUNT_FETCH", Some("customer_idx"));
    let dir_out = collector.shut_down_cleanly().await;

    assert!(
        tls_handshakes >= 1,
        "the tls receiver's connection was encrypted"
    );
    assert!(
        !dir_out.path().join("wrong.jsonl").exists()
            || read_metrics(&dir_out.path().join("wrong.jsonl"), true).is_empty(),
        "a receiver that cannot log in reports nothing"
    );

    let plain = read_metrics(&dir_out.path().join("plain.jsonl"), true);
    let last = &plain[plain.len() - 1..];
    let resource = &last[0].resource_metrics[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(resource[0].key, "mysql.instance.endpoint");
    let orders = |operation: &str| format!("operation={operation},schema=shop,table=orders");
    let waits = named_numbers(last, "mysql.table.io.wait.count");
    for (operation, expected) in ["delete", "fetch", "insert", "update"]
        .iter()
        .zip(&table_counts)
    {
        assert!(
            waits.contains(&(orders(operation), *expected as f64)),
            "{operation}: {expected} in {waits:?}"
        );
    }
    assert_eq!(
        &table_counts[2..],
        [10, 3],
        "ten rows inserted, three updated"
    );
    assert!(
        named_numbers(last, "mysql.table.io.wait.time")
            .contains(&(orders("insert"), (insert_picoseconds / 1000) as f64)),
        "performance_schema's picoseconds as nanoseconds"
    );
    let index_waits = named_numbers(last, "mysql.index.io.wait.count");
    assert!(
        index_waits.contains(&(
            "index=customer_idx,operation=fetch,schema=shop,table=orders".into(),
            index_fetches as f64
        )),
        "{index_waits:?}"
    );
    assert!(index_fetches >= 1);
    assert_eq!(
        named_numbers(last, "mysql.buffer_pool.limit"),
        [(String::new(), 16.0 * 1024.0 * 1024.0)]
    );
    assert!(
        named_numbers(last, "mysql.threads")
            .iter()
            .any(|(kind, n)| kind == "kind=connected" && *n >= 1.0)
    );
    let data_pages = named_numbers(last, "mysql.buffer_pool.data_pages");
    assert_eq!(data_pages.len(), 2, "dirty and clean: {data_pages:?}");
    assert!(
        named_numbers(last, "mysql.commands")
            .iter()
            .any(|(command, n)| command == "command=update" && *n >= 1.0),
        "the UPDATE (the INSERT ... SELECT is Com_insert_select, which otelcol does not report)"
    );
    let statements = named_numbers(last, "mysql.statement_event.count");
    assert!(
        statements.iter().any(
            |(labels, n)| labels.contains("digest_text=INSERT INTO `orders`")
                && labels.contains("kind=rows_affected")
                && labels.contains("schema=shop")
                && *n == 10.0
        ),
        "{statements:?}"
    );
    assert!(
        named_numbers(last, "mysql.table.lock_wait.write.count")
            .iter()
            .any(|(labels, _)| labels.contains("schema=shop,table=orders")),
    );
    assert!(
        metrics_named(last, "mysql.replica.sql_delay")
            .next()
            .is_none(),
        "not a replica"
    );
    let uptime = common::sum_times(last, "mysql.uptime");
    let value = named_numbers(last, "mysql.uptime")[0].1;
    let (start, time) = uptime[0];
    let implied = (time - start) as f64 / 1e9;
    assert!(
        (implied - value).abs() <= 1.5,
        "sums start when the server did: {implied} s before the point, uptime {value}"
    );

    for file in ["tls", "socket"] {
        let requests = read_metrics(&dir_out.path().join(format!("{file}.jsonl")), true);
        let waits = named_numbers(&requests[requests.len() - 1..], "mysql.table.io.wait.count");
        assert!(
            waits.contains(&(orders("insert"), 10.0)),
            "{file}: {waits:?}"
        );
    }
}
