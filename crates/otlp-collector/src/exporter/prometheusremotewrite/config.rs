//! The `prometheusremotewrite` exporter's settings, with otelcol-contrib's keys and defaults.

use crate::ClientTlsSettings;
use crate::auth::AuthSettings;
use crate::component::Invalid;
use crate::de;
use crate::exporter::prometheus::ResourceToTelemetry;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// The `prometheusremotewrite` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteExporterConfig {
    /// The remote write URL (`http://prometheus:9090/api/v1/write`, Mimir's `/api/v1/push`); required.
    pub endpoint: String,
    /// TLS for an `https://` endpoint: `ca_file`, `cert_file`/`key_file` for mutual TLS, `server_name_override`,
    /// `insecure_skip_verify`.
    pub tls: ClientTlsSettings,
    /// Extra HTTP headers on every request (`X-Scope-OrgID` for a multi-tenant backend); the protocol's own
    /// (`Content-Type`, `Content-Encoding`, `X-Prometheus-Remote-Write-Version`, `User-Agent`) cannot be changed.
    pub headers: BTreeMap<String, String>,
    /// The authenticator extension whose credentials every request carries.
    pub auth: Option<AuthSettings>,
    /// Time allowed for one request.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Prefix of every metric name (`namespace_name`).
    pub namespace: String,
    /// Labels added to every series whose points do not already have them (`cluster: eu-1`).
    pub external_labels: BTreeMap<String, String>,
    /// Every resource attribute as a label of every series.
    pub resource_to_telemetry_conversion: ResourceToTelemetry,
    /// Unit and type suffixes on names (`_seconds`, `_total`).
    pub add_metric_suffixes: bool,
    /// A `target_info` series per resource, carrying its attributes.
    pub target_info: Enabled,
    /// Each metric family's type, help and unit, sent with the samples (remote write 1.0's `metadata`).
    pub send_metadata: bool,
    /// The largest request body before compression; a batch that encodes larger is sent as several requests,
    /// each series whole in one of them.
    pub max_batch_size_bytes: usize,
    /// How many of one batch's requests are sent at once (otelcol: `remote_write_queue.num_consumers`, unless this
    /// is set).
    pub max_batch_request_parallelism: Option<usize>,
    /// The queue in front of the sender: batches are sent one after another, so that every series' samples arrive
    /// in time order, as Prometheus requires.
    pub remote_write_queue: RemoteWriteQueue,
    /// Retries, with otelcol's defaults for this exporter (50 ms doubling up to 200 ms, for a minute at most).
    #[serde(deserialize_with = "remote_write_retry")]
    pub retry_on_failure: RetryConfig,
    /// Stop calling a failing backend for a while (not in otelcol).
    pub circuit_breaker: CircuitBreakerConfig,
    /// Go's socket buffer sizes: taken, with no effect (hyper sizes its own buffers).
    pub read_buffer_size: Option<usize>,
    /// See `read_buffer_size`.
    pub write_buffer_size: Option<usize>,
    /// otelcol's write-ahead log, refused with the reason.
    #[allow(dead_code, reason = "never read: present, the key fails to parse")]
    #[serde(deserialize_with = "refuse_wal")]
    wal: de::Refused,
    /// Remote write 2.0, refused with the reason.
    #[allow(dead_code, reason = "never read: present, the key fails to parse")]
    #[serde(deserialize_with = "refuse_protobuf_message")]
    protobuf_message: de::Refused,
}

impl Default for RemoteWriteExporterConfig {
    fn default() -> Self {
        RemoteWriteExporterConfig {
            endpoint: String::new(),
            tls: ClientTlsSettings::default(),
            headers: BTreeMap::new(),
            auth: None,
            timeout: Duration::from_secs(5),
            namespace: String::new(),
            external_labels: BTreeMap::new(),
            resource_to_telemetry_conversion: ResourceToTelemetry::default(),
            add_metric_suffixes: true,
            target_info: Enabled { enabled: true },
            send_metadata: false,
            max_batch_size_bytes: 3_000_000,
            max_batch_request_parallelism: None,
            remote_write_queue: RemoteWriteQueue::default(),
            retry_on_failure: default_retry(),
            circuit_breaker: CircuitBreakerConfig::default(),
            read_buffer_size: None,
            write_buffer_size: None,
            wal: de::Refused,
            protobuf_message: de::Refused,
        }
    }
}

/// `{ enabled: bool }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enabled {
    /// Whether the feature is on.
    pub enabled: bool,
}

/// `remote_write_queue`: otelcol's queue of this exporter, one consumer whatever is configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteQueue {
    /// Queue batches (with `false`, the pipeline waits for each send).
    pub enabled: bool,
    /// How many batches the queue holds.
    pub queue_size: usize,
    /// How many requests of one batch are sent at once (the queue itself has one consumer).
    pub num_consumers: usize,
}

