//! The `service` section: pipelines, the extensions to run, and the collector's own telemetry.

use super::{
    ComponentId, ConfigWarning, LogFormat, PipelineConfig, PipelineId, ServiceConfig,
    TelemetryConfig,
};
use crate::compression::Compression;
use crate::de::{self, Refused, typed};
use crate::telemetry::logs::{LogOutput, LogSampling, RESERVED_JSON_KEYS};
use crate::telemetry::periodic::{OtlpProtocol, PeriodicReaderConfig};
use crate::telemetry::resource::{ResourceSettings, ResourceValue};
use crate::{ClientTlsSettings, Error, Signal};
use serde::{Deserialize, Deserializer};
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

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
    /// otelcol's inline attribute map: `resource: { service.name: edge, service.instance.id: null }`.
    #[serde(default)]
    resource: Option<BTreeMap<String, Value>>,
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
    /// The current otelcol form: `readers: [{pull: {exporter: {prometheus: {host, port}}}}, {periodic: ...}]`.
    #[serde(default)]
    readers: Option<Vec<RawReader>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReader {
    #[serde(default)]
    pull: Option<RawPull>,
    #[serde(default)]
    periodic: Option<RawPeriodic>,
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

/// The OpenTelemetry configuration schema's (v0.3) periodic metric reader, as otelcol reads it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriodic {
    exporter: RawPushExporter,
    /// Milliseconds between the starts of two pushes.
    #[serde(default, deserialize_with = "milliseconds")]
    interval: Option<u64>,
    /// Milliseconds one push may take; 0 is no limit.
    #[serde(default, deserialize_with = "milliseconds")]
    timeout: Option<u64>,
}

