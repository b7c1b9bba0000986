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

use crate::Signal;
use crate::error::Error;
use crate::exporter::debug::DebugExporterConfig;
use crate::exporter::file::FileExporterConfig;
use crate::exporter::otlp::{OtlpGrpcExporterConfig, OtlpHttpExporterConfig};
use crate::extension::HealthCheckConfig;
use crate::processor::batch::BatchConfig;
use crate::processor::memory_limiter::MemoryLimiterConfig;
use crate::processor::probabilistic_sampler::ProbabilisticSamplerProcessor;
use crate::processor::tail_sampling::TailSamplingProcessor;
use crate::receiver::otlp::OtlpReceiverConfig;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_norway::{Mapping, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// The config the collector runs with when no file is given: OTLP on 127.0.0.1:4317 (gRPC) and 127.0.0.1:4318
/// (HTTP), memory limiter and batching, every signal written to files under `./otlp-data`.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("default-config.yaml");

/// A component's id: its type and an optional name, written `type` or `type/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId {
    kind: String,
    name: Option<String>,
}

impl ComponentId {
    /// Parses `type` or `type/name`.
    pub fn parse(id: &str) -> Result<Self, String> {
        let (kind, name) = match id.split_once('/') {
            Some((kind, name)) => (kind, Some(name)),
            None => (id, None),
        };
        let valid_kind = !kind.is_empty()
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_kind {
            return Err(format!(
                "`{id}` is not a valid component id: the type must be letters, digits, `_` or `-`"
            ));
        }
        if name.is_some_and(|n| n.is_empty() || n.contains('/')) {
            return Err(format!(
                "`{id}` is not a valid component id: use `type` or `type/name`"
            ));
        }
        Ok(ComponentId {
            kind: kind.to_string(),
            name: name.map(str::to_string),
        })
    }

    /// The component type (`otlp` in `otlp/2`).
    pub fn kind(&self) -> &str {
        &self.kind
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.kind, name),
            None => f.write_str(&self.kind),
        }
    }
}

/// A pipeline's id: its signal and an optional name (`traces`, `traces/sampled`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipelineId {
    /// The signal the pipeline carries.
    pub signal: Signal,
    /// The part after the `/`, if any.
    pub name: Option<String>,
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.signal, name),
            None => write!(f, "{}", self.signal),
        }
    }
}

/// A receiver's settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReceiverConfig {
    /// `otlp`: OTLP over gRPC and HTTP.
    Otlp(OtlpReceiverConfig),
    /// `arrow_flight`: OTLP as Arrow over Arrow Flight.
    ArrowFlight(crate::receiver::arrow_flight::ArrowFlightReceiverConfig),
}

/// A processor's settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ProcessorConfig {
    /// `memory_limiter`.
    MemoryLimiter(MemoryLimiterConfig),
    /// `batch`.
    Batch(BatchConfig),
    /// `tail_sampling`.
    TailSampling(otlp_sampling::tail::TailSamplingConfig),
    /// `probabilistic_sampler`.
    ProbabilisticSampler(otlp_sampling::probabilistic::ProbabilisticSamplerConfig),
}

/// An exporter's settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ExporterConfig {
    /// `otlp`: OTLP over gRPC.
    Otlp(OtlpGrpcExporterConfig),
    /// `otlphttp`: OTLP over HTTP.
    OtlpHttp(OtlpHttpExporterConfig),
    /// `file`: OTLP JSON lines or length-prefixed protobuf in a local file.
    File(FileExporterConfig),
    /// `debug`: a summary (or every item) in the collector's log.
    Debug(DebugExporterConfig),
    /// `arrow_flight`: Arrow record batches over Arrow Flight.
    ArrowFlight(crate::exporter::arrow_flight::ArrowFlightExporterConfig),
}

/// An extension's settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ExtensionConfig {
    /// `health_check`.
    HealthCheck(HealthCheckConfig),
}

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

/// `service.telemetry`: the collector's own logs and metrics.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// Where `/metrics` (Prometheus text), `/health` and `/ready` are served; `None` turns it off.
    pub metrics_address: Option<String>,
    /// The log level (`error`, `warn`, `info`, `debug`).
    pub log_level: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            metrics_address: Some("127.0.0.1:8888".to_string()),
            log_level: "info".to_string(),
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

