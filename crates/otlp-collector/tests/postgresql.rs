//! The `postgresql` receiver reading a real PostgreSQL server (Debian's, started by the test on a free loopback
//! port and a socket of its own, with TLS from the test PKI and SCRAM passwords), compared with what a client did
//! to it and what its statistics views say.
//!
//! The server is `common::postgres`'s.

mod common;

use common::postgres::{Postgres, RECEIVER_PASSWORD, execute};
use common::{TestCollector, metrics_named, named_numbers, read_metrics, wait_for_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::time::Duration;
use tokio_postgres::Client;

/// The resources (their attributes as `key=value`, joined by `,`) holding a point of metric `name`, with its
/// points as `named_numbers` gives them.
fn by_resource(
    requests: &[ExportMetricsServiceRequest],
    name: &str,
) -> Vec<(String, Vec<(String, f64)>)> {
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .filter_map(|rm| {
            let points: Vec<(String, f64)> = rm
                .scope_metrics
                .iter()
                .flat_map(|sm| &sm.metrics)
                .filter(|m| m.name == name)
                .flat_map(common::labelled_numbers)
                .collect();
            if points.is_empty() {
                return None;
            }
            let attributes: Vec<String> = rm
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .map(
                    |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(Value::StringValue(s)) => format!("{}={s}", kv.key),
                        other => format!("{}={other:?}", kv.key),
                    },
                )
                .collect();
            Some((attributes.join(","), points))
        })
        .collect()
}

/// The points of `name` on the resource whose attributes are `resource`, in the last request that has it.
fn last_of(
    requests: &[ExportMetricsServiceRequest],
    name: &str,
    resource: &str,
) -> Vec<(String, f64)> {
    by_resource(requests, name)
        .into_iter()
        .rev()
        .find(|(attributes, _)| attributes == resource)
        .map(|(_, points)| points)
        .unwrap_or_else(|| panic!("no {name} on {resource}: {:?}", by_resource(requests, name)))
}

