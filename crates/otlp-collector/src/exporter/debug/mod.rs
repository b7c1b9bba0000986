//! The `debug` exporter: writes what passes through to the collector's log, for troubleshooting.

use super::{Delivered, Export, ExportError, Exporter, HelperSettings};
use crate::component::{Component, ExporterContext, ExporterFactory};
use crate::{AnyRequest, Batch};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `debug` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = DebugExporterConfig;
    const TYPE: &'static str = "debug";
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        config: &DebugExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        Ok(Exporter::new(
            DebugExport {
                config: config.clone(),
                seen: AtomicU64::new(0),
            },
            HelperSettings::local(),
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
}

impl Default for DebugExporterConfig {
    fn default() -> Self {
        DebugExporterConfig {
            verbosity: Verbosity::Basic,
            sampling_initial: 2,
            sampling_thereafter: 1,
        }
    }
}

struct DebugExport {
    config: DebugExporterConfig,
    seen: AtomicU64,
}

impl DebugExport {
    fn sampled(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        n < self.config.sampling_initial
            || (n - self.config.sampling_initial)
                .is_multiple_of(self.config.sampling_thereafter.max(1))
    }
}

/// One line per span, data point or log record: the fields that identify each.
fn log_items(request: &AnyRequest) {
    match request {
        AnyRequest::Traces(traces) => {
            for span in traces
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                tracing::info!(trace_id = %Hex(&span.trace_id), span_id = %Hex(&span.span_id),
                    name = %span.name, "span");
            }
        }
        AnyRequest::Metrics(metrics) => {
            for metric in metrics
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
            {
                tracing::info!(name = %metric.name, unit = %metric.unit,
                    points = otlp_model::data_points(metric), "metric");
            }
        }
        AnyRequest::Logs(logs) => {
            for record in logs
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .flat_map(|s| &s.log_records)
            {
                tracing::info!(severity = %record.severity_text, body = ?record.body, "log record");
            }
        }
    }
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
    use super::Hex;

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
