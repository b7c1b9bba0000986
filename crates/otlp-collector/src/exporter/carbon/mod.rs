//! The `carbon` exporter (otelcol-contrib's): metrics to Graphite's Carbon as plaintext lines over TCP.
//!
//! ```yaml
//! exporters:
//!   carbon:
//!     endpoint: graphite.example.com:2003
//!     timeout: 10s
//!     resource_to_telemetry_conversion: { enabled: true }
//! ```
//!
//! How points become lines is in `format.rs`. A batch is written on one connection; up to `max_idle_conns`
//! connections are kept for the next batches. Before a kept connection is written to, it is checked for the
//! server having closed it meanwhile (Carbon drops idle clients), which otelcol does not do: a write to such a
//! connection succeeds locally and its lines are lost.

mod config;
mod format;

pub use config::CarbonExporterConfig;

use super::{Delivered, Export, ExportError, Exporter};
use crate::Batch;
use crate::Signal;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::exporter::prometheus::ResourceToTelemetry;
use format::Lines;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The `carbon` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = CarbonExporterConfig;
    const TYPE: &'static str = "carbon";

    fn validate(&self, config: &CarbonExporterConfig) -> Result<(), Invalid> {
        Invalid::all_at(config.problems())
    }
}

impl ExporterFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &CarbonExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        Ok(Exporter::new(
            Carbon {
                endpoint: config.endpoint.clone(),
                max_idle: config.max_idle_conns,
                resource_to_telemetry: config.resource_to_telemetry_conversion.clone(),
                idle: Mutex::new(Vec::new()),
            },
            config.helper(),
        ))
    }
}

struct Carbon {
    endpoint: String,
    max_idle: usize,
    resource_to_telemetry: ResourceToTelemetry,
    /// Connections between batches, the most recently used last.
    idle: Mutex<Vec<TcpStream>>,
}

impl Carbon {
    /// A kept connection the server has not closed, else a new one.
    async fn connection(&self) -> Result<TcpStream, ExportError> {
        loop {
            let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            match kept {
                Some(stream) if still_open(&stream) => return Ok(stream),
                Some(_) => continue,
                None => break,
            }
        }
        let stream = TcpStream::connect(&self.endpoint)
            .await
            .map_err(|e| ExportError::retryable(format!("connecting to {}: {e}", self.endpoint)))?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    fn keep(&self, stream: TcpStream) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(stream);
        }
    }
}

/// Whether the server has not closed `stream`: Carbon never writes to its clients, so anything but "nothing to
/// read yet" means the connection is over.
fn still_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

impl Export for Carbon {
    type Payload = Lines;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Lines, ExportError> {
        let request = batch
            .get::<ExportMetricsServiceRequest>()
            .ok_or_else(|| ExportError::permanent("the carbon exporter sends metrics only"))?;
        Ok(format::plaintext(request, &self.resource_to_telemetry))
    }

    async fn send(&self, lines: &Lines) -> Result<Delivered, ExportError> {
        if lines.text.is_empty() {
            return Ok(Delivered::default());
        }
        let mut stream = self.connection().await?;
        stream
            .write_all(lines.text.as_bytes())
            .await
            .map_err(|e| ExportError::retryable(format!("writing to {}: {e}", self.endpoint)))?;
        self.keep(stream);
        Ok(Delivered::default())
    }

    async fn shutdown(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}
