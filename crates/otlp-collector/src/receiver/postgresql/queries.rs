//! The questions the receiver asks PostgreSQL's statistics views, and their answers as rows of our own. Every
//! column is cast in the SQL to the type read here (`bigint`, `float8`, `text`), so a server version whose view
//! types differ still reads the same.

use super::client::describe;
use std::collections::BTreeMap;
use tokio_postgres::{Client, Row};

/// What the server says of itself: its version and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Server {
    /// `server_version_num`: 150004 for 15.4.
    pub(super) version: i32,
    pub(super) max_connections: i64,
}

/// A database's row of `pg_stat_database` (and of the views read only for an enabled metric).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct DatabaseStats {
    pub(super) commits: i64,
    pub(super) rollbacks: i64,
    pub(super) deadlocks: i64,
    pub(super) temp_files: i64,
    pub(super) temp_bytes: i64,
    pub(super) tup_updated: i64,
    pub(super) tup_returned: i64,
    pub(super) tup_fetched: i64,
    pub(super) tup_inserted: i64,
    pub(super) tup_deleted: i64,
    pub(super) blks_hit: i64,
    pub(super) blks_read: i64,
    /// When its counters were last reset (`stats_reset`), in nanoseconds since the epoch.
    pub(super) reset_nanos: Option<u64>,
    /// `pg_stat_database_conflicts`, read when `postgresql.query.conflicts` is enabled.
    pub(super) conflicts: Option<Conflicts>,
    /// The execution time of its statements in `pg_stat_statements`, seconds.
    pub(super) execution_seconds: Option<f64>,
}

/// Queries a standby cancelled, by the kind of conflict with recovery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Conflicts {
    pub(super) tablespace: i64,
    pub(super) lock: i64,
    pub(super) snapshot: i64,
    pub(super) bufferpin: i64,
    pub(super) deadlock: i64,
}

/// A user table: `pg_stat_user_tables` and `pg_statio_user_tables`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Table {
    pub(super) schema: String,
    pub(super) name: String,
    pub(super) live: i64,
    pub(super) dead: i64,
    pub(super) inserted: i64,
    pub(super) updated: i64,
    pub(super) deleted: i64,
    pub(super) hot_updated: i64,
    pub(super) sequential_scans: i64,
    pub(super) size: i64,
    pub(super) vacuums: i64,
    pub(super) blocks: Blocks,
}

/// A table's blocks read from disk and found in the buffer cache, by where they belong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Blocks {
    pub(super) heap_read: i64,
    pub(super) heap_hit: i64,
    pub(super) idx_read: i64,
    pub(super) idx_hit: i64,
    pub(super) toast_read: i64,
    pub(super) toast_hit: i64,
    pub(super) tidx_read: i64,
    pub(super) tidx_hit: i64,
}

/// A user index: `pg_stat_user_indexes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Index {
    pub(super) table: String,
    pub(super) name: String,
    pub(super) size: i64,
    pub(super) scans: i64,
}

/// A user function's calls: `pg_stat_user_functions`, named as otelcol names them (overloads by their arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Function {
    pub(super) name: String,
    pub(super) calls: i64,
}

/// Locks of one relation, mode and type: `pg_locks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lock {
    /// Empty when the lock is not on a relation.
    pub(super) relation: String,
    pub(super) mode: String,
    pub(super) lock_type: String,
    pub(super) count: i64,
}

/// A standby's row of `pg_stat_replication`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Replication {
    /// Its address, or `unix` for a Unix socket.
    pub(super) client: String,
    pub(super) pending_bytes: Option<i64>,
    pub(super) write_lag: Option<f64>,
    pub(super) flush_lag: Option<f64>,
    pub(super) replay_lag: Option<f64>,
}

/// The background writer's and checkpointer's counters.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BgWriter {
    pub(super) checkpoints_requested: i64,
    pub(super) checkpoints_timed: i64,
    pub(super) write_time_ms: f64,
    pub(super) sync_time_ms: f64,
    pub(super) buffers_clean: i64,
    /// Not counted since PostgreSQL 17.
    pub(super) buffers_backend: Option<i64>,
    /// Not counted since PostgreSQL 17.
    pub(super) buffers_backend_fsync: Option<i64>,
    pub(super) buffers_checkpoint: i64,
    pub(super) buffers_allocated: i64,
    pub(super) maxwritten_clean: i64,
    /// When they were last reset, in nanoseconds since the epoch.
    pub(super) reset_nanos: Option<u64>,
}

