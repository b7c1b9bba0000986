//! The `redis` receiver's settings, with otelcol-contrib's keys.

use super::info::SPECS;
use crate::ClientTlsSettings;
use crate::component::Invalid;
use crate::de;
use crate::receiver::scraper::metric::{
    ResourceAttribute, Toggle, resource_attribute_on, unknown_resource_toggles, unknown_toggles,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `redis` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `host:port`, or the socket's path with `transport: unix`.
    pub endpoint: String,
    /// `tcp` or `unix`.
    pub transport: String,
    /// The ACL user to authenticate as (Redis 6 and later); the `default` user when empty.
    pub username: String,
    /// The password (`requirepass`, or the ACL user's); no `AUTH` when empty.
    pub password: String,
    /// TLS: plain text unless `insecure: false` or a `ca_file` is given, as otelcol's receiver.
    pub tls: ClientTlsSettings,
    /// How often the server is read.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first read runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// The longest a read (connecting included) may take (0: 5 seconds).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`: `redis.version` (on), `server.address` and `server.port`
    /// (off).
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            endpoint: String::new(),
            transport: "tcp".to_owned(),
            username: String::new(),
            password: String::new(),
            tls: ClientTlsSettings {
                insecure: true,
                ..Default::default()
            },
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::ZERO,
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
        }
    }
}

/// The resource attributes otelcol's receiver can set, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] = &[
    ("redis.version", true),
    ("server.address", false),
    ("server.port", false),
];

impl RedisConfig {
    /// Whether the connection is encrypted.
    pub(super) fn encrypted(&self) -> bool {
        !self.tls.insecure || self.tls.ca_file.is_some()
    }

    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    /// The timeout of one read.
    pub(super) fn timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Duration::from_secs(5)
        } else {
            self.timeout
        }
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push(Invalid::at(
                "endpoint",
                "required: the server's `host:port` (`localhost:6379`)",
            ));
        }
        match self.transport.as_str() {
            "tcp" => {
                if !self.endpoint.is_empty()
                    && self
                        .endpoint
                        .rsplit_once(':')
                        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
                {
                    problems.push(Invalid::at(
                        "endpoint",
                        format!("`{}` is not `host:port`", self.endpoint),
                    ));
                }
            }
            "unix" => {}
            other => problems.push(Invalid::at(
                "transport",
                format!("`{other}` is not a transport here; use tcp or unix"),
            )),
        }
        if self.transport == "unix" && self.encrypted() {
            problems.push(Invalid::at(
                "tls",
                "TLS over a Unix socket is not supported",
            ));
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
