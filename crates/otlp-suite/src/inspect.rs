//! `otlp-suite inspect`: summarises the files the collector writes (spans per service and operation, time range,
//! errors; metric points; log records) and prints one trace as a tree.
//!
//! It reads the flat Parquet and Arrow IPC files of the `file` exporter (`format: parquet`, the default, and
//! `format: arrow`) under a directory, recursively, or one file. The summary reads only the columns it needs
//! (Parquet skips the others' bytes); `--trace-id` reads only the row groups whose statistics and bloom filter
//! may hold the trace. A corrupt, truncated or hostile file is reported with its path and skipped; the others are
//! still read.

use crate::error::Error;
use crate::fast_hash::FastHashBuilder;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimestampNanosecondType};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use otlp_arrow::flat::{FlatIpcReader, FlatParquetReader, col};
use otlp_arrow::{AnyRequest, Signal};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

/// `otlp-suite inspect` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// A Parquet or Arrow file, or a directory of them (as the `file` exporter writes: `otlp-data`).
    pub path: PathBuf,
    /// Print this trace (32 hex digits) as a tree instead of the summary.
    #[arg(long)]
    pub trace_id: Option<String>,
    /// How many services and operations the summary lists.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}

#[derive(Debug, Default)]
struct OperationStats {
    spans: u64,
    errors: u64,
}

/// What `inspect` found.
#[derive(Debug, Default)]
pub struct InspectReport {
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Files skipped, each with its error.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Spans in all files.
    pub spans: u64,
    /// Spans whose status is ERROR.
    pub error_spans: u64,
    /// Distinct trace ids.
    pub traces: u64,
    /// Earliest span start and latest span end, in Unix nanoseconds.
    pub time_range: Option<(u64, u64)>,
    /// Metric data points.
    pub metric_points: u64,
    /// Log records.
    pub log_records: u64,
    by_service: BTreeMap<String, OperationStats>,
    by_operation: BTreeMap<(String, String), OperationStats>,
    top: usize,
    tree: Option<String>,
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref() {
            Some(AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            }) => Some(s.as_str()),
            _ => None,
        })
}

/// Completed flat files under `path`: files still being written are hidden `.part-….partial` files, which are
/// never read. A path that is not there, or a directory with nothing to read, is an error that says so (and
/// whether files are still being written), not an empty summary.
fn flat_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::Inspect {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut being_written = 0usize;
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::Inspect {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "parquet" || e == "arrow")
            {
                files.push(path);
            } else if path.extension().is_some_and(|e| e == "partial") {
                being_written += 1;
            }
        }
    }
    if files.is_empty() {
        let reason = if being_written > 0 {
            format!(
                "no completed Parquet or Arrow files yet, {being_written} still being written: the file exporter \
                 completes a file after `rotation.max_age` (1m by default), at `rotation.max_megabytes`, when the \
                 hour changes, or when the collector stops"
            )
        } else {
            "no Parquet or Arrow files in this directory or below it".to_string()
        };
        return Err(Error::Inspect {
            path: path.to_path_buf(),
            reason,
        });
    }
    files.sort();
    Ok(files)
}

/// The columns the span summary reads, in this order.
const SUMMARY_COLUMNS: [&str; 6] = [
    col::SERVICE_NAME,
    col::NAME,
    col::STATUS_CODE,
    col::TRACE_ID,
    col::START_TIME,
    col::DURATION_NS,
];

/// Record batches read lazily from one file; errors are already worded for the user.
type Batches = Box<dyn Iterator<Item = Result<RecordBatch, String>>>;

/// A file's record batches: only the summary's columns from Parquet, whole batches from Arrow IPC.
fn batches(file: &Path) -> Result<(Signal, Batches), String> {
    let open = || std::fs::File::open(file).map_err(|e| e.to_string());
    if file.extension().is_some_and(|e| e == "arrow") {
        let mut reader = FlatIpcReader::new(open()?).map_err(|e| e.to_string())?;
        let signal = reader.signal();
        let batches =
            std::iter::from_fn(move || reader.next_batch().map_err(|e| e.to_string()).transpose());
        return Ok((signal, Box::new(batches)));
    }
    let signal = FlatParquetReader::new(open()?)
        .map_err(|e| e.to_string())?
        .signal();
    let columns: &[&str] = match signal {
        Signal::Traces => &SUMMARY_COLUMNS,
        // Counting rows needs one column; the service name is small and always there.
        Signal::Metrics | Signal::Logs => &[col::SERVICE_NAME],
    };
    let scan = FlatParquetReader::scan(open()?, columns).map_err(|e| e.to_string())?;
    Ok((
        signal,
        Box::new(scan.map(|batch| batch.map_err(|e| e.to_string()))),
    ))
}

