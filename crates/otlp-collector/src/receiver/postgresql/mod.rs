//! The `postgresql` receiver (otelcol-contrib's): a PostgreSQL server's statistics views every
//! `collection_interval`, as otelcol's metrics, so its dashboards keep working.
//!
//! ```yaml
//! receivers:
//!   postgresql:
//!     endpoint: "postgres:5432"
//!     username: otel
//!     password: ${env:POSTGRESQL_PASSWORD}
//!     databases: [orders]
//!     tls: { insecure: true }
//!     metrics: { postgresql.deadlocks: { enabled: true } }
//! ```
//!
//! Each scrape asks the `postgres` database for the server's own figures (databases, backends, sizes,
//! transactions, the background writer, replication, archiving) and then each database, on a connection of its
//! own, for its tables and indexes. The resources are otelcol's: one per database (`postgresql.database.name`),
//! per table (with `postgresql.table.name`, `schema.table`) and per index (with `postgresql.index.name` and
//! the table's bare name, as otelcol sets it), and one for the server; each carries `service.instance.id`, the
//! endpoint. A database that cannot be read is logged and left out; the others are still reported. Cumulative
//! sums start when the receiver started, or when the server's statistics were last reset
//! (`stats_reset`) if that is later, since PostgreSQL 15 keeps its counters across a clean restart.

pub(crate) mod client;
mod config;
mod metrics;
mod pool;
mod queries;

pub use config::{ConnectionPool, PostgresqlConfig};

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use client::Connector;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use pool::Pool;
use queries::{BgWriter, ByDatabase, DatabaseStats, Lock, Replication, Server};
use std::collections::BTreeSet;
use std::time::Duration;

/// The database the server-wide questions are asked in, as otelcol's receiver asks them.
const LISTING_DATABASE: &str = "postgres";

/// otelcol's scope for the receiver.
const SCOPE: &str = "receiver/postgresqlreceiver";

