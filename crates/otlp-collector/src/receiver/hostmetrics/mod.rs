//! The `hostmetrics` receiver (otelcol-contrib's, Linux): the host's CPU, memory, load, network, disk, filesystem,
//! paging, process-count and uptime metrics and each process's, read from `/proc` and `statvfs` every
//! `collection_interval`, with otelcol's metric names, units and attributes, so dashboards built on otelcol's keep
//! working.
//!
//! ```yaml
//! receivers:
//!   hostmetrics:
//!     collection_interval: 30s
//!     scrapers:
//!       cpu:
//!       memory: { metrics: { system.memory.utilization: { enabled: true } } }
//!       network: { exclude: { interfaces: ["lo"], match_type: strict } }
//!       process: { include: { names: ["redis-server"], match_type: strict } }
//! ```
//!
//! Each scraper is a file (`cpu.rs`, `memory.rs`, …) that parses its `/proc` tables (tested on fixtures) and
//! records points through the shared `scraper::metric`, which leaves out the metrics the settings disable. Sums
//! are cumulative since boot (a process's, since it started). Each scrape is one request: a resource per scraper
//! (empty, as otelcol's: add host attributes with the `resourcedetection` processor), or per process for
//! `process`, under the scraper's otelcol scope name; a scraper that fails is logged and the others still report.

mod config;
mod cpu;
mod disk;
mod filesystem;
mod filter;
mod load;
mod memory;
mod network;
mod paging;
mod process;
mod processes;
mod system;

pub use super::scraper::metric::Toggle;
pub use config::{
    DiskSettings, FilesystemSettings, HostMetricsConfig, LoadSettings, MetricsOnly,
    NetworkSettings, ProcessSettings, Scrapers,
};
pub use filter::{Devices, FsTypes, Interfaces, MatchType, MountPoints, ProcessNames};

use super::RunningReceiver;
use super::scraper::{self, Scrape, metric};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use filter::Select;
use metric::{Builder, Clock, Enabled};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

