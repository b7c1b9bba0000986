//! `format: parquet` (the embedded default) and `format: arrow`: one row per span, log record or metric data
//! point in otlp-arrow's flat layout, as Parquet or Arrow IPC files laid out Hive-style by signal and hour:
//!
//! ```text
//! {path}/traces/date=2026-12-01/hour=16/part-20261201T161502.123Z-000001.parquet
//! {path}/logs/date=2026-12-01/hour=16/...
//! ```
//!
//! so `read_parquet('{path}/traces/**/*.parquet', hive_partitioning = true)` in DuckDB (or a Polars or pyarrow
//! dataset) reads them with no code of ours. The partition is the UTC hour of writing, not the items' own times
//! (late or replayed data goes where it arrived). A file is written under a hidden `.part-….partial` name in its
//! partition and renamed to its final name once complete (footer written, synced): readers never see a
//! half-written file, and a collector killed mid-file leaves every completed file readable (the partial one has
//! no footer and a name no reader's glob matches; the next start names it in a warning,
//! [`leftovers`](super::leftovers)). A file is completed when it reaches `rotation.max_megabytes`,
//! after `rotation.max_age` (default 1m, so data becomes readable while the collector runs), when the hour
//! changes, and at shutdown. Batches whose requests arrived as protobuf are read in place into columns.

use super::writer_thread::WriterThreads;
use super::{FileExporterConfig, FileFormat};
use crate::exporter::{Delivered, Export, ExportError};
use crate::{Batch, Signal};
use otlp_arrow::flat::{FlatBuilder, FlatIpcWriter, FlatParquetWriter, ParquetOptions};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;

/// Files are completed at least this often unless configured otherwise, so a running collector's data is
/// readable.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);

/// Rows turned into Arrow arrays at a time before a Parquet writer takes them. The writer gathers every call into
/// the same row group and cuts pages by size, so the file comes out the same as from one call per batch; what
/// changes is memory. Turning rows into arrays costs a fixed number of allocations whatever their number, so larger
/// writes allocate less per span (`finish`: 0.36 per span at 1024 rows, 0.19 at 2048, 0.05 at 8192; the
/// `allocations` bench, docs/benchmarks.md) but hold more: the builder keeps a write's capacity reserved, and
/// parquet-rs's value buffers follow a write's size. The embedded default's budget is 100 MB resident under
/// `loadgen --max`, and an allocation only matters for the CPU it costs. Measured there (alternating runs), 2048-row
/// writes with the list columns gathered over 8192 rows (the library's default) peaked at 99–125 MB in 19 runs;
/// 1024-row writes gathering nothing at 75–103 MB in 20, most of them 88–95. CPU did not move beyond the host's
/// run-to-run noise (4.7–5.5 and 4.7–5.9 s per million spans), and allocations rose from 1.00 to about 1.5 per span.
const PARQUET_ROWS_PER_WRITE: usize = 1024;

/// The Parquet layout of the files: the library's, but with list columns handed to parquet-rs on every write rather
/// than gathered over several (see [`PARQUET_ROWS_PER_WRITE`]).
fn parquet_options() -> ParquetOptions {
    ParquetOptions {
        list_gather_rows: 0,
        ..ParquetOptions::default()
    }
}

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

type Sink = Counting<BufWriter<File>>;

enum Writer {
    Parquet(Box<FlatParquetWriter<Sink>>),
    Arrow(Box<FlatIpcWriter<Sink>>),
}

impl Writer {
    fn write_batch(&mut self, batch: &arrow_array::RecordBatch) -> Result<(), otlp_arrow::Error> {
        match self {
            Writer::Parquet(w) => w.write_batch(batch),
            Writer::Arrow(w) => w.write_batch(batch),
        }
    }

    /// How many rows to hand over at a time. An Arrow IPC file keeps each record batch as written, its buffers
    /// compressed one by one, so it gets whole batches: smaller ones would compress worse and read slower.
    fn rows_per_write(&self) -> usize {
        match self {
            Writer::Parquet(_) => PARQUET_ROWS_PER_WRITE,
            Writer::Arrow(_) => usize::MAX,
        }
    }

    /// Bytes the file will hold: written, and buffered for the open row group.
    fn size(&self) -> u64 {
        match self {
            Writer::Parquet(w) => w.get_ref().written + w.in_progress_bytes() as u64,
            Writer::Arrow(w) => w.bytes_written(),
        }
    }

    fn finish(self) -> Result<Sink, otlp_arrow::Error> {
        match self {
            Writer::Parquet(w) => w.finish(),
            Writer::Arrow(w) => w.finish(),
        }
    }
}