/// The `postgresql` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = PostgresqlConfig;
    const TYPE: &'static str = "postgresql";

    fn validate(&self, config: &PostgresqlConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &PostgresqlConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let (host, port) = config
            .host_port()
            .ok_or_else(|| context.start_error("endpoint is not host:port"))?;
        let connector = Connector::new(
            host,
            port,
            config.transport == "unix",
            &config.username,
            &config.password,
            &config.tls,
            config.encrypted(),
        )
        .map_err(|message| context.start_error(message))?;
        let scraper = PostgresqlScraper {
            connector,
            databases: config.databases.clone(),
            excluded: config.exclude_databases.iter().cloned().collect(),
            timeout: config.timeout(),
            pool: Pool::new(config.connection_pool.clone()),
            enabled: Enabled::new(metrics::SPECS, &config.metrics),
            base: base_resource(config),
            names: Names {
                database: config.resource_attribute("postgresql.database.name"),
                table: config.resource_attribute("postgresql.table.name"),
                index: config.resource_attribute("postgresql.index.name"),
            },
            started: crate::clock::now_nanos(),
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

/// The attributes every resource of the receiver carries.
fn base_resource(config: &PostgresqlConfig) -> Resource {
    let attributes = [
        ("service.instance.id", config.endpoint.as_str()),
        ("service.name", "unknown_service:postgresql"),
        ("service.namespace", ""),
    ]
    .into_iter()
    .filter(|(name, _)| config.resource_attribute(name))
    .map(|(name, value)| key_value(name, string_value(value)))
    .collect();
    Resource {
        attributes,
        ..Default::default()
    }
}

/// Which of the entity names the resources carry.
struct Names {
    database: bool,
    table: bool,
    index: bool,
}

struct PostgresqlScraper {
    connector: Connector,
    /// The databases to read; all but templates when empty.
    databases: Vec<String>,
    excluded: BTreeSet<String>,
    timeout: Duration,
    pool: Pool,
    enabled: Enabled,
    base: Resource,
    names: Names,
    /// When the receiver started, in nanoseconds since the epoch: the start of the cumulative sums.
    started: u64,
    id: String,
}

/// What the `postgres` database says of the whole server in one scrape.
struct Overview {
    server: Server,
    databases: Vec<String>,
    backends: Option<ByDatabase<i64>>,
    sizes: Option<ByDatabase<i64>>,
    stats: Option<ByDatabase<DatabaseStats>>,
    bgwriter: Option<BgWriter>,
    wal_age: Option<i64>,
    replication: Vec<Replication>,
    locks: Vec<Lock>,
}

/// What one database says of its tables and indexes.
#[derive(Default)]
struct Contents {
    tables: Option<Vec<queries::Table>>,
    indexes: Vec<queries::Index>,
    functions: Vec<queries::Function>,
    locks: Vec<Lock>,
}

impl PostgresqlScraper {
    /// A question whose failure leaves only its own metrics out: logged, and `None`.
    fn partial<T>(&self, answer: Result<T, String>, what: &str) -> Option<T> {
        match answer {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(receiver = %self.id, %error, "reading {what} failed; its metrics are left out");
                None
            }
        }
    }

    async fn overview(&mut self) -> Result<Overview, String> {
        let wants = |name: &str| self.enabled.on(name);
        let (conflicts, execution, locks) = (
            wants("postgresql.query.conflicts"),
            wants("postgresql.query.execution.time"),
            wants("postgresql.database.locks"),
        );
        let listed = self.databases.clone();
        let answers = self
            .pool
            .ask(
                &self.connector,
                LISTING_DATABASE,
                self.timeout,
                async |client| {
                    let server = queries::server(client).await?;
                    let mut databases = if listed.is_empty() {
                        queries::databases(client).await?
                    } else {
                        listed
                    };
                    databases.retain(|database| !self.excluded.contains(database));
                    let mut stats = queries::database_stats(client).await;
                    if let Ok(stats) = &mut stats {
                        if conflicts {
                            merge(stats, queries::conflicts(client).await?, |s, c| {
                                s.conflicts = Some(c)
                            });
                        }
                        if execution {
                            merge(stats, queries::execution_seconds(client).await?, |s, e| {
                                s.execution_seconds = Some(e)
                            });
                        }
                    }
                    Ok((
                        server,
                        queries::backends(client).await,
                        queries::sizes(client, &databases).await,
                        stats,
                        queries::bgwriter(client, server.version).await,
                        queries::wal_age(client).await,
                        queries::replication(client).await,
                        if locks {
                            queries::server_locks(client).await
                        } else {
                            Ok(Vec::new())
                        },
                        databases,
                    ))
                },
            )
            .await?;
        let (server, backends, sizes, stats, bgwriter, wal_age, replication, locks, databases) =
            answers;
        Ok(Overview {
            server,
            backends: self.partial(backends, "pg_stat_activity"),
            sizes: self.partial(sizes, "the databases' sizes"),
            stats: self.partial(stats, "pg_stat_database"),
            bgwriter: self.partial(bgwriter, "pg_stat_bgwriter"),
            wal_age: self.partial(wal_age, "pg_stat_archiver").flatten(),
            replication: self
                .partial(replication, "pg_stat_replication")
                .unwrap_or_default(),
            locks: self
                .partial(locks, "the server's locks")
                .unwrap_or_default(),
            databases,
        })
    }

    /// The tables and indexes of `database`, and its functions and locks when their metrics are enabled;
    /// `None` after logging why the database could not be read.
    async fn contents(&mut self, database: &str) -> Option<Contents> {
        let functions = self.enabled.on("postgresql.function.calls");
        let locks = self.enabled.on("postgresql.database.locks");
        let answer = self
            .pool
            .ask(&self.connector, database, self.timeout, async |client| {
                Ok((
                    queries::tables(client).await,
                    queries::indexes(client).await,
                    if functions {
                        queries::functions(client).await
                    } else {
                        Ok(Vec::new())
                    },
                    if locks {
                        queries::database_locks(client).await
                    } else {
                        Ok(Vec::new())
                    },
                ))
            })
            .await;
        let (tables, indexes, functions, locks) = scraper::read_or_log(
            answer,
            &self.id,
            &format!("{} database {database}", self.connector.address()),
            "reading a database failed; its metrics are left out",
        )?;
        Some(Contents {
            tables: self.partial(tables, "pg_stat_user_tables"),
            indexes: self
                .partial(indexes, "pg_stat_user_indexes")
                .unwrap_or_default(),
            functions: self
                .partial(functions, "pg_stat_user_functions")
                .unwrap_or_default(),
            locks: self.partial(locks, "pg_locks").unwrap_or_default(),
        })
    }

    /// The resource of the server (no names), a database, a table of it or an index of a table.
    fn resource(
        &self,
        database: Option<&str>,
        table: Option<&str>,
        index: Option<&str>,
    ) -> Resource {
        let mut resource = self.base.clone();
        for (on, name, value) in [
            (self.names.database, "postgresql.database.name", database),
            (self.names.table, "postgresql.table.name", table),
            (self.names.index, "postgresql.index.name", index),
        ] {
            if let (true, Some(value)) = (on, value) {
                resource
                    .attributes
                    .push(key_value(name, string_value(value)));
            }
        }
        resource
    }

    fn clock(&self, now: u64, reset: Option<u64>) -> Clock {
        Clock {
            now,
            start: reset.map_or(self.started, |reset| reset.max(self.started)),
        }
    }
}

/// Moves each of `extra` into the row of its database in `rows`.
fn merge<T, E>(rows: &mut ByDatabase<T>, extra: ByDatabase<E>, into: impl Fn(&mut T, E)) {
    for (database, value) in extra {
        if let Some(row) = rows.get_mut(&database) {
            into(row, value);
        }
    }
}

/// `metrics` of `resource`, unless it has none.
fn push(out: &mut Vec<ResourceMetrics>, resource: Resource, builder: Builder<'_>) {
    let metrics = builder.finish();
    if !metrics.is_empty() {
        out.push(scraper::resource_metrics(resource, SCOPE, metrics));
    }
}

impl Scrape for PostgresqlScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let now = crate::clock::now_nanos();
        let overview = self.overview().await;
        let overview = scraper::read_or_log(
            overview,
            &self.id,
            &self.connector.address(),
            "reading the PostgreSQL server failed",
        )?;
        let mut out = Vec::new();
        for database in &overview.databases {
            let Some(contents) = self.contents(database).await else {
                continue;
            };
            let stats = overview.stats.as_ref().and_then(|s| s.get(database));
            let clock = self.clock(now, stats.and_then(|s| s.reset_nanos));
            for table in contents.tables.iter().flatten() {
                let mut builder = Builder::new(metrics::SPECS, &self.enabled, clock);
                metrics::record_table(&mut builder, table);
                let name = format!("{}.{}", table.schema, table.name);
                push(
                    &mut out,
                    self.resource(Some(database), Some(&name), None),
                    builder,
                );
            }
            let mut builder = Builder::new(metrics::SPECS, &self.enabled, clock);
            metrics::record_database(
                &mut builder,
                stats,
                overview
                    .sizes
                    .as_ref()
                    .and_then(|s| s.get(database))
                    .copied(),
                // A database nobody is connected to has no row in pg_stat_activity: none, not unknown.
                overview
                    .backends
                    .as_ref()
                    .map(|b| b.get(database).copied().unwrap_or(0)),
                contents.tables.as_ref().map(Vec::len),
            );
            metrics::record_functions(&mut builder, &contents.functions);
            metrics::record_locks(&mut builder, &contents.locks);
            push(&mut out, self.resource(Some(database), None, None), builder);
            for index in &contents.indexes {
                let mut builder = Builder::new(metrics::SPECS, &self.enabled, clock);
                metrics::record_index(&mut builder, index);
                let resource = self.resource(Some(database), Some(&index.table), Some(&index.name));
                push(&mut out, resource, builder);
            }
        }
        let reset = overview.bgwriter.as_ref().and_then(|b| b.reset_nanos);
        let mut builder = Builder::new(metrics::SPECS, &self.enabled, self.clock(now, reset));
        builder.int(
            "postgresql.database.count",
            i64::try_from(overview.databases.len()).unwrap_or(i64::MAX),
            &[],
        );
        if let Some(bgwriter) = &overview.bgwriter {
            metrics::record_bgwriter(&mut builder, bgwriter);
        }
        if let Some(age) = overview.wal_age {
            builder.int("postgresql.wal.age", age, &[]);
        }
        metrics::record_replication(&mut builder, &overview.replication);
        builder.int(
            "postgresql.connection.max",
            overview.server.max_connections,
            &[],
        );
        metrics::record_locks(&mut builder, &overview.locks);
        push(&mut out, self.resource(None, None, None), builder);
        self.pool.tidy(&overview.databases);
        if out.is_empty() {
            return None;
        }
        Some(ExportMetricsServiceRequest {
            resource_metrics: out,
        })
    }
}

#[cfg(test)]
mod tests;
