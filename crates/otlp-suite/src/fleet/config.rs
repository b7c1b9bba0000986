//! The `fleet` extension's settings: how to reach etcd and who this member is.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The `fleet` extension's settings (`extensions.fleet` in the collector config). They are per member: the fleet's
/// shared config document never carries them (see [`merge_document`](super::merge_document)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// etcd client URLs, e.g. `http://10.0.0.1:2379` (`https://` with `tls`).
    pub endpoints: Vec<String>,
    /// The fleet's key prefix; every collector of one fleet uses the same.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// This member's id, unique in the fleet: ASCII letters, digits, `-`, `_`, `.`, `:`.
    pub member_id: String,
    /// Region (or zone), for same-region selection by `fleet pick`.
    #[serde(default = "default_region")]
    pub region: String,
    /// The membership lease's time to live: how long after this process dies (or loses etcd) it leaves the fleet.
    /// Whole seconds, at least 1s.
    #[serde(default = "default_lease_ttl", with = "otlp_model::duration::serde")]
    pub lease_ttl: Duration,
    /// The address clients should send data to (`host:port` of the OTLP receiver), published in the member record.
    pub advertise: String,
    /// How often the member's load is published.
    #[serde(
        default = "default_report_interval",
        with = "otlp_model::duration::serde"
    )]
    pub report_interval: Duration,
    /// Whether this member stands for leader election (the leader publishes the fleet view and drives
    /// rollouts). Members that should never lead set `false`.
    #[serde(default = "default_true")]
    pub campaign: bool,
    /// How long a hot reload may spend draining the old pipelines to the exporters.
    #[serde(
        default = "default_drain_timeout",
        with = "otlp_model::duration::serde"
    )]
    pub drain_timeout: Duration,
    /// etcd user, when etcd has authentication enabled (with `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// etcd password (with `username`); use `${env:VAR}` rather than writing it in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// TLS to etcd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<EtcdTlsConfig>,
}

/// TLS settings for the connection to etcd.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EtcdTlsConfig {
    /// PEM file with the CA certificates that sign etcd's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for mutual TLS (with `key_file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM client key (with `cert_file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// The name to check etcd's certificate against, when it differs from the endpoint's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

fn default_true() -> bool {
    true
}

pub(crate) fn default_prefix() -> String {
    "/otlp-suite".to_owned()
}

fn default_region() -> String {
    "default".to_owned()
}

fn default_lease_ttl() -> Duration {
    Duration::from_secs(10)
}

fn default_report_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_drain_timeout() -> Duration {
    Duration::from_secs(30)
}

impl FleetConfig {
    /// Why these settings cannot work, as `(key, message)`.
    pub(crate) fn problems(&self) -> Option<(&'static str, String)> {
        if self.endpoints.is_empty() || self.endpoints.iter().any(|e| e.trim().is_empty()) {
            return Some(("endpoints", "at least one etcd endpoint is required".into()));
        }
        if let Err(error) = otlp_control::fleet::Member::new(&self.member_id, "r", "a", "v") {
            return Some(("member_id", error.to_string()));
        }
        if self.prefix.trim_end_matches('/').is_empty() || !self.prefix.starts_with('/') {
            return Some((
                "prefix",
                format!("{:?} must start with / and not be /", self.prefix),
            ));
        }
        if self.advertise.trim().is_empty() {
            return Some((
                "advertise",
                "the address clients send to is required".into(),
            ));
        }
        if self.lease_ttl < Duration::from_secs(1) || self.lease_ttl.subsec_nanos() != 0 {
            return Some(("lease_ttl", "must be whole seconds, at least 1s".into()));
        }
        if self.report_interval.is_zero() {
            return Some(("report_interval", "must be positive".into()));
        }
        if self.username.is_some() != self.password.is_some() {
            return Some(("username", "username and password go together".into()));
        }
        if let Some(tls) = &self.tls {
            if tls.cert_file.is_some() != tls.key_file.is_some() {
                return Some(("tls.cert_file", "cert_file and key_file go together".into()));
            }
            if let Some(plain) = self.endpoints.iter().find(|e| !e.starts_with("https://")) {
                return Some((
                    "endpoints",
                    format!("{plain} must be an https:// URL when tls is set"),
                ));
            }
        }
        None
    }
}
