//! The `arrow_flight` exporter: sends each batch as Arrow record batches over Arrow Flight `do_put` (otlp-arrow's
//! client) and counts it sent once the receiver acknowledged it.

use super::otlp::grpc_error;
use super::{Delivered, Export, ExportError, Exporter, HelperSettings, QueueConfig, RetryConfig};
use crate::Batch;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::compression::Compression;
use crate::de;
use otlp_arrow::flight::FlightClient;
use otlp_arrow::{IpcFormat, WriterOptions};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Endpoint;

/// The `arrow_flight` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrowFlightExporterConfig {
    /// `http://host:port` of a Flight server that speaks otlp-arrow's layout (another collector's
    /// `arrow_flight` receiver).
    pub endpoint: String,
    /// Sent as `authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// gRPC message compression: `zstd` (default) or `none`. With `zstd` the Arrow buffers
    /// go uncompressed inside each compressed message; with `none` each buffer is
    /// compressed with zstd by Arrow IPC instead, for a receiver that does not accept zstd.
    #[serde(default = "zstd")]
    pub compression: Compression,
    /// Time allowed for one export attempt, acknowledgement included.
    #[serde(default = "de::thirty_seconds", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The sending queue.
    #[serde(default)]
    pub sending_queue: QueueConfig,
    /// Retries.
    #[serde(default)]
    pub retry_on_failure: RetryConfig,
}

/// The `arrow_flight` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = ArrowFlightExporterConfig;
    const TYPE: &'static str = "arrow_flight";

    fn validate(&self, config: &ArrowFlightExporterConfig) -> Result<(), Invalid> {
        Ok(config.validate()?)
    }
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        config: &ArrowFlightExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        Ok(Exporter::new(
            ArrowFlightExport::new(config)?,
            config.helper(),
        ))
    }
}

fn zstd() -> Compression {
    Compression::Zstd
}

impl ArrowFlightExporterConfig {
    fn validate(&self) -> Result<(), String> {
        self.sending_queue.validate()?;
        self.retry_on_failure.validate()?;
        if !matches!(self.compression, Compression::Zstd | Compression::None) {
            return Err("compression: the arrow_flight exporter supports zstd or none".into());
        }
        let uri: http::Uri = self
            .endpoint
            .parse()
            .map_err(|e| format!("endpoint `{}`: {e}", self.endpoint))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "endpoint `{}`: use http://host:port",
                self.endpoint
            ));
        }
        Ok(())
    }

    fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
            circuit_breaker: Default::default(),
        }
    }
}

struct ArrowFlightExport {
    client: FlightClient,
}

impl ArrowFlightExport {
    fn new(config: &ArrowFlightExporterConfig) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(config.endpoint.clone())
            .map_err(|e| format!("endpoint `{}`: {e}", config.endpoint))?
            .connect_timeout(config.timeout);
        // Lazy, like the otlp exporter: the collector starts while the receiving side is down.
        let transport_zstd = config.compression == Compression::Zstd;
        let buffers = if transport_zstd {
            otlp_arrow::Compression::None
        } else {
            otlp_arrow::Compression::Zstd(3)
        };
        let client = FlightClient::new(endpoint.connect_lazy(), config.bearer_token.clone())
            .with_transport_compression(transport_zstd)
            .with_options(WriterOptions::new(IpcFormat::Stream).with_compression(buffers));
        Ok(ArrowFlightExport { client })
    }
}

impl Export for ArrowFlightExport {
    /// The batch itself: the Flight client encodes it with the stream's dictionaries as it sends.
    type Payload = Arc<Batch>;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Arc<Batch>, ExportError> {
        Ok(Arc::clone(batch))
    }

    async fn send(&self, batch: &Arc<Batch>) -> Result<Delivered, ExportError> {
        let mut client = self.client.clone();
        match client.send(std::slice::from_ref(batch.request())).await {
            Ok(_) => Ok(Delivered::default()),
            Err(otlp_arrow::Error::Flight(status)) => Err(grpc_error(&status)),
            Err(otlp_arrow::Error::NotAcknowledged(message)) => {
                Err(ExportError::retryable(message))
            }
            Err(e) => Err(ExportError::permanent(e.to_string())),
        }
    }
}
