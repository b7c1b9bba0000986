//! The `sqlquery` receiver (otelcol-contrib's): the operator's own SQL, run on a PostgreSQL or MySQL/MariaDB
//! server every `collection_interval`, each row made a metric's data point or a log record.
//!
//! ```yaml
//! receivers:
//!   sqlquery:
//!     driver: postgres
//!     datasource: "host=db port=5432 user=otel password=${env:PGPASSWORD} dbname=shop sslmode=disable"
//!     storage: file_storage
//!     queries:
//!       - sql: "SELECT count(*) AS count, genre FROM movie GROUP BY genre"
//!         metrics:
//!           - metric_name: movie.genres
//!             value_column: count
//!             attribute_columns: [genre]
//!       - sql: "SELECT id, body FROM audit_log WHERE id > $$1 ORDER BY id"
//!         tracking_column: id
//!         tracking_start_value: "0"
//!         logs:
//!           - body_column: body
//! ```
//!
//! Every value is read as text, as otelcol's Go drivers render it (`postgres.rs`, `mysql.rs`), then parsed as
//! the setting says (`rows.rs`). One connection is kept open for all the queries and opened again after a failure.
//! A query the server refuses is logged and the others still run; a row whose value cannot be read (NULL, not a
//! number, a column the result lacks) is logged and makes no point or record, the other rows theirs.
//!
//! Where it differs from otelcol's, on purpose: a metric setting makes one metric with a point per row (otelcol
//! makes a metric per row, each with one point: the same data, repeated descriptors); a sum without
//! `aggregation` starts when the receiver did, as a cumulative one does (otelcol leaves its start at 0); a row
//! whose value cannot be read makes nothing (otelcol sends a zero, or a point without that attribute); and a logs
//! query's tracking value moves on only once the pipelines took its records, so that records they refused are
//! read again at the next run rather than lost.

mod config;
mod mysql;
mod postgres;
mod rows;

pub use config::{
    LogsQuery, MetricQuery, Query, RowCondition, SqlqueryConfig, Telemetry, TelemetryLogs,
};

