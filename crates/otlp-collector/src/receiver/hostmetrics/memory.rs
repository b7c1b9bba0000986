//! The `memory` scraper: `/proc/meminfo` broken down by state, as `free` (and gopsutil, which otelcol uses)
//! computes it: `cached` includes reclaimable slab, `used` is what no other state holds.

use super::Host;
use super::metric::{Builder, Kind, Spec};
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.memory.usage",
        description: "Bytes of memory in use.",
        unit: "By",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "system.memory.utilization",
        description: "Percentage of memory bytes in use.",
        unit: "1",
        kind: Kind::Gauge,
        default: false,
    },
];

/// Bytes by state, `total` first.
pub(super) fn states(meminfo: &str) -> Option<Vec<(&'static str, u64)>> {
    let field = |name: &str| -> Option<u64> {
        meminfo.lines().find_map(|line| {
            let (key, rest) = line.split_once(':')?;
            if key != name {
                return None;
            }
            let kib: u64 = rest.split_ascii_whitespace().next()?.parse().ok()?;
            Some(kib * 1024)
        })
    };
    let total = field("MemTotal")?;
    let free = field("MemFree")?;
    let buffers = field("Buffers").unwrap_or(0);
    let reclaimable = field("SReclaimable").unwrap_or(0);
    let cached = field("Cached").unwrap_or(0) + reclaimable;
    let used = total.saturating_sub(free + buffers + cached);
    Some(vec![
        ("total", total),
        ("used", used),
        ("free", free),
        ("buffered", buffers),
        ("cached", cached),
        ("slab_reclaimable", reclaimable),
        ("slab_unreclaimable", field("SUnreclaim").unwrap_or(0)),
    ])
}

pub(super) fn scrape(host: &Host, out: &mut Builder<'_>) -> io::Result<()> {
    let meminfo = host.read("proc/meminfo")?;
    let states = states(&meminfo)
        .ok_or_else(|| io::Error::other("/proc/meminfo has no MemTotal or MemFree"))?;
    let total = states[0].1;
    for (state, bytes) in &states {
        out.int("system.memory.usage", *bytes as i64, &[("state", state)]);
        if *state != "total" && total > 0 {
            out.double(
                "system.memory.utilization",
                *bytes as f64 / total as f64,
                &[("state", state)],
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
