//! The `prometheus` exporter's settings, with otelcol-contrib's keys.

use super::labels::Labeler;
use super::naming::{Namer, Strategy};
use crate::component::Invalid;
use crate::de;
use crate::exporter::QueueConfig;
use crate::exporter::helper::local_queue;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `prometheus` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusExporterConfig {
    /// `host:port` where `/metrics` is served (required).
    pub endpoint: String,
    /// TLS (mutual with `client_ca_file`): the same settings as the `otlp` receiver's; plaintext without.
    pub tls: Option<ServerTlsSettings>,
    /// Prefix of every metric name (`namespace_name`).
    pub namespace: String,
    /// Labels added to every series.
    pub const_labels: BTreeMap<String, String>,
    /// Write each sample's timestamp (the point's time), instead of leaving the scrape time to Prometheus.
    pub send_timestamps: bool,
    /// How long a series is served after its last point.
    #[serde(deserialize_with = "de::duration")]
    pub metric_expiration: Duration,
    /// Every resource attribute as a label of every series (deprecated in otelcol for `resource_constant_labels`).
    pub resource_to_telemetry_conversion: ResourceToTelemetry,
    /// Which resource attributes become labels of every series; takes precedence over
    /// `resource_to_telemetry_conversion`.
    pub resource_constant_labels: Option<ResourceConstantLabels>,
    /// Answer scrapers that ask for it (`Accept: application/openmetrics-text`) in OpenMetrics, with exemplars.
    pub enable_open_metrics: bool,
    /// Leave out the `otel_scope_*` labels.
    pub without_scope_info: bool,
    /// Unit and type suffixes on names (`_seconds`, `_total`); ignored when `translation_strategy` is set.
    pub add_metric_suffixes: bool,
    /// How OTLP names become Prometheus names; takes precedence over `add_metric_suffixes`.
    pub translation_strategy: Option<Strategy>,
    /// otelcol's exporter queue (keys left out keep one consumer and a queue of 4); `{ enabled: false }` updates
    /// the served series while the client waits.
    #[serde(deserialize_with = "local_queue")]
    pub sending_queue: Option<QueueConfig>,
}

impl Default for PrometheusExporterConfig {
    fn default() -> Self {
        PrometheusExporterConfig {
            endpoint: String::new(),
            tls: None,
            namespace: String::new(),
            const_labels: BTreeMap::new(),
            send_timestamps: false,
            metric_expiration: Duration::from_secs(5 * 60),
            resource_to_telemetry_conversion: ResourceToTelemetry::default(),
            resource_constant_labels: None,
            enable_open_metrics: false,
            without_scope_info: false,
            add_metric_suffixes: true,
            translation_strategy: None,
            sending_queue: None,
        }
    }
}

/// `resource_to_telemetry_conversion`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceToTelemetry {
    /// Every resource attribute as a label.
    pub enabled: bool,
    /// Except `service.name`, `service.namespace` and `service.instance.id`, already the `job` and `instance`
    /// labels.
    pub exclude_service_attributes: bool,
}

impl ResourceToTelemetry {
    /// Whether resource attribute `key` is copied onto every point of its resource.
    pub fn selects(&self, key: &str) -> bool {
        self.enabled
            && !(self.exclude_service_attributes && super::labels::SERVICE_KEYS.contains(&key))
    }
}

/// `resource_constant_labels`: wildcard patterns (`*` matches any run of characters) over resource attribute keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceConstantLabels {
    /// Keys to copy; empty with `excluded` set means every key not excluded.
    pub included: Vec<String>,
    /// Keys never copied, whatever `included` says.
    pub excluded: Vec<String>,
}

impl ResourceConstantLabels {
    /// Whether resource attribute `key` becomes a label.
    pub(in crate::exporter) fn selects(&self, key: &str) -> bool {
        if self.excluded.iter().any(|pattern| wildcard(pattern, key)) {
            return false;
        }
        if self.included.is_empty() {
            return !self.excluded.is_empty();
        }
        self.included.iter().any(|pattern| wildcard(pattern, key))
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (none included).
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole text is the prefix.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

impl PrometheusExporterConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push(Invalid::at(
                "endpoint",
                "the address to serve /metrics on is required (e.g. \"0.0.0.0:8889\")",
            ));
        }
        if let Some(queue) = &self.sending_queue
            && let Err(message) = queue.validate()
        {
            problems.push(Invalid::from(message));
        }
        Invalid::all(problems)
    }

    /// The naming in effect: `translation_strategy`, else what `add_metric_suffixes` says.
    pub(super) fn strategy(&self) -> Strategy {
        self.translation_strategy
            .unwrap_or(if self.add_metric_suffixes {
                Strategy::UnderscoreEscapingWithSuffixes
            } else {
                Strategy::UnderscoreEscapingWithoutSuffixes
            })
    }

    /// How these settings label series.
    pub(super) fn labeler(&self) -> Labeler {
        Labeler {
            namer: Namer::new(self.strategy(), &self.namespace),
            scope_info: !self.without_scope_info,
            resource_constant_labels: self.resource_constant_labels.clone(),
            resource_to_telemetry: self.resource_to_telemetry_conversion.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
