//! The `postgresql` receiver's settings, with otelcol-contrib's keys.

use super::metrics::SPECS;
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

/// The `postgresql` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresqlConfig {
    /// `host:port`; with `transport: unix`, the socket directory and port (`var/run/postgresql:5432` is
    /// `/var/run/postgresql/.s.PGSQL.5432`), as otelcol reads it.
    pub endpoint: String,
    /// `tcp` or `unix`.
    pub transport: String,
    /// The role to log in as; it needs `pg_monitor` (or `SELECT` on the statistics views) to see every table.
    pub username: String,
    /// The role's password (SCRAM-SHA-256, MD5 or clear text, as the server asks).
    pub password: String,
    /// The databases to read; every database that is not a template when empty.
    pub databases: Vec<String>,
    /// Databases left out, whether listed or found.
    pub exclude_databases: Vec<String>,
    /// TLS, as otelcol's receiver has it: required but not verified unless set otherwise (`insecure: true` for
    /// plain text, `insecure_skip_verify: false` to verify the server against `ca_file` or the system's roots).
    /// A Unix socket is never encrypted, as libpq has it.
    pub tls: ClientTlsSettings,
    /// How often the server is read.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first read runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// The longest one question to the server may take, connecting included (0: 10 seconds).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How long connections are kept between scrapes.
    pub connection_pool: ConnectionPool,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`.
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

/// otelcol's `connection_pool`: this receiver keeps one connection per database, used by one scrape at a time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionPool {
    /// A connection unused for longer is closed (a database no longer read, scrapes further apart).
    #[serde(deserialize_with = "de::optional_duration")]
    pub max_idle_time: Option<Duration>,
    /// A connection open for longer is closed after its scrape and opened again at the next.
    #[serde(deserialize_with = "de::optional_duration")]
    pub max_lifetime: Option<Duration>,
    /// How many connections stay open between scrapes (0: each is closed after its scrape); all by default.
    pub max_idle: Option<usize>,
    /// The most connections open at once. A scrape uses one at a time, so any value of 1 or more is met; it
    /// bounds the connections kept between scrapes as `max_idle` does.
    pub max_open: Option<usize>,
}

impl Default for PostgresqlConfig {
    fn default() -> Self {
        PostgresqlConfig {
            endpoint: "localhost:5432".to_owned(),
            transport: "tcp".to_owned(),
            username: String::new(),
            password: String::new(),
            databases: Vec::new(),
            exclude_databases: Vec::new(),
            tls: ClientTlsSettings {
                insecure_skip_verify: true,
                ..Default::default()
            },
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::ZERO,
            connection_pool: ConnectionPool::default(),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
            events: BTreeMap::new(),
            query_sample_collection: Refused,
            top_query_collection: Refused,
        }
    }
}

/// The resource attributes this receiver sets (otelcol's per-database, per-table and per-index resources), and
/// whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] = &[
    ("postgresql.database.name", true),
    ("postgresql.index.name", true),
    ("postgresql.table.name", true),
    ("service.instance.id", true),
    ("service.name", false),
    ("service.namespace", false),
];

impl PostgresqlConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    /// Whether connections are encrypted.
    pub(super) fn encrypted(&self) -> bool {
        !self.tls.insecure && self.transport == "tcp"
    }

    /// The timeout of one question.
    pub(super) fn timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Duration::from_secs(10)
        } else {
            self.timeout
        }
    }

    /// The endpoint's host and port; `None` when it is not `host:port`.
    pub(super) fn host_port(&self) -> Option<(&str, u16)> {
        let (host, port) = self.endpoint.rsplit_once(':')?;
        Some((host, port.parse().ok()?))
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.username.is_empty() {
            problems.push(Invalid::at("username", "required: the role to log in as"));
        }
        if self.password.is_empty() {
            problems.push(Invalid::at("password", "required: the role's password"));
        }
        if self.host_port().is_none() {
            problems.push(Invalid::at(
                "endpoint",
                format!(
                    "`{}` is not `host:port` (with `transport: unix`, the socket's directory and port)",
                    self.endpoint
                ),
            ));
        }
        if !matches!(self.transport.as_str(), "tcp" | "unix") {
            problems.push(Invalid::at(
                "transport",
                format!(
                    "`{}` is not a transport here; use tcp or unix",
                    self.transport
                ),
            ));
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        if self.connection_pool.max_open == Some(0) {
            problems.push(Invalid::at(
                "connection_pool.max_open",
                "must be at least 1: a scrape needs a connection",
            ));
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
