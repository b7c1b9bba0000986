//! The `file_storage` extension: otelcol's, a directory on the local disk where the exporters whose
//! `sending_queue.storage` names it keep their persistent queues (each in a subdirectory of its own).
//!
//! ```yaml
//! extensions:
//!   file_storage: { directory: /var/lib/otelcol/file_storage }
//! exporters:
//!   otlp: { endpoint: "backend:4317", sending_queue: { storage: file_storage } }
//! service:
//!   extensions: [file_storage]
//! ```
//!
//! otelcol keeps its data in a bbolt database; here each queue is a set of append-only segment files, which
//! never need compacting: `compaction` is accepted for otelcol compatibility and has no effect, and so is
//! `timeout` (otelcol's wait for the database's file lock; no lock is taken here, so two collectors must not
//! share a directory).

use crate::Error;
use crate::component::{
    Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension, StorageDirectory,
};
use crate::de;
use crate::pipeline::BoxFuture;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The `file_storage` extension's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileStorageConfig {
    /// The directory the queues live under (default `/var/lib/otelcol/file_storage`, as in otelcol).
    pub directory: PathBuf,
    /// otelcol's wait for its database lock; accepted and unused (see the module docs).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Sync every write to the device: a batch then survives a power cut, not only a crash of the collector,
    /// at the cost of one sync per batch.
    pub fsync: bool,
    /// Create `directory` if it does not exist (otherwise the collector does not start without it).
    pub create_directory: bool,
    /// otelcol's database compaction; accepted and unused (segment files are deleted whole once delivered).
    pub compaction: CompactionConfig,
}

impl Default for FileStorageConfig {
    fn default() -> Self {
        FileStorageConfig {
            directory: PathBuf::from("/var/lib/otelcol/file_storage"),
            timeout: Duration::from_secs(1),
            fsync: false,
            create_directory: false,
            compaction: CompactionConfig::default(),
        }
    }
}

/// otelcol's `compaction` settings, accepted so that an otelcol config loads; they have no effect here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompactionConfig {
    /// Compact when the collector starts.
    pub on_start: bool,
    /// Compact online once the database shrank.
    pub on_rebound: bool,
    /// Where the compaction writes its temporary copy.
    pub directory: Option<PathBuf>,
    /// Largest compaction transaction, in bytes: a number, or a string such as otelcol's documented `65_536`
    /// (which YAML reads as a string).
    pub max_transaction_size: Option<serde_norway::Value>,
    /// Rebound compaction: size the database must have reached, in MiB.
    pub rebound_needed_threshold_mib: u64,
    /// Rebound compaction: size it must have fallen under, in MiB.
    pub rebound_trigger_threshold_mib: u64,
    /// Rebound compaction: how often the sizes are checked.
    #[serde(deserialize_with = "de::optional_duration")]
    pub check_interval: Option<Duration>,
    /// Remove temporary compaction files on start.
    pub cleanup_on_start: bool,
}

/// The `file_storage` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = FileStorageConfig;
    const TYPE: &'static str = "file_storage";

    fn validate(&self, config: &FileStorageConfig) -> Result<(), Invalid> {
        if config.directory.as_os_str().is_empty() {
            return Err(Invalid::at("directory", "must not be empty"));
        }
        Ok(())
    }
}

/// Checks that `config.directory` is a directory, creating it first when `create_directory` says so.
fn ready_directory(config: &FileStorageConfig) -> Result<(), String> {
    let directory = &config.directory;
    if !directory.exists() {
        if !config.create_directory {
            return Err(format!(
                "directory {}: the storage directory does not exist (create it, or set create_directory: true)",
                directory.display()
            ));
        }
        std::fs::create_dir_all(directory)
            .map_err(|e| format!("directory {}: cannot create it: {e}", directory.display()))?;
    }
    if !directory.is_dir() {
        return Err(format!(
            "directory {}: exists but is not a directory",
            directory.display()
        ));
    }
    Ok(())
}

/// A started `file_storage`: nothing runs; the queues open their files when the exporters are built.
struct Running;

impl RunningExtension for Running {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        config: &FileStorageConfig,
        context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        // Checked here, not only when an exporter's queue opens it, so that a missing directory stops the collector
        // starting whether or not a queue uses the extension yet (as the docs and otelcol say).
        ready_directory(config).map_err(|message| Error::Start {
            component: format!("extensions.{}", context.id),
            message,
        })?;
        tracing::info!(extension = %context.id, directory = %config.directory.display(), "file storage");
        Ok(Box::new(Running))
    }

    fn storage(&self, config: &FileStorageConfig) -> Option<StorageDirectory> {
        Some(StorageDirectory {
            directory: config.directory.clone(),
            fsync: config.fsync,
            create_directory: config.create_directory,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(directory: PathBuf, create_directory: bool) -> FileStorageConfig {
        FileStorageConfig {
            directory,
            create_directory,
            ..FileStorageConfig::default()
        }
    }

    #[test]
    fn a_missing_directory_is_refused_unless_it_may_be_created() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("a/b");
        let error = ready_directory(&config(missing.clone(), false)).unwrap_err();
        assert!(
            error.contains(
                "the storage directory does not exist (create it, or set create_directory: true)"
            ),
            "{error}"
        );
        assert!(!missing.exists());
        ready_directory(&config(missing.clone(), true)).unwrap();
        assert!(missing.is_dir());
        ready_directory(&config(missing, false)).unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(
            ready_directory(&config(file, true))
                .unwrap_err()
                .contains("not a directory")
        );
    }
}