/// A database-wide view's rows by database.
pub(super) type ByDatabase<T> = BTreeMap<String, T>;

async fn rows(client: &Client, sql: &str) -> Result<Vec<Row>, String> {
    client.query(sql, &[]).await.map_err(|e| describe(&e))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    column: usize,
) -> Result<T, String> {
    row.try_get(column).map_err(|e| {
        let name = row.columns().get(column).map_or("?", |c| c.name());
        format!("column {name}: {e}")
    })
}

/// A counter column, 0 when the view has no value yet (otelcol's `coalesce(…, 0)`).
fn counter(row: &Row, column: usize) -> Result<i64, String> {
    Ok(get::<Option<i64>>(row, column)?.unwrap_or(0))
}

fn epoch_nanos(seconds: Option<f64>) -> Option<u64> {
    seconds
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| (s * 1e9) as u64)
}

pub(super) async fn server(client: &Client) -> Result<Server, String> {
    let rows = rows(
        client,
        "SELECT current_setting('server_version_num')::int4, current_setting('max_connections')::int8",
    )
    .await?;
    let row = rows
        .first()
        .ok_or("the server's settings came back empty")?;
    Ok(Server {
        version: get(row, 0)?,
        max_connections: get(row, 1)?,
    })
}

/// Every database that is not a template.
pub(super) async fn databases(client: &Client) -> Result<Vec<String>, String> {
    rows(
        client,
        "SELECT datname::text FROM pg_database WHERE NOT datistemplate ORDER BY datname",
    )
    .await?
    .iter()
    .map(|row| get(row, 0))
    .collect()
}

/// Backends connected to each database, of every state and kind (autovacuum and parallel workers too).
pub(super) async fn backends(client: &Client) -> Result<ByDatabase<i64>, String> {
    rows(
        client,
        "SELECT datname::text, count(*)::int8 FROM pg_stat_activity WHERE datname IS NOT NULL GROUP BY datname",
    )
    .await?
    .iter()
    .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
    .collect()
}

/// The size of each of `databases` on disk.
pub(super) async fn sizes(
    client: &Client,
    databases: &[String],
) -> Result<ByDatabase<i64>, String> {
    client
        .query(
            "SELECT datname::text, pg_database_size(datname)::int8 FROM pg_database \
             WHERE datname::text = ANY($1)",
            &[&databases],
        )
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
        .collect()
}

/// `pg_stat_database`, by database.
pub(super) async fn database_stats(client: &Client) -> Result<ByDatabase<DatabaseStats>, String> {
    rows(
        client,
        "SELECT datname::text, xact_commit::int8, xact_rollback::int8, deadlocks::int8, temp_files::int8, \
         temp_bytes::int8, tup_updated::int8, tup_returned::int8, tup_fetched::int8, tup_inserted::int8, \
         tup_deleted::int8, blks_hit::int8, blks_read::int8, extract(epoch FROM stats_reset)::float8 \
         FROM pg_stat_database WHERE datname IS NOT NULL",
    )
    .await?
    .iter()
    .map(|row| {
        Ok((
            get(row, 0)?,
            DatabaseStats {
                commits: counter(row, 1)?,
                rollbacks: counter(row, 2)?,
                deadlocks: counter(row, 3)?,
                temp_files: counter(row, 4)?,
                temp_bytes: counter(row, 5)?,
                tup_updated: counter(row, 6)?,
                tup_returned: counter(row, 7)?,
                tup_fetched: counter(row, 8)?,
                tup_inserted: counter(row, 9)?,
                tup_deleted: counter(row, 10)?,
                blks_hit: counter(row, 11)?,
                blks_read: counter(row, 12)?,
                reset_nanos: epoch_nanos(get(row, 13)?),
                conflicts: None,
                execution_seconds: None,
            },
        ))
    })
    .collect()
}

/// `pg_stat_database_conflicts`, by database.
pub(super) async fn conflicts(client: &Client) -> Result<ByDatabase<Conflicts>, String> {
    rows(
        client,
        "SELECT datname::text, confl_tablespace::int8, confl_lock::int8, confl_snapshot::int8, \
         confl_bufferpin::int8, confl_deadlock::int8 FROM pg_stat_database_conflicts WHERE datname IS NOT NULL",
    )
    .await?
    .iter()
    .map(|row| {
        Ok((
            get(row, 0)?,
            Conflicts {
                tablespace: counter(row, 1)?,
                lock: counter(row, 2)?,
                snapshot: counter(row, 3)?,
                bufferpin: counter(row, 4)?,
                deadlock: counter(row, 5)?,
            },
        ))
    })
    .collect()
}

