//! The `filestats` receiver (otelcol-contrib's): the size and times of the files and folders an `include` glob
//! names, every `collection_interval`, with otelcol's metric names.
//!
//! ```yaml
//! receivers:
//!   filestats:
//!     include: /var/log/**/*.log
//!     collection_interval: 1m
//!     metrics:
//!       file.count: { enabled: true }
//!       file.ctime: { enabled: true }
//! ```
//!
//! Each match is a resource (`file.name`, and `file.path` when enabled) with `file.size` (bytes) and `file.mtime`
//! (Unix seconds), and when enabled `file.atime` and `file.ctime` (with `file.permissions`, as Go writes them:
//! `-rw-r--r--`); `file.count`, when enabled, is the number of matches, on a resource of its own. Links are
//! followed, as `os.Stat` follows them; a match that vanishes before it is read is logged and left out.

mod config;

pub use config::FileStatsConfig;

use super::RunningReceiver;
use super::filelog::finder::Finder;
use super::scraper::metric::{Builder, Clock, Enabled, Kind, Spec};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// The metrics, as otelcol's generated `documentation.md` lists them.
const SPECS: &[Spec] = &[
    Spec::on(
        "file.mtime",
        "Elapsed time since the last modification of the file or folder, in seconds since Epoch.",
        "s",
        Kind::UpDown,
    ),
    Spec::new(
        "file.ctime",
        "Elapsed time since the last change of the file or folder, in seconds since Epoch. In addition to \
         `file.mtime`, this metric tracks metadata changes such as permissions or renaming the file.",
        "s",
        Kind::UpDown,
        false,
    ),
    Spec::new(
        "file.atime",
        "Elapsed time since last access of the file or folder, in seconds since Epoch.",
        "s",
        Kind::UpDown,
        false,
    ),
    Spec::on(
        "file.size",
        "The size of the file or folder, in bytes.",
        "b",
        Kind::Gauge,
    ),
    Spec::new(
        "file.count",
        "The number of files matched",
        "{file}",
        Kind::Gauge,
        false,
    ),
];

/// The scope of the points, as otelcol names it.
const SCOPE: &str = "receiver/filestatsreceiver";

/// The `filestats` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = FileStatsConfig;
    const TYPE: &'static str = "filestats";

    fn validate(&self, config: &FileStatsConfig) -> Result<(), Invalid> {
        config.validate(SPECS)
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &FileStatsConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let finder = config
            .finder()
            .map_err(|e| context.start_error(format!("include: {e}")))?;
        let scraper = FileStatsScraper {
            finder,
            enabled: Enabled::new(SPECS, &config.metrics),
            name_attribute: config.resource_attribute("file.name"),
            path_attribute: config.resource_attribute("file.path"),
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

struct FileStatsScraper {
    finder: Finder,
    enabled: Enabled,
    name_attribute: bool,
    path_attribute: bool,
    id: String,
}

impl FileStatsScraper {
    /// What the matches measure at `now`.
    fn measure(&self, now: u64) -> Option<ExportMetricsServiceRequest> {
        let matches = self.finder.find_entries(true);
        let mut resource_metrics = Vec::new();
        for path in &matches {
            let metadata = match std::fs::metadata(path) {
                Ok(metadata) => metadata,
                Err(error) => {
                    tracing::warn!(receiver = %self.id, path = %path.display(), %error, "cannot read a match's metadata");
                    continue;
                }
            };
            let mut out = Builder::new(SPECS, &self.enabled, Clock { now, start: 0 });
            out.int(
                "file.size",
                i64::try_from(metadata.len()).unwrap_or(i64::MAX),
                &[],
            );
            out.int("file.mtime", metadata.mtime(), &[]);
            out.int("file.atime", metadata.atime(), &[]);
            out.int(
                "file.ctime",
                metadata.ctime(),
                &[("file.permissions", &permissions(metadata.mode()))],
            );
            let metrics = out.finish();
            if metrics.is_empty() {
                continue;
            }
            resource_metrics.push(scraper::resource_metrics(
                self.resource(path),
                SCOPE,
                metrics,
            ));
        }
        let mut out = Builder::new(SPECS, &self.enabled, Clock { now, start: 0 });
        out.int(
            "file.count",
            i64::try_from(matches.len()).unwrap_or(i64::MAX),
            &[],
        );
        let metrics = out.finish();
        if !metrics.is_empty() {
            resource_metrics.push(scraper::resource_metrics(
                Resource::default(),
                SCOPE,
                metrics,
            ));
        }
        (!resource_metrics.is_empty()).then_some(ExportMetricsServiceRequest { resource_metrics })
    }

    fn resource(&self, path: &Path) -> Resource {
        let mut attributes = Vec::new();
        if self.name_attribute {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            attributes.push(key_value("file.name", string_value(name)));
        }
        if self.path_attribute {
            attributes.push(key_value(
                "file.path",
                string_value(path.display().to_string()),
            ));
        }
        Resource {
            attributes,
            ..Default::default()
        }
    }
}

/// Permission bits as Go's `FileMode.Perm().String()` writes them: `-rwxr-x---`.
fn permissions(mode: u32) -> String {
    let mut text = String::from("-");
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        text.push(if bits & 0o4 != 0 { 'r' } else { '-' });
        text.push(if bits & 0o2 != 0 { 'w' } else { '-' });
        text.push(if bits & 0o1 != 0 { 'x' } else { '-' });
    }
    text
}

impl Scrape for FileStatsScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        self.measure(crate::clock::now_nanos())
    }
}

#[cfg(test)]
mod tests;
