//! `otlp-suite inspect`: summarises the Arrow IPC files the collector writes (spans per service and operation,
//! time range, errors; metric points; log records) and prints one trace as a tree.
//!
//! A corrupt, truncated or hostile file is reported with its path and skipped; the others are still read.

use crate::error::Error;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use otlp_arrow::{AnyRequest, ArrowIpcReader, IpcFormat};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

/// `otlp-suite inspect` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// An Arrow IPC file, or a directory of them (as the `file` exporter writes with `format: arrow`).
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
    /// Files read, and files that could not be read with the reason.
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
    /// Metric data points and log records.
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

fn arrow_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |e: std::io::Error| Error::Inspect {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        // Files still being written are hidden `.NAME.arrow.partial` files; only completed ones are read.
        .filter(|p| p.extension().is_some_and(|e| e == "arrow"))
        .collect();
    files.sort();
    Ok(files)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Reads every file under `args.path`.
pub fn run(args: &InspectArgs) -> Result<InspectReport, Error> {
    let wanted_trace = match &args.trace_id {
        Some(id) => {
            let id = id.trim().to_ascii_lowercase();
            if id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::InvalidArgument {
                    argument: "trace-id",
                    reason: format!("`{id}` is not 32 hex digits"),
                });
            }
            Some(id)
        }
        None => None,
    };
    let mut report = InspectReport {
        top: args.top,
        ..InspectReport::default()
    };
    let mut trace_ids = BTreeSet::new();
    let mut trace_spans: Vec<(String, Span)> = Vec::new();
    for file in arrow_files(&args.path)? {
        let opened = std::fs::File::open(&file)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                ArrowIpcReader::new(std::io::BufReader::new(f), IpcFormat::File)
                    .map_err(|e| e.to_string())
            });
        let reader = match opened {
            Ok(reader) => reader,
            Err(reason) => {
                report.unreadable.push((file, reason));
                continue;
            }
        };
        for request in reader {
            let request = match request {
                Ok(request) => request,
                Err(e) => {
                    report.unreadable.push((file.clone(), e.to_string()));
                    break;
                }
            };
            match request {
                AnyRequest::Traces(request) => {
                    for resource_spans in request.resource_spans {
                        let service = resource_spans
                            .resource
                            .as_ref()
                            .and_then(|r| attribute(&r.attributes, "service.name"))
                            .unwrap_or("unknown_service")
                            .to_string();
                        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                            let error = span
                                .status
                                .as_ref()
                                .is_some_and(|s| s.code == StatusCode::Error as i32);
                            report.spans += 1;
                            report.error_spans += u64::from(error);
                            let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
                            report.time_range = Some(match report.time_range {
                                Some((lo, hi)) => (lo.min(start), hi.max(end)),
                                None => (start, end),
                            });
                            for stats in [
                                report.by_service.entry(service.clone()).or_default(),
                                report
                                    .by_operation
                                    .entry((service.clone(), span.name.clone()))
                                    .or_default(),
                            ] {
                                stats.spans += 1;
                                stats.errors += u64::from(error);
                            }
                            let trace_id = hex(&span.trace_id);
                            if wanted_trace.as_deref() == Some(trace_id.as_str()) {
                                trace_spans.push((service.clone(), span));
                            }
                            trace_ids.insert(trace_id);
                        }
                    }
                }
                AnyRequest::Metrics(request) => {
                    report.metric_points += otlp_model::OtlpRequest::item_count(&request) as u64;
                }
                AnyRequest::Logs(request) => {
                    report.log_records += otlp_model::OtlpRequest::item_count(&request) as u64;
                }
            }
        }
        report.files.push(file);
    }
    report.traces = trace_ids.len() as u64;
    if let Some(id) = wanted_trace {
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
            writeln!(f, "\n{title:<60} {:>10} {:>8}", "spans", "errors")?;
            for (name, s) in stats.into_iter().take(self.top) {
                writeln!(f, "{name:<60} {:>10} {:>8}", s.spans, s.errors)?;
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
