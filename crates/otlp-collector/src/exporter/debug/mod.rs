//! The `debug` exporter: writes what passes through to the collector's log, for troubleshooting.

use super::{Delivered, Export, ExportError, Exporter, HelperSettings};
use crate::component::{Component, ExporterContext, ExporterFactory};
use crate::{AnyRequest, Batch};
use serde::Deserialize;
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
                tracing::info!(trace_id = %hex(&span.trace_id), span_id = %hex(&span.span_id),
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

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