impl InspectReport {
    /// Adds the spans of one batch of flat rows.
    fn add_spans(
        &mut self,
        batch: &RecordBatch,
        trace_ids: &mut HashSet<[u8; 16], FastHashBuilder>,
    ) -> Result<(), String> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("no {name} column"))
        };
        let services = arrow::compute::cast(column(col::SERVICE_NAME)?, &DataType::Utf8)
            .map_err(|e| e.to_string())?;
        let services = services.as_string::<i32>();
        let names =
            arrow::compute::cast(column(col::NAME)?, &DataType::Utf8).map_err(|e| e.to_string())?;
        let names = names.as_string::<i32>();
        let status = column(col::STATUS_CODE)?
            .as_primitive_opt::<Int32Type>()
            .ok_or("status_code is not Int32")?;
        let ids = column(col::TRACE_ID)?
            .as_fixed_size_binary_opt()
            .ok_or("trace_id is not fixed-size binary")?;
        let starts = column(col::START_TIME)?
            .as_primitive_opt::<TimestampNanosecondType>()
            .ok_or("start_time is not a timestamp")?;
        let durations = column(col::DURATION_NS)?
            .as_primitive_opt::<Int64Type>()
            .ok_or("duration_ns is not Int64")?;
        // Counted per batch under the batch's own strings, then merged once per distinct operation: owned keys and
        // ordered-map lookups on every row cost more than reading the columns (1.5x DuckDB's time on the same
        // files before this).
        let mut operations: HashMap<(&str, &str), OperationStats, FastHashBuilder> =
            HashMap::default();
        for row in 0..batch.num_rows() {
            let service = if services.is_null(row) {
                "unknown_service"
            } else {
                services.value(row)
            };
            let error = status.is_valid(row) && status.value(row) == StatusCode::Error as i32;
            if starts.is_valid(row) {
                let start = starts.value(row) as u64;
                let end = start.wrapping_add(durations.value(row) as u64);
                self.time_range = Some(match self.time_range {
                    Some((lo, hi)) => (lo.min(start), hi.max(end)),
                    None => (start, end),
                });
            }
            let operation = operations.entry((service, names.value(row))).or_default();
            operation.spans += 1;
            operation.errors += u64::from(error);
            if ids.is_valid(row)
                && let Ok(id) = <[u8; 16]>::try_from(ids.value(row))
            {
                trace_ids.insert(id);
            }
        }
        for ((service, name), counted) in operations {
            self.spans += counted.spans;
            self.error_spans += counted.errors;
            let by_service = self.by_service.entry(service.to_owned()).or_default();
            by_service.spans += counted.spans;
            by_service.errors += counted.errors;
            let by_operation = self
                .by_operation
                .entry((service.to_owned(), name.to_owned()))
                .or_default();
            by_operation.spans += counted.spans;
            by_operation.errors += counted.errors;
        }
        Ok(())
    }
}

/// The spans of one trace in a file, with their services.
fn find_trace(file: &Path, id: &[u8; 16]) -> Result<Vec<(String, Span)>, String> {
    let open = || std::fs::File::open(file).map_err(|e| e.to_string());
    let request = if file.extension().is_some_and(|e| e == "arrow") {
        match FlatIpcReader::read_all(open()?).map_err(|e| e.to_string())? {
            AnyRequest::Traces(request) => request,
            _ => return Ok(Vec::new()),
        }
    } else {
        let reader = FlatParquetReader::new(open()?).map_err(|e| e.to_string())?;
        if reader.signal() != Signal::Traces {
            return Ok(Vec::new());
        }
        FlatParquetReader::find_trace(open()?, id)
            .map_err(|e| e.to_string())?
            .0
    };
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|r| attribute(&r.attributes, "service.name"))
            .unwrap_or("unknown_service")
            .to_owned();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            if span.trace_id.as_slice() == id.as_slice() {
                spans.push((service.clone(), span));
            }
        }
    }
    Ok(spans)
}

/// Reads every file under `args.path`.
pub fn run(args: &InspectArgs) -> Result<InspectReport, Error> {
    let wanted_trace = match &args.trace_id {
        Some(id) => {
            let id = id.trim().to_ascii_lowercase();
            let bytes = match id.len() {
                32 => otlp_simd::hex::decode_trace_id(id.as_bytes()).map_err(|e| e.to_string()),
                _ => Err(format!("it has {} characters", id.chars().count())),
            };
            match bytes {
                Ok(bytes) => Some((id, bytes)),
                Err(why) => {
                    return Err(Error::InvalidArgument {
                        argument: "trace-id",
                        reason: format!("`{id}` is not 32 hex digits: {why}"),
                    });
                }
            }
        }
        None => None,
    };
    let mut report = InspectReport {
        top: args.top,
        ..InspectReport::default()
    };
    let mut trace_ids = HashSet::with_hasher(FastHashBuilder::default());
    let mut trace_spans: Vec<(String, Span)> = Vec::new();
    for file in flat_files(&args.path)? {
        if let Some((_, id)) = &wanted_trace {
            match find_trace(&file, id) {
                Ok(spans) => {
                    trace_spans.extend(spans);
                    report.files.push(file);
                }
                Err(reason) => report.unreadable.push((file, reason)),
            }
            continue;
        }
        let (signal, batches) = match batches(&file) {
            Ok(opened) => opened,
            Err(reason) => {
                report.unreadable.push((file, reason));
                continue;
            }
        };
        let mut failed = None;
        for batch in batches {
            let counted = batch.and_then(|batch| match signal {
                Signal::Traces => report.add_spans(&batch, &mut trace_ids),
                Signal::Metrics => {
                    report.metric_points += batch.num_rows() as u64;
                    Ok(())
                }
                Signal::Logs => {
                    report.log_records += batch.num_rows() as u64;
                    Ok(())
                }
            });
            if let Err(reason) = counted {
                failed = Some(reason);
                break;
            }
        }
        match failed {
            Some(reason) => report.unreadable.push((file, reason)),
            None => report.files.push(file),
        }
    }
    report.traces = trace_ids.len() as u64;
    if let Some((id, _)) = wanted_trace {
        if trace_spans.is_empty() {
            return Err(Error::Inspect {
                path: args.path.clone(),
                reason: format!("trace {id} is not in these files"),
            });
        }
        report.tree = Some(render_tree(&id, trace_spans));
    }
    Ok(report)
}

