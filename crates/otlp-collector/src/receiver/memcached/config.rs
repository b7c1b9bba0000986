//! The `memcached` receiver's settings, with otelcol-contrib's keys.

use super::stats::SPECS;
use crate::ClientTlsSettings;
use crate::component::Invalid;
use crate::de;
use crate::receiver::scraper::metric::{Toggle, unknown_toggles};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `memcached` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemcachedConfig {
    /// `host:port`, or the socket's path with `transport: unix`.
    pub endpoint: String,
    /// `tcp` or `unix`.
    pub transport: String,
    /// TLS (memcached's `-Z`): plain text unless `insecure: false` or a `ca_file` is given, as otelcol's receiver.
    pub tls: ClientTlsSettings,
    /// How often the server is read.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first read runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// The longest a read (connecting included) may take (0: 10 seconds).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

impl Default for MemcachedConfig {
    fn default() -> Self {
        MemcachedConfig {
            endpoint: "localhost:11211".to_owned(),
            transport: "tcp".to_owned(),
            tls: ClientTlsSettings {
                insecure: true,
                ..Default::default()
            },
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::ZERO,
            metrics: BTreeMap::new(),
        }
    }
}

impl MemcachedConfig {
    /// Whether the connection is encrypted.
    pub(super) fn encrypted(&self) -> bool {
        !self.tls.insecure || self.tls.ca_file.is_some()
    }

    /// The timeout of one read.
    pub(super) fn timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Duration::from_secs(10)
        } else {
            self.timeout
        }
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        match self.transport.as_str() {
            "tcp" => {
                if self
                    .endpoint
                    .rsplit_once(':')
                    .is_none_or(|(_, port)| port.parse::<u16>().is_err())
                {
                    problems.push(Invalid::at(
                        "endpoint",
                        format!("`{}` is not `host:port` (`localhost:11211`)", self.endpoint),
                    ));
                }
            }
            "unix" => {
                if self.endpoint.is_empty() {
                    problems.push(Invalid::at(
                        "endpoint",
                        "required with `transport: unix`: the socket's path (memcached's `-s`)",
                    ));
                }
                if self.encrypted() {
                    problems.push(Invalid::at(
                        "tls",
                        "TLS over a Unix socket is not supported",
                    ));
                }
            }
            other => problems.push(Invalid::at(
                "transport",
                format!("`{other}` is not a transport here; use tcp or unix"),
            )),
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        problems.extend(unknown_toggles("metrics", SPECS, &self.metrics));
        Invalid::all(problems)
    }
}
