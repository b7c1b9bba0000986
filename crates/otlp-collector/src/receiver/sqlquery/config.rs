//! The `sqlquery` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use crate::de;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `sqlquery` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlqueryConfig {
    /// `postgres` or `mysql` (otelcol's other drivers, `snowflake`, `sqlserver`, `oracle`, `hdb` and `tds`, are
    /// not built).
    pub driver: String,
    /// The connection string, as the driver reads it: `host=db port=5432 user=otel password=… sslmode=disable`
    /// or `postgresql://otel:…@db:5432/shop` for `postgres`, `otel:…@tcp(db:3306)/shop?tls=true` for `mysql`.
    /// Without it, the connection is made of `host`, `port`, `database`, `username`, `password` and
    /// `additional_params`.
    pub datasource: String,
    /// The server's host, without `datasource`.
    pub host: String,
    /// The server's port, without `datasource`.
    pub port: u16,
    /// The database, without `datasource`.
    pub database: String,
    /// The account, without `datasource`.
    pub username: String,
    /// Its password, without `datasource`.
    pub password: String,
    /// The connection string's other parameters (`sslmode: disable`, `tls: skip-verify`), without `datasource`.
    pub additional_params: BTreeMap<String, serde_json::Value>,
    /// The queries, each run every `collection_interval`.
    pub queries: Vec<Query>,
    /// A storage extension (`file_storage`) keeping each logs query's tracking value across restarts.
    pub storage: Option<String>,
    /// `logs: { query: true }` logs each query and its parameter as it runs (at debug level).
    pub telemetry: Telemetry,
    /// otelcol's connection pool bound; one connection is opened, which any bound allows.
    pub max_open_conn: i64,
    /// How often the queries run.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start they first run.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// The longest one run of the queries may take, connecting included (0: no limit, as otelcol's).
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
}

impl Default for SqlqueryConfig {
    fn default() -> Self {
        SqlqueryConfig {
            driver: String::new(),
            datasource: String::new(),
            host: String::new(),
            port: 0,
            database: String::new(),
            username: String::new(),
            password: String::new(),
            additional_params: BTreeMap::new(),
            queries: Vec::new(),
            storage: None,
            telemetry: Telemetry::default(),
            max_open_conn: 0,
            collection_interval: Duration::from_secs(10),
            initial_delay: Duration::from_secs(1),
            timeout: Duration::ZERO,
        }
    }
}

/// `telemetry:` of the receiver.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telemetry {
    /// `query: true` logs each query as it runs.
    pub logs: TelemetryLogs,
}

/// `telemetry.logs:` of the receiver.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryLogs {
    /// Log each query and its parameter as it runs.
    pub query: bool,
}

/// One SQL statement and what its rows become.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Query {
    /// The statement; with `tracking_column`, it takes one parameter (`$1` for `postgres`, `?` for `mysql`).
    pub sql: String,
    /// A metric per row for each of these.
    pub metrics: Vec<MetricQuery>,
    /// A log record per row for each of these.
    pub logs: Vec<LogsQuery>,
    /// Logs only: the column whose value in the last row is the parameter of the next run, so that each run reads
    /// only rows it has not read (`WHERE id > $1 ORDER BY id`).
    pub tracking_column: String,
    /// The parameter of the first run (before any run read a row, or found a stored value).
    pub tracking_start_value: String,
    /// Do not warn about NULL values in columns no setting names.
    pub ignore_null_values: bool,
}

/// A log record per row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsQuery {
    /// The column whose value is the record's body.
    pub body_column: String,
    /// Columns whose values become the record's attributes, named as the columns.
    pub attribute_columns: Vec<String>,
}

/// A metric per row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricQuery {
    /// The metric's name.
    pub metric_name: String,
    /// The column whose value is the point's.
    pub value_column: String,
    /// Columns whose values become the point's attributes, named as the columns.
    pub attribute_columns: Vec<String>,
    /// A sum's `is_monotonic`.
    pub monotonic: bool,
    /// `int` (the default) or `double`.
    pub value_type: String,
    /// `gauge` (the default) or `sum`.
    pub data_type: String,
    /// A sum's temporality: `cumulative` (the default) or `delta`.
    pub aggregation: String,
    /// The metric's unit.
    pub unit: String,
    /// The metric's description.
    pub description: String,
    /// Attributes every point carries.
    pub static_attributes: BTreeMap<String, String>,
    /// A column of the point's start time, in nanoseconds since the epoch.
    pub start_ts_column: String,
    /// A column of the point's time, in nanoseconds since the epoch.
    pub ts_column: String,
    /// Only the rows whose `column` is `value` make this metric (a query whose rows are different metrics).
    pub row_condition: Option<RowCondition>,
}

/// Which rows make a metric.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RowCondition {
    /// The column compared.
    pub column: String,
    /// The value it must have.
    pub value: String,
}

/// The drivers built here.
pub(super) const DRIVERS: &[&str] = &["postgres", "mysql"];
/// otelcol's other drivers, which are not.
const OTHER_DRIVERS: &[&str] = &["snowflake", "sqlserver", "oracle", "hdb", "tds"];

