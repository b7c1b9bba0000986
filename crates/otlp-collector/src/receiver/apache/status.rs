//! Apache's `server-status?auto` page read into otelcol's Apache metrics: which field feeds which metric, and the
//! scoreboard's one character per worker counted by state.

use crate::receiver::scraper::metric::{Builder, FieldPoint, Kind, Spec};
use std::collections::BTreeMap;

/// The page's `Field: value` lines, by field.
pub(super) fn parse(page: &str) -> BTreeMap<&str, &str> {
    page.lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(field, value)| (field, value.trim()))
        .collect()
}

use Kind::{Counter, Gauge, UpDown};

/// otelcol's Apache metrics (its `metadata.yaml`), in its order; all are on by default.
pub(super) const SPECS: &[Spec] = &[
    Spec::on(
        "apache.uptime",
        "The amount of time that the server has been running in seconds.",
        "s",
        Counter,
    ),
    Spec::on(
        "apache.current_connections",
        "The number of active connections currently attached to the HTTP server.",
        "{connections}",
        UpDown,
    ),
    Spec::on(
        "apache.workers",
        "The number of workers currently attached to the HTTP server.",
        "{workers}",
        UpDown,
    ),
    Spec::on(
        "apache.requests",
        "The number of requests serviced by the HTTP server per second.",
        "{requests}",
        Counter,
    ),
    Spec::on(
        "apache.traffic",
        "Total HTTP server traffic.",
        "By",
        Counter,
    ),
    Spec::on(
        "apache.cpu.time",
        "Jiffs used by processes of given category.",
        "{jiff}",
        Counter,
    ),
    Spec::on("apache.cpu.load", "Current load of the CPU.", "%", Gauge),
    Spec::on(
        "apache.load.1",
        "The average server load during the last minute.",
        "%",
        Gauge,
    ),
    Spec::on(
        "apache.load.5",
        "The average server load during the last 5 minutes.",
        "%",
        Gauge,
    ),
    Spec::on(
        "apache.load.15",
        "The average server load during the last 15 minutes.",
        "%",
        Gauge,
    ),
    Spec::on(
        "apache.request.time",
        "Total time spent on handling requests.",
        "ms",
        Counter,
    ),
    Spec::on(
        "apache.scoreboard",
        "The number of workers in each state.",
        "{workers}",
        UpDown,
    ),
];

/// The whole-number fields.
const COUNTS: &[FieldPoint] = &[
    ("ServerUptimeSeconds", "apache.uptime", &[]),
    ("ConnsTotal", "apache.current_connections", &[]),
    ("BusyWorkers", "apache.workers", &[("state", "busy")]),
    ("IdleWorkers", "apache.workers", &[("state", "idle")]),
    ("Total Accesses", "apache.requests", &[]),
    ("Total Duration", "apache.request.time", &[]),
];

/// The decimal fields (`CPUSystem: .01`, as C's `%g` prints 0.01).
const DECIMALS: &[FieldPoint] = &[
    (
        "CPUChildrenSystem",
        "apache.cpu.time",
        &[("level", "children"), ("mode", "system")],
    ),
    (
        "CPUChildrenUser",
        "apache.cpu.time",
        &[("level", "children"), ("mode", "user")],
    ),
    (
        "CPUSystem",
        "apache.cpu.time",
        &[("level", "self"), ("mode", "system")],
    ),
    (
        "CPUUser",
        "apache.cpu.time",
        &[("level", "self"), ("mode", "user")],
    ),
    ("Load1", "apache.load.1", &[]),
    ("Load5", "apache.load.5", &[]),
    ("Load15", "apache.load.15", &[]),
];

/// The scoreboard's characters and the state each stands for, in otelcol's order.
const SCOREBOARD: &[(char, &str)] = &[
    ('.', "open"),
    ('_', "waiting"),
    ('S', "starting"),
    ('R', "reading"),
    ('W', "sending"),
    ('K', "keepalive"),
    ('D', "dnslookup"),
    ('C', "closing"),
    ('L', "logging"),
    ('G', "finishing"),
    ('I', "idle_cleanup"),
];

/// The CPU load: CPU time over uptime. In a server's first second Apache divides by 0 and prints what comes of it
/// (`0.e+79`), so it is left out then.
const CPU_LOAD: &[FieldPoint] = &[("CPULoad", "apache.cpu.load", &[])];

/// Records what `fields` holds into `out`; returns the fields that were there but not numbers.
pub(super) fn record(fields: &BTreeMap<&str, &str>, out: &mut Builder<'_>) -> Vec<String> {
    let mut unreadable = Vec::new();
    out.ints(fields, COUNTS, &mut unreadable);
    match fields.get("Total kBytes").map(|text| text.parse::<i64>()) {
        Some(Ok(kibibytes)) => out.int("apache.traffic", kibibytes.saturating_mul(1024), &[]),
        Some(Err(_)) => unreadable.push(format!("Total kBytes: {}", fields["Total kBytes"])),
        None => {}
    }
    out.doubles(fields, DECIMALS, &mut unreadable);
    if fields.get("ServerUptimeSeconds") != Some(&"0") {
        out.doubles(fields, CPU_LOAD, &mut unreadable);
    }
    if let Some(scoreboard) = fields.get("Scoreboard") {
        for (state, count) in scoreboard_counts(scoreboard) {
            out.int("apache.scoreboard", count, &[("state", state)]);
        }
    }
    unreadable
}

/// Workers per state: every known state, 0 included, and `unknown` when a character is none of them.
pub(super) fn scoreboard_counts(scoreboard: &str) -> Vec<(&'static str, i64)> {
    let mut counts: Vec<(&'static str, i64)> =
        SCOREBOARD.iter().map(|(_, state)| (*state, 0)).collect();
    let mut unknown = 0;
    for character in scoreboard.chars() {
        match SCOREBOARD.iter().position(|(c, _)| *c == character) {
            Some(index) => counts[index].1 += 1,
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        counts.push(("unknown", unknown));
    }
    counts
}
