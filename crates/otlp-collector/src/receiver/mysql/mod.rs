//! The `mysql` receiver (otelcol-contrib's): a MySQL or MariaDB server's `SHOW GLOBAL STATUS` and
//! `performance_schema` summaries every `collection_interval`, as otelcol's metrics, so its dashboards keep
//! working.
//!
//! ```yaml
//! receivers:
//!   mysql:
//!     endpoint: "mysql:3306"
//!     username: otel
//!     password: ${env:MYSQL_PASSWORD}
//!     collection_interval: 10s
//!     metrics: { mysql.commands: { enabled: true } }
//! ```
//!
//! One connection is kept open and opened again after a failure, which is logged and reports nothing for that
//! scrape (a server that does not answer has no metrics, rather than zeros). A `performance_schema` summary that
//! cannot be read (the schema is off, as MariaDB has it by default, or the account may not read it) is logged and
//! only its metrics are left out. Cumulative sums start when the server did (now less its `Uptime`), and again
//! when it restarts.

mod config;
pub(crate) mod queries;
mod status;

pub use config::{MysqlConfig, StatementEvents};

use super::RunningReceiver;
use super::scraper::dial::Kept;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::server_start::ServerStart;
use super::scraper::{self, Scrape};
use crate::ClientTlsSettings;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use mysql_async::{ClientIdentity, Conn, Opts, OptsBuilder, SslOpts};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use queries::{IoWaits, LockWaits, Replica, Statement};
use std::collections::BTreeMap;
use std::time::Duration;

