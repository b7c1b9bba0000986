//! The answer to `stats` read into otelcol's memcached metrics: which statistic feeds which metric.

use crate::receiver::scraper::metric::{Builder, FieldPoint, Kind, Spec};
use std::collections::BTreeMap;

/// The `STAT <name> <value>` lines of an answer to `stats`, by name; other lines are left out.
pub(super) fn parse(lines: &[String]) -> BTreeMap<&str, &str> {
    lines
        .iter()
        .filter_map(|line| line.strip_prefix("STAT "))
        .filter_map(|stat| stat.split_once(' '))
        .collect()
}

use Kind::{Counter, Gauge, UpDown};

/// otelcol's memcached metrics (its `metadata.yaml`), in its order; all are on by default.
pub(super) const SPECS: &[Spec] = &[
    Spec::on(
        "memcached.bytes",
        "Current number of bytes used by this server to store items.",
        "By",
        Gauge,
    ),
    Spec::on(
        "memcached.connections.current",
        "The current number of open connections.",
        "{connections}",
        UpDown,
    ),
    Spec::on(
        "memcached.connections.total",
        "Total number of connections opened since the server started running.",
        "{connections}",
        Counter,
    ),
    Spec::on(
        "memcached.commands",
        "Commands executed.",
        "{commands}",
        Counter,
    ),
    Spec::on(
        "memcached.current_items",
        "Number of items currently stored in the cache.",
        "{items}",
        UpDown,
    ),
    Spec::on(
        "memcached.evictions",
        "Cache item evictions.",
        "{evictions}",
        Counter,
    ),
    Spec::on(
        "memcached.network",
        "Bytes transferred over the network.",
        "by",
        Counter,
    ),
    Spec::on(
        "memcached.operations",
        "Operation counts.",
        "{operations}",
        Counter,
    ),
    Spec::on(
        "memcached.operation_hit_ratio",
        "Hit ratio for operations, expressed as a percentage value between 0.0 and 100.0.",
        "%",
        Gauge,
    ),
    Spec::on(
        "memcached.cpu.usage",
        "Accumulated user and system time.",
        "s",
        Counter,
    ),
    Spec::on(
        "memcached.threads",
        "Number of threads used by the memcached instance.",
        "{threads}",
        UpDown,
    ),
];

/// The whole-number statistics.
const COUNTS: &[FieldPoint] = &[
    ("bytes", "memcached.bytes", &[]),
    ("curr_connections", "memcached.connections.current", &[]),
    ("total_connections", "memcached.connections.total", &[]),
    ("cmd_get", "memcached.commands", &[("command", "get")]),
    ("cmd_set", "memcached.commands", &[("command", "set")]),
    ("cmd_flush", "memcached.commands", &[("command", "flush")]),
    ("cmd_touch", "memcached.commands", &[("command", "touch")]),
    ("curr_items", "memcached.current_items", &[]),
    ("evictions", "memcached.evictions", &[]),
    (
        "bytes_read",
        "memcached.network",
        &[("direction", "received")],
    ),
    (
        "bytes_written",
        "memcached.network",
        &[("direction", "sent")],
    ),
    (
        "get_hits",
        "memcached.operations",
        &[("type", "hit"), ("operation", "get")],
    ),
    (
        "get_misses",
        "memcached.operations",
        &[("type", "miss"), ("operation", "get")],
    ),
    (
        "incr_hits",
        "memcached.operations",
        &[("type", "hit"), ("operation", "increment")],
    ),
    (
        "incr_misses",
        "memcached.operations",
        &[("type", "miss"), ("operation", "increment")],
    ),
    (
        "decr_hits",
        "memcached.operations",
        &[("type", "hit"), ("operation", "decrement")],
    ),
    (
        "decr_misses",
        "memcached.operations",
        &[("type", "miss"), ("operation", "decrement")],
    ),
    ("threads", "memcached.threads", &[]),
];

/// CPU seconds (`rusage_user` is `seconds.microseconds`).
const CPU: &[FieldPoint] = &[
    (
        "rusage_system",
        "memcached.cpu.usage",
        &[("state", "system")],
    ),
    ("rusage_user", "memcached.cpu.usage", &[("state", "user")]),
];

/// The operations with a hit ratio: (`operation`, hits statistic, misses statistic).
const HIT_RATIOS: &[(&str, &str, &str)] = &[
    ("increment", "incr_hits", "incr_misses"),
    ("decrement", "decr_hits", "decr_misses"),
    ("get", "get_hits", "get_misses"),
];

/// Records what `stats` holds into `out`; returns the statistics that were there but not numbers.
pub(super) fn record(stats: &BTreeMap<&str, &str>, out: &mut Builder<'_>) -> Vec<String> {
    let mut unreadable = Vec::new();
    out.ints(stats, COUNTS, &mut unreadable);
    for (operation, hits, misses) in HIT_RATIOS {
        let count = |name: &str| stats.get(name).and_then(|text| text.parse::<i64>().ok());
        if let (Some(hits), Some(misses)) = (count(hits), count(misses)) {
            out.double(
                "memcached.operation_hit_ratio",
                hit_ratio(hits, misses),
                &[("operation", operation)],
            );
        }
    }
    out.doubles(stats, CPU, &mut unreadable);
    unreadable
}

/// Hits as a percentage of lookups since the server started, 0 before any. otelcol's receiver reports the miss
/// ratio under this name (its helper takes misses first and is called with hits first); this is the hit ratio
/// its description promises.
pub(super) fn hit_ratio(hits: i64, misses: i64) -> f64 {
    let total = hits.saturating_add(misses);
    if total <= 0 {
        return 0.0;
    }
    hits as f64 / total as f64 * 100.0
}
