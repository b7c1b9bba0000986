//! The `haproxy` receiver's settings, with otelcol-contrib's keys.

use super::stats::SPECS;
use crate::ClientTlsSettings;
use crate::component::Invalid;
use crate::de;
use crate::exporter::otlphttp::client::{header_map, http_url};
use crate::receiver::scraper::metric::{
    ResourceAttribute, Toggle, resource_attribute_on, unknown_resource_toggles, unknown_toggles,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `haproxy` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HaproxyConfig {
    /// HAProxy's stats socket (`/var/run/haproxy.sock`, a `stats socket` of its `global` section), or the URL of
    /// its stats page (`http://localhost:8404/stats`, a `stats uri`), whose CSV is read.
    pub endpoint: String,
    /// How to verify an `https` endpoint, and the client certificate to present.
    pub tls: ClientTlsSettings,
    /// Headers sent with each request to a stats page (`Authorization` for `stats auth`).
    pub headers: BTreeMap<String, String>,
    /// How long to wait for the statistics.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How often the statistics are read.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first read runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`.
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for HaproxyConfig {
    fn default() -> Self {
        HaproxyConfig {
            endpoint: String::new(),
            tls: ClientTlsSettings::default(),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            collection_interval: Duration::from_secs(60),
            initial_delay: Duration::from_secs(1),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
        }
    }
}

/// The resource attributes otelcol's receiver can set, and whether each is on by default.
const RESOURCE_ATTRIBUTES: &[ResourceAttribute] = &[
    ("haproxy.addr", true),
    ("haproxy.proxy_name", true),
    ("haproxy.service_name", true),
    ("haproxy.server.state", false),
];

impl HaproxyConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    /// Whether the endpoint is a stats page rather than a socket.
    pub(super) fn is_page(&self) -> bool {
        self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push(Invalid::at(
                "endpoint",
                "name HAProxy's stats socket (`/var/run/haproxy.sock`) or its stats page \
                 (`http://localhost:8404/stats`)",
            ));
        } else if self.is_page() {
            if let Err(message) = http_url(&self.endpoint) {
                problems.push(Invalid::at("endpoint", message));
            }
        } else if !self.endpoint.starts_with('/') {
            problems.push(Invalid::at(
                "endpoint",
                format!(
                    "`{}` is neither a stats page URL (http:// or https://) nor the absolute path of a stats socket",
                    self.endpoint
                ),
            ));
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
        problems.extend(unknown_resource_toggles(
            RESOURCE_ATTRIBUTES,
            &self.resource_attributes,
        ));
        Invalid::all(problems)
    }
}
