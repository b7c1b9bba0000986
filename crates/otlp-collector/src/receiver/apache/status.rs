//! Apache's `server-status?auto` page read into otelcol's Apache metrics: which field feeds which metric, and the
//! scoreboard's one character per worker counted by state.

use crate::receiver::scraper::metric::{Builder, Kind, Spec};
use std::collections::BTreeMap;

/// The page's `Field: value` lines, by field.
pub(super) fn parse(page: &str) -> BTreeMap<&str, &str> {
    page.lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(field, value)| (field, value.trim()))
        .collect()
}

const fn spec(
    name: &'static str,
    description: &'static str,
    unit: &'static str,
    kind: Kind,
) -> Spec {
    Spec {
        name,
        description,
        unit,
        kind,
        default: true,
    }
}

use Kind::{Counter, Gauge, UpDown};

/// otelcol's Apache metrics (its `metadata.yaml`), in its order; all are on by default.
pub(super) const SPECS: &[Spec] = &[
    spec(
        "apache.uptime",
        "The amount of time that the server has been running in seconds.",
        "s",
        Counter,
    ),
    spec(
        "apache.current_connections",
        "The number of active connections currently attached to the HTTP server.",
        "{connections}",
        UpDown,
    ),
    spec(
        "apache.workers",
        "The number of workers currently attached to the HTTP server.",
        "{workers}",
        UpDown,
    ),
    spec(
        "apache.requests",
        "The number of requests serviced by the HTTP server per second.",
        "{requests}",
        Counter,
    ),
    spec(
        "apache.traffic",
        "Total HTTP server traffic.",
        "By",
        Counter,
    ),
    spec(
        "apache.cpu.time",
        "Jiffs used by processes of given category.",
        "{jiff}",
        Counter,
    ),
    spec("apache.cpu.load", "Current load of the CPU.", "%", Gauge),
    spec(
        "apache.load.1",
        "The average server load during the last minute.",
        "%",
        Gauge,
    ),
    spec(
        "apache.load.5",
        "The average server load during the last 5 minutes.",
        "%",
        Gauge,
    ),
    spec(
        "apache.load.15",
        "The average server load during the last 15 minutes.",
        "%",
        Gauge,
    ),
    spec(
        "apache.request.time",
        "Total time spent on handling requests.",
        "ms",
        Counter,
    ),
    spec(
        "apache.scoreboard",
        "The number of workers in each state.",
        "{workers}",
        UpDown,
    ),
];

/// A whole-number field: its name, the metric it feeds, and the point's attributes.
type Count = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const COUNTS: &[Count] = &[
    ("ServerUptimeSeconds", "apache.uptime", &[]),
    ("ConnsTotal", "apache.current_connections", &[]),
    ("BusyWorkers", "apache.workers", &[("state", "busy")]),
    ("IdleWorkers", "apache.workers", &[("state", "idle")]),
    ("Total Accesses", "apache.requests", &[]),
    ("Total Duration", "apache.request.time", &[]),
];

/// A decimal field (`CPUSystem: .01`): its name, the metric it feeds, and the point's attributes.
const DECIMALS: &[Count] = &[
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
    ("CPULoad", "apache.cpu.load", &[]),
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

/// Records what `fields` holds into `out`; returns the names of fields that were there but not numbers.
pub(super) fn record(fields: &BTreeMap<&str, &str>, out: &mut Builder<'_>) -> Vec<String> {
    let mut unreadable = Vec::new();
    for (field, metric, attributes) in COUNTS {
        let Some(text) = fields.get(field) else {
            continue;
        };
        match text.parse() {
            Ok(value) => out.int(metric, value, attributes),
            Err(_) => unreadable.push((*field).to_owned()),
        }
    }
    match fields.get("Total kBytes").map(|text| text.parse::<i64>()) {
        Some(Ok(kibibytes)) => out.int("apache.traffic", kibibytes.saturating_mul(1024), &[]),
        Some(Err(_)) => unreadable.push("Total kBytes".to_owned()),
        None => {}
    }
    // The CPU load is CPU time over uptime: in a server's first second Apache divides by 0 and prints what comes
    // of it (`0.e+79`).
    let first_second = fields.get("ServerUptimeSeconds") == Some(&"0");
    for (field, metric, attributes) in DECIMALS {
        let Some(text) = fields.get(field) else {
            continue;
        };
        if *field == "CPULoad" && first_second {
            continue;
        }
        // Apache prints these with C's `%g`, which writes `.01` for 0.01.
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => out.double(metric, value, attributes),
            _ => unreadable.push((*field).to_owned()),
        }
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