/// The `hostmetrics` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = HostMetricsConfig;
    const TYPE: &'static str = "hostmetrics";

    fn validate(&self, config: &HostMetricsConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &HostMetricsConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let root = if config.root_path.is_empty() {
            "/"
        } else {
            &config.root_path
        };
        let scrapers =
            Running::build(&config.scrapers).map_err(|message| context.start_error(message))?;
        let scraper = HostScraper {
            scrapers,
            root: PathBuf::from(root),
            id: context.id.clone(),
        };
        Ok(scraper::start(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

/// The configured scrapers, reading the host under its root path.
struct HostScraper {
    scrapers: Running,
    root: PathBuf,
    id: String,
}

impl Scrape for HostScraper {
    fn scrape(&mut self) -> impl Future<Output = Option<ExportMetricsServiceRequest>> + Send {
        let request = self.scrapers.scrape(&self.root, &self.id);
        std::future::ready(Some(request))
    }
}

/// What a scraper reads the host through: its files, under the root path.
pub(super) struct Host {
    root: PathBuf,
}

impl Host {
    /// The text of `relative` (`proc/stat`) under the root path; the error names the file.
    fn read(&self, relative: &str) -> io::Result<String> {
        let path = self.root.join(relative);
        std::fs::read_to_string(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    /// An absolute path of the host (a mount point) under the root path.
    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    fn is_root(&self) -> bool {
        self.root == Path::new("/")
    }
}

/// One configured scraper, with its enabled metrics and settings.
enum Scraper {
    Cpu(cpu::Cpu),
    Memory,
    Load { cpu_average: bool },
    Network(Select),
    Disk(Select),
    Filesystem(filesystem::Selection),
    Paging,
    Processes,
    System,
    Process(Box<process::Processes>),
}

impl Scraper {
    fn name(&self) -> &'static str {
        match self {
            Scraper::Cpu(_) => "cpu",
            Scraper::Memory => "memory",
            Scraper::Load { .. } => "load",
            Scraper::Network(_) => "network",
            Scraper::Disk(_) => "disk",
            Scraper::Filesystem(_) => "filesystem",
            Scraper::Paging => "paging",
            Scraper::Processes => "processes",
            Scraper::System => "system",
            Scraper::Process(_) => "process",
        }
    }

    fn specs(&self) -> &'static [metric::Spec] {
        match self {
            Scraper::Cpu(_) => cpu::SPECS,
            Scraper::Memory => memory::SPECS,
            Scraper::Load { .. } => load::SPECS,
            Scraper::Network(_) => network::SPECS,
            Scraper::Disk(_) => disk::SPECS,
            Scraper::Filesystem(_) => filesystem::SPECS,
            Scraper::Paging => paging::SPECS,
            Scraper::Processes => processes::SPECS,
            Scraper::System => system::SPECS,
            Scraper::Process(_) => process::SPECS,
        }
    }

    /// Each resource the scraper reports on and its metrics: the host alone (an empty resource, as otelcol's),
    /// or each process.
    fn scrape(
        &mut self,
        host: &Host,
        enabled: &Enabled,
        clock: Clock,
    ) -> io::Result<Vec<(Resource, Vec<Metric>)>> {
        if let Scraper::Process(processes) = self {
            return processes.scrape(host, enabled, clock);
        }
        let mut out = Builder::new(self.specs(), enabled, clock);
        self.scrape_host(host, &mut out)?;
        Ok(vec![(Resource::default(), out.finish())])
    }

    fn scrape_host(&mut self, host: &Host, out: &mut Builder<'_>) -> io::Result<()> {
        match self {
            Scraper::Cpu(cpu) => cpu.scrape(host, out),
            Scraper::Memory => memory::scrape(host, out),
            Scraper::Load { cpu_average } => load::scrape(host, *cpu_average, out),
            Scraper::Network(interfaces) => network::scrape(host, interfaces, out),
            Scraper::Disk(devices) => disk::scrape(host, devices, out),
            Scraper::Filesystem(selection) => filesystem::scrape(host, selection, out),
            Scraper::Paging => paging::scrape(host, out),
            Scraper::Processes => processes::scrape(host, out),
            Scraper::System => system::scrape(host, out),
            Scraper::Process(_) => Ok(()),
        }
    }
}

/// The receiver's scrapers, in the order otelcol lists them.
struct Running(Vec<(Scraper, Enabled)>);

impl Running {
    fn build(settings: &config::Scrapers) -> Result<Self, String> {
        let mut scrapers = Vec::new();
        if settings.cpu.is_some() {
            scrapers.push(Scraper::Cpu(cpu::Cpu::default()));
        }
        if settings.memory.is_some() {
            scrapers.push(Scraper::Memory);
        }
        if let Some(load) = &settings.load {
            scrapers.push(Scraper::Load {
                cpu_average: load.cpu_average,
            });
        }
        if let Some(network) = &settings.network {
            scrapers.push(Scraper::Network(network.interfaces()?));
        }
        if let Some(disk) = &settings.disk {
            scrapers.push(Scraper::Disk(disk.devices()?));
        }
        if let Some(filesystem) = &settings.filesystem {
            scrapers.push(Scraper::Filesystem(filesystem.selection()?));
        }
        if settings.paging.is_some() {
            scrapers.push(Scraper::Paging);
        }
        if settings.processes.is_some() {
            scrapers.push(Scraper::Processes);
        }
        if settings.system.is_some() {
            scrapers.push(Scraper::System);
        }
        if let Some(process) = &settings.process {
            scrapers.push(Scraper::Process(Box::new(process::Processes::new(
                process,
            )?)));
        }
        let toggles = config::toggles(settings);
        Ok(Running(
            scrapers
                .into_iter()
                .map(|scraper| {
                    let enabled = toggles
                        .iter()
                        .find(|(name, _, _)| *name == scraper.name())
                        .map(|(_, specs, toggles)| Enabled::new(specs, toggles))
                        .unwrap_or_default();
                    (scraper, enabled)
                })
                .collect(),
        ))
    }

    /// One scrape of every scraper under `root`, as one request.
    fn scrape(&mut self, root: &Path, id: &str) -> ExportMetricsServiceRequest {
        let host = Host {
            root: root.to_owned(),
        };
        let now = crate::clock::now_nanos();
        let boot = host
            .read("proc/stat")
            .ok()
            .and_then(|stat| cpu::boot_time(&stat))
            .map_or(0, |seconds| seconds * 1_000_000_000);
        let clock = Clock { now, start: boot };
        let mut resource_metrics = Vec::new();
        for (scraper, enabled) in &mut self.0 {
            let scope = format!(
                "receiver/hostmetricsreceiver/internal/scraper/{}scraper",
                scraper.name()
            );
            match scraper.scrape(&host, enabled, clock) {
                Ok(resources) => resource_metrics.extend(
                    resources
                        .into_iter()
                        .filter(|(_, metrics)| !metrics.is_empty())
                        .map(|(resource, metrics)| {
                            scraper::resource_metrics(resource, &scope, metrics)
                        }),
                ),
                Err(e) => {
                    tracing::warn!(receiver = %id, scraper = scraper.name(), error = %e, "scraping failed");
                }
            }
        }
        ExportMetricsServiceRequest { resource_metrics }
    }
}
