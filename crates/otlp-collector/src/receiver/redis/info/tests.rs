use super::*;
use crate::receiver::scraper::metric::{Clock, Enabled, Toggle, labelled_points as points};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data};

/// An excerpt of Redis 7.0's `INFO all`, as the server sends it (CRLF lines, sections, a db gap).
const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:42\r\n\r\n# Clients\r\n\
connected_clients:3\r\nblocked_clients:0\r\n\r\n# Memory\r\nused_memory:1056280\r\nmem_fragmentation_ratio:9.87\r\n\
# Stats\r\ntotal_commands_processed:17\r\nkeyspace_hits:1\r\nkeyspace_misses:2\r\nevicted_keys:oops\r\n\
# Replication\r\nrole:master\r\nmaster_repl_offset:0\r\n\r\n# CPU\r\nused_cpu_sys:0.125\r\nused_cpu_user:0.002986\r\n\
used_cpu_user_main_thread:0.002911\r\n\r\n# Commandstats\r\n\
cmdstat_get:calls=1,usec=3,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n\
cmdstat_set:calls=2,usec=17,usec_per_call=8.50,rejected_calls=0,failed_calls=0\r\n\r\n# Latencystats\r\n\
latency_percentiles_usec_get:p50=3.007,p99=3.007,p99.9=3.007\r\n\r\n# Keyspace\r\n\
db0:keys=1,expires=0,avg_ttl=0\r\ndb3:keys=5,expires=1,avg_ttl=99000\r\n";

fn metrics(toggles: &[(&str, bool)]) -> (Vec<Metric>, Vec<String>) {
    let toggles: BTreeMap<String, Toggle> = toggles
        .iter()
        .map(|(name, enabled)| (name.to_string(), Toggle { enabled: *enabled }))
        .collect();
    let enabled = Enabled::new(SPECS, &toggles);
    let mut out = Builder::new(
        SPECS,
        &enabled,
        Clock {
            now: 100,
            start: 10,
        },
    );
    let unreadable = record(&parse(INFO), &mut out);
    (out.finish(), unreadable)
}

#[test]
fn sections_and_comments_are_left_out() {
    let fields = parse(INFO);
    assert_eq!(fields["redis_version"], "7.0.15");
    assert_eq!(fields["db3"], "keys=5,expires=1,avg_ttl=99000");
    assert!(!fields.keys().any(|k| k.starts_with('#') || k.is_empty()));
}

#[test]
fn default_metrics_are_otelcol_s_with_their_kinds() {
    let (metrics, unreadable) = metrics(&[]);
    assert_eq!(points(&metrics, "redis.uptime"), [(String::new(), 42.0)]);
    assert_eq!(
        points(&metrics, "redis.clients.connected"),
        [(String::new(), 3.0)]
    );
    assert_eq!(
        points(&metrics, "redis.memory.fragmentation_ratio"),
        [(String::new(), 9.87)]
    );
    assert_eq!(
        points(&metrics, "redis.cpu.time"),
        [
            ("state=sys".into(), 0.125),
            ("state=user".into(), 0.002986),
            ("state=user_main_thread".into(), 0.002911)
        ]
    );
    assert_eq!(
        points(&metrics, "redis.db.keys"),
        [("db=0".into(), 1.0), ("db=3".into(), 5.0)],
        "every database listed, the gap between them too"
    );
    assert_eq!(
        points(&metrics, "redis.db.avg_ttl")[1],
        ("db=3".into(), 99000.0)
    );
    let uptime = metrics.iter().find(|m| m.name == "redis.uptime").unwrap();
    match &uptime.data {
        Some(Data::Sum(sum)) => {
            assert!(sum.is_monotonic);
            assert_eq!(sum.data_points[0].start_time_unix_nano, 10);
        }
        other => panic!("{other:?}"),
    }
    // Off by default.
    for name in [
        "redis.cmd.calls",
        "redis.cmd.latency",
        "redis.role",
        "redis.maxmemory",
    ] {
        assert!(!metrics.iter().any(|m| m.name == name), "{name}");
    }
    assert_eq!(unreadable, ["evicted_keys:oops"]);
    assert!(!metrics.iter().any(|m| m.name == "redis.keys.evicted"));
}

#[test]
fn optional_metrics_read_commands_latencies_and_role() {
    let (metrics, _) = metrics(&[
        ("redis.cmd.calls", true),
        ("redis.cmd.usec", true),
        ("redis.cmd.latency", true),
        ("redis.role", true),
        ("redis.uptime", false),
    ]);
    assert_eq!(
        points(&metrics, "redis.cmd.calls"),
        [("cmd=get".into(), 1.0), ("cmd=set".into(), 2.0)]
    );
    assert_eq!(
        points(&metrics, "redis.cmd.usec")[1],
        ("cmd=set".into(), 17.0)
    );
    let latency = points(&metrics, "redis.cmd.latency");
    assert_eq!(latency.len(), 3);
    assert_eq!(latency[1].0, "cmd=get,percentile=p99");
    assert!(
        (latency[1].1 - 3.007e-6).abs() < 1e-12,
        "microseconds become seconds: {latency:?}"
    );
    assert_eq!(
        points(&metrics, "redis.role"),
        [("role=primary".into(), 1.0)]
    );
    assert!(!metrics.iter().any(|m| m.name == "redis.uptime"));
}
