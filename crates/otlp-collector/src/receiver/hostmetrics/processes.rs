//! The `processes` scraper: how many processes are in each state, and how many were created since boot, as
//! otelcol's scraper counts them on Linux.
//!
//! Its counts mix two views, as otelcol's do (gopsutil): each process's state is read from `/proc/<pid>/stat`,
//! then `running` and `blocked` are replaced by the kernel's own `procs_running` and `procs_blocked` of
//! `/proc/stat`, which count runnable and uninterruptible *tasks* (threads included), and `unknown` takes what
//! remains up to the kernel's task total (the last field of `/proc/loadavg`), so the states sum to it.

use super::Host;
use super::metric::{Builder, Kind, Spec};
use std::collections::BTreeMap;
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.processes.count",
        description: "Total number of processes in each state.",
        unit: "{processes}",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "system.processes.created",
        description: "Total number of created processes.",
        unit: "{processes}",
        kind: Kind::Counter,
        default: true,
    },
];

/// otelcol's `status` for a state letter of `/proc/<pid>/stat` (gopsutil's reading of `ps`'s letters).
pub(super) fn status(letter: char) -> &'static str {
    match letter {
        'A' => "daemon",
        'D' | 'U' => "blocked",
        'E' => "detached",
        'I' => "idle",
        'L' => "locked",
        'O' => "orphan",
        'R' => "running",
        'S' => "sleeping",
        'T' | 't' => "stopped",
        'W' => "paging",
        'Y' => "system",
        'Z' => "zombies",
        _ => "unknown",
    }
}

/// The state letter of a `/proc/<pid>/stat` line: the field after the command, which is in parentheses and may
/// itself hold spaces and parentheses.
pub(super) fn state_letter(stat: &str) -> Option<char> {
    let (_, after) = stat.rsplit_once(')')?;
    after.trim_start().chars().next()
}

/// What `/proc/stat` and `/proc/loadavg` say about tasks.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tasks {
    pub(super) created: Option<i64>,
    pub(super) running: i64,
    pub(super) blocked: i64,
    pub(super) total: Option<i64>,
}

/// `processes`, `procs_running` and `procs_blocked` of `/proc/stat`, and the total of `/proc/loadavg`'s
/// `running/total` field.
pub(super) fn tasks(stat: &str, loadavg: &str) -> Tasks {
    let mut tasks = Tasks::default();
    for line in stat.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<i64>() else {
            continue;
        };
        match key {
            "processes" => tasks.created = Some(value),
            "procs_running" => tasks.running = value,
            "procs_blocked" => tasks.blocked = value,
            _ => {}
        }
    }
    tasks.total = loadavg
        .split_ascii_whitespace()
        .nth(3)
        .and_then(|field| field.split_once('/'))
        .and_then(|(_, total)| total.parse().ok());
    tasks
}

/// The count of each status: the processes' own, with `running` and `blocked` from the kernel's task counts and
/// `unknown` making up the kernel's total.
pub(super) fn counts(
    states: impl IntoIterator<Item = char>,
    tasks: &Tasks,
) -> BTreeMap<&'static str, i64> {
    let mut counts = BTreeMap::new();
    for letter in states {
        *counts.entry(status(letter)).or_insert(0) += 1;
    }
    counts.insert("running", tasks.running);
    counts.insert("blocked", tasks.blocked);
    let known: i64 = counts.values().sum();
    if let Some(total) = tasks.total
        && total > known
    {
        *counts.entry("unknown").or_insert(0) += total - known;
    }
    counts
}

pub(super) fn scrape(host: &Host, out: &mut Builder<'_>) -> io::Result<()> {
    let tasks = tasks(&host.read("proc/stat")?, &host.read("proc/loadavg")?);
    if out.wants("system.processes.count") {
        let mut states = Vec::new();
        for entry in std::fs::read_dir(host.path("/proc"))? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            // A process that ended since the directory was listed is not counted, as otelcol does.
            if let Some(letter) = host
                .read(&format!("proc/{pid}/stat"))
                .ok()
                .and_then(|stat| state_letter(&stat))
            {
                states.push(letter);
            }
        }
        for (status, count) in counts(states, &tasks) {
            out.int("system.processes.count", count, &[("status", status)]);
        }
    }
    if let Some(created) = tasks.created {
        out.int("system.processes.created", created, &[]);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
