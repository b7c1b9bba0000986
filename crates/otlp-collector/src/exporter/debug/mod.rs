//! The `debug` exporter: writes what passes through to the collector's log, for troubleshooting.

use super::helper::local_queue;
use super::{Delivered, Export, ExportError, Exporter, HelperSettings, QueueConfig};
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::{AnyRequest, Batch};
use parking_lot::Mutex;
use serde::Deserialize;
use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `debug` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = DebugExporterConfig;
    const TYPE: &'static str = "debug";

    fn validate(&self, config: &DebugExporterConfig) -> Result<(), Invalid> {
        if let Some(queue) = &config.sending_queue {
            queue.validate()?;
        }
        Ok(())
    }
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        config: &DebugExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let stdout: Option<Box<dyn Write + Send>> = if config.use_internal_logger {
            None
        } else {
            Some(Box::new(std::io::stdout()))
        };
        let mut settings = HelperSettings::local();
        if let Some(queue) = &config.sending_queue {
            settings.queue = queue.clone();
        }
        Ok(Exporter::new(
            DebugExport::new(config.clone(), stdout),
            settings,
        ))
    }
}

/// How much the debug exporter logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    /// One summary line per batch.
    #[default]
    Basic,
    /// One line per span, data point or log record.
    Normal,
    /// The whole batch as OTLP/JSON.
    Detailed,
}

/// The `debug` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DebugExporterConfig {
    /// How much to log.
    pub verbosity: Verbosity,
    /// Log every batch up to this many...
    pub sampling_initial: u64,
    /// ...then only every n-th.
    pub sampling_thereafter: u64,
    /// `true` (default): through the collector's log, with its level, format and timestamps; `false`: plain
    /// lines on standard output, as otelcol's, to read the data apart from the collector's own log.
    pub use_internal_logger: bool,
    /// otelcol's exporter queue (as the `file` exporter's: keys left out keep one consumer and a queue of 4);
    /// `{ enabled: false }` logs each batch while the client waits.
    #[serde(deserialize_with = "local_queue")]
    pub sending_queue: Option<QueueConfig>,
}

impl Default for DebugExporterConfig {
    fn default() -> Self {
        DebugExporterConfig {
            verbosity: Verbosity::Basic,
            sampling_initial: 2,
            sampling_thereafter: 1,
            use_internal_logger: true,
            sending_queue: None,
        }
    }
}

struct DebugExport {
    config: DebugExporterConfig,
    seen: AtomicU64,
    /// Where lines go when not through the log (`use_internal_logger: false`): standard output, or a buffer in
    /// tests. Locked per batch so that one batch's lines stay together.
    stdout: Option<Mutex<Box<dyn Write + Send>>>,
}

impl DebugExport {
    fn new(config: DebugExporterConfig, stdout: Option<Box<dyn Write + Send>>) -> Self {
        DebugExport {
            config,
            seen: AtomicU64::new(0),
            stdout: stdout.map(Mutex::new),
        }
    }

    fn sampled(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        n < self.config.sampling_initial
            || (n - self.config.sampling_initial)
                .is_multiple_of(self.config.sampling_thereafter.max(1))
    }

    /// The batch's lines, as `verbosity` asks, written to `out`.
    fn write(&self, batch: &Batch, out: &mut dyn Write) -> std::io::Result<()> {
        let signal = batch.signal();
        writeln!(
            out,
            "debug exporter: {signal}: {} items, {} bytes",
            batch.item_count(),
            batch.encoded_len()
        )?;
        match self.config.verbosity {
            Verbosity::Basic => {}
            Verbosity::Normal => {
                let mut written = Ok(());
                for_each_item(batch.request(), |item| {
                    if written.is_ok() {
                        written = writeln!(out, "{item}");
                    }
                });
                written?;
            }
            Verbosity::Detailed => {
                let mut json = Vec::new();
                batch.write_json(&mut json).map_err(std::io::Error::other)?;
                json.push(b'\n');
                out.write_all(&json)?;
            }
        }
        out.flush()
    }
}

/// What `normal` verbosity shows of one span, data point or log record: the fields that identify it.
enum Item<'a> {
    Span {
        trace_id: Hex<'a>,
        span_id: Hex<'a>,
        name: &'a str,
    },
    Metric {
        name: &'a str,
        unit: &'a str,
        points: usize,
    },
    LogRecord {
        severity: &'a str,
        body: &'a dyn fmt::Debug,
    },
}

impl fmt::Display for Item<'_> {
    /// The line written to standard output, with the fields the log line has.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Span {
                trace_id,
                span_id,
                name,
            } => write!(f, "span trace_id={trace_id} span_id={span_id} name={name}"),
            Item::Metric { name, unit, points } => {
                write!(f, "metric name={name} unit={unit} points={points}")
            }
            Item::LogRecord { severity, body } => {
                write!(f, "log record severity={severity} body={body:?}")
            }
        }
    }
}

/// Each span, data point or log record of `request`, in order.
fn for_each_item(request: &AnyRequest, mut each: impl FnMut(Item<'_>)) {
    match request {
        AnyRequest::Traces(traces) => {
            for span in traces
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                each(Item::Span {
                    trace_id: Hex(&span.trace_id),
                    span_id: Hex(&span.span_id),
                    name: &span.name,
                });
            }
        }
        AnyRequest::Metrics(metrics) => {
            for metric in metrics
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
            {
                each(Item::Metric {
                    name: &metric.name,
                    unit: &metric.unit,
                    points: otlp_model::data_points(metric),
                });
            }
        }
        AnyRequest::Logs(logs) => {
            for record in logs
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .flat_map(|s| &s.log_records)
            {
                each(Item::LogRecord {
                    severity: &record.severity_text,
                    body: &record.body,
                });
            }
        }
    }
}

