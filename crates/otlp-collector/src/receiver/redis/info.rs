//! `INFO all` read into otelcol's Redis metrics: which field feeds which metric, and the fields with structure
//! (`db0:keys=…`, `cmdstat_get:calls=…`, `latency_percentiles_usec_get:p50=…`).

use crate::receiver::scraper::metric::{Builder, Kind, Spec};
use std::collections::BTreeMap;

/// `INFO`'s `field:value` lines, sections and comments left out.
pub(super) fn parse(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .collect()
}

use Kind::{Counter, Gauge, UpDown};

/// otelcol's Redis metrics (its `metadata.yaml`), in its order.
pub(super) const SPECS: &[Spec] = &[
    Spec::new(
        "redis.maxmemory",
        "The value of the maxmemory configuration directive",
        "By",
        Gauge,
        false,
    ),
    Spec::new("redis.role", "Redis node's role", "{role}", UpDown, false),
    Spec::new(
        "redis.cmd.calls",
        "Total number of calls for a command",
        "{call}",
        Counter,
        false,
    ),
    Spec::new(
        "redis.cmd.usec",
        "Total time for all executions of this command",
        "us",
        Counter,
        false,
    ),
    Spec::new(
        "redis.cmd.latency",
        "Command execution latency",
        "s",
        Gauge,
        false,
    ),
    Spec::new(
        "redis.uptime",
        "Number of seconds since Redis server start",
        "s",
        Counter,
        true,
    ),
    Spec::new(
        "redis.cpu.time",
        "System CPU consumed by the Redis server in seconds since server start",
        "s",
        Counter,
        true,
    ),
    Spec::new(
        "redis.clients.connected",
        "Number of client connections (excluding connections from replicas)",
        "{client}",
        UpDown,
        true,
    ),
    Spec::new(
        "redis.clients.max_input_buffer",
        "Biggest input buffer among current client connections",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.clients.max_output_buffer",
        "Longest output list among current client connections",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.clients.blocked",
        "Number of clients pending on a blocking call",
        "{client}",
        UpDown,
        true,
    ),
    Spec::new(
        "redis.keys.expired",
        "Total number of key expiration events",
        "{event}",
        Counter,
        true,
    ),
    Spec::new(
        "redis.keys.evicted",
        "Number of evicted keys due to maxmemory limit",
        "{key}",
        Counter,
        true,
    ),
    Spec::new(
        "redis.connections.received",
        "Total number of connections accepted by the server",
        "{connection}",
        Counter,
        true,
    ),
    Spec::new(
        "redis.connections.rejected",
        "Number of connections rejected because of maxclients limit",
        "{connection}",
        Counter,
        true,
    ),
    Spec::new(
        "redis.memory.used",
        "Total number of bytes allocated by Redis using its allocator",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.memory.peak",
        "Peak memory consumed by Redis (in bytes)",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.memory.rss",
        "Number of bytes that Redis allocated as seen by the operating system",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.memory.lua",
        "Number of bytes used by the Lua engine",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.memory.fragmentation_ratio",
        "Ratio between used_memory_rss and used_memory",
        "1",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.rdb.changes_since_last_save",
        "Number of changes since the last dump",
        "{change}",
        UpDown,
        true,
    ),
    Spec::new(
        "redis.commands",
        "Number of commands processed per second",
        "{ops}/s",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.commands.processed",
        "Total number of commands processed by the server",
        "{command}",
        Counter,
        true,
    ),
    Spec::new(
        "redis.net.input",
        "The total number of bytes read from the network",
        "By",
        Counter,
        true,
    ),
    Spec::new(
        "redis.net.output",
        "The total number of bytes written to the network",
        "By",
        Counter,
        true,
    ),
    Spec::new(
        "redis.keyspace.hits",
        "Number of successful lookup of keys in the main dictionary",
        "{hit}",
        Counter,
        true,
    ),
    Spec::new(
        "redis.keyspace.misses",
        "Number of failed lookup of keys in the main dictionary",
        "{miss}",
        Counter,
        true,
    ),
    Spec::new(
        "redis.latest_fork",
        "Duration of the latest fork operation in microseconds",
        "us",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.slaves.connected",
        "Number of connected replicas",
        "{replica}",
        UpDown,
        true,
    ),
    Spec::new(
        "redis.replication.backlog_first_byte_offset",
        "The master offset of the replication backlog buffer",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.replication.offset",
        "The server's current replication offset",
        "By",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.db.keys",
        "Number of keyspace keys",
        "{key}",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.db.expires",
        "Number of keyspace keys with an expiration",
        "{key}",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.db.avg_ttl",
        "Average keyspace keys TTL",
        "ms",
        Gauge,
        true,
    ),
    Spec::new(
        "redis.replication.replica_offset",
        "Offset for redis replica",
        "By",
        Gauge,
        false,
    ),
];

