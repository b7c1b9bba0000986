use super::*;
use crate::receiver::scraper::metric::{enabled_with, labelled_points};
use queries::{Blocks, Table};

fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(&Factory, "receivers.postgresql", yaml)
}

fn text(found: &[(String, String)]) -> String {
    let lines: Vec<String> = found.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    lines.join("\n")
}

#[test]
fn otelcol_s_examples_are_taken_as_written() {
    for yaml in [
        // otelcol-contrib's README.
        "endpoint: localhost:5432\ntransport: tcp\nusername: otel\npassword: ${env:POSTGRESQL_PASSWORD}\n\
         databases: [otel]\ncollection_interval: 10s\n\
         tls: { insecure: false, insecure_skip_verify: false, ca_file: /home/otel/authorities.crt, \
         cert_file: /home/otel/mypostgrescert.crt, key_file: /home/otel/mypostgreskey.key }\n",
        // Its testdata: a Unix socket, excluded databases, the connection pool and events turned off.
        "endpoint: /var/run/postgresql:5432\ntransport: unix\nusername: otel\npassword: secret\n\
         exclude_databases: [template0, rdsadmin]\n\
         connection_pool: { max_idle_time: 30s, max_lifetime: 1h, max_idle: 2, max_open: 5 }\n\
         events: { db.server.query_sample: { enabled: false }, db.server.top_query: { enabled: false } }\n\
         metrics: { postgresql.deadlocks: { enabled: true }, postgresql.wal.lag: { enabled: false } }\n\
         resource_attributes: { service.name: { enabled: true } }\n",
    ] {
        assert_eq!(problems(yaml), Vec::new(), "{yaml}");
    }
    let config: PostgresqlConfig = serde_norway::from_str("username: u\npassword: p").unwrap();
    assert_eq!(config.endpoint, "localhost:5432");
    assert!(
        config.encrypted() && config.tls.insecure_skip_verify,
        "TLS required but not verified by default, as otelcol's receiver"
    );
    assert_eq!(config.timeout(), Duration::from_secs(10));
    assert!(config.resource_attribute("postgresql.table.name"));
    assert!(!config.resource_attribute("service.name"));
    let config: PostgresqlConfig =
        serde_norway::from_str("username: u\npassword: p\ntransport: unix\nendpoint: run:5432")
            .unwrap();
    assert!(!config.encrypted(), "never TLS over a Unix socket");
}

#[test]
fn mistakes_are_named() {
    let found = problems(
        "endpoint: localhost\ntransport: udp\nmetrics: { postgresql.comits: { enabled: true } }\n\
         resource_attributes: { postgresql.schema.nam: { enabled: true } }\n\
         events: { db.server.top_query: { enabled: true } }\nconnection_pool: { max_open: 0 }\n",
    );
    let all = text(&found);
    for expected in [
        "receivers.postgresql.username: required",
        "receivers.postgresql.password: required",
        "receivers.postgresql.endpoint: `localhost` is not `host:port`",
        "receivers.postgresql.transport: `udp` is not a transport here",
        "receivers.postgresql.metrics.postgresql.comits: there is no metric",
        "receivers.postgresql.resource_attributes.postgresql.schema.nam: there is no resource attribute",
        "receivers.postgresql.events.db.server.top_query: log events are not produced",
        "receivers.postgresql.connection_pool.max_open: must be at least 1",
    ] {
        assert!(all.contains(expected), "{expected}\nin\n{all}");
    }
    let found = problems("username: u\npassword: p\ntop_query_collection: { top_n_query: 10 }");
    assert!(
        text(&found).contains("top_query_collection: query samples and top queries are log events"),
        "{found:?}"
    );
}

fn enabled(toggles: &[(&str, bool)]) -> Enabled {
    enabled_with(metrics::SPECS, toggles)
}

const CLOCK: Clock = Clock { now: 20, start: 10 };

