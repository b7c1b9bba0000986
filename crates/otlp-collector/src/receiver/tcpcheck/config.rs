//! The `tcpcheck` receiver's settings, with otelcol-contrib's keys (`confignet`'s `endpoint` and `dialer`).

use crate::component::Invalid;
use crate::de;
use crate::receiver::scraper::metric::{Spec, Toggle, unknown_toggles};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `tcpcheck` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpCheckConfig {
    /// The servers connected to, each `host:port`.
    pub targets: Vec<TcpTarget>,
    /// How often they are checked.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first check runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

impl Default for TcpCheckConfig {
    fn default() -> Self {
        TcpCheckConfig {
            targets: Vec::new(),
            collection_interval: Duration::from_secs(60),
            initial_delay: Duration::from_secs(1),
            metrics: BTreeMap::new(),
        }
    }
}

/// One server to connect to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpTarget {
    /// `host:port`; a name is resolved at every check.
    pub endpoint: String,
    /// How the connection is made.
    pub dialer: Dialer,
}

/// `dialer`: `confignet`'s settings of a connection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dialer {
    /// The longest connecting (name resolution included) may take; when unset, the collection interval, as a
    /// check that outlives its interval tells nothing the next one would not.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
}

impl TcpCheckConfig {
    pub(super) fn validate(&self, specs: &[Spec]) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.targets.is_empty() {
            problems.push(Invalid::at("targets", "must list at least one target"));
        }
        for (i, target) in self.targets.iter().enumerate() {
            let endpoint = &target.endpoint;
            let at = format!("targets[{i}].endpoint");
            if endpoint.is_empty() {
                problems.push(Invalid::at(at, "required: the `host:port` to connect to"));
            } else if endpoint.contains("://") {
                problems.push(Invalid::at(
                    at,
                    format!("`{endpoint}` has a scheme; give `host:port`"),
                ));
            } else if !endpoint.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            }) {
                problems.push(Invalid::at(
                    at,
                    format!("`{endpoint}` is not `host:port` with a port from 1 to 65535"),
                ));
            }
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        problems.extend(unknown_toggles("metrics", specs, &self.metrics));
        Invalid::all(problems)
    }
}
