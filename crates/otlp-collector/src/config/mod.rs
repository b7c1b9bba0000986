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
//! A connector (`connectors:`, e.g. `forward`) is listed among the exporters of the pipelines that feed it and
//! the receivers of those it feeds; pipelines joined through connectors may not form a cycle.
//!
//! Components are named `type` or `type/name`. `${env:VAR}` (and `${env:VAR:-default}`) is replaced by the
//! environment variable in any string value; `$$` stands for a literal `$`. Every key is checked: an unknown
//! component type or key is an error that names its path in the file and what is supported. All the problems of
//! a config are reported together ([`Error::Problems`], or [`Error::Config`] when there is one), and a type of
//! the OpenTelemetry Collector that this crate lacks is named as such, with the nearest type it has.
//!
//! This module holds the document model and the checks that span components (references, pipelines); each
//! component's own settings are parsed and validated by its factory, found in the [`Components`] registry.

pub(crate) mod connectors;
mod env;
mod references;
mod service;
mod unknown;
mod yaml;
pub(crate) use unknown::nearest;
pub use yaml::parse_yaml;

pub use crate::id::{ComponentId, PipelineId};
pub use env::UnsetVariable;

use crate::component::{ComponentConfig, Components};
use crate::error::{ConfigProblem, Error};
use crate::id::join;
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
    /// Where `/metrics` (Prometheus text), `/health` and `/ready` are served (`metrics.address`, or the `pull`
    /// reader of `metrics.readers`); `None` turns it off.
    pub metrics_address: Option<String>,
    /// The log level (`error`, `warn`, `info`, `debug`).
    pub log_level: String,
    /// `service.telemetry.logs.encoding`: `console` (text) or `json`.
    pub log_format: LogFormat,
    /// The rest of `service.telemetry.logs`: destinations, fields on every line, sampling, caller.
    pub logs: crate::telemetry::logs::LogSettings,
    /// `service.telemetry.resource`: the attributes of the resource the pushed self-metrics carry.
    pub resource: crate::telemetry::resource::ResourceSettings,
    /// The `periodic` readers of `metrics.readers`, which push the self-metrics over OTLP (started by
    /// [`PeriodicReaders::start`](crate::telemetry::periodic::PeriodicReaders::start)).
    pub periodic_readers: Vec<crate::telemetry::periodic::PeriodicReaderConfig>,
    /// Settings of this section that are taken but do nothing here (`logs.development: true`); the binary logs
    /// them as it starts.
    pub warnings: Vec<ConfigWarning>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            metrics_address: Some("127.0.0.1:8888".to_string()),
            log_level: "info".to_string(),
            log_format: LogFormat::Text,
            logs: crate::telemetry::logs::LogSettings::default(),
            resource: crate::telemetry::resource::ResourceSettings::default(),
            periodic_readers: Vec::new(),
            warnings: Vec::new(),
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
    /// Connectors by id: exporters of some pipelines, receivers of others.
    pub connectors: BTreeMap<ComponentId, ComponentConfig>,
    /// Extensions by id.
    pub extensions: BTreeMap<ComponentId, ComponentConfig>,
    /// Pipelines and self-telemetry.
    pub service: ServiceConfig,
    components: Components,
    unset_variables: Vec<UnsetVariable>,
    warnings: Vec<ConfigWarning>,
}

/// A setting that is taken but likely not to do what was meant ([`Component::warnings`]): the collector logs it
/// as it starts and `otlp-suite validate` prints it, like an [`UnsetVariable`].
///
/// [`Component::warnings`]: crate::component::Component::warnings
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The key it is about (`exporters.otlphttp.tls.insecure`).
    pub path: String,
    /// What it does instead, and what to write.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at `{}`: {}", self.path, self.message)
    }
}