#[test]
fn a_table_s_row_becomes_its_points() {
    let table = Table {
        schema: "public".into(),
        name: "orders".into(),
        live: 7,
        dead: 2,
        inserted: 10,
        updated: 4,
        deleted: 3,
        hot_updated: 1,
        sequential_scans: 5,
        size: 8192,
        vacuums: 1,
        blocks: Blocks {
            heap_read: 1,
            heap_hit: 40,
            idx_read: 2,
            idx_hit: 30,
            ..Default::default()
        },
    };
    let on = enabled(&[("postgresql.sequential_scans", true)]);
    let mut out = Builder::new(metrics::SPECS, &on, CLOCK);
    metrics::record_table(&mut out, &table);
    let metrics = out.finish();
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "postgresql.blocks_read",
            "postgresql.operations",
            "postgresql.rows",
            "postgresql.sequential_scans",
            "postgresql.table.size",
            "postgresql.table.vacuum.count",
        ]
    );
    assert_eq!(
        labelled_points(&metrics, "postgresql.rows"),
        [("state=dead".into(), 2.0), ("state=live".into(), 7.0)]
    );
    assert_eq!(
        labelled_points(&metrics, "postgresql.operations"),
        [
            ("operation=ins".into(), 10.0),
            ("operation=del".into(), 3.0),
            ("operation=upd".into(), 4.0),
            ("operation=hot_upd".into(), 1.0)
        ]
    );
    let blocks = labelled_points(&metrics, "postgresql.blocks_read");
    assert_eq!(blocks.len(), 8, "every source, read and hit");
    assert!(blocks.contains(&("source=heap_hit".into(), 40.0)));
    assert!(blocks.contains(&("source=tidx_read".into(), 0.0)));
}

#[test]
fn postgresql_17_has_no_backend_writes_and_lags_are_rounded_for_wal_lag_only() {
    let bgwriter = queries::BgWriter {
        checkpoints_requested: 3,
        checkpoints_timed: 9,
        write_time_ms: 12.5,
        sync_time_ms: 0.25,
        buffers_clean: 4,
        buffers_backend: None,
        buffers_backend_fsync: None,
        buffers_checkpoint: 80,
        buffers_allocated: 900,
        maxwritten_clean: 0,
        reset_nanos: None,
    };
    let on = enabled(&[("postgresql.wal.delay", true)]);
    let mut out = Builder::new(metrics::SPECS, &on, CLOCK);
    metrics::record_bgwriter(&mut out, &bgwriter);
    metrics::record_replication(
        &mut out,
        &[Replication {
            client: "10.0.0.2".into(),
            pending_bytes: Some(4096),
            write_lag: Some(1.6),
            flush_lag: None,
            replay_lag: Some(0.2),
        }],
    );
    let metrics = out.finish();
    assert_eq!(
        labelled_points(&metrics, "postgresql.bgwriter.buffers.writes"),
        [
            ("source=bgwriter".into(), 4.0),
            ("source=checkpoints".into(), 80.0)
        ]
    );
    assert_eq!(
        labelled_points(&metrics, "postgresql.bgwriter.duration"),
        [("type=sync".into(), 0.25), ("type=write".into(), 12.5)]
    );
    assert_eq!(
        labelled_points(&metrics, "postgresql.wal.lag"),
        [
            ("operation=write,replication_client=10.0.0.2".into(), 2.0),
            ("operation=replay,replication_client=10.0.0.2".into(), 0.0)
        ],
        "a lag the standby has not reported yet is left out"
    );
    assert_eq!(
        labelled_points(&metrics, "postgresql.wal.delay"),
        [
            ("operation=write,replication_client=10.0.0.2".into(), 1.6),
            ("operation=replay,replication_client=10.0.0.2".into(), 0.2)
        ]
    );
    assert_eq!(
        labelled_points(&metrics, "postgresql.replication.data_delay"),
        [("replication_client=10.0.0.2".into(), 4096.0)]
    );
}

#[test]
fn the_spec_list_is_otelcol_s_order_with_no_name_twice() {
    let names: Vec<&str> = metrics::SPECS.iter().map(|spec| spec.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted);
    assert_eq!(
        metrics::SPECS.iter().filter(|spec| spec.default).count(),
        22,
        "otelcol's default metrics"
    );
}
