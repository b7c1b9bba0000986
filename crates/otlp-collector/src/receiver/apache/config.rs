//! The `apache` receiver's settings, with otelcol-contrib's keys.

use super::status::SPECS;
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

/// The `apache` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApacheConfig {
    /// The URL of the server's `mod_status` page in its machine-readable form (`?auto`).
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
    /// `<resource attribute>: { enabled: bool }`: `apache.server.name` and `apache.server.port` (both on).
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for ApacheConfig {
    fn default() -> Self {
        ApacheConfig {
            endpoint: "http://localhost:8080/server-status?auto".to_owned(),
            tls: ClientTlsSettings::default(),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
        }
    }
}

/// The resource attributes otelcol's receiver can set, and whether each is on by default.
const RESOURCE_ATTRIBUTES: &[ResourceAttribute] =
    &[("apache.server.name", true), ("apache.server.port", true)];

impl ApacheConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        match http_url(&self.endpoint) {
            Err(message) => problems.push(Invalid::at("endpoint", message)),
            Ok(url)
                if !url
                    .query()
                    .is_some_and(|query| query.split('&').any(|pair| pair == "auto")) =>
            {
                problems.push(Invalid::at(
                    "endpoint",
                    format!(
                        "`{}` does not ask for the machine-readable page: end it in `?auto` \
                     (`http://localhost:8080/server-status?auto`)",
                        self.endpoint
                    ),
                ))
            }
            Ok(_) => {}
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