impl SqlqueryConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        match self.driver.as_str() {
            "" => problems.push(Invalid::at("driver", "must be set: postgres or mysql")),
            driver if DRIVERS.contains(&driver) => {}
            driver if OTHER_DRIVERS.contains(&driver) => problems.push(Invalid::at(
                "driver",
                format!("`{driver}` is otelcol's, but not built here; use postgres or mysql"),
            )),
            driver => problems.push(Invalid::at(
                "driver",
                format!("`{driver}` is not a driver; use postgres or mysql"),
            )),
        }
        if self.datasource.is_empty() {
            for (key, missing) in [
                ("host", self.host.is_empty()),
                ("port", self.port == 0),
                ("database", self.database.is_empty()),
            ] {
                if missing {
                    problems.push(Invalid::at(
                        key,
                        "must be set when `datasource` is not (or set `datasource` instead)",
                    ));
                }
            }
        } else {
            let parts = [
                ("host", !self.host.is_empty()),
                ("port", self.port != 0),
                ("database", !self.database.is_empty()),
                ("username", !self.username.is_empty()),
                ("password", !self.password.is_empty()),
                ("additional_params", !self.additional_params.is_empty()),
            ];
            for (key, _) in parts.iter().filter(|(_, set)| *set) {
                problems.push(Invalid::at(
                    *key,
                    "must not be set with `datasource`, which says the whole connection",
                ));
            }
        }
        for (key, value) in &self.additional_params {
            if value.is_object() || value.is_array() || value.is_null() {
                problems.push(Invalid::at(
                    format!("additional_params.{key}"),
                    "must be a string, a number or a boolean",
                ));
            }
        }
        if self.queries.is_empty() {
            problems.push(Invalid::at("queries", "must list at least one query"));
        }
        for (i, query) in self.queries.iter().enumerate() {
            problems.extend(query.problems(&format!("queries[{i}]")));
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        Invalid::all(problems)
    }

    /// Each connection parameter of `additional_params`, as text.
    pub(super) fn params(&self) -> Vec<(String, String)> {
        self.additional_params
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (key.clone(), text)
            })
            .collect()
    }
}

impl Query {
    fn problems(&self, at: &str) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if self.sql.trim().is_empty() {
            problems.push(Invalid::at(format!("{at}.sql"), "must not be empty"));
        }
        if self.metrics.is_empty() && self.logs.is_empty() {
            problems.push(Invalid::at(
                at,
                "needs at least one of `metrics` and `logs`",
            ));
        }
        if !self.tracking_column.is_empty() && self.logs.is_empty() {
            problems.push(Invalid::at(
                format!("{at}.tracking_column"),
                "applies to logs queries only (a metrics query reads every row each time)",
            ));
        }
        for (i, logs) in self.logs.iter().enumerate() {
            if logs.body_column.is_empty() {
                problems.push(Invalid::at(
                    format!("{at}.logs[{i}].body_column"),
                    "must name a column",
                ));
            }
        }
        for (i, metric) in self.metrics.iter().enumerate() {
            problems.extend(metric.problems(&format!("{at}.metrics[{i}]")));
        }
        problems
    }
}

impl MetricQuery {
    fn problems(&self, at: &str) -> Vec<Invalid> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| {
            problems.push(Invalid::at(format!("{at}.{key}"), message));
        };
        if self.metric_name.is_empty() {
            bad("metric_name", "must not be empty".to_owned());
        }
        if self.value_column.is_empty() {
            bad("value_column", "must name a column".to_owned());
        }
        if !matches!(self.value_type.as_str(), "" | "int" | "double") {
            bad(
                "value_type",
                format!("`{}` is not int or double", self.value_type),
            );
        }
        if !matches!(self.data_type.as_str(), "" | "gauge" | "sum") {
            bad(
                "data_type",
                format!("`{}` is not gauge or sum", self.data_type),
            );
        }
        if !matches!(self.aggregation.as_str(), "" | "cumulative" | "delta") {
            bad(
                "aggregation",
                format!("`{}` is not cumulative or delta", self.aggregation),
            );
        } else if !self.aggregation.is_empty() && !self.is_sum() {
            bad(
                "aggregation",
                format!(
                    "`{}` applies to sums only (data_type: sum)",
                    self.aggregation
                ),
            );
        }
        if let Some(condition) = &self.row_condition
            && condition.column.is_empty()
        {
            bad("row_condition.column", "must name a column".to_owned());
        }
        problems
    }

    /// Whether the metric is a sum (else a gauge).
    pub(super) fn is_sum(&self) -> bool {
        self.data_type == "sum"
    }

    /// Whether the metric is a delta sum.
    pub(super) fn is_delta(&self) -> bool {
        self.aggregation == "delta"
    }

    /// Whether the value is a double (else an integer).
    pub(super) fn is_double(&self) -> bool {
        self.value_type == "double"
    }
}