/// The component sections of a config, in the order they are parsed.
const COMPONENT_SECTIONS: [&str; 5] = [
    "receivers",
    "processors",
    "exporters",
    "connectors",
    "extensions",
];

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
    ///
    /// # Errors
    ///
    /// [`Error::Yaml`] for text that is not YAML; otherwise every problem found, each with its key path:
    /// [`Error::Config`] for one, [`Error::Problems`] for several.
    pub fn from_yaml_with(
        text: &str,
        components: &Components,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let mut root = parse_yaml(text)?;
        if root.is_null() {
            root = Value::Mapping(Mapping::new());
        }
        let mut unset_variables = Vec::new();
        env::expand_env(&mut root, env, "", &mut unset_variables)?;
        let Value::Mapping(top) = root else {
            return Err(Error::config(
                "",
                "the config must be a mapping of sections",
            ));
        };
        // Every problem is collected, so that one run of `otlp-suite validate` shows all of them; a part that
        // cannot be read is left out of the checks that depend on it rather than reported again through them.
        let mut problems = Vec::new();
        let mut sections = BTreeMap::new();
        for (key, value) in top {
            let key = match key_string(&key, "") {
                Ok(key) => key,
                Err(error) => {
                    problems.extend(error.config_problems());
                    continue;
                }
            };
            match key.as_str() {
                "receivers" | "processors" | "exporters" | "extensions" | "service"
                | "connectors" => {
                    sections.insert(key, value);
                }
                other => problems.push(problem(
                    other,
                    format!(
                        "unknown section `{other}`; supported: receivers, processors, exporters, connectors, extensions, service"
                    ),
                )),
            }
        }
        let mut extension_references = references::references(&sections, references::Role::Storage);
        extension_references.extend(references::references(
            &sections,
            references::Role::Authenticator,
        ));
        let mut unreadable = BTreeSet::new();
        let [receivers, processors, exporters, connectors, extensions] =
            COMPONENT_SECTIONS.map(|section| {
                parse_components(
                    sections.remove(section),
                    section,
                    components,
                    &mut problems,
                    &mut unreadable,
                )
            });
        let service = match service::parse_service(sections.remove("service")) {
            Ok(service) => Some(service),
            Err(error) => {
                problems.extend(error.config_problems());
                None
            }
        };
        let service_read = service.is_some();
        let mut config = Config {
            receivers,
            processors,
            exporters,
            connectors,
            extensions,
            service: service.unwrap_or_default(),
            components: components.clone(),
            unset_variables,
            warnings: Vec::new(),
        };
        if service_read {
            config.validate_pipelines(&unreadable, &mut problems);
            references::check(
                &extension_references,
                &config.extensions,
                &unreadable,
                &config.service.extensions,
                &config.components,
                &mut problems,
            );
        }
        config.validate_components(&mut problems);
        match Error::from_problems(problems) {
            Some(error) => Err(error),
            None => {
                config.warnings = config.component_warnings();
                config
                    .warnings
                    .extend(config.service.telemetry.warnings.iter().cloned());
                Ok(config)
            }
        }
    }

    /// The component types this config was parsed with, which build it.
    pub fn components(&self) -> &Components {
        &self.components
    }

    /// The `${env:VAR}` references without a default whose variable was not set, in the order of the file; each
    /// became an empty string. The collector logs them as it starts; `otlp-suite validate` prints them.
    pub fn unset_variables(&self) -> &[UnsetVariable] {
        &self.unset_variables
    }

    /// Settings that were taken but are likely not to do what was meant, in the order of the sections; the
    /// collector logs them as it starts, `otlp-suite validate` prints them.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    fn component_warnings(&self) -> Vec<ConfigWarning> {
        let mut warnings = Vec::new();
        for section in COMPONENT_SECTIONS {
            for (id, settings) in self.section(section) {
                if let Some(factory) = self.components.parser(section, id.kind()) {
                    warnings.extend(factory.warnings(&join(section, &id.to_string()), settings));
                }
            }
        }
        warnings
    }

    /// The checks that span components: pipelines, references, and which signals each processor handles.
    /// References to components in `unreadable` (present, but with settings that could not be read) are not
    /// reported again.
    fn validate_pipelines(
        &self,
        unreadable: &BTreeSet<(&'static str, ComponentId)>,
        problems: &mut Vec<ConfigProblem>,
    ) {
        if self.service.pipelines.is_empty() {
            problems.push(problem(
                "service.pipelines",
                "at least one pipeline is required (traces, metrics or logs)",
            ));
        }
        for (pipeline_id, pipeline) in &self.service.pipelines {
            let path = format!("service.pipelines.{pipeline_id}");
            if pipeline.receivers.is_empty() {
                problems.push(problem(
                    format!("{path}.receivers"),
                    "a pipeline needs at least one receiver",
                ));
            }
            if pipeline.exporters.is_empty() {
                problems.push(problem(
                    format!("{path}.exporters"),
                    "a pipeline needs at least one exporter",
                ));
            }
            for (list, section, defined) in [
                (&pipeline.receivers, "receivers", &self.receivers),
                (&pipeline.processors, "processors", &self.processors),
                (&pipeline.exporters, "exporters", &self.exporters),
            ] {
                // A connector stands where a receiver or an exporter would.
                let connectors = match section {
                    "processors" => None,
                    _ => Some(&self.connectors),
                };
                check_references(
                    list,
                    (section, defined),
                    connectors,
                    unreadable,
                    &path,
                    problems,
                );
                let mut seen = BTreeSet::new();
                if let Some(twice) = list.iter().find(|component| !seen.insert(*component)) {
                    problems.push(problem(
                        format!("{path}.{section}"),
                        format!("`{twice}` is listed twice"),
                    ));
                }
            }
            // An id under `connectors` names no receiver or exporter, whatever its type.
            let receivers = pipeline.receivers.iter().filter_map(|id| {
                let signals = self.components.receiver(id.kind())?.signals();
                self.receivers
                    .contains_key(id)
                    .then_some((id, "receivers", "receive", signals))
            });
            let exporters = pipeline.exporters.iter().filter_map(|id| {
                let signals = self.components.exporter(id.kind())?.signals();
                self.exporters
                    .contains_key(id)
                    .then_some((id, "exporters", "export", signals))
            });
            for (id, section, verb, signals) in receivers.chain(exporters) {
                if !signals.contains(&pipeline_id.signal) {
                    problems.push(problem(
                        format!("{path}.{section}"),
                        format!("`{id}` does not {verb} {}", pipeline_id.signal),
                    ));
                }
            }
            for id in &pipeline.processors {
                let Some(factory) = self.components.processor(id.kind()) else {
                    continue;
                };
                if !factory.signals().contains(&pipeline_id.signal) {
                    problems.push(problem(
                        format!("{path}.processors"),
                        format!("`{id}` does not process {}", pipeline_id.signal),
                    ));
                } else if let Some(settings) = self.processors.get(id) {
                    let component = join("processors", &id.to_string());
                    for found in factory.validate_for(&component, settings, pipeline_id.signal) {
                        // Once, however many pipelines of the signal use the processor.
                        if !problems.contains(&found) {
                            problems.push(found);
                        }
                    }
                }
            }
        }
        check_references(
            &self.service.extensions,
            ("extensions", &self.extensions),
            None,
            unreadable,
            "service",
            problems,
        );
        connectors::check(self, problems);
    }

    /// Each component's own checks, after the cross-references, so that a dangling reference is listed first.
    fn validate_components(&self, problems: &mut Vec<ConfigProblem>) {
        for section in COMPONENT_SECTIONS {
            for (id, settings) in self.section(section) {
                if let Some(factory) = self.components.parser(section, id.kind()) {
                    problems.extend(factory.validate(&join(section, &id.to_string()), settings));
                }
            }
        }
    }

    fn section(&self, section: &str) -> &BTreeMap<ComponentId, ComponentConfig> {
        match section {
            "receivers" => &self.receivers,
            "processors" => &self.processors,
            "exporters" => &self.exporters,
            "connectors" => &self.connectors,
            _ => &self.extensions,
        }
    }
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        path: path.into(),
        message: message.into(),
    }
}