/// The partition (UTC date and hour) a file belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partition {
    date: String,
    hour: u8,
}

impl Partition {
    fn of(time: SystemTime) -> Self {
        let utc = time::OffsetDateTime::from(time);
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Partition {
            date: utc.format(&format).unwrap_or_else(|_| "unknown".to_owned()),
            hour: utc.hour(),
        }
    }
}

struct OpenFile {
    writer: Writer,
    builder: FlatBuilder,
    partial: PathBuf,
    complete: PathBuf,
    opened: Instant,
    partition: Partition,
}

impl OpenFile {
    /// Hands the rows built so far to the file's writer.
    fn write_rows(&mut self) -> Result<(), otlp_arrow::Error> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let rows = self.builder.finish()?;
        self.writer.write_batch(&rows)
    }
}

/// One signal's files.
struct SignalFiles {
    signal: Signal,
    open: Option<OpenFile>,
    sequence: u64,
}

/// What every signal's files share.
struct Layout {
    root: PathBuf,
    format: FileFormat,
    max_bytes: u64,
    max_age: Duration,
    parquet: ParquetOptions,
}

fn io_error(what: &str, path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::retryable(format!("{what} {}: {e}", path.display()))
}

impl Layout {
    fn extension(&self) -> &'static str {
        match self.format {
            FileFormat::Arrow => "arrow",
            _ => "parquet",
        }
    }

    fn open(&self, files: &mut SignalFiles) -> Result<OpenFile, ExportError> {
        files.sequence += 1;
        let now = SystemTime::now();
        let partition = Partition::of(now);
        let dir = self
            .root
            .join(files.signal.as_str())
            .join(format!("date={}", partition.date))
            .join(format!("hour={:02}", partition.hour));
        std::fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, e))?;
        let stamp = time::OffsetDateTime::from(now)
            .format(&time::macros::format_description!(
                "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
            ))
            .unwrap_or_else(|_| "unknown-time".to_owned());
        let name = format!(
            "part-{stamp}-{:06}-{}.{}",
            files.sequence,
            std::process::id(),
            self.extension()
        );
        let partial = dir.join(format!(".{name}.partial"));
        let complete = dir.join(name);
        let file = File::create(&partial).map_err(|e| io_error("cannot create", &partial, e))?;
        let sink = Counting {
            inner: BufWriter::with_capacity(1 << 20, file),
            written: 0,
        };
        let writer = match self.format {
            FileFormat::Arrow => Writer::Arrow(Box::new(
                FlatIpcWriter::new(sink, files.signal, otlp_arrow::Compression::Zstd(3))
                    .map_err(|e| io_error("cannot start", &partial, e))?,
            )),
            _ => Writer::Parquet(Box::new(
                FlatParquetWriter::new(sink, files.signal, self.parquet)
                    .map_err(|e| io_error("cannot start", &partial, e))?,
            )),
        };
        // The Parquet writer takes a resource's attributes once per run of its items instead of a copy per row.
        let builder = match writer {
            Writer::Parquet(_) => FlatBuilder::run_encoded(files.signal),
            Writer::Arrow(_) => FlatBuilder::new(files.signal),
        };
        Ok(OpenFile {
            writer,
            builder,
            partial,
            complete,
            opened: Instant::now(),
            partition,
        })
    }

    /// Writes the footer, syncs, and gives the file its final name.
    fn complete(&self, open: OpenFile) -> Result<(), ExportError> {
        let OpenFile {
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
            && let Ok(dir) = File::open(dir)
        {
            // Make the rename itself durable.
            let _ = dir.sync_all();
        }
        Ok(())
    }

    fn due(&self, open: &OpenFile) -> bool {
        open.writer.size() >= self.max_bytes
            || open.opened.elapsed() >= self.max_age
            || open.partition != Partition::of(SystemTime::now())
    }

    /// Writes a batch into this signal's open file; items that cannot be represented (an id of a length OTLP
    /// forbids, which the receivers let through only in links) are reported as rejected.
    fn write(&self, files: &mut SignalFiles, batch: &Batch) -> Result<Delivered, ExportError> {
        if let Some(open) = files.open.take_if(|open| self.due(open)) {
            self.complete(open)?;
        }
        let mut open = match files.open.take() {
            Some(open) => open,
            None => self.open(files)?,
        };
        let mut delivered = Delivered::default();
        let rows_per_write = open.writer.rows_per_write();
        let mut result = Ok(());
        match batch.encoded() {
            Some(chunks) => {
                for chunk in chunks {
                    if let Err(e) = open.builder.append_encoded(chunk) {
                        let items = otlp_model::wire::scan(files.signal, chunk)
                            .map_or(0, |scan| scan.items);
                        delivered.rejected += items;
                        delivered.message = format!("not representable in the flat layout: {e}");
                    }
                    if open.builder.len() >= rows_per_write {
                        result = open.write_rows();
                        if result.is_err() {
                            break;
                        }
                    }
                }
            }
            None => {
                if let Err(e) = open.builder.append(batch.request()) {
                    delivered.rejected += batch.item_count();
                    delivered.message = format!("not representable in the flat layout: {e}");
                }
            }
        }
        let result = result.and_then(|()| open.write_rows());
        match result {
            Ok(()) => {
                files.open = Some(open);
                Ok(delivered)
            }
            Err(e) => {
                let partial = open.partial.clone();
                // A failed write may leave the file inconsistent: finish it so earlier batches stay readable.
                self.complete(open)?;
                Err(ExportError::permanent(format!(
                    "cannot write a {} batch into {}: {e}",
                    files.signal,
                    partial.display()
                )))
            }
        }
    }
}

