//! The `influxdb` exporter's settings, with otelcol-contrib's keys and defaults.

use crate::ClientTlsSettings;
use crate::de;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `influxdb` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InfluxdbExporterConfig {
    /// The server's URL; without a path, `/api/v2/write` (or `/write` with `v1_compatibility`) is added.
    pub endpoint: String,
    /// TLS for an `https://` endpoint.
    pub tls: ClientTlsSettings,
    /// Extra HTTP headers on every request.
    pub headers: BTreeMap<String, String>,
    /// Time allowed for one request.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The InfluxDB 2 organization owning `bucket`.
    pub org: String,
    /// The InfluxDB 2 bucket written to.
    pub bucket: String,
    /// The InfluxDB 2 API token (`Authorization: Token ...`).
    pub token: String,
    /// Writing to InfluxDB 1.x instead: its database, and basic authentication.
    pub v1_compatibility: V1Compatibility,
    /// Span attributes (or resource attributes, `span.name`, `span.kind`) written as tags, beside `trace_id` and
    /// `span_id`; the rest of a span is fields.
    pub span_dimensions: Vec<String>,
    /// Log record attributes (or resource attributes) written as tags, beside `trace_id` and `span_id`.
    pub log_record_dimensions: Vec<String>,
    /// `telegraf-prometheus-v1` (a measurement per metric) or `telegraf-prometheus-v2` (all in `prometheus`).
    pub metrics_schema: String,
    /// The most lines in one request.
    pub payload_max_lines: usize,
    /// The most bytes in one request.
    pub payload_max_bytes: usize,
    /// The sending queue.
    pub sending_queue: QueueConfig,
    /// Retries: a batch sent in several requests is taken up from the first request not written.
    pub retry_on_failure: RetryConfig,
    /// Stop calling a failing server for a while (not in otelcol).
    pub circuit_breaker: CircuitBreakerConfig,
}

/// `v1_compatibility`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct V1Compatibility {
    /// Write with InfluxDB 1.x's `/write` API.
    pub enabled: bool,
    /// The database written to; required when enabled.
    pub db: String,
    /// Basic authentication, with `password`.
    pub username: String,
    /// See `username`.
    pub password: String,
}

impl Default for InfluxdbExporterConfig {
    fn default() -> Self {
        InfluxdbExporterConfig {
            endpoint: String::new(),
            tls: ClientTlsSettings::default(),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(5),
            org: String::new(),
            bucket: String::new(),
            token: String::new(),
            v1_compatibility: V1Compatibility::default(),
            span_dimensions: vec!["service.name".to_owned(), "span.name".to_owned()],
            log_record_dimensions: vec!["service.name".to_owned()],
            metrics_schema: "telegraf-prometheus-v1".to_owned(),
            payload_max_lines: 10_000,
            payload_max_bytes: 10_000_000,
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
        }
    }
}

impl InfluxdbExporterConfig {
    /// Each problem of the settings, with the key it is about.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Err(e) = crate::exporter::otlphttp::client::http_url(&self.endpoint) {
            problems.push(("endpoint", e));
        }
        if self.v1_compatibility.enabled {
            if self.v1_compatibility.db.is_empty() {
                problems.push((
                    "v1_compatibility.db",
                    "must name the InfluxDB 1.x database".to_owned(),
                ));
            }
        } else {
            for (key, value) in [("org", &self.org), ("bucket", &self.bucket)] {
                if value.is_empty() {
                    problems.push((
                        key,
                        "is required for InfluxDB 2 (or set `v1_compatibility: { enabled: true, db: ... }` for 1.x)"
                            .to_owned(),
                    ));
                }
            }
        }
        for (key, dimensions) in [
            ("span_dimensions", &self.span_dimensions),
            ("log_record_dimensions", &self.log_record_dimensions),
        ] {
            let mut seen = std::collections::BTreeSet::new();
            let twice: Vec<&str> = dimensions
                .iter()
                .filter(|d| !seen.insert(d.as_str()))
                .map(String::as_str)
                .collect();
            if !twice.is_empty() {
                problems.push((key, format!("listed twice: {}", twice.join(", "))));
            }
        }
        if !matches!(
            self.metrics_schema.as_str(),
            "telegraf-prometheus-v1" | "telegraf-prometheus-v2"
        ) {
            problems.push((
                "metrics_schema",
                format!(
                    "`{}` is not telegraf-prometheus-v1 or telegraf-prometheus-v2",
                    self.metrics_schema
                ),
            ));
        }
        if self.payload_max_lines == 0 {
            problems.push(("payload_max_lines", "must be at least 1".to_owned()));
        }
        if self.payload_max_bytes == 0 {
            problems.push(("payload_max_bytes", "must be at least 1".to_owned()));
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

    /// The write URL: the endpoint, `/api/v2/write` or `/write` when it has no path, and the query InfluxDB
    /// needs (`precision=ns`, and `org` and `bucket`, or `db`), after the endpoint's own query.
    pub(super) fn write_url(&self) -> Result<http::Uri, String> {
        let endpoint = crate::exporter::otlphttp::client::http_url(&self.endpoint)?;
        let path = match endpoint.path() {
            "" | "/" if self.v1_compatibility.enabled => "/write",
            "" | "/" => "/api/v2/write",
            path => path,
        };
        let encode = crate::percent::encode;
        let mut query: Vec<String> = endpoint
            .query()
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or("");
                !pair.is_empty() && !matches!(key, "precision" | "db" | "org" | "bucket")
            })
            .map(str::to_owned)
            .collect();
        query.push("precision=ns".to_owned());
        if self.v1_compatibility.enabled {
            query.push(format!("db={}", encode(&self.v1_compatibility.db)));
        } else {
            query.push(format!("org={}", encode(&self.org)));
            query.push(format!("bucket={}", encode(&self.bucket)));
        }
        let authority = endpoint.authority().map_or("", |a| a.as_str());
        let scheme = endpoint.scheme_str().unwrap_or("http");
        format!("{scheme}://{authority}{path}?{}", query.join("&"))
            .parse()
            .map_err(|e| format!("endpoint `{}`: {e}", self.endpoint))
    }
}
