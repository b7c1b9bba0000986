//! The `hostmetrics` receiver (otelcol-contrib's, Linux): the host's CPU, memory, load, network, disk, filesystem
//! and paging metrics, read from `/proc` and `statvfs` every `collection_interval`, with otelcol's metric names,
//! units and attributes, so dashboards built on otelcol's keep working.
//!
//! ```yaml
//! receivers:
//!   hostmetrics:
//!     collection_interval: 30s
//!     scrapers:
//!       cpu:
//!       memory: { metrics: { system.memory.utilization: { enabled: true } } }
//!       network: { exclude: { interfaces: ["lo"], match_type: strict } }
//! ```
//!
//! Each scraper is a file (`cpu.rs`, `memory.rs`, …) that parses its `/proc` tables (tested on fixtures) and
//! records points through `metric.rs`, which leaves out the metrics the settings disable. Sums are cumulative
//! since boot. Each scrape is one request, a resource per scraper (empty, as otelcol's: add host attributes with
//! the `resourcedetection` processor) under the scraper's otelcol scope name; a scraper that fails is logged and
//! the others still report.

mod config;
mod cpu;
mod disk;
mod filesystem;
mod filter;
mod load;
mod memory;
mod metric;
mod network;
mod paging;

pub use config::{
    DiskSettings, FilesystemSettings, HostMetricsConfig, LoadSettings, MetricsOnly,
    NetworkSettings, Scrapers,
};
pub use filter::{Devices, FsTypes, Interfaces, MatchType, MountPoints};
pub use metric::Toggle;

use super::{Ingest, RunningReceiver, shutdown_signal};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use filter::Select;
use metric::{Builder, Clock, Enabled};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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
        let component = format!("receivers.{}", context.id);
        let root = if config.root_path.is_empty() {
            "/"
        } else {
            &config.root_path
        };
        let mut scrapers = Running::build(&config.scrapers).map_err(|message| Error::Start {
            component: component.clone(),
            message,
        })?;
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let root = PathBuf::from(root);
        let (ingest, id) = (context.ingest, context.id);
        let counters = ReceiverCounters::new(&context.telemetry, &id, "scrape");
        let (interval, delay) = (config.collection_interval, config.initial_delay);
        running.spawn(async move {
            let stopped = shutdown_signal(watch);
            tokio::pin!(stopped);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + delay, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => return Ok(()),
                    _ = ticks.tick() => {}
                }
                let request = scrapers.scrape(&root, &id);
                submit(&ingest, &counters, &id, request).await;
            }
        });
        Ok(running)
    }
}

async fn submit(
    ingest: &Arc<Ingest>,
    counters: &ReceiverCounters,
    id: &str,
    request: ExportMetricsServiceRequest,
) {
    if let Err(refusal) = ingest.submit(Batch::new(request), counters).await {
        // A scrape is not sent again: the next one measures anew.
        tracing::warn!(receiver = %id, error = %refusal, "the pipelines refused a scrape");
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
        }
    }

    fn scrape(&mut self, host: &Host, out: &mut Builder<'_>) -> io::Result<()> {
        match self {
            Scraper::Cpu(cpu) => cpu.scrape(host, out),
            Scraper::Memory => memory::scrape(host, out),
            Scraper::Load { cpu_average } => load::scrape(host, *cpu_average, out),
            Scraper::Network(interfaces) => network::scrape(host, interfaces, out),
            Scraper::Disk(devices) => disk::scrape(host, devices, out),
            Scraper::Filesystem(selection) => filesystem::scrape(host, selection, out),
            Scraper::Paging => paging::scrape(host, out),
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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let boot = host
            .read("proc/stat")
            .ok()
            .and_then(|stat| cpu::boot_time(&stat))
            .map_or(0, |seconds| seconds * 1_000_000_000);
        let clock = Clock { now, boot };
        let mut resource_metrics = Vec::new();
        for (scraper, enabled) in &mut self.0 {
            let mut out = Builder::new(scraper.specs(), enabled, clock);
            if let Err(e) = scraper.scrape(&host, &mut out) {
                tracing::warn!(receiver = %id, scraper = scraper.name(), error = %e, "scraping failed");
                continue;
            }
            let metrics = out.finish();
            if metrics.is_empty() {
                continue;
            }
            resource_metrics.push(ResourceMetrics {
                resource: Some(Resource::default()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: format!(
                            "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/\
                             hostmetricsreceiver/internal/scraper/{}scraper",
                            scraper.name()
                        ),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            });
        }
        ExportMetricsServiceRequest { resource_metrics }
    }
}
