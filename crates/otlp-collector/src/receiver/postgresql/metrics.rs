//! otelcol's postgresql metrics, and the rows of the statistics views recorded as their points.

use super::queries::{BgWriter, DatabaseStats, Function, Index, Lock, Replication, Table};
use crate::receiver::scraper::metric::{Builder, Kind, Spec};

/// Every metric, in otelcol's order (its `documentation.md`); pgvector's are not read.
pub(super) const SPECS: &[Spec] = &[
    Spec::on(
        "postgresql.backends",
        "The number of backend processes associated with each database.",
        "1",
        Kind::UpDown,
    ),
    Spec::on(
        "postgresql.bgwriter.buffers.allocated",
        "Number of buffers allocated.",
        "{buffers}",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.bgwriter.buffers.writes",
        "Number of buffers written.",
        "{buffers}",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.bgwriter.checkpoint.count",
        "The number of checkpoints performed.",
        "{checkpoints}",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.bgwriter.duration",
        "Total time spent writing and syncing files to disk by checkpoints.",
        "ms",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.bgwriter.maxwritten",
        "Number of times the background writer stopped a cleaning scan because it had written too many buffers.",
        "1",
        Kind::Counter,
    ),
    Spec::new(
        "postgresql.blks_hit",
        "Number of times disk blocks were found already in the buffer cache.",
        "{blks_hit}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.blks_read",
        "Number of disk blocks read in this database.",
        "{blks_read}",
        Kind::Counter,
        false,
    ),
    Spec::on(
        "postgresql.blocks_read",
        "The number of blocks read.",
        "1",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.commits",
        "The number of commits.",
        "1",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.connection.max",
        "Configured maximum number of client connections allowed",
        "{connections}",
        Kind::Gauge,
    ),
    Spec::on(
        "postgresql.database.count",
        "Number of user databases.",
        "{databases}",
        Kind::UpDown,
    ),
    Spec::new(
        "postgresql.database.locks",
        "The number of database locks.",
        "{lock}",
        Kind::Gauge,
        false,
    ),
    Spec::on(
        "postgresql.db_size",
        "The database disk usage.",
        "By",
        Kind::UpDown,
    ),
    Spec::new(
        "postgresql.deadlocks",
        "The number of deadlocks.",
        "{deadlock}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.function.calls",
        "The number of calls made to a function. Requires `track_functions=pl|all` in Postgres config.",
        "{call}",
        Kind::Counter,
        false,
    ),
    Spec::on(
        "postgresql.index.scans",
        "The number of index scans on a table.",
        "{scans}",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.index.size",
        "The size of the index on disk.",
        "By",
        Kind::Gauge,
    ),
    Spec::on(
        "postgresql.operations",
        "The number of db row operations.",
        "1",
        Kind::Counter,
    ),
    Spec::new(
        "postgresql.query.conflicts",
        "Number of queries canceled due to conflicts with recovery on this database.",
        "{query}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.query.execution.time",
        "The total execution time of SQL statements currently tracked by pg_stat_statements for the database.",
        "s",
        Kind::Counter,
        false,
    ),
    Spec::on(
        "postgresql.replication.data_delay",
        "The amount of data delayed in replication.",
        "By",
        Kind::Gauge,
    ),
    Spec::on(
        "postgresql.rollbacks",
        "The number of rollbacks.",
        "1",
        Kind::Counter,
    ),
    Spec::on(
        "postgresql.rows",
        "The number of rows in the database.",
        "1",
        Kind::UpDown,
    ),
    Spec::new(
        "postgresql.sequential_scans",
        "The number of sequential scans.",
        "{sequential_scan}",
        Kind::Counter,
        false,
    ),
    Spec::on(
        "postgresql.table.count",
        "Number of user tables in a database.",
        "{table}",
        Kind::UpDown,
    ),
    Spec::on(
        "postgresql.table.size",
        "Disk space used by a table.",
        "By",
        Kind::UpDown,
    ),
    Spec::on(
        "postgresql.table.vacuum.count",
        "Number of times a table has manually been vacuumed.",
        "{vacuum}",
        Kind::Counter,
    ),
    Spec::new(
        "postgresql.temp.io",
        "Total amount of data written to temporary files by queries.",
        "By",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.temp_files",
        "The number of temp files.",
        "{temp_file}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.tup_deleted",
        "Number of rows deleted by queries in the database.",
        "{tup_deleted}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.tup_fetched",
        "Number of rows fetched by queries in the database.",
        "{tup_fetched}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.tup_inserted",
        "Number of rows inserted by queries in the database.",
        "{tup_inserted}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.tup_returned",
        "Number of rows returned by queries in the database.",
        "{tup_returned}",
        Kind::Counter,
        false,
    ),
    Spec::new(
        "postgresql.tup_updated",
        "Number of rows updated by queries in the database.",
        "{tup_updated}",
        Kind::Counter,
        false,
    ),
    Spec::on(
        "postgresql.wal.age",
        "Age of the oldest WAL file.",
        "s",
        Kind::Gauge,
    ),
    Spec::new(
        "postgresql.wal.delay",
        "Time between flushing recent WAL locally and receiving notification that the standby server has \
         completed an operation with it.",
        "s",
        Kind::Gauge,
        false,
    ),
    Spec::on(
        "postgresql.wal.lag",
        "Time between flushing recent WAL locally and receiving notification that the standby server has \
         completed an operation with it.",
        "s",
        Kind::Gauge,
    ),
];

