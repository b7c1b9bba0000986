//! The questions the receiver asks beyond `SHOW GLOBAL STATUS`: `performance_schema`'s summaries (I/O and lock
//! waits by table and index, statements by digest), the buffer pool's configured size, and a replica's status.
//! `performance_schema` counts time in picoseconds; the metrics' unit is nanoseconds, so times are divided by 1000
//! (otelcol's receiver reports the picoseconds under `ns`).

use super::config::StatementEvents;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

/// A table's (or, with `index`, an index's) I/O waits by operation: counts and nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IoWaits {
    pub(super) schema: String,
    pub(super) table: String,
    /// `NONE` for the table's rows read without an index, as otelcol names them.
    pub(super) index: Option<String>,
    /// (operation, count, nanoseconds) for delete, fetch, insert and update.
    pub(super) operations: [(&'static str, i64, i64); 4],
}

/// A table's lock waits by lock type: (kind, count, nanoseconds), reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LockWaits {
    pub(super) schema: String,
    pub(super) table: String,
    pub(super) read: [(&'static str, i64, i64); 5],
    pub(super) write: [(&'static str, i64, i64); 5],
}

/// A statement digest's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Statement {
    pub(super) schema: String,
    pub(super) digest: String,
    pub(super) text: String,
    pub(super) wait_nanos: i64,
    /// (kind, count) for otelcol's ten event states.
    pub(super) counts: [(&'static str, i64); 10],
}

/// A replica's delays, seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Replica {
    /// `None` while the replica's SQL thread does not run (the server reports NULL).
    pub(super) behind_source: Option<i64>,
    pub(super) sql_delay: i64,
}

pub(crate) fn describe(error: &mysql_async::Error) -> String {
    match error {
        mysql_async::Error::Server(server) => {
            format!("{} ({}): {}", server.code, server.state, server.message)
        }
        other => other.to_string(),
    }
}

async fn rows(conn: &mut Conn, sql: &str) -> Result<Vec<Row>, String> {
    conn.query(sql).await.map_err(|e| describe(&e))
}

fn text(row: &Row, column: usize) -> Result<String, String> {
    match row.get_opt::<Option<String>, usize>(column) {
        Some(Ok(value)) => Ok(value.unwrap_or_default()),
        Some(Err(e)) => Err(format!("column {column}: {e}")),
        None => Err(format!("no column {column}")),
    }
}

/// A whole number column; NULL is `None`.
fn number(row: &Row, column: usize) -> Result<Option<i64>, String> {
    match row.get_opt::<Option<i128>, usize>(column) {
        Some(Ok(value)) => Ok(value.map(|v| i64::try_from(v).unwrap_or(i64::MAX))),
        Some(Err(e)) => Err(format!("column {column}: {e}")),
        None => Err(format!("no column {column}")),
    }
}

fn count(row: &Row, column: usize) -> Result<i64, String> {
    Ok(number(row, column)?.unwrap_or(0))
}

fn nanos(row: &Row, column: usize) -> Result<i64, String> {
    Ok(count(row, column)? / 1000)
}

/// `SHOW GLOBAL STATUS`, as (variable, value).
pub(super) async fn global_status(conn: &mut Conn) -> Result<Vec<(String, String)>, String> {
    rows(conn, "SHOW GLOBAL STATUS")
        .await?
        .iter()
        .map(|row| Ok((text(row, 0)?, text(row, 1)?)))
        .collect()
}

/// The InnoDB buffer pool's configured size, bytes.
pub(super) async fn buffer_pool_size(conn: &mut Conn) -> Result<Option<i64>, String> {
    let rows = rows(conn, "SELECT @@innodb_buffer_pool_size").await?;
    match rows.first() {
        Some(row) => number(row, 0),
        None => Ok(None),
    }
}

const OPERATIONS: [&str; 4] = ["delete", "fetch", "insert", "update"];

fn io_waits(row: &Row, index: bool) -> Result<IoWaits, String> {
    let first = if index { 3 } else { 2 };
    let mut operations = [("", 0, 0); 4];
    for (i, operation) in OPERATIONS.into_iter().enumerate() {
        operations[i] = (
            operation,
            count(row, first + i)?,
            nanos(row, first + 4 + i)?,
        );
    }
    Ok(IoWaits {
        schema: text(row, 0)?,
        table: text(row, 1)?,
        index: if index { Some(text(row, 2)?) } else { None },
        operations,
    })
}

/// I/O waits by table, outside the server's own schemas.
pub(super) async fn table_io_waits(conn: &mut Conn) -> Result<Vec<IoWaits>, String> {
    rows(
        conn,
        "SELECT OBJECT_SCHEMA, OBJECT_NAME, COUNT_DELETE, COUNT_FETCH, COUNT_INSERT, COUNT_UPDATE, \
         SUM_TIMER_DELETE, SUM_TIMER_FETCH, SUM_TIMER_INSERT, SUM_TIMER_UPDATE \
         FROM performance_schema.table_io_waits_summary_by_table \
         WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema') ORDER BY OBJECT_SCHEMA, OBJECT_NAME",
    )
    .await?
    .iter()
    .map(|row| io_waits(row, false))
    .collect()
}

/// I/O waits by index, outside the server's own schemas.
pub(super) async fn index_io_waits(conn: &mut Conn) -> Result<Vec<IoWaits>, String> {
    rows(
        conn,
        "SELECT OBJECT_SCHEMA, OBJECT_NAME, ifnull(INDEX_NAME, 'NONE'), COUNT_DELETE, COUNT_FETCH, COUNT_INSERT, \
         COUNT_UPDATE, SUM_TIMER_DELETE, SUM_TIMER_FETCH, SUM_TIMER_INSERT, SUM_TIMER_UPDATE \
         FROM performance_schema.table_io_waits_summary_by_index_usage \
         WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema') \
         ORDER BY OBJECT_SCHEMA, OBJECT_NAME, INDEX_NAME",
    )
    .await?
    .iter()
    .map(|row| io_waits(row, true))
    .collect()
}

const READ_LOCKS: [&str; 5] = [
    "normal",
    "with_shared_locks",
    "high_priority",
    "no_insert",
    "external",
];
const WRITE_LOCKS: [&str; 5] = [
    "allow_write",
    "concurrent_insert",
    "low_priority",
    "normal",
    "external",
];

/// Table lock waits by table, outside the server's own schemas.
pub(super) async fn lock_waits(conn: &mut Conn) -> Result<Vec<LockWaits>, String> {
    rows(
        conn,
        "SELECT OBJECT_SCHEMA, OBJECT_NAME, COUNT_READ_NORMAL, COUNT_READ_WITH_SHARED_LOCKS, \
         COUNT_READ_HIGH_PRIORITY, COUNT_READ_NO_INSERT, COUNT_READ_EXTERNAL, COUNT_WRITE_ALLOW_WRITE, \
         COUNT_WRITE_CONCURRENT_INSERT, COUNT_WRITE_LOW_PRIORITY, COUNT_WRITE_NORMAL, COUNT_WRITE_EXTERNAL, \
         SUM_TIMER_READ_NORMAL, SUM_TIMER_READ_WITH_SHARED_LOCKS, SUM_TIMER_READ_HIGH_PRIORITY, \
         SUM_TIMER_READ_NO_INSERT, SUM_TIMER_READ_EXTERNAL, SUM_TIMER_WRITE_ALLOW_WRITE, \
         SUM_TIMER_WRITE_CONCURRENT_INSERT, SUM_TIMER_WRITE_LOW_PRIORITY, SUM_TIMER_WRITE_NORMAL, \
         SUM_TIMER_WRITE_EXTERNAL FROM performance_schema.table_lock_waits_summary_by_table \
         WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema', 'information_schema') \
         ORDER BY OBJECT_SCHEMA, OBJECT_NAME",
    )
    .await?
    .iter()
    .map(|row| {
        let mut read = [("", 0, 0); 5];
        let mut write = [("", 0, 0); 5];
        for (i, kind) in READ_LOCKS.into_iter().enumerate() {
            read[i] = (kind, count(row, 2 + i)?, nanos(row, 12 + i)?);
        }
        for (i, kind) in WRITE_LOCKS.into_iter().enumerate() {
            write[i] = (kind, count(row, 7 + i)?, nanos(row, 17 + i)?);
        }
        Ok(LockWaits {
            schema: text(row, 0)?,
            table: text(row, 1)?,
            read,
            write,
        })
    })
    .collect()
}

const EVENT_STATES: [&str; 10] = [
    "errors",
    "warnings",
    "rows_affected",
    "rows_sent",
    "rows_examined",
    "created_tmp_disk_tables",
    "created_tmp_tables",
    "sort_merge_passes",
    "sort_rows",
    "no_index_used",
];

/// The statement digests `settings` asks for: seen within its `time_limit`, longest waits first, at most
/// `limit`, their text cut to `digest_text_limit`.
pub(super) async fn statements(
    conn: &mut Conn,
    settings: &StatementEvents,
) -> Result<Vec<Statement>, String> {
    let sql = format!(
        "SELECT ifnull(SCHEMA_NAME, 'NONE'), DIGEST, LEFT(DIGEST_TEXT, {text}), SUM_ERRORS, SUM_WARNINGS, \
         SUM_ROWS_AFFECTED, SUM_ROWS_SENT, SUM_ROWS_EXAMINED, SUM_CREATED_TMP_DISK_TABLES, SUM_CREATED_TMP_TABLES, \
         SUM_SORT_MERGE_PASSES, SUM_SORT_ROWS, SUM_NO_INDEX_USED, SUM_TIMER_WAIT \
         FROM performance_schema.events_statements_summary_by_digest \
         WHERE SCHEMA_NAME NOT IN ('mysql', 'performance_schema', 'information_schema') \
         AND LAST_SEEN > DATE_SUB(NOW(), INTERVAL {seconds} SECOND) ORDER BY SUM_TIMER_WAIT DESC LIMIT {limit}",
        text = settings.digest_text_limit,
        seconds = settings.time_limit.as_secs(),
        limit = settings.limit,
    );
    rows(conn, &sql)
        .await?
        .iter()
        .map(|row| {
            let mut counts = [("", 0); 10];
            for (i, kind) in EVENT_STATES.into_iter().enumerate() {
                counts[i] = (kind, count(row, 3 + i)?);
            }
            Ok(Statement {
                schema: text(row, 0)?,
                digest: text(row, 1)?,
                text: text(row, 2)?,
                wait_nanos: nanos(row, 13)?,
                counts,
            })
        })
        .collect()
}

/// The replica's status, when this server replicates from another (`SHOW REPLICA STATUS`, or `SHOW SLAVE
/// STATUS` on servers older than MySQL 8.0.22 and MariaDB 10.5).
pub(super) async fn replicas(conn: &mut Conn) -> Result<Vec<Replica>, String> {
    let rows = match conn.query::<Row, _>("SHOW REPLICA STATUS").await {
        Ok(rows) => rows,
        // 1064: a syntax error, the older servers' answer to the newer statement.
        Err(mysql_async::Error::Server(server)) if server.code == 1064 => {
            rows(conn, "SHOW SLAVE STATUS").await?
        }
        Err(e) => return Err(describe(&e)),
    };
    rows.iter()
        .map(|row| {
            let column = |names: &[&str]| {
                row.columns_ref()
                    .iter()
                    .position(|c| names.iter().any(|n| c.name_str().eq_ignore_ascii_case(n)))
            };
            let behind = column(&["Seconds_Behind_Source", "Seconds_Behind_Master"]);
            let delay = column(&["SQL_Delay"]);
            Ok(Replica {
                behind_source: match behind {
                    Some(i) => number(row, i)?,
                    None => None,
                },
                sql_delay: match delay {
                    Some(i) => count(row, i)?,
                    None => 0,
                },
            })
        })
        .collect()
}