impl Default for RemoteWriteQueue {
    fn default() -> Self {
        RemoteWriteQueue {
            enabled: true,
            queue_size: 10_000,
            num_consumers: 5,
        }
    }
}

fn default_retry() -> RetryConfig {
    RetryConfig {
        initial_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
        max_elapsed_time: Duration::from_secs(60),
        ..RetryConfig::default()
    }
}

/// `retry_on_failure` whose keys left out take this exporter's defaults rather than every exporter's.
fn remote_write_retry<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RetryConfig, D::Error> {
    use serde::de::Error as _;
    let mut keys = serde_norway::Mapping::deserialize(deserializer)?;
    let defaults = default_retry();
    for (key, value) in [
        ("initial_interval", defaults.initial_interval),
        ("max_interval", defaults.max_interval),
        ("max_elapsed_time", defaults.max_elapsed_time),
    ] {
        keys.entry(key.into())
            .or_insert_with(|| format!("{}ms", value.as_millis()).into());
    }
    RetryConfig::deserialize(serde_norway::Value::Mapping(keys)).map_err(D::Error::custom)
}

// Named with their reasons, so that an operator does not take the keys for misspellings.
fn refuse_wal<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported: batches wait in memory (`remote_write_queue`) until they are sent, and one that \
         cannot be sent is logged and counted as dropped; leave `wal` out",
    )
}

fn refuse_protobuf_message<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported: only remote write 1.0 (`prometheus.WriteRequest`) is sent, which every remote write \
         backend accepts; leave `protobuf_message` out",
    )
}

impl RemoteWriteExporterConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push(Invalid::at(
                "endpoint",
                "the remote write URL is required (e.g. \"http://prometheus:9090/api/v1/write\")",
            ));
        } else {
            let parsed: Option<http::Uri> = self.endpoint.parse().ok();
            if !matches!(
                parsed
                    .as_ref()
                    .and_then(|uri| Some((uri.scheme_str()?, uri.host()?))),
                Some(("http" | "https", _))
            ) {
                problems.push(Invalid::at(
                    "endpoint",
                    format!(
                        "`{}` must be an http:// or https:// URL with a host, such as \
                         `http://prometheus:9090/api/v1/write`",
                        self.endpoint
                    ),
                ));
            }
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            problems.push(Invalid::at("tls", "cert_file and key_file go together"));
        }
        for (key, value) in &self.headers {
            if http::HeaderName::try_from(key.as_str()).is_err() {
                problems.push(Invalid::at(
                    "headers",
                    format!("`{key}` is not a valid header name"),
                ));
            } else if http::HeaderValue::try_from(value.as_str()).is_err() {
                problems.push(Invalid::at(
                    "headers",
                    format!("the value of `{key}` is not a valid header value"),
                ));
            }
        }
        for name in self.external_labels.keys() {
            if !valid_label_name(name) {
                problems.push(Invalid::at(
                    "external_labels",
                    format!("`{name}` is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
                ));
            }
        }
        if self.max_batch_size_bytes == 0 {
            problems.push(Invalid::at("max_batch_size_bytes", "must be above 0"));
        }
        let queue = &self.remote_write_queue;
        if queue.enabled && queue.queue_size == 0 {
            problems.push(Invalid::at(
                "remote_write_queue.queue_size",
                "a queue of 0 batches would refuse everything; leave it out (10000) or disable the queue",
            ));
        }
        if self.parallelism() == 0 {
            problems.push(Invalid::at(
                "remote_write_queue.num_consumers",
                "must be at least 1 (it is how many requests of one batch are sent at once)",
            ));
        }
        if let Err(message) = self.retry_on_failure.validate() {
            problems.push(Invalid::at("retry_on_failure", message));
        }
        if let Err(message) = self.circuit_breaker.validate() {
            problems.push(Invalid::at("circuit_breaker", message));
        }
        Invalid::all(problems)
    }

    /// How many requests of one batch are in flight at once.
    pub(super) fn parallelism(&self) -> usize {
        self.max_batch_request_parallelism
            .unwrap_or(self.remote_write_queue.num_consumers)
    }

    pub(super) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: QueueConfig {
                enabled: self.remote_write_queue.enabled,
                // One consumer: two batches sent at once could deliver a series' later samples first, which
                // Prometheus refuses as out of order.
                num_consumers: 1,
                queue_size: self.remote_write_queue.queue_size,
                ..QueueConfig::default()
            },
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}

/// Whether `name` is a classic Prometheus label name.
fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
