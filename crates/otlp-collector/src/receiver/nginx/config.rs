//! The `nginx` receiver's settings, with otelcol-contrib's keys.

use super::stub_status::SPECS;
use crate::ClientTlsSettings;
use crate::component::Invalid;
use crate::de;
use crate::exporter::otlphttp::client::{header_map, http_url};
use crate::receiver::scraper::metric::{Toggle, unknown_toggles};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `nginx` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NginxConfig {
    /// The URL of the server's `stub_status` page.
    pub endpoint: String,
    /// How to verify an `https` endpoint, and the client certificate to present.
    pub tls: ClientTlsSettings,
    /// Headers sent with each request (`Authorization`).
    pub headers: BTreeMap<String, String>,
    /// How long to wait for the page.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How often the page is read.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first read runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

impl Default for NginxConfig {
    fn default() -> Self {
        NginxConfig {
            endpoint: "http://localhost:80/status".to_owned(),
            tls: ClientTlsSettings::default(),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            metrics: BTreeMap::new(),
        }
    }
}

impl NginxConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if let Err(message) = http_url(&self.endpoint) {
            problems.push(Invalid::at("endpoint", message));
        }
        if let Err(message) = header_map(&self.headers) {
            problems.push(Invalid::at("headers", message));
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        if self.timeout.is_zero() {
            problems.push(Invalid::at("timeout", "must be more than 0"));
        }
        problems.extend(unknown_toggles("metrics", SPECS, &self.metrics));
        Invalid::all(problems)
    }
}
