//! The `hostmetrics` receiver's settings, with otelcol-contrib's keys.

use super::filter::{Devices, FsTypes, Interfaces, Matcher, MountPoints, ProcessNames, Select};
use super::metric::{Spec, Toggle, unknown_toggles};
use super::{cpu, disk, filesystem, load, memory, network, paging, process, processes, system};
use crate::component::Invalid;
use crate::de;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `hostmetrics` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostMetricsConfig {
    /// How often every scraper runs.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first scrape runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// Where the host's filesystem is mounted when the collector runs in a container (`/hostfs`): its `/proc`
    /// and mount points are read under it.
    pub root_path: String,
    /// The scrapers to run, each with its settings.
    pub scrapers: Scrapers,
}

impl Default for HostMetricsConfig {
    fn default() -> Self {
        HostMetricsConfig {
            collection_interval: Duration::from_secs(60),
            initial_delay: Duration::from_secs(1),
            root_path: String::new(),
            scrapers: Scrapers::default(),
        }
    }
}

/// `scrapers`: a key per scraper; one written with no value runs with its defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scrapers {
    /// CPU time per state and logical CPU.
    #[serde(default, deserialize_with = "de::present")]
    pub cpu: Option<MetricsOnly>,
    /// Memory by state.
    #[serde(default, deserialize_with = "de::present")]
    pub memory: Option<MetricsOnly>,
    /// Load averages.
    #[serde(default, deserialize_with = "de::present")]
    pub load: Option<LoadSettings>,
    /// Interfaces' traffic and TCP connections.
    #[serde(default, deserialize_with = "de::present")]
    pub network: Option<NetworkSettings>,
    /// Block devices' I/O.
    #[serde(default, deserialize_with = "de::present")]
    pub disk: Option<DiskSettings>,
    /// Mounted filesystems' space and inodes.
    #[serde(default, deserialize_with = "de::present")]
    pub filesystem: Option<FilesystemSettings>,
    /// Swap and page faults.
    #[serde(default, deserialize_with = "de::present")]
    pub paging: Option<MetricsOnly>,
    /// Processes by state, and processes created.
    #[serde(default, deserialize_with = "de::present")]
    pub processes: Option<MetricsOnly>,
    /// The host's uptime.
    #[serde(default, deserialize_with = "de::present")]
    pub system: Option<MetricsOnly>,
    /// Each process's CPU, memory and disk, under a resource of its own.
    #[serde(default, deserialize_with = "de::present")]
    pub process: Option<ProcessSettings>,
}

