//! The `file` exporter with `format: arrow`: Arrow IPC files (otlp-arrow's columnar layout, zstd), readable by any
//! Arrow reader.
//!
//! A file is written under a hidden `.NAME.arrow.partial` name and renamed to `NAME.arrow` only once it is
//! complete (footer written, fsynced), so a reader listing `*.arrow` never sees a half-written file. Files are
//! rotated by size (`rotation.max_megabytes`), by age (`rotation.max_age`, default 1m, so data becomes readable
//! while the collector runs) and when a column's dictionary is full; each signal has its own file.

use super::rotation::prune_backups;
use super::{FileExporterConfig, RotationConfig};
use crate::exporter::{Delivered, Export, ExportError};
use crate::{Batch, Signal};
use otlp_arrow::{ArrowIpcWriter, IpcFormat, WriterOptions};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;

/// Files are finalized at least this often unless configured otherwise, so a running collector's data is readable.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);

/// Counts what goes through, for size-based rotation.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type Writer = ArrowIpcWriter<Counting<BufWriter<File>>>;

struct OpenArrow {
    writer: Writer,
    partial: PathBuf,
    complete: PathBuf,
    opened: Instant,
}

struct ArrowFiles {
    /// Where the files go and how they are named: `{dir}/{stem}[-{signal}]-{time}-{seq}.arrow`.
    path: PathBuf,
    rotation: RotationConfig,
    max_bytes: u64,
    max_age: Duration,
    open: [Option<OpenArrow>; 3],
    sequence: u64,
}

fn io_error(what: &str, path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::retryable(format!("{what} {}: {e}", path.display()))
}

impl ArrowFiles {
    fn file_names(&mut self, signal: Signal) -> (PathBuf, PathBuf) {
        self.sequence += 1;
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "otlp".to_string(), |s| s.to_string_lossy().into_owned());
        // `traces.arrow` serving traces needs no suffix; a file exporter shared by signals gets one per signal.
        let stem = if stem == signal.as_str() {
            stem
        } else {
            format!("{stem}-{signal}")
        };
        let stamp = time::OffsetDateTime::from(SystemTime::now());
        let format = time::macros::format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
        );
        let stamp = stamp
            .format(&format)
            .unwrap_or_else(|_| "unknown-time".to_string());
        let name = format!("{stem}-{stamp}-{:06}.arrow", self.sequence);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        (dir.join(format!(".{name}.partial")), dir.join(name))
    }

    fn open(&mut self, signal: Signal) -> Result<OpenArrow, ExportError> {
        let (partial, complete) = self.file_names(signal);
        if let Some(dir) = partial.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))?;
        }
        let file = File::create(&partial).map_err(|e| io_error("cannot create", &partial, e))?;
        let sink = Counting {
            inner: BufWriter::with_capacity(1 << 20, file),
            written: 0,
        };
        let writer = ArrowIpcWriter::new(sink, signal, WriterOptions::new(IpcFormat::File))
            .map_err(|e| io_error("cannot start Arrow IPC file", &partial, e))?;
        Ok(OpenArrow {
            writer,
            partial,
            complete,
            opened: Instant::now(),
        })
    }

    /// Writes the footer, syncs, and gives the file its final name.
    fn complete(&self, open: OpenArrow) -> Result<(), ExportError> {
        let OpenArrow {
            writer,
            partial,
            complete,
            ..
        } = open;
        let counting = writer
            .finish()
            .map_err(|e| io_error("cannot finish", &partial, e))?;
        let file = counting
            .inner
            .into_inner()
            .map_err(|e| io_error("cannot flush", &partial, e.error()))?;
        file.sync_all()
            .map_err(|e| io_error("cannot sync", &partial, e))?;
        std::fs::rename(&partial, &complete).map_err(|e| io_error("cannot rename", &partial, e))?;
        if let Some(dir) = complete.parent()
            && let Ok(dir) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        {
            // Make the rename itself durable.
            let _ = dir.sync_all();
        }
        prune_backups(&self.path, &self.rotation)
            .map_err(|e| io_error("cannot prune old files in", &self.path, e))
    }

    fn rotate_if_due(&mut self, index: usize, incoming: u64) -> Result<(), ExportError> {
        let due = self.open[index].as_ref().is_some_and(|open| {
            let size = open.writer.get_ref().written;
            (size > 0 && size + incoming > self.max_bytes) || open.opened.elapsed() >= self.max_age
        });
        if due && let Some(open) = self.open[index].take() {
            self.complete(open)?;
        }
        Ok(())
    }

    fn write(&mut self, batch: &Batch) -> Result<(), ExportError> {
        let signal = batch.signal();
        let index = signal.index();
        // The encoded protobuf size is a fair upper bound of what the batch adds to a compressed Arrow file.
        self.rotate_if_due(index, batch.encoded_len() as u64 / 4)?;
        for attempt in 0..2 {
            let open = match self.open[index].take() {
                Some(open) => open,
                None => self.open(signal)?,
            };
            let mut open = open;
            match open.writer.write_any(batch.request()) {
                Ok(()) => {
                    self.open[index] = Some(open);
                    return Ok(());
                }
                // The file's dictionaries are full: finish it and write the batch into a fresh file.
                Err(otlp_arrow::Error::DictionaryOverflow { .. }) if attempt == 0 => {
                    self.complete(open)?;
                }
                Err(e) => {
                    let partial = open.partial.clone();
                    // A failed write may leave the file inconsistent: finish it so earlier batches stay readable.
                    self.complete(open)?;
                    return Err(ExportError::permanent(format!(
                        "cannot encode a {signal} batch as Arrow into {}: {e}",
                        partial.display()
                    )));
                }
            }
        }
        Ok(())
    }

    fn complete_all(&mut self, only_aged: bool) -> Result<(), ExportError> {
        for index in 0..self.open.len() {
            let aged = self.open[index]
                .as_ref()
                .is_some_and(|open| open.opened.elapsed() >= self.max_age);
            if (!only_aged || aged)
                && let Some(open) = self.open[index].take()
            {
                self.complete(open)?;
            }
        }
        Ok(())
    }
}

