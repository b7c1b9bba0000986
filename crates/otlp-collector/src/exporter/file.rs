//! The `file` exporter, compatible with otelcol's: `format: json` writes one OTLP/JSON `Export*ServiceRequest`
//! per line; `format: proto` writes each request as protobuf behind a 4-byte big-endian length.

use super::{Delivered, Export, ExportError};
use crate::Batch;
use crate::config::de;
use crate::pipeline::BoxFuture;
use serde::Deserialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How batches are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// One OTLP/JSON document per line.
    #[default]
    Json,
    /// Length-prefixed OTLP protobuf.
    Proto,
    /// Arrow IPC files in otlp-arrow's columnar layout, completed and renamed atomically.
    Arrow,
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
    /// Complete a file after it has been open this long (`format: arrow` only; default 1m), so that data becomes
    /// readable while the collector runs. An otlp-suite addition to otelcol's settings.
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
    /// The file written to; its directory is created when missing.
    pub path: PathBuf,
    /// `json` (default), `proto` or `arrow`.
    #[serde(default)]
    pub format: FileFormat,
    /// Rotation; without it the file grows without limit.
    #[serde(default)]
    pub rotation: Option<RotationConfig>,
    /// How often buffered data is flushed to the operating system. Every batch is written whole as it arrives,
    /// so this only bounds how long data may sit in our buffer; kept for otelcol compatibility.
    #[serde(default = "default_flush_interval", deserialize_with = "de::duration")]
    pub flush_interval: Duration,
}

fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}

impl FileExporterConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.path.as_os_str().is_empty() {
            return Err("path must not be empty".into());
        }
        if self.rotation.as_ref().is_some_and(|r| r.max_megabytes == 0) {
            return Err("rotation.max_megabytes must be positive".into());
        }
        Ok(())
    }
}

struct OpenFile {
    file: File,
    size: u64,
}

pub(crate) struct FileExporter {
    config: FileExporterConfig,
    state: Arc<parking_lot::Mutex<Option<OpenFile>>>,
}

impl FileExporter {
    pub(crate) fn open(config: FileExporterConfig) -> std::io::Result<Self> {
        let file = open_append(&config.path)?;
        let size = file.metadata()?.len();
        Ok(FileExporter {
            config,
            state: Arc::new(parking_lot::Mutex::new(Some(OpenFile { file, size }))),
        })
    }

    fn encode(&self, batch: &Batch) -> Result<Vec<u8>, ExportError> {
        match self.config.format {
            FileFormat::Json => {
                let mut out = Vec::with_capacity(batch.encoded_len() * 2 + 1);
                batch
                    .write_json(&mut out)
                    .map_err(|e| ExportError::permanent(format!("cannot encode as JSON: {e}")))?;
                out.push(b'\n');
                Ok(out)
            }
            FileFormat::Arrow => Err(ExportError::permanent(
                "Arrow files are written by the Arrow file exporter",
            )),
            FileFormat::Proto => {
                let body = batch.to_protobuf();
                let len = u32::try_from(body.len()).map_err(|_| {
                    ExportError::permanent("batch larger than 4 GiB cannot be length-prefixed")
                })?;
                let mut out = Vec::with_capacity(body.len() + 4);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&body);
                Ok(out)
            }
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// `dir/name-2026-01-02T03-04-05.678.ext`, as lumberjack names backups.
fn backup_name(path: &Path, now: SystemTime, localtime: bool) -> PathBuf {
    let stamp = time::OffsetDateTime::from(now);
    let stamp = if localtime {
        time::UtcOffset::current_local_offset().map_or(stamp, |o| stamp.to_offset(o))
    } else {
        stamp
    };
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]-[minute]-[second].[subsecond digits:3]"
    );
    let stamp = stamp
        .format(&format)
        .unwrap_or_else(|_| "unknown-time".to_string());
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{stamp}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{stamp}"),
    };
    path.with_file_name(name)
}

fn rotate(
    path: &Path,
    rotation: &RotationConfig,
    state: &mut Option<OpenFile>,
) -> std::io::Result<()> {
    if let Some(open) = state.take() {
        open.file.sync_all()?;
    }
    let backup = backup_name(path, SystemTime::now(), rotation.localtime);
    std::fs::rename(path, &backup)?;
    prune_backups(path, rotation)?;
    *state = Some(OpenFile {
        file: open_append(path)?,
        size: 0,
    });
    Ok(())
}

pub(crate) fn prune_backups(path: &Path, rotation: &RotationConfig) -> std::io::Result<()> {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) else {
        return Ok(());
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}-", stem.to_string_lossy());
    let mut backups: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    backups.sort();
    let too_old = SystemTime::now() - Duration::from_secs(rotation.max_days * 86_400);
    let excess = if rotation.max_backups == 0 {
        0
    } else {
        backups.len().saturating_sub(rotation.max_backups)
    };
    for (i, (modified, backup)) in backups.iter().enumerate() {
        if i < excess || (rotation.max_days > 0 && *modified < too_old) {
            std::fs::remove_file(backup)?;
        }
    }
    Ok(())
}

impl Export for FileExporter {
    fn export<'a>(
        &'a self,
        batch: &'a Arc<Batch>,
    ) -> BoxFuture<'a, Result<Delivered, ExportError>> {
        Box::pin(async move {
            let bytes = self.encode(batch)?;
            let state = self.state.clone();
            let path = self.config.path.clone();
            let rotation = self.config.rotation.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                let mut state = state.lock();
                if let Some(rotation) = &rotation {
                    let limit = rotation.max_megabytes * 1024 * 1024;
                    let size = state.as_ref().map_or(0, |o| o.size);
                    if size > 0 && size + bytes.len() as u64 > limit {
                        rotate(&path, rotation, &mut state)?;
                    }
                }
                if state.is_none() {
                    *state = Some(OpenFile {
                        file: open_append(&path)?,
                        size: 0,
                    });
                }
                if let Some(open) = state.as_mut() {
                    open.file.write_all(&bytes)?;
                    open.size += bytes.len() as u64;
                }
                Ok(())
            })
            .await
            .map_err(|e| ExportError::retryable(format!("file writer task failed: {e}")))?
            .map_err(|e| {
                ExportError::retryable(format!("cannot write {}: {e}", self.config.path.display()))
            })?;
            Ok(Delivered::default())
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), ExportError>> {
        Box::pin(async move {
            let state = self.state.clone();
            tokio::task::spawn_blocking(move || match state.lock().as_mut() {
                Some(open) => open.file.sync_all(),
                None => Ok(()),
            })
            .await
            .map_err(|e| ExportError::retryable(format!("file sync task failed: {e}")))?
            .map_err(|e| {
                ExportError::retryable(format!("cannot sync {}: {e}", self.config.path.display()))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_keep_the_extension() {
        let name = backup_name(
            Path::new("/data/traces.jsonl"),
            SystemTime::UNIX_EPOCH,
            false,
        );
        assert_eq!(
            name,
            Path::new("/data/traces-1970-01-01T00-00-00.000.jsonl")
        );
    }
}