async fn one_number(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_is_read_over_tls_plain_text_and_its_socket_as_its_views_say() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = Postgres::prepared(
        dir.path(),
        &[
            "CREATE DATABASE shop",
            "CREATE EXTENSION pg_stat_statements",
            "CHECKPOINT",
        ],
    )
    .await;
    let shop = server.client("shop").await;
    execute(
        &shop,
        &[
            "CREATE TABLE orders (id int PRIMARY KEY, customer text, total numeric)",
            "CREATE INDEX orders_customer_idx ON orders (customer)",
            "CREATE TABLE archive (id int)",
            "INSERT INTO orders SELECT i, 'c' || (i % 3), i * 10 FROM generate_series(1, 10) i",
            "UPDATE orders SET total = total + 1 WHERE id <= 3",
            "DELETE FROM orders WHERE id > 8",
            "BEGIN; INSERT INTO orders VALUES (100, 'gone', 0); ROLLBACK",
            "VACUUM orders",
            "CREATE FUNCTION with_tax(x numeric) RETURNS numeric LANGUAGE plpgsql AS $$ BEGIN RETURN x * 1.2; END $$",
            "SELECT with_tax(total) FROM orders WHERE id <= 5",
            "SET enable_seqscan = off",
            "SELECT * FROM orders WHERE customer = 'c1'",
            "SELECT * FROM orders WHERE customer = 'c2'",
        ],
    )
    .await;
    // A session ending reports its statistics at once.
    drop(shop);

    let p = dir.path().display();
    let (port, sockets) = (server.port, server.sockets.display());
    let receiver = |extra: &str| {
        format!(
            "{{ username: otel, password: \"{RECEIVER_PASSWORD}\", collection_interval: 200ms, initial_delay: 0s, {extra} }}"
        )
    };
    let pipeline = |name: &str| {
        format!("metrics/{name}: {{ receivers: [postgresql/{name}], exporters: [file/{name}] }}")
    };
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  postgresql/tls: {tls}
  postgresql/verified: {verified}
  postgresql/plain: {plain}
  postgresql/socket: {socket}
  postgresql/wrong: {{ endpoint: "127.0.0.1:{port}", username: otel, password: nope, tls: {{ insecure: true }}, collection_interval: 200ms, initial_delay: 0s }}
exporters:
  file/tls: {{ path: "{{dir}}/tls.jsonl", format: json }}
  file/verified: {{ path: "{{dir}}/verified.jsonl", format: json }}
  file/plain: {{ path: "{{dir}}/plain.jsonl", format: json }}
  file/socket: {{ path: "{{dir}}/socket.jsonl", format: json }}
  file/wrong: {{ path: "{{dir}}/wrong.jsonl", format: json }}
service:
  pipelines:
    {tls_pipeline}
    {verified_pipeline}
    {plain_pipeline}
    {socket_pipeline}
    {wrong_pipeline}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        tls = receiver(&format!("endpoint: \"127.0.0.1:{port}\"")),
        verified = receiver(&format!(
            "endpoint: \"localhost:{port}\", tls: {{ insecure_skip_verify: false, ca_file: \"{p}/ca.pem\" }}"
        )),
        plain = receiver(&format!(
            "endpoint: \"127.0.0.1:{port}\", tls: {{ insecure: true }}, databases: [shop], \
             metrics: {{ postgresql.function.calls: {{ enabled: true }}, postgresql.database.locks: {{ enabled: true }}, \
             postgresql.tup_inserted: {{ enabled: true }}, postgresql.query.execution.time: {{ enabled: true }}, \
             postgresql.sequential_scans: {{ enabled: true }} }}"
        )),
        socket = receiver(&format!(
            "endpoint: \"{}:{port}\", transport: unix, exclude_databases: [postgres]",
            sockets.to_string().trim_start_matches('/')
        )),
        tls_pipeline = pipeline("tls"),
        verified_pipeline = pipeline("verified"),
        plain_pipeline = pipeline("plain"),
        socket_pipeline = pipeline("socket"),
        wrong_pipeline = pipeline("wrong"),
    ))
    .await;
    let table = "service.instance.id=127.0.0.1:{port},postgresql.database.name=shop,postgresql.table.name=public.orders"
        .replace("{port}", &port.to_string());
    for file in ["tls", "verified", "plain", "socket"] {
        wait_for_metrics(&collector.path(&format!("{file}.jsonl")), |requests| {
            !named_numbers(requests, "postgresql.rows").is_empty()
        })
        .await;
    }

    // A table under an ACCESS EXCLUSIVE lock is left out rather than waited for; the rest is still read.
    let locker = server.client("shop").await;
    locker
        .batch_execute("BEGIN; LOCK TABLE archive IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap();
    let plain = collector.path("plain.jsonl");
    let before_lock = read_metrics(&plain, true).len();
    wait_for_metrics(&plain, |requests| {
        requests.len() > before_lock + 2
            && named_numbers(&requests[before_lock + 1..], "postgresql.database.locks")
                .iter()
                .any(|(labels, _)| {
                    labels.contains("mode=AccessExclusiveLock")
                        && labels.contains("relation=archive")
                })
    })
    .await;
    let while_locked = read_metrics(&plain, true);
    locker.batch_execute("COMMIT").await.unwrap();
    // The last scrapes read, which the checks below take, are of after the lock: every table again.
    let tls_path = collector.path("tls.jsonl");
    let after_lock = read_metrics(&tls_path, true).len();
    wait_for_metrics(&tls_path, |requests| requests.len() > after_lock + 1).await;

    // Which receiver connections are encrypted, as the server sees them.
    let monitor = server.client("postgres").await;
    let sessions = monitor
        .query(
            "SELECT a.client_addr IS NULL, s.ssl, count(*)::int8 FROM pg_stat_activity a \
             JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.application_name = 'otlp-suite postgresql receiver' \
             GROUP BY 1, 2 ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap();
    let sessions: Vec<(bool, bool, i64)> = sessions
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // The expected figures, from the views themselves.
    let shop_view = server.client("shop").await;
    let index_scans = one_number(
        &shop_view,
        "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'orders_customer_idx'",
    )
    .await;
    let live_rows = one_number(
        &shop_view,
        "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'orders'",
    )
    .await;
    let dead_rows = one_number(
        &shop_view,
        "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'orders'",
    )
    .await;
    let table_size = one_number(&shop_view, "SELECT pg_relation_size('orders')").await;
    let database_size = one_number(&monitor, "SELECT pg_database_size('shop')").await;
    drop(shop_view);
    let dir_out = collector.shut_down_cleanly().await;

    assert_eq!(
        sessions,
        [(false, false, 2), (false, true, 4), (true, false, 2)],
        "tls and verified (postgres and shop each) encrypted; plain (shop, and postgres for the listing) and the \
         socket's (shop, and postgres, left out but listed from) not"
    );
    assert!(
        !dir_out.path().join("wrong.jsonl").exists()
            || read_metrics(&dir_out.path().join("wrong.jsonl"), true).is_empty(),
        "a receiver that cannot log in reports nothing"
    );

    let tls = read_metrics(&dir_out.path().join("tls.jsonl"), true);
    // What the client did to the table, as otelcol reports it.
    assert_eq!(
        last_of(&tls, "postgresql.operations", &table)
            .into_iter()
            .filter(|(labels, _)| labels != "operation=hot_upd")
            .collect::<Vec<_>>(),
        [
            ("operation=ins".into(), 11.0),
            ("operation=del".into(), 2.0),
            ("operation=upd".into(), 3.0),
        ],
        "ten rows and the rolled back one inserted, three updated, two deleted"
    );
    // PostgreSQL's own count: VACUUM set it to the 8 rows left, and the session's earlier changes were added to
    // it when the session ended.
    assert_eq!(
        last_of(&tls, "postgresql.rows", &table),
        [
            ("state=dead".into(), dead_rows as f64),
            ("state=live".into(), live_rows as f64)
        ]
    );
    assert_eq!(
        last_of(&tls, "postgresql.table.vacuum.count", &table),
        [(String::new(), 1.0)]
    );
    assert_eq!(
        last_of(&tls, "postgresql.table.size", &table),
        [(String::new(), table_size as f64)]
    );
    let index = format!(
        "service.instance.id=127.0.0.1:{port},postgresql.database.name=shop,postgresql.table.name=orders,\
         postgresql.index.name=orders_customer_idx"
    );
    assert_eq!(
        last_of(&tls, "postgresql.index.scans", &index),
        [(String::new(), index_scans as f64)]
    );
    assert_eq!(index_scans, 2, "the two lookups by customer");
    let database = format!("service.instance.id=127.0.0.1:{port},postgresql.database.name=shop");
    assert_eq!(
        last_of(&tls, "postgresql.db_size", &database),
        [(String::new(), database_size as f64)]
    );
    assert_eq!(
        last_of(&tls, "postgresql.table.count", &database),
        [(String::new(), 2.0)]
    );
    assert_eq!(
        last_of(&tls, "postgresql.rollbacks", &database),
        [(String::new(), 1.0)]
    );
    assert!(last_of(&tls, "postgresql.commits", &database)[0].1 > 0.0);
    assert!(
        last_of(&tls, "postgresql.backends", &database)[0].1 >= 1.0,
        "its own connection"
    );
    let server_resource = format!("service.instance.id=127.0.0.1:{port}");
    assert_eq!(
        last_of(&tls, "postgresql.database.count", &server_resource),
        [(String::new(), 2.0)]
    );
    assert_eq!(
        last_of(&tls, "postgresql.connection.max", &server_resource),
        [(String::new(), 37.0)]
    );
    assert!(
        last_of(
            &tls,
            "postgresql.bgwriter.checkpoint.count",
            &server_resource
        )
        .iter()
        .any(|(labels, value)| labels == "type=requested" && *value >= 1.0),
        "the CHECKPOINT the test asked for"
    );
    assert!(
        metrics_named(&tls, "postgresql.replication.data_delay")
            .next()
            .is_none(),
        "no standby"
    );
    let sums = common::sum_times(&tls, "postgresql.commits");
    assert!(sums.iter().all(|(start, time)| start < time), "{sums:?}");
    assert!(
        sums.windows(2).all(|pair| pair[0].0 == pair[1].0),
        "one start for every scrape: {sums:?}"
    );

    // The same server through its socket, without the excluded database; and verified against the test CA.
    let socket = read_metrics(&dir_out.path().join("socket.jsonl"), true);
    let socket_server = format!(
        "service.instance.id={}:{port}",
        sockets.to_string().trim_start_matches('/')
    );
    assert_eq!(
        last_of(&socket, "postgresql.database.count", &socket_server),
        [(String::new(), 1.0)]
    );
    assert!(
        by_resource(&socket, "postgresql.db_size")
            .iter()
            .all(|(resource, _)| resource.ends_with("postgresql.database.name=shop")),
        "postgres excluded"
    );
    let verified = read_metrics(&dir_out.path().join("verified.jsonl"), true);
    assert!(!named_numbers(&verified, "postgresql.index.size").is_empty());

    // The optional metrics, and the lock.
    let plain = read_metrics(&dir_out.path().join("plain.jsonl"), true);
    let plain_database = database.clone();
    assert_eq!(
        last_of(&plain, "postgresql.function.calls", &plain_database),
        [("function=with_tax".into(), 5.0)]
    );
    assert!(
        last_of(&plain, "postgresql.tup_inserted", &plain_database)[0].1 >= 11.0,
        "the orders and the catalog rows of the tables, index and function"
    );
    assert!(last_of(&plain, "postgresql.query.execution.time", &plain_database)[0].1 > 0.0);
    assert!(
        last_of(&plain, "postgresql.sequential_scans", &table)[0].1 >= 1.0,
        "the update's and delete's scans"
    );
    let locked = &while_locked[before_lock + 1..];
    assert!(
        by_resource(locked, "postgresql.rows")
            .iter()
            .all(|(resource, _)| !resource.contains("public.archive")),
        "the locked table is left out"
    );
    assert!(
        by_resource(locked, "postgresql.rows")
            .iter()
            .any(|(resource, _)| resource.contains("public.orders")),
        "the others are read"
    );
    assert!(
        by_resource(&plain[..before_lock], "postgresql.rows")
            .iter()
            .any(|(resource, _)| resource.contains("public.archive")),
        "the table was read before its lock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_kept_between_scrapes_unless_the_pool_settings_say_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) =
        Postgres::prepared(dir.path(), &["CREATE DATABASE a", "CREATE DATABASE b"]).await;
    let port = server.port;
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  postgresql/kept: {{ endpoint: "127.0.0.1:{port}", username: otel, password: "{RECEIVER_PASSWORD}", databases: [a], tls: {{ insecure: true }}, collection_interval: 100ms, initial_delay: 0s }}
  postgresql/closed: {{ endpoint: "127.0.0.1:{port}", username: otel, password: "{RECEIVER_PASSWORD}", databases: [b], collection_interval: 100ms, initial_delay: 0s, connection_pool: {{ max_idle: 0 }} }}
exporters:
  file/kept: {{ path: "{{dir}}/kept.jsonl", format: json }}
  file/closed: {{ path: "{{dir}}/closed.jsonl", format: json }}
service:
  pipelines:
    metrics/kept: {{ receivers: [postgresql/kept], exporters: [file/kept] }}
    metrics/closed: {{ receivers: [postgresql/closed], exporters: [file/closed] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    for file in ["kept.jsonl", "closed.jsonl"] {
        wait_for_metrics(&collector.path(file), |requests| requests.len() >= 3).await;
    }
    // Sessions ever opened to each database (a server figure reported within a second of a login).
    let sessions = async || {
        let row = admin
            .query_one(
                "SELECT (SELECT sessions FROM pg_stat_database WHERE datname = 'a')::int8, \
                 (SELECT sessions FROM pg_stat_database WHERE datname = 'b')::int8",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0), row.get::<_, i64>(1))
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = sessions().await;
    let closed_before = read_metrics(&collector.path("closed.jsonl"), true).len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = sessions().await;
    let closed_scrapes = read_metrics(&collector.path("closed.jsonl"), true).len() - closed_before;
    collector.shut_down_cleanly().await;
    assert_eq!(
        after.0, before.0,
        "one connection to a, kept: {before:?} -> {after:?}"
    );
    assert!(
        after.1 - before.1 >= 5 && closed_scrapes >= 5,
        "a new connection to b for each of {closed_scrapes} scrapes: {before:?} -> {after:?}"
    );
}
