//! The `disk` scraper: each block device's operations, bytes, merges and times of `/proc/diskstats`.

use super::Host;
use super::filter::Select;
use super::metric::{Builder, Kind, Spec};
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.disk.io",
        description: "Disk bytes transferred.",
        unit: "By",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.disk.io_time",
        description: "Time disk spent activated.",
        unit: "s",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.disk.merged",
        description: "The number of disk reads merged into single physical disk access operations.",
        unit: "{operations}",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.disk.operation_time",
        description: "Time spent in disk operations.",
        unit: "s",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.disk.operations",
        description: "Disk operations count.",
        unit: "{operations}",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.disk.pending_operations",
        description: "The queue size of pending I/O operations.",
        unit: "{operations}",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "system.disk.weighted_io_time",
        description: "Time disk spent activated multiplied by the queue length.",
        unit: "s",
        kind: Kind::Counter,
        default: true,
    },
];

/// `/proc/diskstats` counts sectors of 512 bytes, whatever the device's own sector size.
const SECTOR: u64 = 512;

/// One device's line of `/proc/diskstats`: `major minor name` then the kernel's counters
/// (`Documentation/admin-guide/iostats.rst`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DiskStats {
    pub(super) device: String,
    /// Completed, merged, sectors, milliseconds: reads, then writes.
    pub(super) read: [u64; 4],
    pub(super) write: [u64; 4],
    pub(super) in_progress: u64,
    pub(super) io_ms: u64,
    pub(super) weighted_ms: u64,
}

pub(super) fn parse(text: &str) -> Vec<DiskStats> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            if fields.len() < 14 {
                return None;
            }
            let n: Vec<u64> = fields[3..14]
                .iter()
                .map(|f| f.parse())
                .collect::<Result<_, _>>()
                .ok()?;
            Some(DiskStats {
                device: fields[2].to_owned(),
                read: [n[0], n[1], n[2], n[3]],
                write: [n[4], n[5], n[6], n[7]],
                in_progress: n[8],
                io_ms: n[9],
                weighted_ms: n[10],
            })
        })
        .collect()
}

pub(super) fn scrape(host: &Host, devices: &Select, out: &mut Builder<'_>) -> io::Result<()> {
    for disk in parse(&host.read("proc/diskstats")?) {
        if !devices.passes(&disk.device) {
            continue;
        }
        let device = disk.device.as_str();
        for (direction, [completed, merged, sectors, ms]) in
            [("read", disk.read), ("write", disk.write)]
        {
            let attributes = [("device", device), ("direction", direction)];
            out.int("system.disk.io", (sectors * SECTOR) as i64, &attributes);
            out.int("system.disk.operations", completed as i64, &attributes);
            out.int("system.disk.merged", merged as i64, &attributes);
            out.double("system.disk.operation_time", ms as f64 / 1e3, &attributes);
        }
        out.double(
            "system.disk.io_time",
            disk.io_ms as f64 / 1e3,
            &[("device", device)],
        );
        out.double(
            "system.disk.weighted_io_time",
            disk.weighted_ms as f64 / 1e3,
            &[("device", device)],
        );
        out.int(
            "system.disk.pending_operations",
            disk.in_progress as i64,
            &[("device", device)],
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