/// A whole, validated collector config.
#[derive(Debug, Clone)]
pub struct Config {
    /// Receivers by id.
    pub receivers: BTreeMap<ComponentId, ReceiverConfig>,
    /// Processors by id.
    pub processors: BTreeMap<ComponentId, ProcessorConfig>,
    /// Exporters by id.
    pub exporters: BTreeMap<ComponentId, ExporterConfig>,
    /// Extensions by id.
    pub extensions: BTreeMap<ComponentId, ExtensionConfig>,
    /// Pipelines and self-telemetry.
    pub service: ServiceConfig,
}

const RECEIVER_TYPES: &[&str] = &["arrow_flight", "otlp"];
const PROCESSOR_TYPES: &[&str] = &[
    "batch",
    "memory_limiter",
    "probabilistic_sampler",
    "tail_sampling",
];
const EXPORTER_TYPES: &[&str] = &["arrow_flight", "debug", "file", "otlp", "otlphttp"];
const EXTENSION_TYPES: &[&str] = &["health_check"];

impl Config {
    /// The embedded default config ([`DEFAULT_CONFIG_YAML`]).
    pub fn embedded_default() -> Result<Self, Error> {
        Config::from_yaml(DEFAULT_CONFIG_YAML)
    }

    /// Reads and validates a config file.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_yaml(&text)
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
        let mut root: Value =
            serde_norway::from_str(text).map_err(|e| Error::Yaml(e.to_string()))?;
        if root.is_null() {
            root = Value::Mapping(Mapping::new());
        }
        expand_env(&mut root, env, "")?;
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
        let receivers = components(
            sections.remove("receivers"),
            "receivers",
            RECEIVER_TYPES,
            |kind, path, v| match kind {
                "otlp" => Ok(ReceiverConfig::Otlp(typed(path, v)?)),
                "arrow_flight" => Ok(ReceiverConfig::ArrowFlight(typed(path, v)?)),
                _ => unreachable_kind(path),
            },
        )?;
        let processors = components(
            sections.remove("processors"),
            "processors",
            PROCESSOR_TYPES,
            |kind, path, v| match kind {
                "memory_limiter" => Ok(ProcessorConfig::MemoryLimiter(typed(path, v)?)),
                "batch" => Ok(ProcessorConfig::Batch(typed(path, v)?)),
                "tail_sampling" => Ok(ProcessorConfig::TailSampling(typed(path, v)?)),
                "probabilistic_sampler" => {
                    Ok(ProcessorConfig::ProbabilisticSampler(typed(path, v)?))
                }
                _ => unreachable_kind(path),
            },
        )?;
        let exporters = components(
            sections.remove("exporters"),
            "exporters",
            EXPORTER_TYPES,
            |kind, path, v| match kind {
                "otlp" => Ok(ExporterConfig::Otlp(typed(path, v)?)),
                "otlphttp" => Ok(ExporterConfig::OtlpHttp(typed(path, v)?)),
                "file" => Ok(ExporterConfig::File(typed(path, v)?)),
                "debug" => Ok(ExporterConfig::Debug(typed(path, v)?)),
                "arrow_flight" => Ok(ExporterConfig::ArrowFlight(typed(path, v)?)),
                _ => unreachable_kind(path),
            },
        )?;
        let extensions = components(
            sections.remove("extensions"),
            "extensions",
            EXTENSION_TYPES,
            |kind, path, v| match kind {
                "health_check" => Ok(ExtensionConfig::HealthCheck(typed(path, v)?)),
                _ => unreachable_kind(path),
            },
        )?;
        let service = parse_service(sections.remove("service"))?;
        let config = Config {
            receivers,
            processors,
            exporters,
            extensions,
            service,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Error> {
        if self.service.pipelines.is_empty() {
            return Err(Error::config(
                "service.pipelines",
                "at least one pipeline is required (traces, metrics or logs)",
            ));
        }
        for (id, pipeline) in &self.service.pipelines {
            let path = format!("service.pipelines.{id}");
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
            check_references(&pipeline.receivers, &self.receivers, &path, "receivers")?;
            check_references(&pipeline.processors, &self.processors, &path, "processors")?;
            check_references(&pipeline.exporters, &self.exporters, &path, "exporters")?;
            for (list, section) in [
                (&pipeline.receivers, "receivers"),
                (&pipeline.processors, "processors"),
                (&pipeline.exporters, "exporters"),
            ] {
                let mut seen = std::collections::BTreeSet::new();
                for component in list {
                    if !seen.insert(component) {
                        return Err(Error::config(
                            format!("{path}.{section}"),
                            format!("`{component}` is listed twice"),
                        ));
                    }
                }
            }
        }
        check_references(
            &self.service.extensions,
            &self.extensions,
            "service",
            "extensions",
        )?;
        for (id, receiver) in &self.receivers {
            if let ReceiverConfig::Otlp(otlp) = receiver
                && otlp.protocols.grpc.is_none()
                && otlp.protocols.http.is_none()
            {
                return Err(Error::config(
                    format!("receivers.{id}.protocols"),
                    "enable at least one protocol: grpc or http",
                ));
            }
        }
        for (id, processor) in &self.processors {
            let result = match processor {
                ProcessorConfig::MemoryLimiter(c) => c.validate(),
                ProcessorConfig::Batch(c) => c.validate(),
                ProcessorConfig::TailSampling(c) => TailSamplingProcessor::validate(c),
                ProcessorConfig::ProbabilisticSampler(c) => {
                    ProbabilisticSamplerProcessor::validate(c)
                }
            };
            result.map_err(|m| Error::config(format!("processors.{id}"), m))?;
        }
        for (pipeline_id, pipeline) in &self.service.pipelines {
            for id in &pipeline.processors {
                let supported: &[Signal] = match self.processors.get(id) {
                    Some(ProcessorConfig::TailSampling(_)) => &[Signal::Traces],
                    Some(ProcessorConfig::ProbabilisticSampler(_)) => {
                        &[Signal::Traces, Signal::Logs]
                    }
                    _ => &Signal::ALL,
                };
                if !supported.contains(&pipeline_id.signal) {
                    return Err(Error::config(
                        format!("service.pipelines.{pipeline_id}.processors"),
                        format!("`{id}` does not process {}", pipeline_id.signal),
                    ));
                }
            }
        }
        for (id, exporter) in &self.exporters {
            let result = match exporter {
                ExporterConfig::Otlp(c) => c.validate(),
                ExporterConfig::OtlpHttp(c) => c.validate(),
                ExporterConfig::File(c) => c.validate(),
                ExporterConfig::Debug(_) => Ok(()),
                ExporterConfig::ArrowFlight(c) => c.validate(),
            };
            result.map_err(|m| Error::config(format!("exporters.{id}"), m))?;
        }
        Ok(())
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Mapping(m) => m.is_empty(),
        _ => false,
    }
}

fn unreachable_kind<T>(path: &str) -> Result<T, Error> {
    Err(Error::config(path, "component type is not supported"))
}

fn check_references<T>(
    used: &[ComponentId],
    defined: &BTreeMap<ComponentId, T>,
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

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Parses one of the component sections into typed configs, checking each type against `supported`.
fn components<T>(
    section: Option<Value>,
    name: &str,
    supported: &[&str],
    parse: impl Fn(&str, &str, Value) -> Result<T, Error>,
) -> Result<BTreeMap<ComponentId, T>, Error> {
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
        if !supported.contains(&id.kind()) {
            return Err(Error::config(
                &path,
                format!(
                    "unknown {} type `{}`; supported: {}",
                    name.trim_end_matches('s'),
                    id.kind(),
                    supported.join(", ")
                ),
            ));
        }
        let parsed = parse(id.kind(), &path, value)?;
        out.insert(id, parsed);
    }
    Ok(out)
}

/// Deserializes a component's settings, reporting the exact key path of any error. An empty value (`batch:`)
/// means "all defaults".
pub(crate) fn typed<T: DeserializeOwned>(path: &str, value: Value) -> Result<T, Error> {
    let value = if value.is_null() {
        Value::Mapping(Mapping::new())
    } else {
        value
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let full = if inner == "." || inner.is_empty() {
            path.to_string()
        } else {
            join(path, &inner)
        };
        Error::config(full, e.into_inner().to_string())
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawService {
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    pipelines: BTreeMap<String, RawPipeline>,
    #[serde(default)]
    telemetry: RawTelemetry,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    #[serde(default)]
    receivers: Vec<String>,
    #[serde(default)]
    processors: Vec<String>,
    #[serde(default)]
    exporters: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    #[serde(default)]
    metrics: Option<RawTelemetryMetrics>,
    #[serde(default)]
    logs: Option<RawTelemetryLogs>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelemetryMetrics {
    /// The classic form: `address: 127.0.0.1:8888`.
    #[serde(default)]
    address: Option<String>,
    /// `none` turns self-metrics off; any other level keeps them.
    #[serde(default)]
    level: Option<String>,
    /// The current otelcol form: `readers: [{pull: {exporter: {prometheus: {host, port}}}}]`.
    #[serde(default)]
    readers: Option<Vec<RawReader>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReader {
    pull: RawPull,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPull {
    exporter: RawPullExporter,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPullExporter {
    prometheus: RawPrometheus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrometheus {
    #[serde(default = "default_prometheus_host")]
    host: String,
    #[serde(default = "default_prometheus_port")]
    port: u16,
}

fn default_prometheus_host() -> String {
    "127.0.0.1".to_string()
}

fn default_prometheus_port() -> u16 {
    8888
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelemetryLogs {
    #[serde(default)]
    level: Option<String>,
    /// otelcol's log encoding; accepted for compatibility, the collector always logs human-readable text.
    #[serde(default)]
    #[allow(dead_code)]
    encoding: Option<String>,
}

fn parse_service(value: Option<Value>) -> Result<ServiceConfig, Error> {
    let raw: RawService = typed("service", value.unwrap_or(Value::Null))?;
    let ids = |list: Vec<String>, path: &str| -> Result<Vec<ComponentId>, Error> {
        list.iter()
            .map(|s| ComponentId::parse(s).map_err(|m| Error::config(path, m)))
            .collect()
    };
    let mut pipelines = BTreeMap::new();
    for (key, raw_pipeline) in raw.pipelines {
        let path = format!("service.pipelines.{key}");
        let (signal, name) = match key.split_once('/') {
            Some((s, n)) => (s, Some(n.to_string())),
            None => (key.as_str(), None),
        };
        let signal = match signal {
            "traces" => Signal::Traces,
            "metrics" => Signal::Metrics,
            "logs" => Signal::Logs,
            other => {
                return Err(Error::config(
                    &path,
                    format!("unknown pipeline signal `{other}`; supported: traces, metrics, logs"),
                ));
            }
        };
        let pipeline = PipelineConfig {
            receivers: ids(raw_pipeline.receivers, &format!("{path}.receivers"))?,
            processors: ids(raw_pipeline.processors, &format!("{path}.processors"))?,
            exporters: ids(raw_pipeline.exporters, &format!("{path}.exporters"))?,
        };
        pipelines.insert(PipelineId { signal, name }, pipeline);
    }
    let mut telemetry = TelemetryConfig::default();
    if let Some(metrics) = raw.telemetry.metrics {
        if let Some(address) = metrics.address {
            telemetry.metrics_address = Some(address);
        }
        if let Some(readers) = metrics.readers {
            if let Some(reader) = readers.first() {
                let p = &reader.pull.exporter.prometheus;
                telemetry.metrics_address = Some(format!("{}:{}", p.host, p.port));
            }
            if readers.len() > 1 {
                return Err(Error::config(
                    "service.telemetry.metrics.readers",
                    "only one Prometheus pull reader is supported",
                ));
            }
        }
        match metrics.level.as_deref() {
            Some("none") => telemetry.metrics_address = None,
            None | Some("basic" | "normal" | "detailed") => {}
            Some(other) => {
                return Err(Error::config(
                    "service.telemetry.metrics.level",
                    format!("unknown level `{other}`; supported: none, basic, normal, detailed"),
                ));
            }
        }
    }
    if let Some(logs) = raw.telemetry.logs
        && let Some(level) = logs.level
    {
        let level = level.to_ascii_lowercase();
        if !["error", "warn", "info", "debug"].contains(&level.as_str()) {
            return Err(Error::config(
                "service.telemetry.logs.level",
                format!("unknown level `{level}`; supported: error, warn, info, debug"),
            ));
        }
        telemetry.log_level = level;
    }
    Ok(ServiceConfig {
        extensions: ids(raw.extensions, "service.extensions")?,
        pipelines,
        telemetry,
    })
}

/// Replaces `${env:VAR}`, `${env:VAR:-default}` and `$$` in every string of the tree. A value that is exactly
/// one reference is re-read as a YAML scalar so `port: ${env:PORT}` yields a number, as in otelcol.
fn expand_env(
    value: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
    path: &str,
) -> Result<(), Error> {
    match value {
        Value::String(s) => {
            if !s.contains('$') {
                return Ok(());
            }
            let whole_reference =
                s.starts_with("${") && s.ends_with('}') && s.matches("${").count() == 1;
            let expanded = expand_string(s, env).map_err(|m| Error::config(path, m))?;
            *value = if whole_reference {
                match serde_norway::from_str::<Value>(&expanded) {
                    Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
                    _ => Value::String(expanded),
                }
            } else {
                Value::String(expanded)
            };
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_env(item, env, &join(path, &i.to_string()))?;
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = match key {
                    Value::String(k) => k.clone(),
                    _ => String::new(),
                };
                expand_env(item, env, &join(path, &key))?;
            }
        }
        Value::Tagged(tagged) => expand_env(&mut tagged.value, env, path)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

fn expand_string(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated `${{` in `{s}`"))?;
            let reference = &body[..end];
            let (scheme, spec) = reference.split_once(':').ok_or_else(|| {
                format!("`${{{reference}}}` needs a scheme: write `${{env:{reference}}}`")
            })?;
            if scheme != "env" {
                return Err(format!(
                    "`${{{reference}}}` uses the unsupported scheme `{scheme}`; supported: env"
                ));
            }
            let (name, default) = match spec.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (spec, None),
            };
            let valid_name = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid_name {
                return Err(format!("`{name}` is not a valid environment variable name"));
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    tracing::warn!(
                        variable = name,
                        "environment variable is not set; using an empty string"
                    );
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Serde helpers for otelcol's value formats.
pub(crate) mod de {
    use serde::Deserialize;
    use serde::de::{Deserializer, Error as _};
    use std::time::Duration;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DurationRepr {
        Text(String),
        Nanos(u64),
    }

    /// A Go duration (`200ms`, `1m30s`, `1.5h`) or an integer number of nanoseconds.
    pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match DurationRepr::deserialize(d)? {
            DurationRepr::Nanos(n) => Ok(Duration::from_nanos(n)),
            DurationRepr::Text(s) => super::parse_go_duration(&s).map_err(D::Error::custom),
        }
    }

    /// An optional Go duration.
    pub(crate) fn optional_duration<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        duration(d).map(Some)
    }

    /// A key that is present with no value (`grpc:`) means "enabled with defaults".
    pub(crate) fn present<'de, D: Deserializer<'de>, T>(d: D) -> Result<Option<T>, D::Error>
    where
        T: Deserialize<'de> + Default,
    {
        Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
    }
}

/// Parses a Go duration string: a sequence of decimal numbers with units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; write e.g. 200ms, 5s, 1m30s");
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if number_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("200ms").unwrap(),
            Duration::from_millis(200)
        );
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("1.5h").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_go_duration("10us").unwrap(),
            Duration::from_micros(10)
        );
        for bad in ["", "5", "s", "5 s", "-1s", "1d", "1.2.3s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn env_substitution() {
        let e = env(&[("HOST", "db"), ("PORT", "4317")]);
        assert_eq!(
            expand_string("${env:HOST}:${env:PORT}", &e).unwrap(),
            "db:4317"
        );
        assert_eq!(
            expand_string("${env:MISSING:-fallback}", &e).unwrap(),
            "fallback"
        );
        assert_eq!(expand_string("cost: $$5", &e).unwrap(), "cost: $5");
        assert_eq!(expand_string("${env:MISSING}", &e).unwrap(), "");
        assert!(
            expand_string("${HOST}", &e)
                .unwrap_err()
                .contains("env:HOST")
        );
        assert!(
            expand_string("${file:/x}", &e)
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(
            expand_string("${env:HOST", &e)
                .unwrap_err()
                .contains("unterminated")
        );
    }

    #[test]
    fn component_ids() {
        let id = ComponentId::parse("otlp/2").unwrap();
        assert_eq!(id.kind(), "otlp");
        assert_eq!(id.to_string(), "otlp/2");
        assert!(ComponentId::parse("").is_err());
        assert!(ComponentId::parse("otlp/").is_err());
        assert!(ComponentId::parse("a/b/c").is_err());
    }
}