pub(super) struct ArrowFileExport {
    files: Arc<parking_lot::Mutex<ArrowFiles>>,
    ager: Option<JoinHandle<()>>,
}

impl Drop for ArrowFileExport {
    fn drop(&mut self) {
        if let Some(ager) = &self.ager {
            ager.abort();
        }
    }
}

impl ArrowFileExport {
    pub(super) fn open(config: &FileExporterConfig) -> Self {
        let rotation = config.rotation.clone().unwrap_or_default();
        let max_age = rotation.max_age.unwrap_or(DEFAULT_MAX_AGE);
        let files = Arc::new(parking_lot::Mutex::new(ArrowFiles {
            path: config.path.clone(),
            max_bytes: rotation.max_megabytes.saturating_mul(1024 * 1024),
            max_age,
            rotation,
            open: [None, None, None],
            sequence: 0,
        }));
        // Quiet pipelines still get their files completed on time.
        let weak: Weak<parking_lot::Mutex<ArrowFiles>> = Arc::downgrade(&files);
        let period = (max_age / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        let ager = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                ticker.tick().await;
                let Some(files) = weak.upgrade() else { break };
                let result =
                    tokio::task::spawn_blocking(move || files.lock().complete_all(true)).await;
                if let Ok(Err(e)) = result {
                    tracing::error!(error = ?e, "completing an aged Arrow file failed");
                }
            }
        });
        ArrowFileExport {
            files,
            ager: Some(ager),
        }
    }
}

impl Export for ArrowFileExport {
    /// The batch itself: with dictionaries that persist across a file, it is encoded as it is written.
    type Payload = Arc<Batch>;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Arc<Batch>, ExportError> {
        Ok(Arc::clone(batch))
    }

    async fn send(&self, batch: &Arc<Batch>) -> Result<Delivered, ExportError> {
        let files = self.files.clone();
        // Encoding to columns is CPU work and the writes are blocking I/O: keep both off the async workers.
        let batch = Arc::clone(batch);
        tokio::task::spawn_blocking(move || files.lock().write(&batch))
            .await
            .map_err(|e| ExportError::retryable(format!("Arrow writer task failed: {e}")))??;
        Ok(Delivered::default())
    }

    async fn flush(&self) -> Result<(), ExportError> {
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || files.lock().complete_all(false))
            .await
            .map_err(|e| ExportError::retryable(format!("Arrow writer task failed: {e}")))?
    }
}
