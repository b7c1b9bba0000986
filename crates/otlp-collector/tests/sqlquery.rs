//! The `sqlquery` receiver running an operator's SQL on a real PostgreSQL and a real MariaDB server (the ones
//! `common::postgres` and `common::mariadb` start), compared with what the test wrote into their tables: metrics of
//! grouped rows, values rendered as otelcol's Go drivers render them, and log records read once each across runs
//! and across a restart, the tracking value kept in a `file_storage` extension.

mod common;

use common::mariadb::Mariadb;
use common::postgres::{Postgres, RECEIVER_PASSWORD, execute};
use common::{
    TestCollector, metrics_named, named_numbers, read_logs, read_metrics, wait_for_metrics,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::path::Path;
use std::time::Duration;

/// Each log record's body and attributes (`key=value`, joined by `,`), in order.
fn records(requests: &[ExportLogsServiceRequest]) -> Vec<(String, String)> {
    let text = |value: Option<&Value>| match value {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    };
    requests
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .map(|record| {
            let attributes: Vec<String> = record
                .attributes
                .iter()
                .map(|kv| {
                    format!(
                        "{}={}",
                        kv.key,
                        text(kv.value.as_ref().and_then(|v| v.value.as_ref()))
                    )
                })
                .collect();
            (
                text(record.body.as_ref().and_then(|b| b.value.as_ref())),
                attributes.join(","),
            )
        })
        .collect()
}

/// Waits (at most 30 s) until the logs file at `path` holds `count` records.
async fn wait_for_records(path: &Path, count: usize) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = if path.exists() {
            records(&read_logs(path, true))
        } else {
            Vec::new()
        };
        if found.len() >= count || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The collector config: receiver `sqlquery` with `settings`, its metrics and logs written to `{dir}`, its
/// tracking values kept in `state`.
fn collector_config(settings: &str, state: &Path) -> String {
    format!(
        r#"
extensions:
  file_storage: {{ directory: "{state}", create_directory: true }}
receivers:
  sqlquery: {settings}
exporters:
  file/metrics: {{ path: "{{dir}}/metrics.jsonl", format: json }}
  file/logs: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  extensions: [file_storage]
  pipelines:
    metrics: {{ receivers: [sqlquery], exporters: [file/metrics] }}
    logs: {{ receivers: [sqlquery], exporters: [file/logs] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        state = state.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_become_metrics_and_log_records_each_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = Postgres::prepared(
        dir.path(),
        &[
            "CREATE TABLE movie (name text, genre text, rating numeric(3, 1), released date, seen timestamptz, \
             good bool)",
            "INSERT INTO movie VALUES \
             ('E.T.', 'sci-fi', 7.5, '2024-03-01', '2024-03-01 12:30:00.5+00', true), \
             ('Star Wars', 'sci-fi', 8.0, '1977-05-25', '2024-02-01 08:00:00+00', true), \
             ('Die Hard', 'action', 6.5, '1988-07-15', NULL, false)",
            "CREATE TABLE audit_log (id bigserial PRIMARY KEY, body text, level text)",
            "INSERT INTO audit_log (body, level) VALUES ('login', 'info'), ('logout', 'info'), ('denied', 'warn')",
            "GRANT SELECT ON movie, audit_log TO otel",
        ],
    )
    .await;
    // libpq's quoting escapes a quote with a backslash, which YAML's double quotes escape again.
    let password = RECEIVER_PASSWORD.replace('\'', "\\\\'");
    let settings = format!(
        r#"
    driver: postgres
    datasource: "host=localhost port={port} user=otel password='{password}' dbname=postgres sslmode=verify-full sslrootcert={ca}"
    collection_interval: 200ms
    initial_delay: 0s
    storage: file_storage
    queries:
      - sql: "SELECT count(*) AS count, genre FROM movie GROUP BY genre"
        metrics:
          - metric_name: movie.genres
            value_column: count
            attribute_columns: [genre]
            static_attributes: {{ dbinstance: test }}
      - sql: "SELECT avg(rating) AS rating, bool_and(good) AS good, max(released) AS released, max(seen) AS seen, \
              sum(rating) AS total FROM movie"
        metrics:
          - metric_name: movie.rating
            value_column: rating
            value_type: double
            attribute_columns: [good, released, seen]
          - metric_name: movie.rating.total
            value_column: total
            value_type: double
            data_type: sum
            monotonic: true
      - sql: "SELECT nope FROM movie"
        metrics: [{{ metric_name: never, value_column: nope }}]
      - sql: "SELECT id, body, level FROM audit_log WHERE id > $$1 ORDER BY id"
        tracking_column: id
        tracking_start_value: "0"
        logs:
          - body_column: body
            attribute_columns: [level]
"#,
        port = server.port,
        ca = dir.path().join("ca.pem").display(),
    );
    let state = dir.path().join("state");
    let collector = TestCollector::start(&collector_config(&settings, &state)).await;
    let metrics_file = collector.path("metrics.jsonl");
    wait_for_metrics(&metrics_file, |requests| requests.len() >= 2).await;
    let requests = read_metrics(&metrics_file, true);
    let last = &requests[requests.len() - 1..];
    let mut genres = named_numbers(last, "movie.genres");
    genres.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        genres,
        [
            ("dbinstance=test,genre=action".to_owned(), 1.0),
            ("dbinstance=test,genre=sci-fi".to_owned(), 2.0)
        ]
    );
    let rating = named_numbers(last, "movie.rating");
    assert_eq!(rating.len(), 1);
    assert_eq!(
        rating[0].0, "good=false,released=2024-03-01T00:00:00Z,seen=2024-03-01T12:30:00.5Z",
        "lib/pq's renderings: a boolean as false, a date and a timestamptz in RFC 3339"
    );
    assert!((rating[0].1 - 22.0 / 3.0).abs() < 1e-9, "{rating:?}");
    let totals = common::sum_times(last, "movie.rating.total");
    assert_eq!(named_numbers(last, "movie.rating.total")[0].1, 22.0);
    let first_start = common::sum_times(&requests[..1], "movie.rating.total")[0].0;
    assert_eq!(
        totals[0].0, first_start,
        "a cumulative sum starts when the receiver did"
    );
    assert!(metrics_named(&requests, "never").next().is_none());

    let logs_file = collector.path("logs.jsonl");
    let read = wait_for_records(&logs_file, 3).await;
    assert_eq!(
        read,
        [("login", "info"), ("logout", "info"), ("denied", "warn")]
            .map(|(body, level)| (body.to_owned(), format!("level={level}")))
    );
    execute(
        &admin,
        &["INSERT INTO audit_log (body, level) VALUES ('reset', 'info')"],
    )
    .await;
    let read = wait_for_records(&logs_file, 4).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        records(&read_logs(&logs_file, true)),
        read,
        "no row is read twice"
    );
    assert_eq!(read[3].0, "reset");
    collector.shut_down_cleanly().await;

    // A restarted collector goes on from the stored tracking value: only the row written while it was down.
    execute(
        &admin,
        &["INSERT INTO audit_log (body, level) VALUES ('while down', 'info')"],
    )
    .await;
    let collector = TestCollector::start(&collector_config(&settings, &state)).await;
    let logs_file = collector.path("logs.jsonl");
    let read = wait_for_records(&logs_file, 1).await;
    wait_for_metrics(&collector.path("metrics.jsonl"), |requests| {
        requests.len() >= 3
    })
    .await;
    assert_eq!(records(&read_logs(&logs_file, true)), read);
    assert_eq!(read, [("while down".to_owned(), "level=info".to_owned())]);
    collector.shut_down_cleanly().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_rows_become_metrics_and_log_records_over_text_and_prepared_statements() {
    let dir = tempfile::tempdir().unwrap();
    common::pki::write_pki(dir.path());
    let server = Mariadb::start(dir.path());
    server
        .sql(
            "CREATE USER 'otel'@'%' IDENTIFIED BY 'otel''s password';
             CREATE DATABASE shop;
             GRANT SELECT ON shop.* TO 'otel'@'%';
             USE shop;
             CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, customer VARCHAR(10), total DECIMAL(8, 2),
               placed DATETIME(3));
             INSERT INTO orders (customer, total, placed) VALUES
               ('ann', 10.50, '2024-03-01 12:30:00.250'), ('bob', 5.00, '2024-03-02 08:00:00'),
               ('ann', 1.25, '2024-03-03 09:15:00');",
        )
        .unwrap();
    let settings = format!(
        r#"
    driver: mysql
    datasource: "otel:otel's password@tcp(localhost:{port})/shop?tls=skip-verify&parseTime=true&sql_mode=%27ANSI_QUOTES%27"
    collection_interval: 200ms
    initial_delay: 0s
    storage: file_storage
    queries:
      - sql: "SELECT customer, SUM(total) AS spent, COUNT(*) AS orders, MAX(placed) AS last FROM orders GROUP BY customer"
        metrics:
          - metric_name: shop.spent
            value_column: spent
            value_type: double
            attribute_columns: [customer, last]
          - metric_name: shop.orders
            value_column: orders
            attribute_columns: [customer]
            row_condition: {{ column: customer, value: ann }}
      - sql: "SELECT @@SESSION.sql_mode AS mode, 1 AS one"
        metrics: [{{ metric_name: shop.mode, value_column: one, attribute_columns: [mode] }}]
      - sql: "SELECT id, customer, placed FROM orders WHERE id > ? ORDER BY id"
        tracking_column: id
        tracking_start_value: "1"
        logs:
          - body_column: customer
            attribute_columns: [id, placed]
"#,
        port = server.port,
    );
    let state = dir.path().join("state");
    let collector = TestCollector::start(&collector_config(&settings, &state)).await;
    let metrics_file = collector.path("metrics.jsonl");
    wait_for_metrics(&metrics_file, |requests| requests.len() >= 2).await;
    let requests = read_metrics(&metrics_file, true);
    let last = &requests[requests.len() - 1..];
    let mut spent = named_numbers(last, "shop.spent");
    spent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        spent,
        [
            ("customer=ann,last=2024-03-03T09:15:00Z".to_owned(), 11.75),
            ("customer=bob,last=2024-03-02T08:00:00Z".to_owned(), 5.0)
        ],
        "DECIMAL sums read as doubles; with parseTime, DATETIMEs in RFC 3339 (UTC)"
    );
    assert_eq!(
        named_numbers(last, "shop.orders"),
        [("customer=ann".to_owned(), 2.0)],
        "the row condition keeps ann's row alone"
    );
    let mode = named_numbers(last, "shop.mode");
    assert!(
        mode[0].0.contains("ANSI_QUOTES"),
        "the session variable of the string: {mode:?}"
    );

    let logs_file = collector.path("logs.jsonl");
    let read = wait_for_records(&logs_file, 2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        records(&read_logs(&logs_file, true)),
        read,
        "no row is read twice"
    );
    assert_eq!(
        read,
        [
            ("bob", "id=2,placed=2024-03-02T08:00:00Z"),
            ("ann", "id=3,placed=2024-03-03T09:15:00Z")
        ]
        .map(|(body, attributes)| (body.to_owned(), attributes.to_owned())),
        "rows after tracking_start_value, over a prepared statement (the binary protocol)"
    );
    collector.shut_down_cleanly().await;
}