/// The execution time of the statements `pg_stat_statements` tracks, seconds by database; an error when the
/// extension is not installed in the database the receiver lists from (`postgres`).
pub(super) async fn execution_seconds(client: &Client) -> Result<ByDatabase<f64>, String> {
    rows(
        client,
        "SELECT d.datname::text, (sum(s.total_exec_time) / 1000.0)::float8 FROM pg_stat_statements s \
         JOIN pg_database d ON s.dbid = d.oid GROUP BY d.datname",
    )
    .await?
    .iter()
    .map(|row| Ok((get(row, 0)?, get::<Option<f64>>(row, 1)?.unwrap_or(0.0))))
    .collect()
}

/// The user tables of the connected database, skipping any under an `ACCESS EXCLUSIVE` lock: asking for its
/// size would wait until that lock is released (a long `VACUUM FULL`, `ALTER TABLE`), holding the whole scrape.
pub(super) async fn tables(client: &Client) -> Result<Vec<Table>, String> {
    rows(
        client,
        "SELECT s.schemaname::text, s.relname::text, s.n_live_tup::int8, s.n_dead_tup::int8, s.n_tup_ins::int8, \
         s.n_tup_upd::int8, s.n_tup_del::int8, s.n_tup_hot_upd::int8, s.seq_scan::int8, \
         pg_relation_size(s.relid)::int8, s.vacuum_count::int8, \
         io.heap_blks_read::int8, io.heap_blks_hit::int8, io.idx_blks_read::int8, io.idx_blks_hit::int8, \
         io.toast_blks_read::int8, io.toast_blks_hit::int8, io.tidx_blks_read::int8, io.tidx_blks_hit::int8 \
         FROM pg_stat_user_tables s JOIN pg_statio_user_tables io ON io.relid = s.relid \
         WHERE NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = s.relid \
         AND l.mode = 'AccessExclusiveLock' AND l.granted) \
         ORDER BY s.schemaname, s.relname",
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Table {
            schema: get(row, 0)?,
            name: get(row, 1)?,
            live: counter(row, 2)?,
            dead: counter(row, 3)?,
            inserted: counter(row, 4)?,
            updated: counter(row, 5)?,
            deleted: counter(row, 6)?,
            hot_updated: counter(row, 7)?,
            sequential_scans: counter(row, 8)?,
            size: counter(row, 9)?,
            vacuums: counter(row, 10)?,
            blocks: Blocks {
                heap_read: counter(row, 11)?,
                heap_hit: counter(row, 12)?,
                idx_read: counter(row, 13)?,
                idx_hit: counter(row, 14)?,
                toast_read: counter(row, 15)?,
                toast_hit: counter(row, 16)?,
                tidx_read: counter(row, 17)?,
                tidx_hit: counter(row, 18)?,
            },
        })
    })
    .collect()
}

/// The user indexes of the connected database, skipping any under an `ACCESS EXCLUSIVE` lock (as [`tables`]).
pub(super) async fn indexes(client: &Client) -> Result<Vec<Index>, String> {
    rows(
        client,
        "SELECT s.relname::text, s.indexrelname::text, pg_relation_size(s.indexrelid)::int8, s.idx_scan::int8 \
         FROM pg_stat_user_indexes s \
         WHERE NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = s.indexrelid \
         AND l.mode = 'AccessExclusiveLock' AND l.granted) \
         ORDER BY s.schemaname, s.relname, s.indexrelname",
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Index {
            table: get(row, 0)?,
            name: get(row, 1)?,
            size: counter(row, 2)?,
            scans: counter(row, 3)?,
        })
    })
    .collect()
}

/// The calls of the connected database's user functions that `track_functions` counts; an overloaded name is
/// followed by its argument names (`add_a_b`), as otelcol names it.
pub(super) async fn functions(client: &Client) -> Result<Vec<Function>, String> {
    rows(
        client,
        "WITH overloaded AS (SELECT funcname FROM pg_stat_user_functions GROUP BY funcname HAVING count(*) > 1) \
         SELECT (CASE WHEN o.funcname IS NULL OR p.proargnames IS NULL THEN p.proname::text \
         ELSE p.proname::text || '_' || array_to_string(p.proargnames, '_') END), s.calls::int8 \
         FROM pg_stat_user_functions s JOIN pg_proc p ON p.oid = s.funcid \
         LEFT JOIN overloaded o ON o.funcname = s.funcname ORDER BY 1",
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Function {
            name: get(row, 0)?,
            calls: counter(row, 1)?,
        })
    })
    .collect()
}

