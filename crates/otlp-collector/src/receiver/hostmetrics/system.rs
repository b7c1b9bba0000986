//! The `system` scraper: the host's uptime, from `/proc/uptime`.

use super::Host;
use super::metric::{Builder, Kind, Spec};
use std::io;

pub(super) const SPECS: &[Spec] = &[Spec {
    name: "system.uptime",
    description: "The time the system has been running",
    unit: "s",
    kind: Kind::Gauge,
    default: true,
}];

/// The seconds since boot, the first field of `/proc/uptime`.
pub(super) fn parse(uptime: &str) -> Option<f64> {
    uptime.split_ascii_whitespace().next()?.parse().ok()
}

pub(super) fn scrape(host: &Host, out: &mut Builder<'_>) -> io::Result<()> {
    let uptime = parse(&host.read("proc/uptime")?)
        .ok_or_else(|| io::Error::other("/proc/uptime does not start with a number"))?;
    out.double("system.uptime", uptime, &[]);
    Ok(())
}

#[cfg(test)]
mod tests;
