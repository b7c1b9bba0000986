//! The `mysql` receiver reading a real MariaDB server (Debian's, started by the test on a free loopback port and a
//! socket of its own, with TLS from the test PKI), compared with what a client did to it and what its
//! `performance_schema` says.
//!
//! The server is `common::mariadb`'s.

mod common;

use common::mariadb::Mariadb;
use common::{TestCollector, metrics_named, named_numbers, read_metrics, wait_for_metrics};

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