/// Locks on the connected database's objects: relations are named through its own `pg_class`, which is why each
/// database is asked on its own connection.
pub(super) async fn database_locks(client: &Client) -> Result<Vec<Lock>, String> {
    locks(
        client,
        "WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await
}

/// Locks of no single database: shared catalogs, and transaction ids.
pub(super) async fn server_locks(client: &Client) -> Result<Vec<Lock>, String> {
    locks(
        client,
        "WHERE l.database IS NULL OR (l.database = 0 AND (l.relation IS NULL OR c.relisshared))",
    )
    .await
}

async fn locks(client: &Client, filter: &str) -> Result<Vec<Lock>, String> {
    let sql = format!(
        "SELECT coalesce(c.relname::text, ''), l.mode, l.locktype, count(*)::int8 FROM pg_locks l \
         LEFT JOIN pg_class c ON l.relation = c.oid {filter} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    rows(client, &sql)
        .await?
        .iter()
        .map(|row| {
            Ok(Lock {
                relation: get(row, 0)?,
                mode: get(row, 1)?,
                lock_type: get(row, 2)?,
                count: get(row, 3)?,
            })
        })
        .collect()
}

/// The background writer's and checkpointer's counters, from the views `version` has.
pub(super) async fn bgwriter(client: &Client, version: i32) -> Result<BgWriter, String> {
    let (sql, split) = if version >= 170000 {
        (
            "SELECT cp.num_requested::int8, cp.num_timed::int8, cp.write_time::float8, cp.sync_time::float8, \
             bg.buffers_clean::int8, NULL::int8, NULL::int8, cp.buffers_written::int8, bg.buffers_alloc::int8, \
             bg.maxwritten_clean::int8, extract(epoch FROM greatest(bg.stats_reset, cp.stats_reset))::float8 \
             FROM pg_stat_bgwriter bg, pg_stat_checkpointer cp",
            true,
        )
    } else {
        (
            "SELECT checkpoints_req::int8, checkpoints_timed::int8, checkpoint_write_time::float8, \
             checkpoint_sync_time::float8, buffers_clean::int8, buffers_backend::int8, \
             buffers_backend_fsync::int8, buffers_checkpoint::int8, buffers_alloc::int8, maxwritten_clean::int8, \
             extract(epoch FROM stats_reset)::float8 FROM pg_stat_bgwriter",
            false,
        )
    };
    let rows = rows(client, sql).await?;
    let row = rows.first().ok_or("pg_stat_bgwriter came back empty")?;
    Ok(BgWriter {
        checkpoints_requested: counter(row, 0)?,
        checkpoints_timed: counter(row, 1)?,
        write_time_ms: get::<Option<f64>>(row, 2)?.unwrap_or(0.0),
        sync_time_ms: get::<Option<f64>>(row, 3)?.unwrap_or(0.0),
        buffers_clean: counter(row, 4)?,
        buffers_backend: if split { None } else { Some(counter(row, 5)?) },
        buffers_backend_fsync: if split { None } else { Some(counter(row, 6)?) },
        buffers_checkpoint: counter(row, 7)?,
        buffers_allocated: counter(row, 8)?,
        maxwritten_clean: counter(row, 9)?,
        reset_nanos: epoch_nanos(get(row, 10)?),
    })
}

/// The age of the last archived WAL file, seconds; `None` when none was archived.
pub(super) async fn wal_age(client: &Client) -> Result<Option<i64>, String> {
    let rows = rows(
        client,
        "SELECT extract(epoch FROM (now() - last_archived_time))::int8 FROM pg_stat_archiver",
    )
    .await?;
    match rows.first() {
        Some(row) => get(row, 0),
        None => Ok(None),
    }
}

/// Each standby streaming from this server.
pub(super) async fn replication(client: &Client) -> Result<Vec<Replication>, String> {
    rows(
        client,
        "SELECT coalesce(client_addr::text, 'unix'), pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::int8, \
         extract(epoch FROM write_lag)::float8, extract(epoch FROM flush_lag)::float8, \
         extract(epoch FROM replay_lag)::float8 FROM pg_stat_replication",
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Replication {
            client: get(row, 0)?,
            pending_bytes: get(row, 1)?,
            write_lag: get(row, 2)?,
            flush_lag: get(row, 3)?,
            replay_lag: get(row, 4)?,
        })
    })
    .collect()
}