/// The columnar file exporter: one writer per signal, each behind its own lock and written on its own thread.
pub(super) struct ColumnarFileExport {
    layout: Arc<Layout>,
    signals: Arc<[parking_lot::Mutex<SignalFiles>; 3]>,
    writers: WriterThreads,
    ager: JoinHandle<()>,
}

impl Drop for ColumnarFileExport {
    fn drop(&mut self) {
        self.ager.abort();
    }
}

impl ColumnarFileExport {
    pub(super) fn open(config: &FileExporterConfig) -> Self {
        super::leftovers::report_in_background(config.path.clone());
        let rotation = config.rotation.clone().unwrap_or_default();
        let max_age = rotation.max_age.unwrap_or(DEFAULT_MAX_AGE);
        let layout = Arc::new(Layout {
            root: config.path.clone(),
            format: config.format,
            max_bytes: rotation.max_megabytes.saturating_mul(1024 * 1024),
            max_age,
            parquet: parquet_options(),
        });
        let signals = Arc::new(Signal::ALL.map(|signal| {
            parking_lot::Mutex::new(SignalFiles {
                signal,
                open: None,
                sequence: 0,
            })
        }));
        // Quiet pipelines still get their files completed on time.
        let weak: Weak<[parking_lot::Mutex<SignalFiles>; 3]> = Arc::downgrade(&signals);
        let ager_layout = layout.clone();
        let period = (max_age / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        let ager = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                ticker.tick().await;
                let Some(signals) = weak.upgrade() else { break };
                let layout = ager_layout.clone();
                let completed = tokio::task::spawn_blocking(move || {
                    for files in signals.iter() {
                        let mut files = files.lock();
                        if let Some(open) = files.open.take_if(|open| layout.due(open)) {
                            layout.complete(open)?;
                        }
                    }
                    Ok::<_, ExportError>(())
                })
                .await;
                if let Ok(Err(e)) = completed {
                    tracing::error!(error = e.message(), "completing an aged file failed");
                }
            }
        });
        ColumnarFileExport {
            layout,
            signals,
            writers: WriterThreads::default(),
            ager,
        }
    }
}

impl Export for ColumnarFileExport {
    /// The batch itself: it is turned into columns as it is written.
    type Payload = Arc<Batch>;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Arc<Batch>, ExportError> {
        Ok(Arc::clone(batch))
    }

    async fn send(&self, batch: &Arc<Batch>) -> Result<Delivered, ExportError> {
        let (layout, signals, batch) = (self.layout.clone(), self.signals.clone(), batch.clone());
        // Building columns and compressing is CPU work and the writes are blocking I/O: keep both off the async
        // workers.
        self.writers
            .run(batch.signal(), move || {
                let mut files = signals[batch.signal().index()].lock();
                layout.write(&mut files, &batch)
            })
            .await
            .ok_or_else(|| ExportError::retryable("the file writer thread failed"))?
    }

    async fn flush(&self) -> Result<(), ExportError> {
        let (layout, signals) = (self.layout.clone(), self.signals.clone());
        tokio::task::spawn_blocking(move || {
            for files in signals.iter() {
                if let Some(open) = files.lock().open.take() {
                    layout.complete(open)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| ExportError::retryable(format!("file writer task failed: {e}")))?
    }
}