/// The `process` scraper's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessSettings {
    /// Only processes with these executable names.
    pub include: Option<ProcessNames>,
    /// Not processes with these executable names.
    pub exclude: Option<ProcessNames>,
    /// Say nothing of processes without a name (they are left out either way).
    pub mute_process_name_error: bool,
    /// Say nothing of processes whose executable link cannot be read (kernel threads; others' processes
    /// without root).
    pub mute_process_exe_error: bool,
    /// Say nothing of processes whose I/O counters cannot be read (others' processes without root).
    pub mute_process_io_error: bool,
    /// Say nothing of processes whose owner `/etc/passwd` does not name (users of a container only).
    pub mute_process_user_error: bool,
    /// Accepted as otelcol's: this scraper reads no cgroups.
    pub mute_process_cgroup_error: bool,
    /// Leave out processes younger than this.
    #[serde(deserialize_with = "de::duration")]
    pub scrape_process_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`.
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl ProcessSettings {
    pub(super) fn names(&self) -> Result<Select, String> {
        select(&self.include, &self.exclude, ProcessNames::matcher)
    }
}

/// A scraper's `metrics` toggles alone.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsOnly {
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

/// The `load` scraper's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadSettings {
    /// Divide each average by the number of logical CPUs.
    pub cpu_average: bool,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

/// The `network` scraper's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    /// Only these interfaces.
    pub include: Option<Interfaces>,
    /// Not these interfaces.
    pub exclude: Option<Interfaces>,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

/// The `disk` scraper's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskSettings {
    /// Only these devices.
    pub include: Option<Devices>,
    /// Not these devices.
    pub exclude: Option<Devices>,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

/// The `filesystem` scraper's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesystemSettings {
    /// Only these devices.
    pub include_devices: Option<Devices>,
    /// Not these devices.
    pub exclude_devices: Option<Devices>,
    /// Only these filesystem types.
    pub include_fs_types: Option<FsTypes>,
    /// Not these filesystem types.
    pub exclude_fs_types: Option<FsTypes>,
    /// Only these mount points.
    pub include_mount_points: Option<MountPoints>,
    /// Not these mount points.
    pub exclude_mount_points: Option<MountPoints>,
    /// Also filesystems without a device of their own (tmpfs, overlay, proc).
    pub include_virtual_filesystems: bool,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

/// Both sides of a filter, compiled.
fn select<F>(
    include: &Option<F>,
    exclude: &Option<F>,
    matcher: impl Fn(&F) -> Result<Matcher, String>,
) -> Result<Select, String> {
    let include = include.as_ref().map(&matcher).transpose()?;
    let exclude = exclude.as_ref().map(&matcher).transpose()?;
    Ok(Select::new(include, exclude))
}

impl NetworkSettings {
    pub(super) fn interfaces(&self) -> Result<Select, String> {
        select(&self.include, &self.exclude, Interfaces::matcher)
    }
}

impl DiskSettings {
    pub(super) fn devices(&self) -> Result<Select, String> {
        select(&self.include, &self.exclude, Devices::matcher)
    }
}

impl FilesystemSettings {
    pub(super) fn selection(&self) -> Result<filesystem::Selection, String> {
        Ok(filesystem::Selection {
            devices: select(
                &self.include_devices,
                &self.exclude_devices,
                Devices::matcher,
            )?,
            fs_types: select(
                &self.include_fs_types,
                &self.exclude_fs_types,
                FsTypes::matcher,
            )?,
            mount_points: select(
                &self.include_mount_points,
                &self.exclude_mount_points,
                MountPoints::matcher,
            )?,
            include_virtual: self.include_virtual_filesystems,
        })
    }
}

/// Each configured scraper: its name, its metrics and their toggles.
pub(super) fn toggles(
    scrapers: &Scrapers,
) -> Vec<(&'static str, &'static [Spec], &BTreeMap<String, Toggle>)> {
    let mut all = Vec::new();
    if let Some(s) = &scrapers.cpu {
        all.push(("cpu", cpu::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.memory {
        all.push(("memory", memory::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.load {
        all.push(("load", load::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.network {
        all.push(("network", network::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.disk {
        all.push(("disk", disk::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.filesystem {
        all.push(("filesystem", filesystem::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.paging {
        all.push(("paging", paging::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.processes {
        all.push(("processes", processes::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.system {
        all.push(("system", system::SPECS, &s.metrics));
    }
    if let Some(s) = &scrapers.process {
        all.push(("process", process::SPECS, &s.metrics));
    }
    all
}

impl HostMetricsConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        let configured = toggles(&self.scrapers);
        if configured.is_empty() {
            problems.push(Invalid::at(
                "scrapers",
                "name at least one scraper: cpu, memory, load, network, disk, filesystem, paging, processes, system, \
                 process",
            ));
        }
        for (scraper, specs, toggles) in configured {
            problems.extend(unknown_toggles(
                &format!("scrapers.{scraper}.metrics"),
                specs,
                toggles,
            ));
        }
        let filters = [
            (
                "scrapers.network",
                self.scrapers
                    .network
                    .as_ref()
                    .map(|n| n.interfaces().map(drop)),
            ),
            (
                "scrapers.disk",
                self.scrapers.disk.as_ref().map(|d| d.devices().map(drop)),
            ),
            (
                "scrapers.filesystem",
                self.scrapers
                    .filesystem
                    .as_ref()
                    .map(|f| f.selection().map(drop)),
            ),
            (
                "scrapers.process",
                self.scrapers.process.as_ref().map(|p| p.names().map(drop)),
            ),
        ];
        for (key, verdict) in filters {
            if let Some(Err(message)) = verdict {
                problems.push(Invalid::at(key, message));
            }
        }
        if let Some(process) = &self.scrapers.process {
            for (name, toggle) in &process.resource_attributes {
                let known: Vec<&str> = process::RESOURCE_ATTRIBUTES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                if name == "process.cgroup" {
                    if toggle.enabled {
                        problems.push(Invalid::at(
                            format!("scrapers.process.resource_attributes.{name}"),
                            "not available here: this scraper reads no cgroups; leave it disabled",
                        ));
                    }
                } else if !known.contains(&name.as_str()) {
                    problems.push(Invalid::at(
                        format!("scrapers.process.resource_attributes.{name}"),
                        format!(
                            "there is no resource attribute `{name}` here; there are: {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        if !self.root_path.is_empty() && !std::path::Path::new(&self.root_path).is_dir() {
            problems.push(Invalid::at(
                "root_path",
                format!(
                    "`{}` is not a directory (the host's filesystem, mounted in the container)",
                    self.root_path
                ),
            ));
        }
        Invalid::all(problems)
    }
}
