use super::*;
use crate::receiver::scraper::metric::{enabled_with, labelled_points};

fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(&Factory, "receivers.mysql", yaml)
}

#[test]
fn otelcol_s_examples_are_taken_as_written() {
    for yaml in [
        // otelcol-contrib's README.
        "endpoint: localhost:3306\nusername: otel\npassword: ${env:MYSQL_PASSWORD}\ndatabase: otel\n\
         collection_interval: 10s\ninitial_delay: 1s\n\
         statement_events: { digest_text_limit: 120, time_limit: 24h, limit: 250 }\n",
        "endpoint: /var/run/mysqld/mysqld.sock\ntransport: unix\nusername: otel\npassword: x\n\
         events: { db.server.query_sample: { enabled: false } }\n\
         metrics: { mysql.commands: { enabled: true }, mysql.uptime: { enabled: false } }\n\
         resource_attributes: { mysql.instance.endpoint: { enabled: false } }\n",
        "endpoint: db:3306\npassword: x\ntls: { insecure: false, ca_file: /etc/ca.pem, server_name_override: db.internal }\n",
    ] {
        assert_eq!(problems(yaml), Vec::new(), "{yaml}");
    }
    let config: MysqlConfig = serde_norway::from_str("password: p").unwrap();
    assert_eq!(
        (config.endpoint.as_str(), config.username.as_str()),
        ("localhost:3306", "root")
    );
    assert!(!config.encrypted(), "plain text by default, as otelcol");
    assert_eq!(config.statement_events.limit, 250);
    let config: MysqlConfig = serde_norway::from_str("tls: { insecure: false }").unwrap();
    assert!(config.encrypted());
}

#[test]
fn mistakes_are_named() {
    let found = problems(
        "endpoint: localhost\ntransport: udp\nallow_native_passwords: false\n\
         metrics: { mysql.handler: { enabled: true } }\nevents: { db.server.top_query: { enabled: true } }\n",
    );
    let lines: Vec<String> = found.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    let all = lines.join("\n");
    for expected in [
        "receivers.mysql.transport: `udp` is not a transport here",
        "receivers.mysql.allow_native_passwords: only true is supported",
        "receivers.mysql.metrics.mysql.handler: there is no metric",
        "receivers.mysql.events.db.server.top_query: log events are not produced",
    ] {
        assert!(all.contains(expected), "{expected}\nin\n{all}");
    }
    let found = problems("endpoint: localhost");
    assert!(
        found.iter().any(|(_, m)| m.contains("is not `host:port`")),
        "{found:?}"
    );
    let found = problems("query_sample_collection: { max_rows_per_query: 100 }");
    assert!(
        found
            .iter()
            .any(|(p, m)| p.ends_with("query_sample_collection") && m.contains("log events")),
        "{found:?}"
    );
}

fn enabled(toggles: &[(&str, bool)]) -> Enabled {
    enabled_with(status::SPECS, toggles)
}

#[test]
fn status_variables_become_otelcol_s_points() {
    let status: BTreeMap<&str, &str> = [
        ("Handler_read_key", "12"),
        ("Handler_write", "7"),
        ("Innodb_buffer_pool_pages_data", "300"),
        ("Innodb_buffer_pool_pages_dirty", "20"),
        ("Innodb_buffer_pool_bytes_data", "4915200"),
        ("Innodb_buffer_pool_bytes_dirty", "327680"),
        // MySQL bug 59550: a value past the range of an integer.
        ("Innodb_buffer_pool_pages_misc", "18446744073709551615"),
        ("Com_select", "40"),
        ("Threads_connected", "3"),
        ("Uptime", "3600"),
        ("Not_a_metric", "1"),
    ]
    .into_iter()
    .collect();
    let on = enabled(&[("mysql.commands", true)]);
    let mut out = Builder::new(status::SPECS, &on, Clock { now: 20, start: 10 });
    let unreadable = status::record(&status, &mut out);
    let metrics = out.finish();
    assert_eq!(
        unreadable,
        ["Innodb_buffer_pool_pages_misc: 18446744073709551615"]
    );
    assert_eq!(
        labelled_points(&metrics, "mysql.handlers"),
        [("kind=read_key".into(), 12.0), ("kind=write".into(), 7.0)]
    );
    assert_eq!(
        labelled_points(&metrics, "mysql.buffer_pool.data_pages"),
        [
            ("status=dirty".into(), 20.0),
            ("status=clean".into(), 280.0)
        ]
    );
    assert_eq!(
        labelled_points(&metrics, "mysql.buffer_pool.usage"),
        [
            ("status=dirty".into(), 327680.0),
            ("status=clean".into(), 4587520.0)
        ]
    );
    assert_eq!(
        labelled_points(&metrics, "mysql.commands"),
        [("command=select".into(), 40.0)]
    );
    assert_eq!(
        labelled_points(&metrics, "mysql.uptime"),
        [(String::new(), 3600.0)]
    );
}

#[test]
fn the_spec_list_has_otelcol_s_defaults_and_no_name_twice() {
    let mut names: Vec<&str> = status::SPECS.iter().map(|spec| spec.name).collect();
    let before = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), before);
    assert_eq!(
        status::SPECS.iter().filter(|spec| spec.default).count(),
        25,
        "otelcol's default metrics"
    );
}
