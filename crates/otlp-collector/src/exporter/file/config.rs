//! The `file` exporter's settings.

use crate::de;
use crate::exporter::helper::local_queue;
use crate::exporter::{HelperSettings, QueueConfig};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// How batches are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// One OTLP/JSON document per line.
    #[default]
    Json,
    /// Length-prefixed OTLP protobuf.
    Proto,
    /// Parquet files, one row per item (otlp-arrow's flat layout), under `path/{signal}/date=…/hour=…/`.
    Parquet,
    /// Arrow IPC files of the same flat layout and directory structure.
    Arrow,
}

/// How each written request is compressed (otelcol's `compression`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileCompression {
    /// Written as encoded (otelcol's default, `compression` absent or empty).
    #[default]
    #[serde(rename = "")]
    None,
    /// Each request compressed as one zstd frame behind a 4-byte big-endian length, for `json` as for `proto`
    /// (otelcol's framing without its `exporter.file.nativeCompression` feature gate).
    Zstd,
}

/// When the file is rotated (otelcol's `rotation` block, lumberjack semantics).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RotationConfig {
    /// Rotate before the file would grow past this size.
    pub max_megabytes: u64,
    /// Delete rotated files older than this many days (0: keep).
    pub max_days: u64,
    /// Keep at most this many rotated files (0: keep all).
    pub max_backups: usize,
    /// Name rotated files with local time instead of UTC.
    pub localtime: bool,
    /// Complete a file after it has been open this long (`format: parquet` and `arrow` only; default 1m), so
    /// that data becomes readable while the collector runs. An otlp-suite addition to otelcol's settings.
    #[serde(deserialize_with = "de::optional_duration")]
    pub max_age: Option<Duration>,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            max_megabytes: 100,
            max_days: 0,
            max_backups: 100,
            localtime: false,
            max_age: None,
        }
    }
}

/// The `file` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileExporterConfig {
    /// The file written to (`json`, `proto`), or the directory the signals' partitions go under (`parquet`,
    /// `arrow`); directories are created when missing.
    pub path: PathBuf,
    /// `json` (default, as in otelcol), `proto`, `parquet` or `arrow`.
    #[serde(default)]
    pub format: FileFormat,
    /// `zstd`: each request is compressed (`json` and `proto` only); none by default.
    #[serde(default)]
    pub compression: FileCompression,
    /// Rotation; without it the file grows without limit.
    #[serde(default)]
    pub rotation: Option<RotationConfig>,
    /// How often buffered data is flushed to the operating system. Every batch is written whole as it arrives,
    /// so this only bounds how long data may sit in our buffer; kept for otelcol compatibility.
    #[serde(default = "default_flush_interval", deserialize_with = "de::duration")]
    pub flush_interval: Duration,
    /// An otlp-suite addition (otelcol's `file` exporter has no queue): `sending_queue: { enabled: false }` writes
    /// each batch while the client waits, so a request is answered only once its data is in the file (for `json`
    /// and `proto`, handed to the operating system: it survives the collector being killed). Without it, batches
    /// wait in a queue of 4 written by one consumer, and are acknowledged when queued. Keys left out keep those
    /// values, not a network exporter's (10 consumers would only hold 10 batches while they wait for the file).
    #[serde(default, deserialize_with = "local_queue")]
    pub sending_queue: Option<QueueConfig>,
    /// A file per value of a resource attribute (`json` and `proto`), as otelcol's `group_by`.
    #[serde(default)]
    pub group_by: GroupByConfig,
}

/// `group_by`: each resource's items go to the file whose `path` has the resource's value of `resource_attribute`
/// in place of its `*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupByConfig {
    /// Write a file per value (off by default).
    pub enabled: bool,
    /// The resource attribute whose value names the file (`fileexporter.path_segment`).
    pub resource_attribute: String,
    /// The most files kept open at once (100); the least recently written is closed to open another.
    pub max_open_files: usize,
}

impl Default for GroupByConfig {
    fn default() -> Self {
        GroupByConfig {
            enabled: false,
            resource_attribute: "fileexporter.path_segment".to_owned(),
            max_open_files: 100,
        }
    }
}

fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}

impl FileExporterConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.path.as_os_str().is_empty() {
            return Err("path must not be empty".into());
        }
        if self.rotation.as_ref().is_some_and(|r| r.max_megabytes == 0) {
            return Err("rotation.max_megabytes must be positive".into());
        }
        if let Some(queue) = &self.sending_queue {
            queue.validate()?;
        }
        if self.group_by.enabled {
            if matches!(self.format, FileFormat::Parquet | FileFormat::Arrow) {
                return Err(
                    "group_by applies to the json and proto formats; parquet and arrow files are laid out by \
                     signal, date and hour under `path`"
                        .into(),
                );
            }
            let stars = self.path.to_string_lossy().matches('*').count();
            if stars != 1 {
                return Err(format!(
                    "with group_by, path must hold one `*`, which each resource's `{}` replaces (it holds {stars})",
                    self.group_by.resource_attribute
                ));
            }
            if self.group_by.max_open_files == 0 {
                return Err("group_by.max_open_files must be at least 1".into());
            }
        }
        if self.compression != FileCompression::None
            && matches!(self.format, FileFormat::Parquet | FileFormat::Arrow)
        {
            // Compressing the file whole would make it unreadable to Parquet and Arrow readers, which need to
            // seek in it; and their pages and buffers are zstd-compressed already.
            return Err(
                "compression: zstd applies to the json and proto formats; parquet and arrow files are \
                 compressed by their own format already (zstd pages and buffers)"
                    .into(),
            );
        }
        Ok(())
    }

    /// How the helper runs the exporter: local settings (short retries for a full disk), with the queue the config
    /// asks for.
    pub(super) fn helper(&self) -> HelperSettings {
        let mut settings = HelperSettings::local();
        if let Some(queue) = &self.sending_queue {
            settings.queue = queue.clone();
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::Sizer;

    fn queue(yaml: &str) -> QueueConfig {
        let config: FileExporterConfig =
            serde_norway::from_str(&format!("path: ./otlp-data\n{yaml}")).unwrap();
        config.helper().queue
    }

    #[test]
    fn a_sending_queue_keeps_the_file_exporters_own_defaults_for_keys_left_out() {
        let local = HelperSettings::local().queue;
        let without = queue("");
        assert_eq!((without.num_consumers, without.queue_size), (1, 4));
        let sized = queue("sending_queue: { queue_size: 16 }");
        assert_eq!(
            (sized.num_consumers, sized.queue_size),
            (local.num_consumers, 16)
        );
        let wider = queue("sending_queue: { num_consumers: 3, sizer: bytes }");
        assert_eq!(
            (wider.num_consumers, wider.queue_size, wider.sizer),
            (3, local.queue_size, Sizer::Bytes)
        );
        assert!(!queue("sending_queue: { enabled: false }").enabled);
    }

    fn config(yaml: &str) -> Result<FileExporterConfig, String> {
        let config: FileExporterConfig =
            serde_norway::from_str(&format!("path: ./otlp-data\n{yaml}"))
                .map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn zstd_compression_is_taken_for_json_and_proto_only() {
        for format in ["json", "proto"] {
            let taken = config(&format!("format: {format}\ncompression: zstd")).unwrap();
            assert_eq!(taken.compression, FileCompression::Zstd);
        }
        assert_eq!(
            config("compression: \"\"").unwrap().compression,
            FileCompression::None
        );
        assert_eq!(config("").unwrap().compression, FileCompression::None);
        for format in ["parquet", "arrow"] {
            let error = config(&format!("format: {format}\ncompression: zstd")).unwrap_err();
            assert!(error.contains("compressed by their own format"), "{error}");
        }
        let error = config("compression: gzip").unwrap_err();
        assert!(error.contains("unknown variant `gzip`"), "{error}");
    }

    #[test]
    fn a_misspelt_sending_queue_key_is_still_an_error() {
        let error = serde_norway::from_str::<FileExporterConfig>(
            "path: ./otlp-data\nsending_queue: { queue_sise: 16 }",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `queue_sise`"),
            "{error}"
        );
    }
}
