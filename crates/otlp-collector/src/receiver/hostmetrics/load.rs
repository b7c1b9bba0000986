//! The `load` scraper: the load averages of `/proc/loadavg`, per CPU with `cpu_average`.

use super::Host;
use super::metric::{Builder, Kind, Spec};
use std::io;

// `{thread}` as otelcol's scraper (not `1`, a ratio): Prometheus names a gauge of unit `1` with `_ratio`, and
// dashboards built on otelcol's `system_cpu_load_average_1m` would find nothing.
pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.cpu.load_average.1m",
        description: "Average CPU Load over 1 minute.",
        unit: "{thread}",
        kind: Kind::Gauge,
        default: true,
    },
    Spec {
        name: "system.cpu.load_average.5m",
        description: "Average CPU Load over 5 minutes.",
        unit: "{thread}",
        kind: Kind::Gauge,
        default: true,
    },
    Spec {
        name: "system.cpu.load_average.15m",
        description: "Average CPU Load over 15 minutes.",
        unit: "{thread}",
        kind: Kind::Gauge,
        default: true,
    },
];

/// The three averages of `/proc/loadavg`.
pub(super) fn parse(loadavg: &str) -> Option<[f64; 3]> {
    let mut fields = loadavg.split_ascii_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

pub(super) fn scrape(host: &Host, cpu_average: bool, out: &mut Builder<'_>) -> io::Result<()> {
    let averages = parse(&host.read("proc/loadavg")?)
        .ok_or_else(|| io::Error::other("/proc/loadavg is not three numbers"))?;
    let divisor = if cpu_average {
        super::cpu::parse_stat(&host.read("proc/stat")?)
            .len()
            .max(1) as f64
    } else {
        1.0
    };
    for (spec, average) in SPECS.iter().zip(averages) {
        out.double(spec.name, average / divisor, &[]);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
