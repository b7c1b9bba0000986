//! The `paging` scraper: swap devices' use from `/proc/swaps`, page faults and paging operations from
//! `/proc/vmstat`.

use super::Host;
use super::metric::{Builder, Kind, Spec};
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.paging.faults",
        description: "The number of page faults.",
        unit: "{faults}",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.paging.operations",
        description: "The number of paging operations.",
        unit: "{operations}",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.paging.usage",
        description: "Swap (unix) or pagefile (windows) usage.",
        unit: "By",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "system.paging.utilization",
        description: "Swap (unix) or pagefile (windows) utilization.",
        unit: "1",
        kind: Kind::Gauge,
        default: false,
    },
];

/// Each swap device of `/proc/swaps` (a header line, then `Filename Type Size Used Priority`, sizes in KiB) as
/// (device, size bytes, used bytes).
pub(super) fn parse_swaps(text: &str) -> Vec<(String, u64, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let size: u64 = fields.get(2)?.parse().ok()?;
            let used: u64 = fields.get(3)?.parse().ok()?;
            Some((fields[0].to_owned(), size * 1024, used * 1024))
        })
        .collect()
}

/// A counter of `/proc/vmstat` (`name value` lines).
pub(super) fn vmstat(text: &str, name: &str) -> Option<i64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

pub(super) fn scrape(host: &Host, out: &mut Builder<'_>) -> io::Result<()> {
    if out.wants("system.paging.usage") || out.wants("system.paging.utilization") {
        for (device, size, used) in parse_swaps(&host.read("proc/swaps")?) {
            let free = size.saturating_sub(used);
            for (state, bytes) in [("used", used), ("free", free)] {
                out.int(
                    "system.paging.usage",
                    bytes as i64,
                    &[("device", &device), ("state", state)],
                );
                if size > 0 {
                    let share = bytes as f64 / size as f64;
                    out.double(
                        "system.paging.utilization",
                        share,
                        &[("device", &device), ("state", state)],
                    );
                }
            }
        }
    }
    if out.wants("system.paging.faults") || out.wants("system.paging.operations") {
        let text = host.read("proc/vmstat")?;
        let counter = |name: &str| vmstat(&text, name).unwrap_or(0);
        let major = counter("pgmajfault");
        out.int("system.paging.faults", major, &[("type", "major")]);
        out.int(
            "system.paging.faults",
            counter("pgfault") - major,
            &[("type", "minor")],
        );
        // Swap-ins and -outs are the major operations, page-ins and -outs the minor ones, as otelcol has them.
        // The kernel's counts are written as they are (swaps in pages, `pgpg*` in KiB); gopsutil, and so
        // otelcol, multiplies each by 4096 into bytes under a unit of operations.
        for (name, direction, kind) in [
            ("pswpin", "page_in", "major"),
            ("pswpout", "page_out", "major"),
            ("pgpgin", "page_in", "minor"),
            ("pgpgout", "page_out", "minor"),
        ] {
            out.int(
                "system.paging.operations",
                counter(name),
                &[("direction", direction), ("type", kind)],
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
