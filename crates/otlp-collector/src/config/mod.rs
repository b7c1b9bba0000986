//! The collector config: the OpenTelemetry Collector's YAML layout.
//!
//! ```yaml
//! receivers:  { otlp: { protocols: { grpc: {}, http: {} } } }
//! processors: { memory_limiter: { check_interval: 1s, limit_percentage: 80 }, batch: {} }
//! exporters:  { otlp/backend: { endpoint: "http://backend:4317" } }
//! service:
//!   pipelines:
//!     traces: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp/backend] }
//! ```
//!
//! Components are named `type` or `type/name`. `${env:VAR}` (and `${env:VAR:-default}`) is replaced by the
//! environment variable in any string value; `$$` stands for a literal `$`. Every key is checked: an unknown
//! component type or key is an error that names its path in the file and what is supported.
//!
//! This module holds the document model and the checks that span components (references, pipelines); each
//! component's own settings are parsed and validated by its factory, found in the [`Components`] registry.

mod env;
mod service;

pub use crate::id::{ComponentId, PipelineId};

use crate::component::{ComponentConfig, Components};
use crate::error::Error;
use crate::id::join;
use otlp_model::Signal;
use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The config the collector runs with when no file is given: OTLP on 127.0.0.1:4317 (gRPC) and 127.0.0.1:4318
/// (HTTP), memory limiter and batching, every signal written to files under `./otlp-data`.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../default-config.yaml");

/// One pipeline: where its data comes from, what processes it, where it goes.
#[derive(Debug, Clone, Default)]
pub struct PipelineConfig {
    /// Receivers feeding the pipeline.
    pub receivers: Vec<ComponentId>,
    /// Processors, in order.
    pub processors: Vec<ComponentId>,
    /// Exporters every item is sent to.
    pub exporters: Vec<ComponentId>,
}

/// How the collector writes its own log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (colour only on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// `service.telemetry`: the collector's own logs and metrics.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// Where `/metrics` (Prometheus text), `/health` and `/ready` are served; `None` turns it off.
    pub metrics_address: Option<String>,
    /// The log level (`error`, `warn`, `info`, `debug`).
    pub log_level: String,
    /// `service.telemetry.logs.encoding`: `console` (text) or `json`.
    pub log_format: LogFormat,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            metrics_address: Some("127.0.0.1:8888".to_string()),
            log_level: "info".to_string(),
            log_format: LogFormat::Text,
        }
    }
}

/// The `service` section.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    /// Extensions to start.
    pub extensions: Vec<ComponentId>,
    /// Pipelines by id.
    pub pipelines: BTreeMap<PipelineId, PipelineConfig>,
    /// Self-telemetry.
    pub telemetry: TelemetryConfig,
}

/// A whole, validated collector config, and the component types it was parsed with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Receivers by id.
    pub receivers: BTreeMap<ComponentId, ComponentConfig>,
    /// Processors by id.
    pub processors: BTreeMap<ComponentId, ComponentConfig>,
    /// Exporters by id.
    pub exporters: BTreeMap<ComponentId, ComponentConfig>,
    /// Extensions by id.
    pub extensions: BTreeMap<ComponentId, ComponentConfig>,
    /// Pipelines and self-telemetry.
    pub service: ServiceConfig,
    components: Components,
}

/// The component sections of a config, in the order they are parsed.
const COMPONENT_SECTIONS: [&str; 4] = ["receivers", "processors", "exporters", "extensions"];

impl Config {
    /// The embedded default config ([`DEFAULT_CONFIG_YAML`]).
    pub fn embedded_default() -> Result<Self, Error> {
        Config::from_yaml(DEFAULT_CONFIG_YAML)
    }

