//! The `tlscheck` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use crate::de;
use crate::receiver::scraper::metric::{
    ResourceAttribute, Spec, Toggle, resource_attribute_on, unknown_resource_toggles,
    unknown_toggles,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The `tlscheck` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsCheckConfig {
    /// The certificates checked: a server's (`endpoint`) or a PEM file's (`file_path`).
    pub targets: Vec<CertificateTarget>,
    /// How often they are checked.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first check runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// The longest a server's handshake may take, connecting included.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`: `tlscheck.target` (on).
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for TlsCheckConfig {
    fn default() -> Self {
        TlsCheckConfig {
            targets: Vec::new(),
            collection_interval: Duration::from_secs(60),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
        }
    }
}

/// One certificate to check: exactly one of `endpoint` and `file_path`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertificateTarget {
    /// A TLS server, `host:port`; its certificate is read from the handshake, whoever signed it.
    pub endpoint: String,
    /// An absolute path to a PEM file, whose first certificate is read.
    pub file_path: Option<PathBuf>,
}

/// The resource attributes otelcol's receiver sets, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] = &[("tlscheck.target", true)];

impl TlsCheckConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    pub(super) fn validate(&self, specs: &[Spec]) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.targets.is_empty() {
            problems.push(Invalid::at("targets", "must list at least one target"));
        }
        for (i, target) in self.targets.iter().enumerate() {
            let at = |key: &str| format!("targets[{i}].{key}");
            match (&target.endpoint, &target.file_path) {
                (endpoint, Some(_)) if !endpoint.is_empty() => problems.push(Invalid::at(
                    format!("targets[{i}]"),
                    "has both `endpoint` and `file_path`; give one",
                )),
                (endpoint, None) if endpoint.is_empty() => problems.push(Invalid::at(
                    format!("targets[{i}]"),
                    "needs `endpoint` or `file_path`",
                )),
                (endpoint, None) => {
                    if endpoint.contains("://") {
                        problems.push(Invalid::at(
                            at("endpoint"),
                            format!("`{endpoint}` has a scheme; give `host:port`"),
                        ));
                    } else if !endpoint.rsplit_once(':').is_some_and(|(host, port)| {
                        !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                    }) {
                        problems.push(Invalid::at(
                            at("endpoint"),
                            format!("`{endpoint}` is not `host:port` with a port from 1 to 65535"),
                        ));
                    }
                }
                (_, Some(path)) => {
                    if !path.is_absolute() {
                        problems.push(Invalid::at(
                            at("file_path"),
                            format!("`{}` must be absolute", path.display()),
                        ));
                    } else if !path.is_file() {
                        problems.push(Invalid::at(
                            at("file_path"),
                            format!("`{}` is not a readable file", path.display()),
                        ));
                    }
                }
            }
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
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
