//! The `service` section: pipelines, the extensions to run, and the collector's own telemetry.

use super::{ComponentId, LogFormat, PipelineConfig, PipelineId, ServiceConfig, TelemetryConfig};
use crate::de::typed;
use crate::{Error, Signal};
use serde::Deserialize;
use serde_norway::Value;
use std::collections::BTreeMap;

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
    /// otelcol's log encoding: `console` (plain text) or `json`.
    #[serde(default)]
    encoding: Option<String>,
}

pub(super) fn parse_service(value: Option<Value>) -> Result<ServiceConfig, Error> {
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
        let signal: Signal = signal.parse().map_err(|_| {
            Error::config(
                &path,
                format!("unknown pipeline signal `{signal}`; supported: traces, metrics, logs"),
            )
        })?;
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
    if let Some(logs) = raw.telemetry.logs {
        if let Some(level) = logs.level {
            let level = level.to_ascii_lowercase();
            if !["error", "warn", "info", "debug"].contains(&level.as_str()) {
                return Err(Error::config(
                    "service.telemetry.logs.level",
                    format!("unknown level `{level}`; supported: error, warn, info, debug"),
                ));
            }
            telemetry.log_level = level;
        }
        match logs.encoding.as_deref() {
            None | Some("console") => {}
            Some("json") => telemetry.log_format = LogFormat::Json,
            Some(other) => {
                return Err(Error::config(
                    "service.telemetry.logs.encoding",
                    format!("unknown encoding `{other}`; supported: console, json"),
                ));
            }
        }
    }
    Ok(ServiceConfig {
        extensions: ids(raw.extensions, "service.extensions")?,
        pipelines,
        telemetry,
    })
}