/// The trace as an indented tree: children under their parent, by start time; spans whose parent is not in the
/// files are shown as roots.
fn render_tree(trace_id: &str, spans: Vec<(String, Span)>) -> String {
    let ids: BTreeSet<Vec<u8>> = spans.iter().map(|(_, s)| s.span_id.clone()).collect();
    let mut children: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, (_, span)) in spans.iter().enumerate() {
        if span.parent_span_id.is_empty() || !ids.contains(&span.parent_span_id) {
            roots.push(i);
        } else {
            children
                .entry(span.parent_span_id.clone())
                .or_default()
                .push(i);
        }
    }
    let by_start = |list: &mut Vec<usize>| list.sort_by_key(|&i| spans[i].1.start_time_unix_nano);
    by_start(&mut roots);
    for list in children.values_mut() {
        by_start(list);
    }
    let trace_start = spans
        .iter()
        .map(|(_, s)| s.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let mut out = format!("trace {trace_id}: {} spans\n", spans.len());
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        let (service, span) = &spans[i];
        let offset_ms = span.start_time_unix_nano.saturating_sub(trace_start) as f64 / 1e6;
        let duration_ms = span
            .end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano) as f64
            / 1e6;
        let status = if span
            .status
            .as_ref()
            .is_some_and(|s| s.code == StatusCode::Error as i32)
        {
            " ERROR"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:indent$}{} [{service}] +{offset_ms:.3}ms {duration_ms:.3}ms{status}",
            "",
            span.name,
            indent = depth * 2
        );
        if let Some(list) = children.get(&span.span_id) {
            stack.extend(list.iter().rev().map(|&c| (c, depth + 1)));
        }
    }
    out
}

fn format_time(nanos: u64) -> String {
    let seconds = (nanos / 1_000_000_000) as i64;
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| {
            let format =
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
            t.format(&format).unwrap_or_else(|_| seconds.to_string())
        })
        .unwrap_or_else(|_| seconds.to_string())
}

impl fmt::Display for InspectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(tree) = &self.tree {
            return f.write_str(tree);
        }
        writeln!(
            f,
            "{} files: {} spans in {} traces ({} with status ERROR), {} metric points, {} log records",
            self.files.len(),
            self.spans,
            self.traces,
            self.error_spans,
            self.metric_points,
            self.log_records
        )?;
        if let Some((start, end)) = self.time_range {
            writeln!(
                f,
                "time range: {} .. {} ({:.1}s)",
                format_time(start),
                format_time(end),
                end.saturating_sub(start) as f64 / 1e9
            )?;
        }
        let top = |stats: Vec<(String, &OperationStats)>,
                   title: &str,
                   f: &mut fmt::Formatter<'_>|
         -> fmt::Result {
            let mut stats = stats;
            stats.sort_by(|a, b| b.1.spans.cmp(&a.1.spans).then_with(|| a.0.cmp(&b.0)));
            stats.truncate(self.top);
            // As wide as the longest name listed, so long operation names do not push their counts out of line.
            let width = stats
                .iter()
                .map(|(name, _)| name.chars().count())
                .chain([title.len()])
                .max()
                .unwrap_or_default();
            writeln!(f, "\n{title:<width$} {:>10} {:>8}", "spans", "errors")?;
            for (name, s) in stats {
                writeln!(f, "{name:<width$} {:>10} {:>8}", s.spans, s.errors)?;
            }
            Ok(())
        };
        top(
            self.by_service
                .iter()
                .map(|(k, v)| (k.clone(), v))
                .collect(),
            "service",
            f,
        )?;
        top(
            self.by_operation
                .iter()
                .map(|((service, op), v)| (format!("{service}: {op}"), v))
                .collect(),
            "operation",
            f,
        )?;
        for (path, reason) in &self.unreadable {
            writeln!(f, "\nunreadable: {}: {reason}", path.display())?;
        }
        Ok(())
    }
}
