//! The `process` scraper: each process's CPU, memory, disk and (optionally) paging, threads, context switches,
//! file descriptors and pending signals, under a resource of its own (pid, parent, executable, command, owner),
//! as otelcol's scraper reports them on Linux.
//!
//! Every process of `/proc` whose name passes `include`/`exclude` is read. A process that ended while being read
//! is left out without a word; what cannot be read of a live one (its executable link or I/O counters without the
//! permission, an owner `/etc/passwd` does not name) is logged once per scrape, unless the matching `mute_*`
//! setting is on, and the rest of it is still reported.

mod procfs;

use super::Host;
use super::config::ProcessSettings;
use super::filter::Select;
use super::metric::{Builder, Clock, Enabled, Kind, Spec};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use std::collections::HashMap;
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "process.context_switches",
        description: "Number of times the process has been context switched.",
        unit: "{count}",
        kind: Kind::Counter,
        default: false,
    },
    Spec {
        name: "process.cpu.time",
        description: "Total CPU seconds broken down by different states.",
        unit: "s",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "process.cpu.utilization",
        description: "Percentage of total CPU time used by the process since last scrape, expressed as a value \
                      between 0 and 1. On the first scrape, no data point is emitted for this metric.",
        unit: "1",
        kind: Kind::Gauge,
        default: false,
    },
    Spec {
        name: "process.disk.io",
        description: "Disk bytes transferred.",
        unit: "By",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "process.disk.operations",
        description: "Number of disk operations performed by the process.",
        unit: "{operations}",
        kind: Kind::Counter,
        default: false,
    },
    // Windows only in otelcol; listed so that toggling it is accepted, and never emitted here.
    Spec {
        name: "process.handles",
        description: "Number of handles held by the process.",
        unit: "{count}",
        kind: Kind::UpDown,
        default: false,
    },
    Spec {
        name: "process.memory.usage",
        description: "The amount of physical memory in use.",
        unit: "By",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "process.memory.utilization",
        description: "Percentage of total physical memory that is used by the process.",
        unit: "1",
        kind: Kind::Gauge,
        default: false,
    },
    Spec {
        name: "process.memory.virtual",
        description: "Virtual memory size.",
        unit: "By",
        kind: Kind::UpDown,
        default: true,
    },
    Spec {
        name: "process.open_file_descriptors",
        description: "Number of file descriptors in use by the process.",
        unit: "{count}",
        kind: Kind::UpDown,
        default: false,
    },
    Spec {
        name: "process.paging.faults",
        description: "Number of page faults the process has made.",
        unit: "{faults}",
        kind: Kind::Counter,
        default: false,
    },
    Spec {
        name: "process.signals_pending",
        description: "Number of pending signals for the process.",
        unit: "{signals}",
        kind: Kind::UpDown,
        default: false,
    },
    Spec {
        name: "process.threads",
        description: "Process threads count.",
        unit: "{threads}",
        kind: Kind::UpDown,
        default: false,
    },
];

/// The resource attributes otelcol's scraper can set, in its order, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[(&str, bool)] = &[
    ("process.pid", true),
    ("process.parent_pid", true),
    ("process.executable.name", true),
    ("process.executable.path", true),
    ("process.command", true),
    ("process.command_line", true),
    ("process.owner", true),
];

/// The kernel's `USER_HZ`: `/proc/<pid>/stat` counts in hundredths of a second on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// The scraper with its settings, and each process's CPU times at the last scrape (for utilization).
pub(super) struct Processes {
    select: Select,
    settings: ProcessSettings,
    /// The resource attributes to set.
    attributes: Vec<&'static str>,
    /// By pid: when the process started (a reused pid is another process), when it was read, and its CPU
    /// seconds (user, system, wait).
    last: HashMap<u32, (u64, u64, [f64; 3])>,
}

/// What one process is, for its resource.
struct Identity {
    pid: u32,
    parent_pid: i64,
    name: String,
    executable: String,
    command: Vec<String>,
    owner: Option<String>,
}