/// A database's own points (its resource's): sizes, backends, transactions, and its table count.
pub(super) fn record_database(
    out: &mut Builder<'_>,
    stats: Option<&DatabaseStats>,
    size: Option<i64>,
    backends: Option<i64>,
    tables: Option<usize>,
) {
    if let Some(tables) = tables {
        out.int("postgresql.table.count", count(tables), &[]);
    }
    if let Some(backends) = backends {
        out.int("postgresql.backends", backends, &[]);
    }
    if let Some(size) = size {
        out.int("postgresql.db_size", size, &[]);
    }
    let Some(stats) = stats else {
        return;
    };
    out.int("postgresql.commits", stats.commits, &[]);
    out.int("postgresql.rollbacks", stats.rollbacks, &[]);
    out.int("postgresql.deadlocks", stats.deadlocks, &[]);
    out.int("postgresql.temp_files", stats.temp_files, &[]);
    out.int("postgresql.temp.io", stats.temp_bytes, &[]);
    out.int("postgresql.tup_updated", stats.tup_updated, &[]);
    out.int("postgresql.tup_returned", stats.tup_returned, &[]);
    out.int("postgresql.tup_fetched", stats.tup_fetched, &[]);
    out.int("postgresql.tup_inserted", stats.tup_inserted, &[]);
    out.int("postgresql.tup_deleted", stats.tup_deleted, &[]);
    out.int("postgresql.blks_hit", stats.blks_hit, &[]);
    out.int("postgresql.blks_read", stats.blks_read, &[]);
    if let Some(conflicts) = &stats.conflicts {
        for (kind, value) in [
            ("tablespace", conflicts.tablespace),
            ("lock", conflicts.lock),
            ("snapshot", conflicts.snapshot),
            ("bufferpin", conflicts.bufferpin),
            ("deadlock", conflicts.deadlock),
        ] {
            out.int(
                "postgresql.query.conflicts",
                value,
                &[("postgresql.conflict.type", kind)],
            );
        }
    }
    if let Some(seconds) = stats.execution_seconds {
        out.double("postgresql.query.execution.time", seconds, &[]);
    }
}

