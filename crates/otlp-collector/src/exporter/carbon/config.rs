//! The `carbon` exporter's settings, with otelcol-contrib's keys and defaults.

use crate::de;
use crate::exporter::prometheus::ResourceToTelemetry;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use serde::Deserialize;
use std::time::Duration;

/// The `carbon` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarbonExporterConfig {
    /// The Carbon server's `host:port` (plaintext protocol, TCP).
    pub endpoint: String,
    /// The most connections kept open between batches; as many batches are sent at once as the queue has
    /// consumers, so otelcol advises the same number for both.
    pub max_idle_conns: usize,
    /// Time allowed for one attempt at a batch, connecting included.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Every resource attribute as a tag of each of its points.
    pub resource_to_telemetry_conversion: ResourceToTelemetry,
    /// The sending queue.
    pub sending_queue: QueueConfig,
    /// Retries of a failed batch, sent whole again (Carbon keeps the last value of a timestamp, so a point sent
    /// twice is stored once).
    pub retry_on_failure: RetryConfig,
    /// Stop calling a failing server for a while (not in otelcol).
    pub circuit_breaker: CircuitBreakerConfig,
}

impl Default for CarbonExporterConfig {
    fn default() -> Self {
        CarbonExporterConfig {
            endpoint: "localhost:2003".to_owned(),
            max_idle_conns: 100,
            timeout: Duration::from_secs(5),
            resource_to_telemetry_conversion: ResourceToTelemetry::default(),
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
        }
    }
}

impl CarbonExporterConfig {
    /// Each problem of the settings, with the key it is about.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let port = self
            .endpoint
            .rsplit_once(':')
            .filter(|(host, _)| !host.is_empty())
            .and_then(|(_, port)| port.parse::<u16>().ok());
        if !matches!(port, Some(1..)) {
            problems.push((
                "endpoint",
                format!(
                    "`{}` is not `host:port` (Carbon's plaintext port is 2003)",
                    self.endpoint
                ),
            ));
        }
        problems.extend(self.helper().problems());
        problems
    }

    pub(super) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}