/// The plain fields: `INFO` field, metric, and whether the value is a float.
const FIELDS: &[(&str, &str, bool)] = &[
    ("blocked_clients", "redis.clients.blocked", false),
    (
        "client_recent_max_input_buffer",
        "redis.clients.max_input_buffer",
        false,
    ),
    (
        "client_recent_max_output_buffer",
        "redis.clients.max_output_buffer",
        false,
    ),
    ("connected_clients", "redis.clients.connected", false),
    ("connected_slaves", "redis.slaves.connected", false),
    ("evicted_keys", "redis.keys.evicted", false),
    ("expired_keys", "redis.keys.expired", false),
    ("instantaneous_ops_per_sec", "redis.commands", false),
    ("keyspace_hits", "redis.keyspace.hits", false),
    ("keyspace_misses", "redis.keyspace.misses", false),
    ("latest_fork_usec", "redis.latest_fork", false),
    ("master_repl_offset", "redis.replication.offset", false),
    ("maxmemory", "redis.maxmemory", false),
    (
        "mem_fragmentation_ratio",
        "redis.memory.fragmentation_ratio",
        true,
    ),
    (
        "rdb_changes_since_last_save",
        "redis.rdb.changes_since_last_save",
        false,
    ),
    ("rejected_connections", "redis.connections.rejected", false),
    (
        "repl_backlog_first_byte_offset",
        "redis.replication.backlog_first_byte_offset",
        false,
    ),
    (
        "slave_repl_offset",
        "redis.replication.replica_offset",
        false,
    ),
    (
        "total_commands_processed",
        "redis.commands.processed",
        false,
    ),
    (
        "total_connections_received",
        "redis.connections.received",
        false,
    ),
    ("total_net_input_bytes", "redis.net.input", false),
    ("total_net_output_bytes", "redis.net.output", false),
    ("uptime_in_seconds", "redis.uptime", false),
    ("used_memory", "redis.memory.used", false),
    ("used_memory_lua", "redis.memory.lua", false),
    ("used_memory_peak", "redis.memory.peak", false),
    ("used_memory_rss", "redis.memory.rss", false),
];

/// The CPU fields, each a `state` of `redis.cpu.time` (the `_main_thread` ones from Redis 6).
const CPU: &[(&str, &str)] = &[
    ("used_cpu_sys", "sys"),
    ("used_cpu_sys_children", "sys_children"),
    ("used_cpu_sys_main_thread", "sys_main_thread"),
    ("used_cpu_user", "user"),
    ("used_cpu_user_children", "user_children"),
    ("used_cpu_user_main_thread", "user_main_thread"),
];

/// `key=value` pairs of a structured field (`keys=1,expires=0,avg_ttl=0`).
fn pairs(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value
        .trim()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
}

/// Records every metric `info` has a field for; a field whose value is not a number is skipped and named in
/// what is returned.
pub(super) fn record(info: &BTreeMap<&str, &str>, out: &mut Builder<'_>) -> Vec<String> {
    let mut unreadable = Vec::new();
    for (field, metric, float) in FIELDS {
        let Some(value) = info.get(field) else {
            continue;
        };
        if *float {
            match value.parse::<f64>() {
                Ok(v) => out.double(metric, v, &[]),
                Err(_) => unreadable.push(format!("{field}:{value}")),
            }
        } else {
            match value.parse::<i64>() {
                Ok(v) => out.int(metric, v, &[]),
                Err(_) => unreadable.push(format!("{field}:{value}")),
            }
        }
    }
    for (field, state) in CPU {
        let Some(value) = info.get(field) else {
            continue;
        };
        match value.parse::<f64>() {
            Ok(v) => out.double("redis.cpu.time", v, &[("state", state)]),
            Err(_) => unreadable.push(format!("{field}:{value}")),
        }
    }
    if let Some(role) = info.get("role") {
        let role = if *role == "master" {
            "primary"
        } else {
            "replica"
        };
        out.int("redis.role", 1, &[("role", role)]);
    }
    for (field, value) in info {
        // Every `dbN` line: Redis lists only the databases that hold keys, so db0 may be absent while db3 is not.
        if let Some(db) = field
            .strip_prefix("db")
            .filter(|n| n.parse::<u32>().is_ok())
        {
            for (key, metric) in [
                ("keys", "redis.db.keys"),
                ("expires", "redis.db.expires"),
                ("avg_ttl", "redis.db.avg_ttl"),
            ] {
                match pairs(value)
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.parse::<i64>())
                {
                    Some(Ok(v)) => out.int(metric, v, &[("db", db)]),
                    Some(Err(_)) => unreadable.push(format!("{field}:{value}")),
                    None => {}
                }
            }
        } else if let Some(command) = field.strip_prefix("cmdstat_") {
            for (key, v) in pairs(value) {
                let metric = match key {
                    "calls" => "redis.cmd.calls",
                    "usec" => "redis.cmd.usec",
                    _ => continue,
                };
                match v.parse::<i64>() {
                    Ok(v) => out.int(metric, v, &[("cmd", command)]),
                    Err(_) => unreadable.push(format!("{field}:{value}")),
                }
            }
        } else if let Some(command) = field.strip_prefix("latency_percentiles_usec_") {
            for (percentile, v) in pairs(value) {
                match v.parse::<f64>() {
                    // Microseconds in `INFO`; seconds, the metric's unit, here.
                    Ok(v) => out.double(
                        "redis.cmd.latency",
                        v / 1e6,
                        &[("cmd", command), ("percentile", percentile)],
                    ),
                    Err(_) => unreadable.push(format!("{field}:{value}")),
                }
            }
        }
    }
    unreadable
}

#[cfg(test)]
mod tests;