/// A table's points (its resource's).
pub(super) fn record_table(out: &mut Builder<'_>, table: &Table) {
    out.int("postgresql.rows", table.dead, &[("state", "dead")]);
    out.int("postgresql.rows", table.live, &[("state", "live")]);
    for (operation, value) in [
        ("ins", table.inserted),
        ("del", table.deleted),
        ("upd", table.updated),
        ("hot_upd", table.hot_updated),
    ] {
        out.int("postgresql.operations", value, &[("operation", operation)]);
    }
    out.int("postgresql.table.size", table.size, &[]);
    out.int("postgresql.table.vacuum.count", table.vacuums, &[]);
    out.int("postgresql.sequential_scans", table.sequential_scans, &[]);
    for (source, value) in [
        ("heap_read", table.blocks.heap_read),
        ("heap_hit", table.blocks.heap_hit),
        ("idx_read", table.blocks.idx_read),
        ("idx_hit", table.blocks.idx_hit),
        ("toast_read", table.blocks.toast_read),
        ("toast_hit", table.blocks.toast_hit),
        ("tidx_read", table.blocks.tidx_read),
        ("tidx_hit", table.blocks.tidx_hit),
    ] {
        out.int("postgresql.blocks_read", value, &[("source", source)]);
    }
}

/// An index's points (its resource's).
pub(super) fn record_index(out: &mut Builder<'_>, index: &Index) {
    out.int("postgresql.index.scans", index.scans, &[]);
    out.int("postgresql.index.size", index.size, &[]);
}

/// Calls of a database's functions (on its resource, told apart by `function`).
pub(super) fn record_functions(out: &mut Builder<'_>, functions: &[Function]) {
    for function in functions {
        out.int(
            "postgresql.function.calls",
            function.calls,
            &[("function", &function.name)],
        );
    }
}

/// Locks held or awaited, by relation, mode and type.
pub(super) fn record_locks(out: &mut Builder<'_>, locks: &[Lock]) {
    for lock in locks {
        out.int(
            "postgresql.database.locks",
            lock.count,
            &[
                ("relation", &lock.relation),
                ("mode", &lock.mode),
                ("lock_type", &lock.lock_type),
            ],
        );
    }
}

/// The background writer's and checkpointer's counters; the backend writes PostgreSQL 17 no longer counts are
/// left out.
pub(super) fn record_bgwriter(out: &mut Builder<'_>, bgwriter: &BgWriter) {
    out.int(
        "postgresql.bgwriter.buffers.allocated",
        bgwriter.buffers_allocated,
        &[],
    );
    for (source, value) in [
        ("bgwriter", Some(bgwriter.buffers_clean)),
        ("backend", bgwriter.buffers_backend),
        ("checkpoints", Some(bgwriter.buffers_checkpoint)),
        ("backend_fsync", bgwriter.buffers_backend_fsync),
    ] {
        if let Some(value) = value {
            out.int(
                "postgresql.bgwriter.buffers.writes",
                value,
                &[("source", source)],
            );
        }
    }
    out.int(
        "postgresql.bgwriter.checkpoint.count",
        bgwriter.checkpoints_requested,
        &[("type", "requested")],
    );
    out.int(
        "postgresql.bgwriter.checkpoint.count",
        bgwriter.checkpoints_timed,
        &[("type", "scheduled")],
    );
    out.double(
        "postgresql.bgwriter.duration",
        bgwriter.sync_time_ms,
        &[("type", "sync")],
    );
    out.double(
        "postgresql.bgwriter.duration",
        bgwriter.write_time_ms,
        &[("type", "write")],
    );
    out.int(
        "postgresql.bgwriter.maxwritten",
        bgwriter.maxwritten_clean,
        &[],
    );
}

/// Each standby's delay: bytes not yet replayed, and the three lags (whole seconds as otelcol's `wal.lag`
/// rounds them, and exact in `wal.delay`). A lag the server does not know (no standby reply yet) is left out.
pub(super) fn record_replication(out: &mut Builder<'_>, standbys: &[Replication]) {
    for standby in standbys {
        let client = standby.client.as_str();
        if let Some(bytes) = standby.pending_bytes {
            out.int(
                "postgresql.replication.data_delay",
                bytes,
                &[("replication_client", client)],
            );
        }
        for (operation, lag) in [
            ("write", standby.write_lag),
            ("replay", standby.replay_lag),
            ("flush", standby.flush_lag),
        ] {
            let Some(seconds) = lag else { continue };
            let attributes = [("operation", operation), ("replication_client", client)];
            out.int("postgresql.wal.lag", seconds.round() as i64, &attributes);
            out.double("postgresql.wal.delay", seconds, &attributes);
        }
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
