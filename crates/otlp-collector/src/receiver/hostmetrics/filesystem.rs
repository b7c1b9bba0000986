//! The `filesystem` scraper: each mounted filesystem's bytes and inodes by state, from the mount table and
//! `statvfs`. Filesystems with no device of their own (`nodev` in `/proc/filesystems`: proc, tmpfs, overlay) are
//! left out unless `include_virtual_filesystems`, as otelcol does.

use super::Host;
use super::filter::Select;
use super::metric::{Builder, Kind, Spec};
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.filesystem.inodes.usage",
        description: "FileSystem inodes used.",
        unit: "{inodes}",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "system.filesystem.usage",
        description: "Filesystem bytes used.",
        unit: "By",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "system.filesystem.utilization",
        description: "Fraction of filesystem bytes used.",
        unit: "1",
        kind: Kind::Gauge,
        default: false,
    },
];

/// One line of a mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mount {
    pub(super) device: String,
    pub(super) mountpoint: String,
    pub(super) fs_type: String,
    /// `ro` or `rw`.
    pub(super) mode: &'static str,
}

/// The mounts of a `/proc/<pid>/mounts` table (`device mountpoint type options dump pass`, spaces in names written
/// as `\040`).
pub(super) fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let device = unescape(fields.next()?);
            let mountpoint = unescape(fields.next()?);
            let fs_type = fields.next()?.to_owned();
            let read_only = fields.next()?.split(',').any(|option| option == "ro");
            Some(Mount {
                device,
                mountpoint,
                fs_type,
                mode: if read_only { "ro" } else { "rw" },
            })
        })
        .collect()
}

/// The kernel's octal escapes (`\040` for a space) decoded.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The filesystem types `/proc/filesystems` marks `nodev`.
pub(super) fn virtual_types(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("nodev"))
        .map(|fs_type| fs_type.trim().to_owned())
        .collect()
}

/// What the filesystem scraper keeps.
#[derive(Debug, Clone, Default)]
pub(super) struct Selection {
    pub(super) devices: Select,
    pub(super) fs_types: Select,
    pub(super) mount_points: Select,
    pub(super) include_virtual: bool,
}

pub(super) fn scrape(host: &Host, selection: &Selection, out: &mut Builder<'_>) -> io::Result<()> {
    // Under `root_path` the host's mounts are init's: `self` would be this process's own mount namespace.
    let table = if host.is_root() {
        "proc/self/mounts"
    } else {
        "proc/1/mounts"
    };
    let mounts = parse_mounts(&host.read(table)?);
    let virtual_types = virtual_types(&host.read("proc/filesystems")?);
    for mount in mounts {
        let kept = (selection.include_virtual || !virtual_types.contains(&mount.fs_type))
            && selection.devices.passes(&mount.device)
            && selection.fs_types.passes(&mount.fs_type)
            && selection.mount_points.passes(&mount.mountpoint);
        if !kept {
            continue;
        }
        // A mount that cannot be read now (a stale network share, a permission) is skipped, as otelcol skips it.
        let Ok(stats) = rustix::fs::statvfs(host.path(&mount.mountpoint)) else {
            continue;
        };
        let block = stats.f_frsize;
        let used = stats.f_blocks.saturating_sub(stats.f_bfree) * block;
        let free = stats.f_bavail * block;
        let reserved = stats.f_bfree.saturating_sub(stats.f_bavail) * block;
        let attributes = [
            ("device", mount.device.as_str()),
            ("mode", mount.mode),
            ("mountpoint", mount.mountpoint.as_str()),
            ("type", mount.fs_type.as_str()),
        ];
        let with_state = |state| {
            [
                attributes[0],
                attributes[1],
                attributes[2],
                attributes[3],
                ("state", state),
            ]
        };
        for (state, bytes) in [("used", used), ("free", free), ("reserved", reserved)] {
            out.int("system.filesystem.usage", bytes as i64, &with_state(state));
        }
        let inodes_used = stats.f_files.saturating_sub(stats.f_ffree);
        for (state, inodes) in [("used", inodes_used), ("free", stats.f_ffree)] {
            out.int(
                "system.filesystem.inodes.usage",
                inodes as i64,
                &with_state(state),
            );
        }
        if used + free > 0 {
            out.double(
                "system.filesystem.utilization",
                used as f64 / (used + free) as f64,
                &attributes,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
