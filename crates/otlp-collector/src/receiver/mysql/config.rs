//! The `mysql` receiver's settings, with otelcol-contrib's keys.

use super::status::SPECS;
use crate::ClientTlsSettings;
use crate::component::Invalid;
use crate::de::{self, Refused};
use crate::receiver::scraper::metric::{
    ResourceAttribute, Toggle, only_disabled_events, refuse_events, resource_attribute_on,
    unknown_resource_toggles, unknown_toggles,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `mysql` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MysqlConfig {
    /// `host:port`, or the socket's path with `transport: unix`.
    pub endpoint: String,
    /// `tcp` or `unix`.
    pub transport: String,
    /// The account to log in as (`root` by default, as otelcol's).
    pub username: String,
    /// The account's password.
    pub password: String,
    /// The default database of the connection; the figures are the whole server's either way.
    pub database: String,
    /// Whether `mysql_native_password` logins are allowed: only `true` (otelcol's default) is supported.
    pub allow_native_passwords: bool,
    /// TLS: plain text unless `insecure: false`, as otelcol's receiver (then verified against `ca_file`, or the
    /// Mozilla roots, unless `insecure_skip_verify`).
    pub tls: ClientTlsSettings,
    /// How often the server is read.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first read runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// The longest a scrape's questions may take, connecting included (0: 10 seconds).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Which statement digests `mysql.statement_event.*` reports.
    pub statement_events: StatementEvents,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`: `mysql.instance.endpoint` (on).
    pub resource_attributes: BTreeMap<String, Toggle>,
    /// otelcol's query-sample and top-query log events: only `enabled: false` is accepted.
    pub events: BTreeMap<String, Toggle>,
    /// otelcol's query samples (log events), which this receiver does not produce.
    #[serde(deserialize_with = "refuse_events")]
    pub(crate) query_sample_collection: Refused,
    /// otelcol's top queries (log events), which this receiver does not produce.
    #[serde(deserialize_with = "refuse_events")]
    pub(crate) top_query_collection: Refused,
}

/// otelcol's `statement_events`: the digests of `performance_schema.events_statements_summary_by_digest` read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatementEvents {
    /// A digest's text is cut to this many characters.
    pub digest_text_limit: u32,
    /// Only digests seen within this long.
    #[serde(deserialize_with = "de::duration")]
    pub time_limit: Duration,
    /// At most this many digests, those that waited longest first.
    pub limit: u32,
}

impl Default for StatementEvents {
    fn default() -> Self {
        StatementEvents {
            digest_text_limit: 120,
            time_limit: Duration::from_secs(24 * 3600),
            limit: 250,
        }
    }
}

impl Default for MysqlConfig {
    fn default() -> Self {
        MysqlConfig {
            endpoint: "localhost:3306".to_owned(),
            transport: "tcp".to_owned(),
            username: "root".to_owned(),
            password: String::new(),
            database: String::new(),
            allow_native_passwords: true,
            tls: ClientTlsSettings {
                insecure: true,
                ..Default::default()
            },
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::ZERO,
            statement_events: StatementEvents::default(),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
            events: BTreeMap::new(),
            query_sample_collection: Refused,
            top_query_collection: Refused,
        }
    }
}

/// The resource attributes otelcol's receiver sets, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] = &[("mysql.instance.endpoint", true)];

impl MysqlConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    /// Whether the connection is encrypted.
    pub(super) fn encrypted(&self) -> bool {
        !self.tls.insecure && self.transport == "tcp"
    }

    /// The timeout of one scrape's questions.
    pub(super) fn timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Duration::from_secs(10)
        } else {
            self.timeout
        }
    }

    /// The endpoint's host and port over TCP; `None` when it is not `host:port`.
    pub(super) fn host_port(&self) -> Option<(&str, u16)> {
        let (host, port) = self.endpoint.rsplit_once(':')?;
        Some((
            host.trim_start_matches('[').trim_end_matches(']'),
            port.parse().ok()?,
        ))
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.username.is_empty() {
            problems.push(Invalid::at(
                "username",
                "must not be empty (otelcol's default is root)",
            ));
        }
        match self.transport.as_str() {
            "tcp" if self.host_port().is_none() => problems.push(Invalid::at(
                "endpoint",
                format!("`{}` is not `host:port`", self.endpoint),
            )),
            "tcp" | "unix" => {}
            other => problems.push(Invalid::at(
                "transport",
                format!("`{other}` is not a transport here; use tcp or unix"),
            )),
        }
        if self.transport == "unix" && !self.tls.insecure {
            problems.push(Invalid::at(
                "tls",
                "TLS over a Unix socket is not supported",
            ));
        }
        if !self.allow_native_passwords {
            problems.push(Invalid::at(
                "allow_native_passwords",
                "only true is supported: the client answers whichever login method the account uses",
            ));
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        problems.extend(only_disabled_events(&self.events));
        problems.extend(unknown_toggles("metrics", SPECS, &self.metrics));
        problems.extend(unknown_resource_toggles(
            RESOURCE_ATTRIBUTES,
            &self.resource_attributes,
        ));
        Invalid::all(problems)
    }
}