/// One log line per span, data point or log record.
fn log_items(request: &AnyRequest) {
    for_each_item(request, |item| match item {
        Item::Span {
            trace_id,
            span_id,
            name,
        } => tracing::info!(trace_id = %trace_id, span_id = %span_id, name = %name, "span"),
        Item::Metric { name, unit, points } => {
            tracing::info!(name = %name, unit = %unit, points, "metric")
        }
        Item::LogRecord { severity, body } => {
            tracing::info!(severity = %severity, body = ?body, "log record")
        }
    });
}

impl Export for DebugExport {
    type Payload = Arc<Batch>;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Arc<Batch>, ExportError> {
        Ok(Arc::clone(batch))
    }

    async fn send(&self, batch: &Arc<Batch>) -> Result<Delivered, ExportError> {
        if !self.sampled() {
            return Ok(Delivered::default());
        }
        if let Some(stdout) = &self.stdout {
            // A closed or full standard output loses these lines, not the data: the batch is delivered
            // elsewhere by its pipeline's other exporters, and the debug copy is not retried.
            if let Err(error) = self.write(batch, &mut **stdout.lock()) {
                tracing::warn!(%error, "debug exporter: cannot write to standard output");
            }
            return Ok(Delivered::default());
        }
        let signal = batch.signal();
        tracing::info!(%signal, items = batch.item_count(), bytes = batch.encoded_len(), "debug exporter");
        match self.config.verbosity {
            Verbosity::Basic => {}
            Verbosity::Normal => log_items(batch.request()),
            Verbosity::Detailed => {
                let mut json = Vec::new();
                if batch.write_json(&mut json).is_ok() {
                    tracing::info!(%signal, "{}", String::from_utf8_lossy(&json));
                }
            }
        }
        Ok(Delivered::default())
    }
}

/// An id as lower-case hex in a log field, encoded on the stack by otlp-simd's single-id kernels: `normal`
/// verbosity writes two per span, and a `{:02x}` per byte cost 24 formatter calls and a `String` for each span.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Ok(trace_id) = <&[u8; 16]>::try_from(self.0) {
            write_digits(f, &otlp_simd::hex::encode_trace_id(trace_id))
        } else if let Ok(span_id) = <&[u8; 8]>::try_from(self.0) {
            write_digits(f, &otlp_simd::hex::encode_span_id(span_id))
        } else {
            // An id of the wrong length: the receivers refuse them, but the log still shows what came.
            self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
        }
    }
}

fn write_digits(f: &mut fmt::Formatter<'_>, digits: &[u8]) -> fmt::Result {
    f.write_str(std::str::from_utf8(digits).map_err(|_| fmt::Error)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard output, captured.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().write(bytes)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn settings(yaml: &str) -> DebugExporterConfig {
        crate::de::typed("exporters.debug", serde_norway::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn use_internal_logger_is_otelcols_key_and_defaults_to_the_log() {
        assert!(settings("{}").use_internal_logger);
        assert!(!settings("{ use_internal_logger: false }").use_internal_logger);
    }

    #[test]
    fn sending_queue_is_otelcols_key_with_local_defaults() {
        assert!(settings("{}").sending_queue.is_none());
        let sized = settings("{ sending_queue: { queue_size: 16 } }")
            .sending_queue
            .unwrap();
        assert_eq!((sized.queue_size, sized.num_consumers), (16, 1));
        let off = settings("{ sending_queue: { enabled: false } }")
            .sending_queue
            .unwrap();
        assert!(!off.enabled);
        let invalid = settings("{ sending_queue: { queue_size: 0 } }");
        assert!(Factory.validate(&invalid).is_err());
    }

    #[tokio::test]
    async fn without_the_internal_logger_lines_go_to_standard_output() {
        let captured = Captured::default();
        let export = DebugExport::new(
            settings("{ verbosity: normal, use_internal_logger: false }"),
            Some(Box::new(captured.clone())),
        );
        let batch = Arc::new(Batch::new(otlp_testkit::Generator::new(3).traces(4)));
        export.send(&batch).await.unwrap();
        let text = String::from_utf8(captured.0.lock().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("debug exporter: traces: 4 items, "),
            "{text}"
        );
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[1..]
                .iter()
                .all(|line| line.starts_with("span trace_id=")),
            "{text}"
        );

        let captured = Captured::default();
        let export = DebugExport::new(
            settings("{ verbosity: detailed, use_internal_logger: false }"),
            Some(Box::new(captured.clone())),
        );
        export.send(&batch).await.unwrap();
        let text = String::from_utf8(captured.0.lock().clone()).unwrap();
        let json = text.lines().nth(1).unwrap_or_default();
        assert!(json.starts_with("{\"resourceSpans\":"), "{text}");
    }

    #[test]
    fn ids_print_as_lower_case_hex_whatever_their_length() {
        let trace_id = [
            0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
            0x47, 0x36,
        ];
        assert_eq!(
            Hex(&trace_id).to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(Hex(&trace_id[..8]).to_string(), "4bf92f3577b34da6");
        assert_eq!(Hex(&trace_id[..3]).to_string(), "4bf92f");
        assert_eq!(Hex(&[]).to_string(), "");
    }
}