/// The `mysql` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = MysqlConfig;
    const TYPE: &'static str = "mysql";

    fn validate(&self, config: &MysqlConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &MysqlConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let opts = connection_options(config).map_err(|message| context.start_error(message))?;
        let scraper = MysqlScraper {
            opts,
            endpoint: config.endpoint.clone(),
            timeout: config.timeout(),
            statement_events: config.statement_events.clone(),
            connection: Kept::default(),
            enabled: Enabled::new(status::SPECS, &config.metrics),
            server: ServerStart::default(),
            resource: Resource {
                attributes: if config.resource_attribute("mysql.instance.endpoint") {
                    vec![key_value(
                        "mysql.instance.endpoint",
                        string_value(config.endpoint.as_str()),
                    )]
                } else {
                    Vec::new()
                },
                ..Default::default()
            },
            id: context.id.clone(),
        };
        Ok(scraper::start(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

/// The client's options: where, who, and TLS as the settings ask.
fn connection_options(config: &MysqlConfig) -> Result<Opts, String> {
    let mut builder = OptsBuilder::default()
        .user(Some(config.username.clone()))
        .pass(Some(config.password.clone()).filter(|p| !p.is_empty()))
        .db_name(Some(config.database.clone()).filter(|d| !d.is_empty()))
        // The client would otherwise ask a local server for its socket and move there, leaving the TCP (and TLS)
        // connection the settings ask for.
        .prefer_socket(false);
    builder = if config.transport == "unix" {
        builder.socket(Some(config.endpoint.clone()))
    } else {
        let (host, port) = config
            .host_port()
            .ok_or_else(|| format!("endpoint `{}` is not host:port", config.endpoint))?;
        builder.ip_or_hostname(host.to_owned()).tcp_port(port)
    };
    if config.encrypted() {
        builder = builder.ssl_opts(Some(ssl_options(&config.tls)?));
    }
    Ok(builder.into())
}

/// The client's TLS options as `tls` says: verified against `ca_file` (else the Mozilla roots) unless
/// `insecure_skip_verify`, with a client certificate when `cert_file` and `key_file` are set.
pub(crate) fn ssl_options(tls: &ClientTlsSettings) -> Result<SslOpts, String> {
    let mut ssl = SslOpts::default()
        .with_danger_accept_invalid_certs(tls.insecure_skip_verify)
        .with_danger_skip_domain_validation(tls.insecure_skip_verify)
        .with_danger_tls_hostname_override(tls.server_name_override.clone());
    if let Some(ca) = &tls.ca_file {
        ssl = ssl
            .with_root_certs(vec![ca.clone().into()])
            .with_disable_built_in_roots(true);
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => Ok(ssl.with_client_identity(Some(ClientIdentity::new(
            cert.clone().into(),
            key.clone().into(),
        )))),
        (None, None) => Ok(ssl),
        _ => Err("tls.cert_file and tls.key_file go together".to_owned()),
    }
}

struct MysqlScraper {
    opts: Opts,
    endpoint: String,
    timeout: Duration,
    statement_events: StatementEvents,
    connection: Kept<Conn>,
    enabled: Enabled,
    server: ServerStart,
    resource: Resource,
    id: String,
}

/// What one scrape read; the optional parts are `Err` when their question failed.
struct Reading {
    status: Vec<(String, String)>,
    buffer_pool_size: Result<Option<i64>, String>,
    table_waits: Result<Vec<IoWaits>, String>,
    index_waits: Result<Vec<IoWaits>, String>,
    lock_waits: Result<Vec<LockWaits>, String>,
    statements: Result<Vec<Statement>, String>,
    replicas: Result<Vec<Replica>, String>,
}

impl MysqlScraper {
    fn wants_any(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.enabled.on(name))
    }

    async fn read(&mut self) -> Result<Reading, String> {
        let wanted = [
            self.wants_any(&["mysql.table.io.wait.count", "mysql.table.io.wait.time"]),
            self.wants_any(&["mysql.index.io.wait.count", "mysql.index.io.wait.time"]),
            self.wants_any(&[
                "mysql.table.lock_wait.read.count",
                "mysql.table.lock_wait.read.time",
                "mysql.table.lock_wait.write.count",
                "mysql.table.lock_wait.write.time",
            ]),
            self.wants_any(&[
                "mysql.statement_event.count",
                "mysql.statement_event.wait.time",
            ]),
            self.wants_any(&[
                "mysql.replica.time_behind_source",
                "mysql.replica.sql_delay",
            ]),
        ];
        let [tables, indexes, locks, statements, replicas] = wanted;
        let (opts, settings) = (&self.opts, &self.statement_events);
        self.connection
            .ask(
                self.timeout,
                async || {
                    Conn::new(opts.clone())
                        .await
                        .map_err(|e| format!("connecting: {}", queries::describe(&e)))
                },
                async |conn| {
                    Ok(Reading {
                        status: queries::global_status(conn).await?,
                        buffer_pool_size: queries::buffer_pool_size(conn).await,
                        table_waits: if tables {
                            queries::table_io_waits(conn).await
                        } else {
                            Ok(Vec::new())
                        },
                        index_waits: if indexes {
                            queries::index_io_waits(conn).await
                        } else {
                            Ok(Vec::new())
                        },
                        lock_waits: if locks {
                            queries::lock_waits(conn).await
                        } else {
                            Ok(Vec::new())
                        },
                        statements: if statements {
                            queries::statements(conn, settings).await
                        } else {
                            Ok(Vec::new())
                        },
                        replicas: if replicas {
                            queries::replicas(conn).await
                        } else {
                            Ok(Vec::new())
                        },
                    })
                },
            )
            .await
    }

    /// A part whose question failed: logged, and nothing of it recorded.
    fn part<T: Default>(&self, answer: Result<T, String>, what: &str) -> T {
        answer.unwrap_or_else(|error| {
            tracing::warn!(receiver = %self.id, %error, "reading {what} failed; its metrics are left out");
            T::default()
        })
    }

    fn request(&mut self, reading: Reading) -> Option<ExportMetricsServiceRequest> {
        let now = crate::clock::now_nanos();
        let status: BTreeMap<&str, &str> = reading
            .status
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        match status.get("Uptime").map(|u| u.parse::<u64>()) {
            Some(Ok(uptime)) => self.server.saw("", uptime, now),
            _ => {
                tracing::warn!(receiver = %self.id, "SHOW GLOBAL STATUS has no Uptime: not a MySQL server's answer");
                return None;
            }
        }
        let clock = Clock {
            now,
            start: self.server.nanos(),
        };
        let mut out = Builder::new(status::SPECS, &self.enabled, clock);
        let unreadable = status::record(&status, &mut out);
        if let Some(size) = self.part(reading.buffer_pool_size, "innodb_buffer_pool_size") {
            out.int("mysql.buffer_pool.limit", size, &[]);
        }
        for waits in self.part(reading.table_waits, "table_io_waits_summary_by_table") {
            record_io_waits(&mut out, TABLE_WAITS, &waits);
        }
        for waits in self.part(reading.index_waits, "table_io_waits_summary_by_index_usage") {
            record_io_waits(&mut out, INDEX_WAITS, &waits);
        }
        for waits in self.part(reading.lock_waits, "table_lock_waits_summary_by_table") {
            record_lock_waits(&mut out, &waits);
        }
        for statement in self.part(reading.statements, "events_statements_summary_by_digest") {
            record_statement(&mut out, &statement);
        }
        for replica in self.part(reading.replicas, "SHOW REPLICA STATUS") {
            if let Some(seconds) = replica.behind_source {
                out.int("mysql.replica.time_behind_source", seconds, &[]);
            }
            out.int("mysql.replica.sql_delay", replica.sql_delay, &[]);
        }
        scraper::request(
            out,
            &unreadable,
            &self.id,
            "receiver/mysqlreceiver",
            self.resource.clone(),
        )
    }
}

/// The table's and the index's wait metrics: (count, time).
const TABLE_WAITS: (&str, &str) = ("mysql.table.io.wait.count", "mysql.table.io.wait.time");
const INDEX_WAITS: (&str, &str) = ("mysql.index.io.wait.count", "mysql.index.io.wait.time");

/// A table's or an index's waits, as `metrics` (count, time) {operation, table, schema[, index]}.
fn record_io_waits(out: &mut Builder<'_>, metrics: (&'static str, &'static str), waits: &IoWaits) {
    let (count, time) = metrics;
    for (operation, n, nanos) in waits.operations {
        let mut attributes = vec![
            ("operation", operation),
            ("table", waits.table.as_str()),
            ("schema", waits.schema.as_str()),
        ];
        if let Some(index) = &waits.index {
            attributes.push(("index", index.as_str()));
        }
        out.int(count, n, &attributes);
        out.int(time, nanos, &attributes);
    }
}

fn record_lock_waits(out: &mut Builder<'_>, waits: &LockWaits) {
    let table = [
        ("schema", waits.schema.as_str()),
        ("table", waits.table.as_str()),
    ];
    for (metrics, kinds) in [
        (
            (
                "mysql.table.lock_wait.read.count",
                "mysql.table.lock_wait.read.time",
            ),
            &waits.read,
        ),
        (
            (
                "mysql.table.lock_wait.write.count",
                "mysql.table.lock_wait.write.time",
            ),
            &waits.write,
        ),
    ] {
        for (kind, n, nanos) in kinds {
            let attributes = [table[0], table[1], ("kind", kind)];
            out.int(metrics.0, *n, &attributes);
            out.int(metrics.1, *nanos, &attributes);
        }
    }
}

fn record_statement(out: &mut Builder<'_>, statement: &Statement) {
    let digest = [
        ("schema", statement.schema.as_str()),
        ("digest", statement.digest.as_str()),
        ("digest_text", statement.text.as_str()),
    ];
    for (kind, n) in statement.counts {
        let attributes = [digest[0], digest[1], digest[2], ("kind", kind)];
        out.int("mysql.statement_event.count", n, &attributes);
    }
    out.int(
        "mysql.statement_event.wait.time",
        statement.wait_nanos,
        &digest,
    );
}

impl Scrape for MysqlScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let reading = self.read().await;
        let reading = scraper::read_or_log(
            reading,
            &self.id,
            &self.endpoint,
            "reading the MySQL server failed",
        )?;
        self.request(reading)
    }
}

#[cfg(test)]
mod tests;
