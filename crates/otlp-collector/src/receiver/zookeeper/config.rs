//! The `zookeeper` receiver's settings, with otelcol-contrib's keys.

use super::mntr::SPECS;
use crate::component::Invalid;
use crate::de;
use crate::receiver::scraper::metric::{
    ResourceAttribute, Toggle, resource_attribute_on, unknown_resource_toggles, unknown_toggles,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `zookeeper` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZookeeperConfig {
    /// The server's client port, `host:port`.
    pub endpoint: String,
    /// The longest one command may take, connecting included.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How often the server is asked.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first scrape runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`: `server.state`, `zk.version` (both on).
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for ZookeeperConfig {
    fn default() -> Self {
        ZookeeperConfig {
            endpoint: "localhost:2181".to_owned(),
            timeout: Duration::from_secs(10),
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
        }
    }
}

/// The resource attributes otelcol's receiver sets, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] =
    &[("server.state", true), ("zk.version", true)];

impl ZookeeperConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        let port = self.endpoint.rsplit_once(':').and_then(|(host, port)| {
            (!host.is_empty())
                .then(|| port.parse::<u16>().ok())
                .flatten()
        });
        if port.is_none() {
            problems.push(Invalid::at(
                "endpoint",
                format!("`{}` is not `host:port`", self.endpoint),
            ));
        }
        if self.timeout.is_zero() {
            problems.push(Invalid::at("timeout", "must be more than 0"));
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        problems.extend(unknown_toggles("metrics", SPECS, &self.metrics));
        problems.extend(unknown_resource_toggles(
            RESOURCE_ATTRIBUTES,
            &self.resource_attributes,
        ));
        Invalid::all(problems)
    }
}
