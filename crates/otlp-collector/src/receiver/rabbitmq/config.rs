//! The `rabbitmq` receiver's settings, with otelcol-contrib's keys.

use super::api::SPECS;
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

/// The `rabbitmq` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RabbitmqConfig {
    /// The management plugin's base URL (`http://localhost:15672`).
    pub endpoint: String,
    /// The account the API is read as (the `monitoring` tag is enough).
    pub username: String,
    /// Its password.
    pub password: String,
    /// How to verify an `https` endpoint, and the client certificate to present.
    pub tls: ClientTlsSettings,
    /// Headers sent with each request, beside the account's credentials.
    pub headers: BTreeMap<String, String>,
    /// How long to wait for each answer.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How often the API is read.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first read runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`: `rabbitmq.queue.name`, `rabbitmq.node.name`,
    /// `rabbitmq.vhost.name` (all on).
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for RabbitmqConfig {
    fn default() -> Self {
        RabbitmqConfig {
            endpoint: "http://localhost:15672".to_owned(),
            username: String::new(),
            password: String::new(),
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

/// The resource attributes otelcol's receiver sets, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] = &[
    ("rabbitmq.queue.name", true),
    ("rabbitmq.node.name", true),
    ("rabbitmq.vhost.name", true),
];

impl RabbitmqConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.username.is_empty() {
            problems.push(Invalid::at("username", "must be set"));
        }
        if self.password.is_empty() {
            problems.push(Invalid::at("password", "must be set"));
        }
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
        problems.extend(unknown_resource_toggles(
            RESOURCE_ATTRIBUTES,
            &self.resource_attributes,
        ));
        Invalid::all(problems)
    }
}
