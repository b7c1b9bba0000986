//! The `nop` exporter (otelcol's): takes every batch and sends it nowhere.
//!
//! ```yaml
//! exporters:
//!   nop:
//! ```
//!
//! For a pipeline that must end somewhere while its data matters only on the way (a connector fed by it, a
//! processor being tried out), and for measuring what the rest of a pipeline costs. Unlike otelcol's, it counts
//! what it takes as sent (`otelcol_exporter_sent_spans` and the others), so a dashboard shows the pipeline's flow.

use super::{
    CircuitBreakerConfig, Delivered, Export, ExportError, Exporter, HelperSettings, QueueConfig,
    RetryConfig,
};
use crate::Batch;
use crate::component::{Component, ExporterContext, ExporterFactory};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The `nop` exporter type.
pub struct Factory;

/// The `nop` exporter's settings: none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NopExporterConfig {}

impl Component for Factory {
    type Config = NopExporterConfig;
    const TYPE: &'static str = "nop";
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        _config: &NopExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        // Nothing can fail or wait, so neither a queue nor retries: each batch is done while its sender waits.
        let settings = HelperSettings {
            queue: QueueConfig {
                enabled: false,
                ..QueueConfig::default()
            },
            retry: RetryConfig {
                enabled: false,
                ..RetryConfig::default()
            },
            timeout: Duration::from_secs(30),
            circuit_breaker: CircuitBreakerConfig::default(),
        };
        Ok(Exporter::new(Discard, settings))
    }
}

struct Discard;

impl Export for Discard {
    type Payload = ();

    fn prepare(&self, _batch: &Arc<Batch>) -> Result<(), ExportError> {
        Ok(())
    }

    async fn send(&self, _payload: &()) -> Result<Delivered, ExportError> {
        Ok(Delivered::default())
    }
}