impl Processes {
    pub(super) fn new(settings: &ProcessSettings) -> Result<Self, String> {
        Ok(Processes {
            select: settings.names()?,
            attributes: RESOURCE_ATTRIBUTES
                .iter()
                .filter(|(name, default)| {
                    settings
                        .resource_attributes
                        .get(*name)
                        .map_or(*default, |toggle| toggle.enabled)
                })
                .map(|(name, _)| *name)
                .collect(),
            settings: settings.clone(),
            last: HashMap::new(),
        })
    }

    /// Every selected process as a resource and its metrics.
    pub(super) fn scrape(
        &mut self,
        host: &Host,
        enabled: &Enabled,
        clock: Clock,
    ) -> io::Result<Vec<(Resource, Vec<Metric>)>> {
        let passwd = host.read("etc/passwd").unwrap_or_default();
        let wants = |name: &str| enabled.on(name);
        let memory_total = if wants("process.memory.utilization") {
            host.read("proc/meminfo")
                .ok()
                .map(|text| procfs::kilobytes(&procfs::status(&text), "MemTotal"))
        } else {
            None
        };
        let cpus = super::cpu::parse_stat(&host.read("proc/stat")?)
            .len()
            .max(1) as f64;
        let mut problems = Vec::new();
        let mut seen = HashMap::new();
        let mut resources = Vec::new();
        for entry in std::fs::read_dir(host.path("/proc"))? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let dir = format!("proc/{pid}");
            // A process that ended since the directory was listed: nothing to say.
            let (Ok(stat_text), Ok(status_text)) = (
                host.read(&format!("{dir}/stat")),
                host.read(&format!("{dir}/status")),
            ) else {
                continue;
            };
            let (Some(stat), status) = (procfs::stat(&stat_text), procfs::status(&status_text))
            else {
                continue;
            };
            let Some(status_name) = status.get("Name") else {
                if !self.settings.mute_process_name_error {
                    problems.push(format!("pid {pid}: no name in its status"));
                }
                continue;
            };
            let command = std::fs::read(host.path(&format!("/{dir}/cmdline")))
                .map(|bytes| procfs::cmdline(&bytes))
                .unwrap_or_default();
            let name = procfs::name(status_name, &command);
            if !self.select.passes(&name) {
                continue;
            }
            let executable = match std::fs::read_link(host.path(&format!("/{dir}/exe"))) {
                Ok(path) => path.display().to_string(),
                Err(e) => {
                    if !self.settings.mute_process_exe_error {
                        problems.push(format!("{name} (pid {pid}): its executable: {e}"));
                    }
                    String::new()
                }
            };
            let owner = procfs::uid(&status).and_then(|uid| procfs::user_name(&passwd, uid));
            if owner.is_none() && !self.settings.mute_process_user_error {
                problems.push(format!(
                    "{name} (pid {pid}): its owner is not in /etc/passwd"
                ));
            }
            let created = clock.start + (stat.start_ticks as f64 / TICKS_PER_SECOND * 1e9) as u64;
            if clock.now.saturating_sub(created)
                < self.settings.scrape_process_delay.as_nanos() as u64
            {
                continue;
            }
            let mut out = Builder::new(
                SPECS,
                enabled,
                Clock {
                    now: clock.now,
                    start: created,
                },
            );
            let seconds = [stat.user_ticks, stat.system_ticks, stat.iowait_ticks]
                .map(|ticks| ticks as f64 / TICKS_PER_SECOND);
            for (state, value) in ["user", "system", "wait"].into_iter().zip(seconds) {
                out.double("process.cpu.time", value, &[("state", state)]);
            }
            if let Some((started, at, before)) = self.last.get(&pid).copied()
                && started == created
                && clock.now > at
            {
                let elapsed = (clock.now - at) as f64 / 1e9;
                for ((state, now), before) in ["user", "system", "wait"]
                    .into_iter()
                    .zip(seconds)
                    .zip(before)
                {
                    out.double(
                        "process.cpu.utilization",
                        ((now - before) / elapsed / cpus).max(0.0),
                        &[("state", state)],
                    );
                }
            }
            seen.insert(pid, (created, clock.now, seconds));
            let rss = procfs::kilobytes(&status, "VmRSS");
            out.int("process.memory.usage", rss, &[]);
            out.int(
                "process.memory.virtual",
                procfs::kilobytes(&status, "VmSize"),
                &[],
            );
            if let Some(total) = memory_total.filter(|total| *total > 0) {
                // In percent, as otelcol's (gopsutil's `MemoryPercent`), whatever the unit says.
                out.double(
                    "process.memory.utilization",
                    100.0 * rss as f64 / total as f64,
                    &[],
                );
            }
            if out.wants("process.disk.io") || out.wants("process.disk.operations") {
                match host
                    .read(&format!("{dir}/io"))
                    .ok()
                    .and_then(|text| procfs::io(&text))
                {
                    Some(io) => {
                        out.int("process.disk.io", io.read_bytes, &[("direction", "read")]);
                        out.int("process.disk.io", io.write_bytes, &[("direction", "write")]);
                        out.int(
                            "process.disk.operations",
                            io.read_calls,
                            &[("direction", "read")],
                        );
                        out.int(
                            "process.disk.operations",
                            io.write_calls,
                            &[("direction", "write")],
                        );
                    }
                    None if !self.settings.mute_process_io_error => {
                        problems.push(format!(
                            "{name} (pid {pid}): its I/O counters are not readable"
                        ));
                    }
                    None => {}
                }
            }
            out.int(
                "process.paging.faults",
                stat.major_faults,
                &[("type", "major")],
            );
            out.int(
                "process.paging.faults",
                stat.minor_faults,
                &[("type", "minor")],
            );
            out.int("process.threads", stat.threads, &[]);
            for (key, kind) in [
                ("nonvoluntary_ctxt_switches", "involuntary"),
                ("voluntary_ctxt_switches", "voluntary"),
            ] {
                if let Some(count) = status.get(key).and_then(|v| v.parse::<i64>().ok()) {
                    out.int("process.context_switches", count, &[("type", kind)]);
                }
            }
            if out.wants("process.open_file_descriptors")
                && let Ok(fds) = std::fs::read_dir(host.path(&format!("/{dir}/fd")))
            {
                out.int("process.open_file_descriptors", fds.count() as i64, &[]);
            }
            if let Some(queued) = procfs::signals_queued(&status) {
                out.int("process.signals_pending", queued, &[]);
            }
            let metrics = out.finish();
            if metrics.is_empty() {
                continue;
            }
            let identity = Identity {
                pid,
                parent_pid: stat.parent_pid,
                name,
                executable,
                command,
                owner,
            };
            resources.push((self.resource(&identity), metrics));
        }
        self.last = seen;
        if !problems.is_empty() {
            tracing::warn!(
                count = problems.len(),
                first = ?&problems[..problems.len().min(3)],
                "the process scraper could not read everything of some processes (each `mute_process_*_error` \
                 setting silences its kind)"
            );
        }
        Ok(resources)
    }

    fn resource(&self, identity: &Identity) -> Resource {
        let int = |value: i64| AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        };
        let attributes: Vec<KeyValue> = self
            .attributes
            .iter()
            .filter_map(|name| {
                let value = match *name {
                    "process.pid" => int(i64::from(identity.pid)),
                    "process.parent_pid" => int(identity.parent_pid),
                    "process.executable.name" => string_value(&identity.name),
                    "process.executable.path" => string_value(&identity.executable),
                    "process.command" => {
                        string_value(identity.command.first().map_or("", String::as_str))
                    }
                    "process.command_line" => string_value(identity.command.join(" ")),
                    "process.owner" => string_value(identity.owner.as_deref()?),
                    _ => return None,
                };
                Some(key_value(*name, value))
            })
            .collect();
        Resource {
            attributes,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests;
