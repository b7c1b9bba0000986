//! The `network` scraper: each interface's bytes, packets, errors and drops of `/proc/net/dev`, and the TCP
//! connections by state of `/proc/net/tcp` and `/proc/net/tcp6`.

use super::Host;
use super::filter::Select;
use super::metric::{Builder, Kind, Spec};
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.network.connections",
        description: "The number of connections.",
        unit: "{connections}",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "system.network.dropped",
        description: "The number of packets dropped.",
        unit: "{packets}",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.network.errors",
        description: "The number of errors encountered.",
        unit: "{errors}",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.network.io",
        description: "The number of bytes transmitted and received.",
        unit: "By",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.network.packets",
        description: "The number of packets transferred.",
        unit: "{packets}",
        kind: Kind::Counter,
        default: true,
    },
];

/// One interface's counters: (bytes, packets, errors, dropped), received then transmitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Interface {
    pub(super) name: String,
    pub(super) receive: [u64; 4],
    pub(super) transmit: [u64; 4],
}

/// The interfaces of `/proc/net/dev` (two header lines, then `name: rx-bytes rx-packets rx-errs rx-drop ... 8
/// receive columns, then tx-bytes tx-packets tx-errs tx-drop ...`).
pub(super) fn parse_dev(text: &str) -> Vec<Interface> {
    text.lines()
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let columns: Vec<u64> = counters
                .split_ascii_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            if columns.len() < 12 {
                return None;
            }
            Some(Interface {
                name: name.trim().to_owned(),
                receive: [columns[0], columns[1], columns[2], columns[3]],
                transmit: [columns[8], columns[9], columns[10], columns[11]],
            })
        })
        .collect()
}

/// TCP states by the kernel's number (`include/net/tcp_states.h`), with gopsutil's names that otelcol reports.
const TCP_STATES: [&str; 11] = [
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

/// Adds the connections of a `/proc/net/tcp` table (a header line, then `sl local remote st ...`, `st` in hex)
/// to `counts`, by [`TCP_STATES`]' order.
pub(super) fn count_tcp(text: &str, counts: &mut [i64; 11]) {
    for line in text.lines().skip(1) {
        let Some(state) = line.split_ascii_whitespace().nth(3) else {
            continue;
        };
        if let Ok(state) = u8::from_str_radix(state, 16)
            && let Some(count) = counts.get_mut(usize::from(state).wrapping_sub(1))
        {
            *count += 1;
        }
    }
}

pub(super) fn scrape(host: &Host, interfaces: &Select, out: &mut Builder<'_>) -> io::Result<()> {
    let metrics = [
        "system.network.io",
        "system.network.packets",
        "system.network.errors",
        "system.network.dropped",
    ];
    for interface in parse_dev(&host.read("proc/net/dev")?) {
        if !interfaces.passes(&interface.name) {
            continue;
        }
        for (direction, counters) in [
            ("receive", interface.receive),
            ("transmit", interface.transmit),
        ] {
            for (metric, value) in metrics.iter().zip(counters) {
                out.int(
                    metric,
                    value as i64,
                    &[("device", &interface.name), ("direction", direction)],
                );
            }
        }
    }
    if out.wants("system.network.connections") {
        let mut counts = [0i64; 11];
        // A host without IPv6 has no tcp6 table.
        for table in ["proc/net/tcp", "proc/net/tcp6"] {
            match host.read(table) {
                Ok(text) => count_tcp(&text, &mut counts),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        for (state, count) in TCP_STATES.iter().zip(counts) {
            out.int(
                "system.network.connections",
                count,
                &[("protocol", "tcp"), ("state", state)],
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
