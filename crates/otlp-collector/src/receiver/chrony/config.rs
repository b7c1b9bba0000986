//! The `chrony` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use crate::de;
use crate::receiver::scraper::metric::{Spec, Toggle, unknown_toggles};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The `chrony` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChronyConfig {
    /// chronyd's command socket: `unix:///run/chrony/chronyd.sock` or `udp://host:port` (chronyd's `cmdport`,
    /// 323, which it serves on localhost only unless `cmdallow` says otherwise).
    pub endpoint: String,
    /// How long to wait for chronyd's answer.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How often chronyd is asked.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first question is asked.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
}

impl Default for ChronyConfig {
    fn default() -> Self {
        ChronyConfig {
            endpoint: "unix:///var/run/chrony/chronyd.sock".to_owned(),
            timeout: Duration::from_secs(10),
            collection_interval: Duration::from_secs(60),
            initial_delay: Duration::from_secs(1),
            metrics: BTreeMap::new(),
        }
    }
}

/// Where chronyd takes commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// `host:port`.
    Udp(String),
    /// The path of chronyd's datagram socket.
    Unix(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Udp(address) => write!(f, "udp://{address}"),
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

impl ChronyConfig {
    /// The endpoint, read. A socket path that does not exist yet is no error: chronyd may start after the collector,
    /// and each scrape until then logs that it is missing.
    pub(super) fn endpoint(&self) -> Result<Endpoint, String> {
        let (network, address) = self.endpoint.split_once("://").ok_or_else(|| {
            format!(
                "`{}` is not `unix:///path/to/chronyd.sock` or `udp://host:port`",
                self.endpoint
            )
        })?;
        match network {
            "unix" if address.starts_with('/') => Ok(Endpoint::Unix(PathBuf::from(address))),
            "unix" => Err(format!(
                "`{address}` is not an absolute path (`unix:///run/chrony/chronyd.sock` has three slashes)"
            )),
            "udp" => {
                let valid = address.rsplit_once(':').is_some_and(|(host, port)| {
                    !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port > 0)
                });
                if valid {
                    Ok(Endpoint::Udp(address.to_owned()))
                } else {
                    Err(format!("`{address}` is not `host:port`"))
                }
            }
            other => Err(format!(
                "`{other}` is not a network chronyd takes commands on: `unix` or `udp`"
            )),
        }
    }

    pub(super) fn validate(&self, specs: &[Spec]) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if let Err(problem) = self.endpoint() {
            problems.push(Invalid::at("endpoint", problem));
        }
        if self.timeout.is_zero() {
            problems.push(Invalid::at("timeout", "must be more than 0"));
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        problems.extend(unknown_toggles("metrics", specs, &self.metrics));
        Invalid::all(problems)
    }
}