/// Reports the ids of `used` (a list of `path`) defined neither in `section` nor, when given, among the
/// connectors, which can stand for a receiver or an exporter.
fn check_references(
    used: &[ComponentId],
    (section, defined): (&'static str, &BTreeMap<ComponentId, ComponentConfig>),
    connectors: Option<&BTreeMap<ComponentId, ComponentConfig>>,
    unreadable: &BTreeSet<(&'static str, ComponentId)>,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) {
    let sections: &[&'static str] = match connectors {
        Some(_) => &[section, "connectors"],
        None => &[section],
    };
    for id in used {
        let found = defined.contains_key(id)
            || connectors.is_some_and(|connectors| connectors.contains_key(id))
            || sections
                .iter()
                .any(|section| unreadable.contains(&(*section, id.clone())));
        if !found {
            // A component whose settings could not be read is still defined: naming it among the others keeps
            // "none are defined" from contradicting the problem reported for its settings.
            let mut known: Vec<String> = defined
                .keys()
                .chain(connectors.into_iter().flat_map(BTreeMap::keys))
                .map(ToString::to_string)
                .collect();
            known.extend(
                unreadable
                    .iter()
                    .filter(|(in_section, _)| sections.contains(in_section))
                    .map(|(_, id)| format!("{id} (whose settings have problems)")),
            );
            known.sort();
            let known = if known.is_empty() {
                "none are defined".to_string()
            } else {
                format!("defined: {}", known.join(", "))
            };
            let defined_in = match connectors {
                Some(connectors) if !connectors.is_empty() => {
                    format!("`{section}` or `connectors` sections")
                }
                _ => format!("`{section}` section"),
            };
            problems.push(problem(
                format!("{path}.{section}"),
                format!("`{id}` is not defined in the top-level {defined_in} ({known})"),
            ));
        }
    }
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

/// Parses one component section with the factories of `components`, checking each type is known. Components
/// that cannot be read are reported and recorded in `unreadable`.
fn parse_components(
    section: Option<Value>,
    name: &'static str,
    components: &Components,
    problems: &mut Vec<ConfigProblem>,
    unreadable: &mut BTreeSet<(&'static str, ComponentId)>,
) -> BTreeMap<ComponentId, ComponentConfig> {
    let mut out = BTreeMap::new();
    let mapping = match section {
        None | Some(Value::Null) => return out,
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            problems.push(problem(
                name,
                "must be a mapping of component ids to settings",
            ));
            return out;
        }
    };
    for (key, value) in mapping {
        let key = match key_string(&key, name) {
            Ok(key) => key,
            Err(error) => {
                problems.extend(error.config_problems());
                continue;
            }
        };
        let path = join(name, &key);
        let id = match ComponentId::parse(&key) {
            Ok(id) => id,
            Err(message) => {
                problems.push(problem(&path, message));
                continue;
            }
        };
        let Some(factory) = components.parser(name, id.kind()) else {
            problems.push(problem(
                &path,
                unknown::unknown_type(
                    name,
                    id.kind(),
                    &components.types(name),
                    &components.aliases(name),
                ),
            ));
            unreadable.insert((name, id));
            continue;
        };
        let source = value.clone();
        match factory.parse(&path, value) {
            Ok(settings) => {
                out.insert(id, settings.with_source(source));
            }
            Err(error) => {
                problems.extend(error.config_problems());
                unreadable.insert((name, id));
            }
        }
    }
    out
}