/// The schema's millisecond counts. otelcol's other settings take Go durations, so `10s` is the mistake to expect,
/// and the message says which unit is meant.
fn milliseconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Number(number) if number.as_u64().is_some() => Ok(number.as_u64()),
        other => {
            let found = match other {
                Value::String(text) => format!("`{text}`"),
                Value::Number(number) => format!("`{number}`"),
                _ => "a value of another type".to_string(),
            };
            Err(serde::de::Error::custom(format!(
                "expected a whole number of milliseconds (10000 for 10 seconds), found {found}"
            )))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPushExporter {
    #[serde(default)]
    otlp: Option<RawOtlpExporter>,
    #[serde(default, deserialize_with = "refuse_console")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    console: Refused,
}

fn refuse_console<'de, D: Deserializer<'de>>(_: D) -> Result<Refused, D::Error> {
    de::refuse::<D>(
        "not supported: the self-metrics are pushed over OTLP (`otlp`) or scraped as Prometheus text (a `pull` \
         reader); to read them on the console, scrape the pull reader's /metrics",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOtlpExporter {
    /// `http/protobuf` or `grpc`.
    protocol: String,
    endpoint: String,
    #[serde(default)]
    headers: Vec<RawHeader>,
    /// `key=value,key2=value2`, as `OTEL_EXPORTER_OTLP_HEADERS`.
    #[serde(default)]
    headers_list: Option<String>,
    #[serde(default)]
    compression: Option<String>,
    /// Milliseconds one request may take; 0 is no limit.
    #[serde(default, deserialize_with = "milliseconds")]
    timeout: Option<u64>,
    /// Plain text for an endpoint written without a scheme.
    #[serde(default)]
    insecure: Option<bool>,
    #[serde(default)]
    certificate: Option<PathBuf>,
    #[serde(default)]
    client_key: Option<PathBuf>,
    #[serde(default)]
    client_certificate: Option<PathBuf>,
    #[serde(default)]
    temporality_preference: Option<String>,
    #[serde(default)]
    default_histogram_aggregation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelemetryLogs {
    #[serde(default)]
    level: Option<String>,
    /// otelcol's log encoding: `console` (plain text) or `json`.
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    output_paths: Option<Vec<String>>,
    #[serde(default)]
    error_output_paths: Option<Vec<String>>,
    #[serde(default)]
    initial_fields: Option<BTreeMap<String, Value>>,
    /// `sampling:` with no value is zap's sampler with its defaults.
    #[serde(default, deserialize_with = "de::present")]
    sampling: Option<RawSampling>,
    #[serde(default)]
    disable_caller: Option<bool>,
    /// Taken as written: no stack trace is ever written, so both values leave the log as it is.
    #[serde(default)]
    #[expect(dead_code, reason = "checked to be a boolean, and then without effect")]
    disable_stacktrace: Option<bool>,
    #[serde(default)]
    development: Option<bool>,
    /// otelcol adds the resource to every line unless this is true; this collector never does.
    #[serde(default)]
    #[expect(dead_code, reason = "checked to be a boolean, and then without effect")]
    disable_zap_resource: Option<bool>,
    #[serde(default, deserialize_with = "refuse_log_processors")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    processors: Refused,
}

fn refuse_log_processors<'de, D: Deserializer<'de>>(_: D) -> Result<Refused, D::Error> {
    de::refuse::<D>(
        "not supported: the collector's own log is not exported over OTLP; write it to a file \
         (`output_paths`, with `encoding: json`) and collect that file, or leave `processors` out",
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSampling {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "de::optional_duration")]
    tick: Option<Duration>,
    #[serde(default)]
    initial: Option<u64>,
    #[serde(default)]
    thereafter: Option<u64>,
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
    let telemetry = parse_telemetry(raw.telemetry)?;
    Ok(ServiceConfig {
        extensions: ids(raw.extensions, "service.extensions")?,
        pipelines,
        telemetry,
    })
}

const TELEMETRY: &str = "service.telemetry";

fn parse_telemetry(raw: RawTelemetry) -> Result<TelemetryConfig, Error> {
    let mut telemetry = TelemetryConfig::default();
    if let Some(metrics) = raw.metrics {
        parse_metrics(metrics, &mut telemetry)?;
    }
    if let Some(logs) = raw.logs {
        parse_logs(logs, &mut telemetry)?;
    }
    if let Some(resource) = raw.resource {
        telemetry.resource = parse_resource(resource)?;
    }
    Ok(telemetry)
}

fn parse_metrics(
    metrics: RawTelemetryMetrics,
    telemetry: &mut TelemetryConfig,
) -> Result<(), Error> {
    let path = format!("{TELEMETRY}.metrics");
    if let Some(address) = &metrics.address {
        telemetry.metrics_address = Some(address.clone());
    }
    if let Some(readers) = metrics.readers
        && !readers.is_empty()
    {
        let mut pull = None;
        for (at, reader) in readers.into_iter().enumerate() {
            let key = format!("{path}.readers[{at}]");
            match (reader.pull, reader.periodic) {
                (Some(reader), None) => {
                    if pull.is_some() {
                        return Err(Error::config(
                            key,
                            "only one `pull` reader is supported: the self-metrics are served on one \
                             Prometheus endpoint (periodic readers may be added beside it)",
                        ));
                    }
                    let p = reader.exporter.prometheus;
                    // An IPv6 host needs its brackets before the port is appended.
                    pull = Some(if p.host.contains(':') && !p.host.starts_with('[') {
                        format!("[{}]:{}", p.host, p.port)
                    } else {
                        format!("{}:{}", p.host, p.port)
                    });
                }
                (None, Some(periodic)) => {
                    let reader = parse_periodic(&key, periodic)?;
                    telemetry.periodic_readers.push(reader);
                }
                (Some(_), Some(_)) | (None, None) => {
                    return Err(Error::config(
                        key,
                        "a reader is either `pull` (a Prometheus endpoint) or `periodic` (OTLP pushes): write \
                         exactly one of them",
                    ));
                }
            }
        }
        // As in otelcol, `readers` lists every reader: without a pull reader (or the older `address`) nothing
        // serves /metrics.
        telemetry.metrics_address = pull.or(metrics.address);
    }
    match metrics.level.as_deref() {
        Some("none") => {
            telemetry.metrics_address = None;
            telemetry.periodic_readers.clear();
        }
        None | Some("basic" | "normal" | "detailed") => {}
        Some(other) => {
            return Err(Error::config(
                format!("{path}.level"),
                format!("unknown level `{other}`; supported: none, basic, normal, detailed"),
            ));
        }
    }
    Ok(())
}

fn parse_periodic(key: &str, raw: RawPeriodic) -> Result<PeriodicReaderConfig, Error> {
    let interval = match raw.interval {
        None => Duration::from_secs(60),
        Some(0) => {
            return Err(Error::config(
                format!("{key}.periodic.interval"),
                "must be above 0 (milliseconds between two pushes; 60000 when left out)",
            ));
        }
        Some(ms) => Duration::from_millis(ms),
    };
    let reader_timeout = milliseconds_or_unlimited(raw.timeout, 30_000);
    let exporter_key = format!("{key}.periodic.exporter");
    let Some(otlp) = raw.exporter.otlp else {
        return Err(Error::config(
            exporter_key,
            "an exporter is required: `otlp: { protocol: http/protobuf, endpoint: ... }`",
        ));
    };
    let key = format!("{exporter_key}.otlp");
    let protocol = match otlp.protocol.as_str() {
        "http/protobuf" => OtlpProtocol::HttpProtobuf,
        "grpc" => OtlpProtocol::Grpc,
        "http/json" => {
            return Err(Error::config(
                format!("{key}.protocol"),
                "`http/json` is not supported; supported: http/protobuf, grpc",
            ));
        }
        other => {
            return Err(Error::config(
                format!("{key}.protocol"),
                format!("unknown protocol `{other}`; supported: http/protobuf, grpc"),
            ));
        }
    };
    let insecure = otlp.insecure.unwrap_or(false);
    let endpoint = otlp_endpoint(
        &format!("{key}.endpoint"),
        &otlp.endpoint,
        insecure,
        protocol,
    )?;
    let mut headers = BTreeMap::new();
    for header in otlp.headers {
        headers.insert(header.name, header.value);
    }
    if let Some(list) = otlp.headers_list.as_deref() {
        for pair in list.split(',').filter(|pair| !pair.trim().is_empty()) {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(Error::config(
                    format!("{key}.headers_list"),
                    format!("`{}` is not `name=value`", pair.trim()),
                ));
            };
            // `headers` wins over `headers_list`, as the schema says.
            headers
                .entry(name.trim().to_string())
                .or_insert_with(|| value.trim().to_string());
        }
    }
    let compression = match otlp.compression.as_deref() {
        None | Some("gzip") => Compression::Gzip,
        Some("none") => Compression::None,
        Some(other) => {
            return Err(Error::config(
                format!("{key}.compression"),
                format!("unknown compression `{other}`; supported: gzip, none"),
            ));
        }
    };
    match otlp.temporality_preference.as_deref() {
        None | Some("cumulative") => {}
        Some(other @ ("delta" | "low_memory")) => {
            return Err(Error::config(
                format!("{key}.temporality_preference"),
                format!(
                    "`{other}` is not supported: the self-metrics are pushed as cumulative sums and histograms; \
                     write `cumulative` or leave it out"
                ),
            ));
        }
        Some(other) => {
            return Err(Error::config(
                format!("{key}.temporality_preference"),
                format!("unknown temporality `{other}`; supported: cumulative"),
            ));
        }
    }
    match otlp.default_histogram_aggregation.as_deref() {
        None | Some("explicit_bucket_histogram") => {}
        Some(other) => {
            return Err(Error::config(
                format!("{key}.default_histogram_aggregation"),
                format!(
                    "`{other}` is not supported: histograms keep their explicit buckets; supported: \
                     explicit_bucket_histogram"
                ),
            ));
        }
    }
    let exporter_timeout = milliseconds_or_unlimited(otlp.timeout, 10_000);
    let timeout = match (reader_timeout, exporter_timeout) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(PeriodicReaderConfig {
        key: key.to_string(),
        protocol,
        endpoint,
        interval,
        timeout,
        headers,
        compression,
        tls: ClientTlsSettings {
            insecure,
            ca_file: otlp.certificate,
            cert_file: otlp.client_certificate,
            key_file: otlp.client_key,
            ..ClientTlsSettings::default()
        },
    })
}

/// A millisecond count where 0 means no limit, with `default` when left out.
fn milliseconds_or_unlimited(value: Option<u64>, default: u64) -> Option<Duration> {
    match value.unwrap_or(default) {
        0 => None,
        ms => Some(Duration::from_millis(ms)),
    }
}

/// otelcol's endpoint rules: without a scheme, `https://` unless `insecure`; for OTLP/HTTP the metrics path
/// (`/v1/metrics`) when the URL has none.
fn otlp_endpoint(
    key: &str,
    endpoint: &str,
    insecure: bool,
    protocol: OtlpProtocol,
) -> Result<String, Error> {
    if endpoint.trim().is_empty() {
        return Err(Error::config(key, "must not be empty"));
    }
    let url = if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        endpoint.to_string()
    } else if endpoint.contains("://") {
        return Err(Error::config(
            key,
            format!("`{endpoint}`: the scheme must be http or https"),
        ));
    } else if insecure {
        format!("http://{endpoint}")
    } else {
        format!("https://{endpoint}")
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e| Error::config(key, format!("`{endpoint}` is not a URL: {e}")))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(Error::config(key, format!("`{endpoint}` has no host")));
    }
    match protocol {
        OtlpProtocol::HttpProtobuf if matches!(uri.path(), "" | "/") && !url.ends_with('/') => {
            Ok(format!("{url}/v1/metrics"))
        }
        OtlpProtocol::HttpProtobuf => Ok(url),
        OtlpProtocol::Grpc => {
            if !matches!(uri.path(), "" | "/") {
                return Err(Error::config(
                    key,
                    format!(
                        "`{endpoint}`: a gRPC endpoint is `scheme://host:port`, without a path"
                    ),
                ));
            }
            Ok(url.trim_end_matches('/').to_string())
        }
    }
}

fn parse_logs(logs: RawTelemetryLogs, telemetry: &mut TelemetryConfig) -> Result<(), Error> {
    let path = format!("{TELEMETRY}.logs");
    if let Some(level) = logs.level {
        let level = level.to_ascii_lowercase();
        if !["error", "warn", "info", "debug"].contains(&level.as_str()) {
            return Err(Error::config(
                format!("{path}.level"),
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
                format!("{path}.encoding"),
                format!("unknown encoding `{other}`; supported: console, json"),
            ));
        }
    }
    let settings = &mut telemetry.logs;
    if let Some(paths) = logs.output_paths {
        settings.output_paths = log_outputs(&format!("{path}.output_paths"), &paths)?;
    }
    if let Some(paths) = logs.error_output_paths {
        settings.error_output_paths = log_outputs(&format!("{path}.error_output_paths"), &paths)?;
    }
    if let Some(fields) = logs.initial_fields {
        for (key, value) in fields {
            let at = format!("{path}.initial_fields.{key}");
            if RESERVED_JSON_KEYS.contains(&key.as_str()) {
                return Err(Error::config(
                    at,
                    format!(
                        "`{key}` is a key every JSON log line already has; supported: any other key (reserved: {})",
                        RESERVED_JSON_KEYS.join(", ")
                    ),
                ));
            }
            let value = serde_json::to_value(&value)
                .map_err(|e| Error::config(&at, format!("cannot be written in a log line: {e}")))?;
            settings.initial_fields.insert(key, value);
        }
    }
    if let Some(sampling) = logs.sampling
        && sampling.enabled.unwrap_or(true)
    {
        let defaults = LogSampling::default();
        let tick = sampling.tick.unwrap_or(defaults.tick);
        if tick.is_zero() {
            return Err(Error::config(
                format!("{path}.sampling.tick"),
                "must be above 0 (how long a count of events lasts, e.g. 10s)",
            ));
        }
        settings.sampling = Some(LogSampling {
            tick,
            initial: sampling.initial.unwrap_or(defaults.initial),
            thereafter: sampling.thereafter.unwrap_or(defaults.thereafter),
        });
    }
    // zap's default shows the caller; this log has never shown it, so only an explicit `false` turns it on.
    settings.show_caller = logs.disable_caller == Some(false);
    if logs.development == Some(true) {
        telemetry.warnings.push(ConfigWarning {
            path: format!("{path}.development"),
            message: "taken, but it changes nothing here: zap's development mode (stack traces from warn, \
                      DPanic-level events that panic) has no counterpart in this collector's log"
                .to_string(),
        });
    }
    Ok(())
}

fn log_outputs(key: &str, paths: &[String]) -> Result<Vec<LogOutput>, Error> {
    paths
        .iter()
        .enumerate()
        .map(|(at, path)| {
            LogOutput::parse(path).map_err(|m| Error::config(format!("{key}[{at}]"), m))
        })
        .collect()
}

fn parse_resource(raw: BTreeMap<String, Value>) -> Result<ResourceSettings, Error> {
    let mut attributes = BTreeMap::new();
    for (key, value) in raw {
        let at = format!("{TELEMETRY}.resource.{key}");
        // Taken as attribute names, these would silently turn otelcol's newer form into attributes of those names.
        if matches!(
            key.as_str(),
            "attributes" | "attributes_list" | "schema_url" | "detection/development"
        ) {
            return Err(Error::config(
                at,
                "otelcol's declarative resource form (`attributes`, `attributes_list`, `schema_url`, \
                 `detection/development`) is not supported; write the attributes inline: `resource: { key: value }`",
            ));
        }
        let value = match value {
            Value::Null => None,
            Value::Bool(b) => Some(ResourceValue::Bool(b)),
            Value::String(s) => Some(ResourceValue::String(s)),
            Value::Number(n) => Some(match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => ResourceValue::Int(i),
                // Above i64::MAX: kept exact, as otelcol keeps such a number, as a string.
                (None, _) if n.is_u64() => ResourceValue::String(n.to_string()),
                (None, Some(f)) => ResourceValue::Double(f),
                (None, None) => ResourceValue::String(n.to_string()),
            }),
            Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => {
                return Err(Error::config(
                    at,
                    "a resource attribute is a string, a number or a boolean (null leaves a default one out); \
                     write `key: value` pairs",
                ));
            }
        };
        attributes.insert(key, value);
    }
    Ok(ResourceSettings { attributes })
}
