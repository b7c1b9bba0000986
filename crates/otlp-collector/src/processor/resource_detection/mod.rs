//! The `resourcedetection` processor: otelcol's `env` and `system` detectors. What they find when the collector
//! starts (`OTEL_RESOURCE_ATTRIBUTES`; the host's name and OS) is written into every resource that passes, by the
//! `resource` processor's `upsert` (or `insert`, with `override: false`), so that telemetry from SDKs that do not
//! say where they run is labelled by the collector that received it.
//!
//! Detectors run in the order listed, and an attribute the first finds is not taken from a later one, as in
//! otelcol. The cloud and orchestrator detectors (`ec2`, `gcp`, `eks`, `k8snode`, `docker`, ...) are not here, and
//! listing one is an error that says which exist.

mod detect;

use super::in_place::in_place_stage;
use super::ottl::describe;
use super::resource::ResourceStage;
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::de;
use crate::exporter::RetryConfig;
use crate::pipeline::Consumer;
use otlp_ottl::actions::{ResourceConfig, ResourceProcessor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The `resourcedetection` processor type (traces, metrics and logs).
pub struct Factory;

/// The `resourcedetection` processor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDetectionConfig {
    /// Detectors, first to last in precedence: `env`, `system`.
    #[serde(default)]
    pub detectors: Vec<String>,
    /// Whether a detected attribute replaces one the resource already has (otelcol's default) or only fills a gap.
    #[serde(default = "replace_existing", rename = "override")]
    pub override_existing: bool,
    /// otelcol's limit on detection; detection here reads local state only, so it is never reached.
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub timeout: Option<Duration>,
    /// The `system` detector's settings.
    #[serde(default)]
    pub system: SystemDetectorConfig,
    /// otelcol's period for detecting again (default 0: only at start). Taken, with no effect: what `env` and
    /// `system` read cannot change while the collector runs (its environment) or is read once by otelcol too
    /// (`host.name` from the kernel).
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub refresh_interval: Option<Duration>,
    /// otelcol's switch to stop the start when a detector cannot reach its metadata service. Taken, with no
    /// effect: `env` and `system` read local state and cannot fail that way.
    #[serde(default)]
    pub fail_on_missing_metadata: bool,
    /// otelcol's retries of metadata-service calls (the exporters' `retry_on_failure` keys). Taken and checked,
    /// with no effect, for the same reason.
    #[serde(default)]
    pub retry: Option<RetryConfig>,
}

fn replace_existing() -> bool {
    true
}

/// `system`: where the host name comes from and which attributes are written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemDetectorConfig {
    /// Sources of `host.name`, first that answers wins; only `os` (the kernel's node name) is here.
    #[serde(default)]
    pub hostname_sources: Vec<String>,
    /// `host.name` and `os.type` (on by default) and `host.arch` (off), each `{ enabled: bool }`.
    #[serde(default)]
    pub resource_attributes: BTreeMap<String, AttributeSwitch>,
}

/// `{ enabled: bool }` of one detected attribute.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSwitch {
    /// Whether the attribute is written.
    pub enabled: bool,
}

const DETECTORS: [&str; 2] = ["env", "system"];

impl Component for Factory {
    type Config = ResourceDetectionConfig;
    const TYPE: &'static str = "resourcedetection";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        let detectors = config
            .detectors
            .iter()
            .enumerate()
            .filter(|(_, name)| !DETECTORS.contains(&name.as_str()))
            .map(|(i, name)| {
                Invalid::at(
                    format!("detectors[{i}]"),
                    format!(
                        "`{name}` is an otelcol detector otlp-suite does not have; supported: {}",
                        DETECTORS.join(", ")
                    ),
                )
            });
        let sources = config
            .system
            .hostname_sources
            .iter()
            .enumerate()
            .filter(|(_, source)| *source != "os")
            .map(|(i, source)| {
                Invalid::at(
                    format!("system.hostname_sources[{i}]"),
                    format!("`{source}` is not supported: the host name comes from `os` only"),
                )
            });
        let attributes = config
            .system
            .resource_attributes
            .keys()
            .filter(|name| {
                !detect::SYSTEM_ATTRIBUTES
                    .iter()
                    .any(|(known, _)| known == name)
            })
            .map(|name| {
                let known: Vec<&str> = detect::SYSTEM_ATTRIBUTES.iter().map(|(k, _)| *k).collect();
                Invalid::at(
                    format!("system.resource_attributes.{name}"),
                    format!("not detected here; supported: {}", known.join(", ")),
                )
            });
        Invalid::all(detectors.chain(sources).chain(attributes))
    }
}

impl ProcessorFactory for Factory {
    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let switches: BTreeMap<String, bool> = config
            .system
            .resource_attributes
            .iter()
            .map(|(name, switch)| (name.clone(), switch.enabled))
            .collect();
        let mut detected: Vec<(String, String)> = Vec::new();
        for detector in &config.detectors {
            let found = match detector.as_str() {
                "env" => {
                    let variable = std::env::var("OTEL_RESOURCE_ATTRIBUTES").ok();
                    detect::env_attributes(variable.as_deref())
                        .map_err(|e| format!("detector env: OTEL_RESOURCE_ATTRIBUTES: {e}"))?
                }
                "system" => detect::system_attributes(&switches),
                other => return Err(format!("detector `{other}` is not supported")),
            };
            for (key, value) in found {
                if !detected.iter().any(|(known, _)| *known == key) {
                    detected.push((key, value));
                }
            }
        }
        let keys: Vec<&str> = detected.iter().map(|(key, _)| key.as_str()).collect();
        tracing::info!(processor = context.id, attributes = ?keys, "detected resource attributes");
        if detected.is_empty() {
            return Ok(next);
        }
        let action = if config.override_existing {
            "upsert"
        } else {
            "insert"
        };
        let actions: Vec<serde_json::Value> = detected
            .into_iter()
            .map(|(key, value)| serde_json::json!({ "key": key, "value": value, "action": action }))
            .collect();
        let resource: ResourceConfig =
            serde_json::from_value(serde_json::json!({ "attributes": actions }))
                .map_err(|e| format!("detected attributes: {e}"))?;
        let processor = ResourceProcessor::new(&resource).map_err(describe)?;
        Ok(in_place_stage(ResourceStage::new(processor), next))
    }
}
