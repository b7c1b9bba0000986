//! The `httpcheck` receiver's settings, with otelcol-contrib's keys.

use super::SPECS;
use crate::ClientTlsSettings;
use crate::component::Invalid;
use crate::de;
use crate::exporter::otlphttp::client::http_url;
use crate::receiver::scraper::metric::{Toggle, unknown_toggles};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `httpcheck` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpCheckConfig {
    /// How often every target is checked.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first checks run.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// The longest a whole round of checks may take (0: each target's own `timeout` alone bounds it).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// What to check.
    pub targets: Vec<Target>,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

impl Default for HttpCheckConfig {
    fn default() -> Self {
        HttpCheckConfig {
            collection_interval: Duration::from_secs(60),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::ZERO,
            targets: Vec::new(),
            metrics: BTreeMap::new(),
        }
    }
}

/// One or more URLs checked the same way.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    /// A URL to check.
    pub endpoint: Option<String>,
    /// More URLs to check.
    pub endpoints: Vec<String>,
    /// The request's method.
    pub method: String,
    /// Headers sent with each request (`Authorization`).
    pub headers: BTreeMap<String, String>,
    /// How long to wait for an answer (0: 30 seconds, as otelcol).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How to verify an `https` endpoint, and the client certificate to present.
    pub tls: ClientTlsSettings,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            endpoint: None,
            endpoints: Vec::new(),
            method: "GET".to_owned(),
            headers: BTreeMap::new(),
            timeout: Duration::ZERO,
            tls: ClientTlsSettings::default(),
        }
    }
}

impl Target {
    /// `endpoints`, then `endpoint`, as otelcol lists them.
    pub(super) fn urls(&self) -> impl Iterator<Item = &str> {
        self.endpoints
            .iter()
            .chain(&self.endpoint)
            .map(String::as_str)
    }

    /// The timeout, 30 seconds when unset.
    pub(super) fn timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            self.timeout
        }
    }

    /// The method, checked.
    pub(super) fn method(&self) -> Result<http::Method, String> {
        http::Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", self.method))
    }
}

impl HttpCheckConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        if self.targets.is_empty() {
            problems.push(Invalid::at(
                "targets",
                "no targets configured: name at least one `endpoint`",
            ));
        }
        for (index, target) in self.targets.iter().enumerate() {
            let at = |key: &str| format!("targets[{index}].{key}");
            if target.urls().next().is_none() {
                problems.push(Invalid::at(
                    format!("targets[{index}]"),
                    "`endpoint` or `endpoints` must be specified",
                ));
            }
            for url in target.urls() {
                if let Err(message) = http_url(url) {
                    problems.push(Invalid::at(at("endpoint"), message));
                }
            }
            if let Err(message) = target.method() {
                problems.push(Invalid::at(at("method"), message));
            }
            if let Err(message) = crate::exporter::otlphttp::client::header_map(&target.headers) {
                problems.push(Invalid::at(at("headers"), message));
            }
        }
        problems.extend(unknown_toggles("metrics", SPECS, &self.metrics));
        Invalid::all(problems)
    }
}
