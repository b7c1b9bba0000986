//! The `ntp` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use crate::de;
use crate::receiver::scraper::metric::{
    ResourceAttribute, Spec, Toggle, resource_attribute_on, unknown_resource_toggles,
    unknown_toggles,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `ntp` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NtpConfig {
    /// The NTP server, `host:port`.
    pub endpoint: String,
    /// The NTP protocol version of the requests: 3 or 4.
    pub version: u8,
    /// How often the server is asked: at least 30 minutes, as the NTP pool's terms of service ask of clients.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first question is asked.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// How long to wait for the answer.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`: `ntp.host` (on).
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for NtpConfig {
    fn default() -> Self {
        NtpConfig {
            endpoint: "pool.ntp.org:123".to_owned(),
            version: 4,
            collection_interval: Duration::from_secs(30 * 60),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
        }
    }
}

/// The resource attributes otelcol's receiver sets, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] = &[("ntp.host", true)];

impl NtpConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    pub(super) fn validate(&self, specs: &[Spec]) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if !self.endpoint.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        }) {
            problems.push(Invalid::at(
                "endpoint",
                format!("`{}` is not `host:port`", self.endpoint),
            ));
        }
        if !matches!(self.version, 3 | 4) {
            problems.push(Invalid::at(
                "version",
                format!(
                    "{} is not an NTP version this client speaks: 3 or 4",
                    self.version
                ),
            ));
        }
        if self.collection_interval < Duration::from_secs(30 * 60) {
            problems.push(Invalid::at(
                "collection_interval",
                format!(
                    "{:?} is less than the 30m minimum (https://www.pool.ntp.org/tos.html)",
                    self.collection_interval
                ),
            ));
        }
        if self.timeout.is_zero() {
            problems.push(Invalid::at("timeout", "must be more than 0"));
        }
        problems.extend(unknown_toggles("metrics", specs, &self.metrics));
        problems.extend(unknown_resource_toggles(
            RESOURCE_ATTRIBUTES,
            &self.resource_attributes,
        ));
        Invalid::all(problems)
    }
}