    /// Reads and validates a config file, with the built-in component types.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        Config::from_file_with(path, &Components::builtin())
    }

    /// Reads and validates a config file that may use the component types of `components`.
    pub fn from_file_with(path: &Path, components: &Components) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_yaml_with(&text, components, &|name| std::env::var(name).ok())
    }

    /// Parses and validates a config from YAML text, substituting `${env:VAR}` from the process environment.
    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        Config::from_yaml_with_env(text, &|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_yaml`], with the environment given as a lookup function.
    pub fn from_yaml_with_env(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        Config::from_yaml_with(text, &Components::builtin(), env)
    }

    /// Parses and validates a config that may use the component types of `components`, with the environment
    /// given as a lookup function.
    pub fn from_yaml_with(
        text: &str,
        components: &Components,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let mut root: Value =
            serde_norway::from_str(text).map_err(|e| Error::Yaml(e.to_string()))?;
        if root.is_null() {
            root = Value::Mapping(Mapping::new());
        }
        env::expand_env(&mut root, env, "")?;
        let Value::Mapping(top) = root else {
            return Err(Error::config(
                "",
                "the config must be a mapping of sections",
            ));
        };
        let mut sections = BTreeMap::new();
        for (key, value) in top {
            let key = key_string(&key, "")?;
            match key.as_str() {
                "receivers" | "processors" | "exporters" | "extensions" | "service"
                | "connectors" => {
                    sections.insert(key, value);
                }
                other => {
                    return Err(Error::config(
                        other,
                        format!(
                            "unknown section `{other}`; supported: receivers, processors, exporters, extensions, service"
                        ),
                    ));
                }
            }
        }
        if let Some(connectors) = sections.remove("connectors")
            && !is_empty(&connectors)
        {
            return Err(Error::config(
                "connectors",
                "connectors are not supported yet",
            ));
        }
        let [receivers, processors, exporters, extensions] = COMPONENT_SECTIONS
            .map(|section| parse_components(sections.remove(section), section, components));
        let config = Config {
            receivers: receivers?,
            processors: processors?,
            exporters: exporters?,
            extensions: extensions?,
            service: service::parse_service(sections.remove("service"))?,
            components: components.clone(),
        };
        config.validate()?;
        Ok(config)
    }

    /// The component types this config was parsed with, which build it.
    pub fn components(&self) -> &Components {
        &self.components
    }

    /// The checks that span components: pipelines, references, and which signals each processor handles.
    fn validate(&self) -> Result<(), Error> {
        if self.service.pipelines.is_empty() {
            return Err(Error::config(
                "service.pipelines",
                "at least one pipeline is required (traces, metrics or logs)",
            ));
        }
        for (pipeline_id, pipeline) in &self.service.pipelines {
            let path = format!("service.pipelines.{pipeline_id}");
            if pipeline.receivers.is_empty() {
                return Err(Error::config(
                    format!("{path}.receivers"),
                    "a pipeline needs at least one receiver",
                ));
            }
            if pipeline.exporters.is_empty() {
                return Err(Error::config(
                    format!("{path}.exporters"),
                    "a pipeline needs at least one exporter",
                ));
            }
            for (list, section, defined) in [
                (&pipeline.receivers, "receivers", &self.receivers),
                (&pipeline.processors, "processors", &self.processors),
                (&pipeline.exporters, "exporters", &self.exporters),
            ] {
                check_references(list, defined, &path, section)?;
                let mut seen = BTreeSet::new();
                if let Some(twice) = list.iter().find(|component| !seen.insert(*component)) {
                    return Err(Error::config(
                        format!("{path}.{section}"),
                        format!("`{twice}` is listed twice"),
                    ));
                }
            }
            for id in &pipeline.processors {
                let supported = self
                    .components
                    .processor(id.kind())
                    .map_or(&Signal::ALL[..], |factory| factory.signals());
                if !supported.contains(&pipeline_id.signal) {
                    return Err(Error::config(
                        format!("{path}.processors"),
                        format!("`{id}` does not process {}", pipeline_id.signal),
                    ));
                }
            }
        }
        check_references(
            &self.service.extensions,
            &self.extensions,
            "service",
            "extensions",
        )?;
        // Each component's own checks come after the cross-references, so a config with a dangling reference
        // is told about that first.
        for section in COMPONENT_SECTIONS {
            for (id, settings) in self.section(section) {
                if let Some(factory) = self.components.parser(section, id.kind()) {
                    factory.validate(&join(section, &id.to_string()), settings)?;
                }
            }
        }
        Ok(())
    }

    fn section(&self, section: &str) -> &BTreeMap<ComponentId, ComponentConfig> {
        match section {
            "receivers" => &self.receivers,
            "processors" => &self.processors,
            "exporters" => &self.exporters,
            _ => &self.extensions,
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Mapping(m) => m.is_empty(),
        _ => false,
    }
}

fn check_references(
    used: &[ComponentId],
    defined: &BTreeMap<ComponentId, ComponentConfig>,
    path: &str,
    section: &str,
) -> Result<(), Error> {
    for id in used {
        if !defined.contains_key(id) {
            let known: Vec<String> = defined.keys().map(ToString::to_string).collect();
            let known = if known.is_empty() {
                "none are defined".to_string()
            } else {
                format!("defined: {}", known.join(", "))
            };
            return Err(Error::config(
                format!("{path}.{section}"),
                format!("`{id}` is not defined in the top-level `{section}` section ({known})"),
            ));
        }
    }
    Ok(())
}

fn key_string(key: &Value, parent: &str) -> Result<String, Error> {
    match key {
        Value::String(s) => Ok(s.clone()),
        other => Err(Error::config(
            parent,
            format!("keys must be strings, found {other:?}"),
        )),
    }
}

/// Parses one component section with the factories of `components`, checking each type is known.
fn parse_components(
    section: Option<Value>,
    name: &str,
    components: &Components,
) -> Result<BTreeMap<ComponentId, ComponentConfig>, Error> {
    let mut out = BTreeMap::new();
    let mapping = match section {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            return Err(Error::config(
                name,
                "must be a mapping of component ids to settings",
            ));
        }
    };
    for (key, value) in mapping {
        let key = key_string(&key, name)?;
        let path = join(name, &key);
        let id = ComponentId::parse(&key).map_err(|m| Error::config(&path, m))?;
        let Some(factory) = components.parser(name, id.kind()) else {
            return Err(Error::config(
                &path,
                format!(
                    "unknown {} type `{}`; supported: {}",
                    name.trim_end_matches('s'),
                    id.kind(),
                    components.types(name).join(", ")
                ),
            ));
        };
        out.insert(id, factory.parse(&path, value)?);
    }
    Ok(out)
}