use super::RunningReceiver;
use super::scraper::dial::Kept;
use super::scraper::{self, Round};
use super::state_store::Store;
use crate::Batch;
use crate::clock::now_nanos;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::receiver::Ingest;
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use rows::{QueryFailure, ResultSet, Times};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The `sqlquery` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = SqlqueryConfig;
    const TYPE: &'static str = "sqlquery";

    fn validate(&self, config: &SqlqueryConfig) -> Result<(), Invalid> {
        config.validate()?;
        // The connection string is read now, so that a typo in it stops the config rather than every scrape.
        Driver::new(config)
            .map(drop)
            .map_err(|e| Invalid::at("datasource", e))
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics, Signal::Logs];

    async fn start(
        &self,
        config: &SqlqueryConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let driver = Driver::new(config).map_err(|e| context.start_error(e))?;
        let store = match &config.storage {
            None => None,
            Some(name) => {
                let storage = context.storages.get(name).ok_or_else(|| {
                    context.start_error(format!(
                        "storage: `{name}` is not an enabled storage extension"
                    ))
                })?;
                Some(
                    Store::new(storage, &context.id)
                        .map_err(|e| context.start_error(format!("storage: {e}")))?,
                )
            }
        };
        let stored: BTreeMap<String, String> = store.as_ref().map(Store::load).unwrap_or_default();
        let (metrics, logs) = (
            context.ingest.serves(Signal::Metrics),
            context.ingest.serves(Signal::Logs),
        );
        let started = now_nanos();
        let queries = config
            .queries
            .iter()
            .enumerate()
            .map(|(i, query)| {
                let key = format!("query-{i}: {}", query.sql);
                let tracking = stored
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| query.tracking_start_value.clone());
                if !logs && !query.logs.is_empty() {
                    tracing::warn!(receiver = %context.id, query = i,
                        "the query's logs settings are left out: no logs pipeline takes this receiver's records");
                }
                if !metrics && !query.metrics.is_empty() {
                    tracing::warn!(receiver = %context.id, query = i,
                        "the query's metrics settings are left out: no metrics pipeline takes this receiver");
                }
                RunningQuery {
                    query: Query {
                        metrics: if metrics { query.metrics.clone() } else { Vec::new() },
                        logs: if logs { query.logs.clone() } else { Vec::new() },
                        ..query.clone()
                    },
                    key,
                    tracking,
                }
            })
            .collect();
        let scraper = SqlScraper {
            driver,
            connection: Kept::default(),
            queries,
            store,
            times: Times {
                now: started,
                started,
                interval: u64::try_from(config.collection_interval.as_nanos()).unwrap_or(u64::MAX),
            },
            timeout: if config.timeout.is_zero() {
                NO_TIMEOUT
            } else {
                config.timeout
            },
            log_queries: config.telemetry.logs.query,
            id: context.id.clone(),
        };
        Ok(scraper::every(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

/// otelcol's `timeout: 0`: no limit (a day, so that a server that never answers is given up on eventually).
const NO_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The scope otelcol's receiver puts its telemetry under.
const SCOPE: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/sqlqueryreceiver";

/// A server reached through one of the drivers.
enum Driver {
    Postgres(postgres::Source),
    Mysql(mysql::Source),
}

/// An open connection of either driver.
enum Connection {
    Postgres(tokio_postgres::Client),
    Mysql(mysql_async::Conn),
}

impl Driver {
    /// The driver `config` names, reaching the server its `datasource` (or its connection settings) says.
    fn new(config: &SqlqueryConfig) -> Result<Self, String> {
        let datasource = if config.datasource.is_empty() {
            datasource_of_parts(config)
        } else {
            config.datasource.clone()
        };
        match config.driver.as_str() {
            "postgres" => postgres::Source::parse(&datasource).map(Driver::Postgres),
            "mysql" => mysql::Source::parse(&datasource).map(Driver::Mysql),
            other => Err(format!("driver `{other}` is not built")),
        }
    }

    fn address(&self) -> &str {
        match self {
            Driver::Postgres(source) => source.address(),
            Driver::Mysql(source) => source.address(),
        }
    }

    async fn open(&self) -> Result<Connection, String> {
        Ok(match self {
            Driver::Postgres(source) => Connection::Postgres(source.open().await?),
            Driver::Mysql(source) => Connection::Mysql(source.open().await?),
        })
    }

    async fn query(
        &self,
        connection: &mut Connection,
        sql: &str,
        parameter: Option<&str>,
    ) -> Result<ResultSet, QueryFailure> {
        match (self, connection) {
            (Driver::Postgres(_), Connection::Postgres(client)) => {
                postgres::query(client, sql, parameter).await
            }
            (Driver::Mysql(source), Connection::Mysql(conn)) => {
                source.query(conn, sql, parameter).await
            }
            _ => Err(QueryFailure::Connection(
                "a connection of the other driver".to_owned(),
            )),
        }
    }
}

/// The connection string otelcol builds of `host`, `port`, `database`, `username`, `password` and
/// `additional_params` when `datasource` is not set.
fn datasource_of_parts(config: &SqlqueryConfig) -> String {
    let params = config.params();
    if config.driver == "mysql" {
        let credentials = if config.username.is_empty() {
            String::new()
        } else {
            format!("{}:{}@", config.username, config.password)
        };
        let query: Vec<String> = params
            .iter()
            .map(|(key, value)| format!("{key}={}", percent_encode(value)))
            .collect();
        let mut datasource = format!(
            "{credentials}tcp({}:{})/{}",
            config.host, config.port, config.database
        );
        if !query.is_empty() {
            datasource.push('?');
            datasource.push_str(&query.join("&"));
        }
        return datasource;
    }
    let quoted = |value: &str| format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut pairs = vec![
        format!("host={}", quoted(&config.host)),
        format!("port={}", config.port),
        format!("dbname={}", quoted(&config.database)),
    ];
    if !config.username.is_empty() {
        pairs.push(format!("user={}", quoted(&config.username)));
        pairs.push(format!("password={}", quoted(&config.password)));
    }
    pairs.extend(
        params
            .iter()
            .map(|(key, value)| format!("{key}={}", quoted(value))),
    );
    pairs.join(" ")
}

/// `%XX` for every byte but letters, digits and `-._~`.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A query with where its logs settings have read to.
struct RunningQuery {
    query: Query,
    /// Its tracking value's key in the storage extension: its position and text, so that another query starts
    /// from its own `tracking_start_value`.
    key: String,
    /// The parameter of its next run.
    tracking: String,
}

struct SqlScraper {
    driver: Driver,
    connection: Kept<Connection>,
    queries: Vec<RunningQuery>,
    store: Option<Store>,
    times: Times,
    timeout: Duration,
    log_queries: bool,
    id: String,
}

/// What one run of the queries made.
#[derive(Default)]
struct Run {
    metrics: Vec<opentelemetry_proto::tonic::metrics::v1::Metric>,
    records: Vec<LogRecord>,
    /// The tracking values the run read to, by query, kept once the pipelines took the records.
    tracking: Vec<(usize, String)>,
}

impl SqlScraper {
    /// Runs every query once; a connection that fails ends the run (the others would fail the same way).
    async fn run(&mut self) -> Run {
        let mut run = Run::default();
        let times = Times {
            now: now_nanos(),
            ..self.times
        };
        for i in 0..self.queries.len() {
            let query = &self.queries[i].query;
            if query.metrics.is_empty() && query.logs.is_empty() {
                continue;
            }
            let tracked = !query.tracking_column.is_empty();
            let parameter = tracked.then_some(self.queries[i].tracking.as_str());
            if self.log_queries {
                tracing::debug!(receiver = %self.id, sql = %query.sql, parameter = ?parameter, "running query");
            }
            let driver = &self.driver;
            let answer = self
                .connection
                .ask(
                    self.timeout,
                    async || driver.open().await,
                    async |connection| match driver.query(connection, &query.sql, parameter).await {
                        Ok(rows) => Ok(Ok(rows)),
                        Err(QueryFailure::Query(e)) => Ok(Err(e)),
                        Err(QueryFailure::Connection(e)) => Err(e),
                    },
                )
                .await;
            let rows = match answer {
                Ok(Ok(rows)) => rows,
                Ok(Err(error)) => {
                    tracing::warn!(receiver = %self.id, query = i, %error, "the query failed; the others run");
                    continue;
                }
                Err(error) => {
                    tracing::warn!(receiver = %self.id, server = %self.driver.address(), %error,
                        "the queries could not run");
                    break;
                }
            };
            let mut problems = Vec::new();
            if !query.ignore_null_values {
                let nulls = rows.unread_nulls(query);
                if !nulls.is_empty() {
                    problems.push(format!("NULL values in columns {nulls:?}"));
                }
            }
            run.metrics.extend(
                query
                    .metrics
                    .iter()
                    .filter_map(|setting| rows::metric(&rows, setting, times, &mut problems)),
            );
            for setting in &query.logs {
                run.records
                    .extend(rows::logs(&rows, setting, times.now, &mut problems));
            }
            if tracked && !query.logs.is_empty() && rows.len() > 0 {
                match rows.last_value(&query.tracking_column) {
                    Ok(value) => run.tracking.push((i, value)),
                    Err(e) => problems.push(e),
                }
            }
            if !problems.is_empty() {
                tracing::warn!(receiver = %self.id, query = i, rows = rows.len(), ?problems,
                    "rows that made no telemetry");
            }
        }
        run
    }

    /// Keeps the tracking values the pipelines' taking the records made final, in the storage extension too.
    fn advance(&mut self, tracking: Vec<(usize, String)>) {
        if tracking.is_empty() {
            return;
        }
        for (i, value) in tracking {
            self.queries[i].tracking = value;
        }
        if let Some(store) = &self.store {
            let state: BTreeMap<&str, &str> = self
                .queries
                .iter()
                .filter(|q| !q.query.tracking_column.is_empty())
                .map(|q| (q.key.as_str(), q.tracking.as_str()))
                .collect();
            if let Err(e) = store.save(&state) {
                tracing::warn!(receiver = %self.id, error = %e, "cannot save the tracking values");
            }
        }
    }
}

impl Round for SqlScraper {
    type Read = Run;

    fn read(&mut self) -> impl Future<Output = Run> + Send {
        self.run()
    }

    async fn deliver(&mut self, run: Run, ingest: &Arc<Ingest>, counters: &ReceiverCounters) {
        if !run.metrics.is_empty() {
            let request = ExportMetricsServiceRequest {
                resource_metrics: vec![scraper::resource_metrics(
                    Resource::default(),
                    "receiver/sqlqueryreceiver",
                    run.metrics,
                )],
            };
            if let Err(refusal) = ingest.submit(Batch::new(request), counters).await {
                // Metrics are read anew at the next run.
                tracing::warn!(receiver = %self.id, error = %refusal, "the pipelines refused the metrics");
            }
        }
        if run.records.is_empty() {
            // Rows whose records all failed still move the tracking value on: reading them again would fail again.
            self.advance(run.tracking);
            return;
        }
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource::default()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: SCOPE.to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    log_records: run.records,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        match ingest.submit(Batch::new(request), counters).await {
            Ok(()) => self.advance(run.tracking),
            Err(refusal) => tracing::warn!(receiver = %self.id, error = %refusal,
                "the pipelines refused the records; the next run reads them again"),
        }
    }
}

#[cfg(test)]
mod tests;
