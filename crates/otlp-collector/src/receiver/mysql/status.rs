//! otelcol's mysql metrics, and `SHOW GLOBAL STATUS` read into them: most are one status variable each, a point
//! with the attribute that tells it from its siblings (`Handler_read_key` is `mysql.handlers` {kind: read_key}).

use crate::receiver::scraper::metric::{Builder, FieldPoint, Kind, Spec};
use std::collections::BTreeMap;

/// Every metric, in otelcol's order (its `documentation.md`).
pub(super) const SPECS: &[Spec] = &[
    up(
        "mysql.buffer_pool.data_pages",
        "The number of data pages in the InnoDB buffer pool.",
        "1",
    ),
    up(
        "mysql.buffer_pool.limit",
        "The configured size of the InnoDB buffer pool.",
        "By",
    ),
    counter(
        "mysql.buffer_pool.operations",
        "The number of operations on the InnoDB buffer pool.",
    ),
    counter(
        "mysql.buffer_pool.page_flushes",
        "The number of requests to flush pages from the InnoDB buffer pool.",
    ),
    up(
        "mysql.buffer_pool.pages",
        "The number of pages in the InnoDB buffer pool.",
        "1",
    ),
    up(
        "mysql.buffer_pool.usage",
        "The number of bytes in the InnoDB buffer pool.",
        "By",
    ),
    counter(
        "mysql.double_writes",
        "The number of writes to the InnoDB doublewrite buffer.",
    ),
    counter(
        "mysql.handlers",
        "The number of requests to various MySQL handlers.",
    ),
    Spec::on(
        "mysql.index.io.wait.count",
        "The total count of I/O wait events for an index.",
        "1",
        Kind::Counter,
    ),
    Spec::on(
        "mysql.index.io.wait.time",
        "The total time of I/O wait events for an index.",
        "ns",
        Kind::Counter,
    ),
    counter("mysql.locks", "The number of MySQL locks."),
    counter(
        "mysql.log_operations",
        "The number of InnoDB log operations.",
    ),
    counter(
        "mysql.mysqlx_connections",
        "The number of mysqlx connections.",
    ),
    counter("mysql.opened_resources", "The number of opened resources."),
    counter("mysql.operations", "The number of InnoDB operations."),
    counter(
        "mysql.page_operations",
        "The number of InnoDB page operations.",
    ),
    counter(
        "mysql.prepared_statements",
        "The number of times each type of prepared statement command has been issued.",
    ),
    counter("mysql.row_locks", "The number of InnoDB row locks."),
    counter(
        "mysql.row_operations",
        "The number of InnoDB row operations.",
    ),
    counter("mysql.sorts", "The number of MySQL sorts."),
    Spec::on(
        "mysql.table.io.wait.count",
        "The total count of I/O wait events for a table.",
        "1",
        Kind::Counter,
    ),
    Spec::on(
        "mysql.table.io.wait.time",
        "The total time of I/O wait events for a table.",
        "ns",
        Kind::Counter,
    ),
    up("mysql.threads", "The state of MySQL threads.", "1"),
    counter(
        "mysql.tmp_resources",
        "The number of created temporary resources.",
    ),
    Spec::on(
        "mysql.uptime",
        "The number of seconds that the server has been up.",
        "s",
        Kind::Counter,
    ),
    optional(
        "mysql.client.network.io",
        "The number of transmitted bytes between server and clients.",
        "By",
        Kind::Counter,
    ),
    optional(
        "mysql.commands",
        "The number of times each type of command has been executed.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.connection.count",
        "The number of connection attempts (successful or not) to the MySQL server.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.connection.errors",
        "Errors that occur during the client connection process.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.joins",
        "The number of joins that perform table scans.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.mysqlx_worker_threads",
        "The number of worker threads available.",
        "1",
        Kind::UpDown,
    ),
    optional(
        "mysql.qcache.hits",
        "The number of query cache hits.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.qcache.not.cached",
        "The number of noncached queries (not cacheable, or not cached due to the query_cache_type setting).",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.qcache.queries",
        "The number of queries registered in the query cache.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.query.client.count",
        "The number of statements executed by the server. This includes only statements sent to the server by clients.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.query.count",
        "The number of statements executed by the server.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.query.slow.count",
        "The number of slow queries.",
        "1",
        Kind::Counter,
    ),
    optional(
        "mysql.replica.sql_delay",
        "The number of seconds that the replica must lag the source.",
        "s",
        Kind::UpDown,
    ),
    optional(
        "mysql.replica.time_behind_source",
        "This field is an indication of how “late” the replica is.",
        "s",
        Kind::UpDown,
    ),
    optional(
        "mysql.statement_event.count",
        "Summary of current and recent statement events.",
        "1",
        Kind::UpDown,
    ),
    optional(
        "mysql.statement_event.wait.time",
        "The total wait time of the summarized timed events.",
        "ns",
        Kind::UpDown,
    ),
    optional(
        "mysql.table.lock_wait.read.count",
        "The total table lock wait read events.",
        "1",
        Kind::UpDown,
    ),
    optional(
        "mysql.table.lock_wait.read.time",
        "The total table lock wait read events times.",
        "ns",
        Kind::UpDown,
    ),
    optional(
        "mysql.table.lock_wait.write.count",
        "The total table lock wait write events.",
        "1",
        Kind::UpDown,
    ),
    optional(
        "mysql.table.lock_wait.write.time",
        "The total table lock wait write events times.",
        "ns",
        Kind::UpDown,
    ),
    optional(
        "mysql.table_open_cache",
        "The number of hits, misses or overflows for open tables cache lookups.",
        "1",
        Kind::Counter,
    ),
];

const fn counter(name: &'static str, description: &'static str) -> Spec {
    Spec::on(name, description, "1", Kind::Counter)
}

const fn up(name: &'static str, description: &'static str, unit: &'static str) -> Spec {
    Spec::on(name, description, unit, Kind::UpDown)
}

const fn optional(
    name: &'static str,
    description: &'static str,
    unit: &'static str,
    kind: Kind,
) -> Spec {
    Spec::new(name, description, unit, kind, false)
}

/// The status variables that are a point each, as otelcol's scraper maps them.
const STATUS: &[FieldPoint] = &[
    (
        "Bytes_received",
        "mysql.client.network.io",
        &[("kind", "received")],
    ),
    ("Bytes_sent", "mysql.client.network.io", &[("kind", "sent")]),
    (
        "Innodb_buffer_pool_pages_data",
        "mysql.buffer_pool.pages",
        &[("kind", "data")],
    ),
    (
        "Innodb_buffer_pool_pages_free",
        "mysql.buffer_pool.pages",
        &[("kind", "free")],
    ),
    (
        "Innodb_buffer_pool_pages_misc",
        "mysql.buffer_pool.pages",
        &[("kind", "misc")],
    ),
    (
        "Innodb_buffer_pool_pages_flushed",
        "mysql.buffer_pool.page_flushes",
        &[],
    ),
    (
        "Innodb_buffer_pool_read_ahead_rnd",
        "mysql.buffer_pool.operations",
        &[("operation", "read_ahead_rnd")],
    ),
    (
        "Innodb_buffer_pool_read_ahead",
        "mysql.buffer_pool.operations",
        &[("operation", "read_ahead")],
    ),
    (
        "Innodb_buffer_pool_read_ahead_evicted",
        "mysql.buffer_pool.operations",
        &[("operation", "read_ahead_evicted")],
    ),
    (
        "Innodb_buffer_pool_read_requests",
        "mysql.buffer_pool.operations",
        &[("operation", "read_requests")],
    ),
    (
        "Innodb_buffer_pool_reads",
        "mysql.buffer_pool.operations",
        &[("operation", "reads")],
    ),
    (
        "Innodb_buffer_pool_wait_free",
        "mysql.buffer_pool.operations",
        &[("operation", "wait_free")],
    ),
    (
        "Innodb_buffer_pool_write_requests",
        "mysql.buffer_pool.operations",
        &[("operation", "write_requests")],
    ),
    (
        "Connection_errors_accept",
        "mysql.connection.errors",
        &[("error", "accept")],
    ),
    (
        "Connection_errors_internal",
        "mysql.connection.errors",
        &[("error", "internal")],
    ),
    (
        "Connection_errors_max_connections",
        "mysql.connection.errors",
        &[("error", "max_connections")],
    ),
    (
        "Connection_errors_peer_address",
        "mysql.connection.errors",
        &[("error", "peer_address")],
    ),
    (
        "Connection_errors_select",
        "mysql.connection.errors",
        &[("error", "select")],
    ),
    (
        "Connection_errors_tcpwrap",
        "mysql.connection.errors",
        &[("error", "tcpwrap")],
    ),
    (
        "Aborted_clients",
        "mysql.connection.errors",
        &[("error", "aborted_clients")],
    ),
    (
        "Aborted_connects",
        "mysql.connection.errors",
        &[("error", "aborted")],
    ),
    (
        "Locked_connects",
        "mysql.connection.errors",
        &[("error", "locked")],
    ),
    ("Connections", "mysql.connection.count", &[]),
    (
        "Com_stmt_execute",
        "mysql.prepared_statements",
        &[("command", "execute")],
    ),
    (
        "Com_stmt_close",
        "mysql.prepared_statements",
        &[("command", "close")],
    ),
    (
        "Com_stmt_fetch",
        "mysql.prepared_statements",
        &[("command", "fetch")],
    ),
    (
        "Com_stmt_prepare",
        "mysql.prepared_statements",
        &[("command", "prepare")],
    ),
    (
        "Com_stmt_reset",
        "mysql.prepared_statements",
        &[("command", "reset")],
    ),
    (
        "Com_stmt_send_long_data",
        "mysql.prepared_statements",
        &[("command", "send_long_data")],
    ),
    ("Com_delete", "mysql.commands", &[("command", "delete")]),
    ("Com_insert", "mysql.commands", &[("command", "insert")]),
    ("Com_select", "mysql.commands", &[("command", "select")]),
    ("Com_update", "mysql.commands", &[("command", "update")]),
    (
        "Created_tmp_disk_tables",
        "mysql.tmp_resources",
        &[("resource", "disk_tables")],
    ),
    (
        "Created_tmp_files",
        "mysql.tmp_resources",
        &[("resource", "files")],
    ),
    (
        "Created_tmp_tables",
        "mysql.tmp_resources",
        &[("resource", "tables")],
    ),
    ("Handler_commit", "mysql.handlers", &[("kind", "commit")]),
    ("Handler_delete", "mysql.handlers", &[("kind", "delete")]),
    (
        "Handler_discover",
        "mysql.handlers",
        &[("kind", "discover")],
    ),
    (
        "Handler_external_lock",
        "mysql.handlers",
        &[("kind", "external_lock")],
    ),
    (
        "Handler_mrr_init",
        "mysql.handlers",
        &[("kind", "mrr_init")],
    ),
    ("Handler_prepare", "mysql.handlers", &[("kind", "prepare")]),
    (
        "Handler_read_first",
        "mysql.handlers",
        &[("kind", "read_first")],
    ),
    (
        "Handler_read_key",
        "mysql.handlers",
        &[("kind", "read_key")],
    ),
    (
        "Handler_read_last",
        "mysql.handlers",
        &[("kind", "read_last")],
    ),
    (
        "Handler_read_next",
        "mysql.handlers",
        &[("kind", "read_next")],
    ),
    (
        "Handler_read_prev",
        "mysql.handlers",
        &[("kind", "read_prev")],
    ),
    (
        "Handler_read_rnd",
        "mysql.handlers",
        &[("kind", "read_rnd")],
    ),
    (
        "Handler_read_rnd_next",
        "mysql.handlers",
        &[("kind", "read_rnd_next")],
    ),
    (
        "Handler_rollback",
        "mysql.handlers",
        &[("kind", "rollback")],
    ),
    (
        "Handler_savepoint",
        "mysql.handlers",
        &[("kind", "savepoint")],
    ),
    (
        "Handler_savepoint_rollback",
        "mysql.handlers",
        &[("kind", "savepoint_rollback")],
    ),
    ("Handler_update", "mysql.handlers", &[("kind", "update")]),
    ("Handler_write", "mysql.handlers", &[("kind", "write")]),
    (
        "Innodb_dblwr_pages_written",
        "mysql.double_writes",
        &[("kind", "pages_written")],
    ),
    (
        "Innodb_dblwr_writes",
        "mysql.double_writes",
        &[("kind", "writes")],
    ),
    (
        "Innodb_log_waits",
        "mysql.log_operations",
        &[("operation", "waits")],
    ),
    (
        "Innodb_log_write_requests",
        "mysql.log_operations",
        &[("operation", "write_requests")],
    ),
    (
        "Innodb_log_writes",
        "mysql.log_operations",
        &[("operation", "writes")],
    ),
    (
        "Innodb_data_fsyncs",
        "mysql.operations",
        &[("operation", "fsyncs")],
    ),
    (
        "Innodb_data_reads",
        "mysql.operations",
        &[("operation", "reads")],
    ),
    (
        "Innodb_data_writes",
        "mysql.operations",
        &[("operation", "writes")],
    ),
    (
        "Innodb_pages_created",
        "mysql.page_operations",
        &[("operation", "created")],
    ),
    (
        "Innodb_pages_read",
        "mysql.page_operations",
        &[("operation", "read")],
    ),
    (
        "Innodb_pages_written",
        "mysql.page_operations",
        &[("operation", "written")],
    ),
    (
        "Innodb_row_lock_waits",
        "mysql.row_locks",
        &[("kind", "waits")],
    ),
    (
        "Innodb_row_lock_time",
        "mysql.row_locks",
        &[("kind", "time")],
    ),
    (
        "Innodb_rows_deleted",
        "mysql.row_operations",
        &[("operation", "deleted")],
    ),
    (
        "Innodb_rows_inserted",
        "mysql.row_operations",
        &[("operation", "inserted")],
    ),
    (
        "Innodb_rows_read",
        "mysql.row_operations",
        &[("operation", "read")],
    ),
    (
        "Innodb_rows_updated",
        "mysql.row_operations",
        &[("operation", "updated")],
    ),
    (
        "Table_locks_immediate",
        "mysql.locks",
        &[("kind", "immediate")],
    ),
    ("Table_locks_waited", "mysql.locks", &[("kind", "waited")]),
    ("Select_full_join", "mysql.joins", &[("kind", "full")]),
    (
        "Select_full_range_join",
        "mysql.joins",
        &[("kind", "full_range")],
    ),
    ("Select_range", "mysql.joins", &[("kind", "range")]),
    (
        "Select_range_check",
        "mysql.joins",
        &[("kind", "range_check")],
    ),
    ("Select_scan", "mysql.joins", &[("kind", "scan")]),
    (
        "Table_open_cache_hits",
        "mysql.table_open_cache",
        &[("status", "hit")],
    ),
    (
        "Table_open_cache_misses",
        "mysql.table_open_cache",
        &[("status", "miss")],
    ),
    (
        "Table_open_cache_overflows",
        "mysql.table_open_cache",
        &[("status", "overflow")],
    ),
    ("Queries", "mysql.query.count", &[]),
    ("Questions", "mysql.query.client.count", &[]),
    ("Slow_queries", "mysql.query.slow.count", &[]),
    ("Qcache_hits", "mysql.qcache.hits", &[]),
    ("Qcache_not_cached", "mysql.qcache.not.cached", &[]),
    ("Qcache_queries_in_cache", "mysql.qcache.queries", &[]),
    (
        "Sort_merge_passes",
        "mysql.sorts",
        &[("kind", "merge_passes")],
    ),
    ("Sort_range", "mysql.sorts", &[("kind", "range")]),
    ("Sort_rows", "mysql.sorts", &[("kind", "rows")]),
    ("Sort_scan", "mysql.sorts", &[("kind", "scan")]),
    ("Threads_cached", "mysql.threads", &[("kind", "cached")]),
    (
        "Threads_connected",
        "mysql.threads",
        &[("kind", "connected")],
    ),
    ("Threads_created", "mysql.threads", &[("kind", "created")]),
    ("Threads_running", "mysql.threads", &[("kind", "running")]),
    (
        "Opened_files",
        "mysql.opened_resources",
        &[("kind", "file")],
    ),
    (
        "Opened_tables",
        "mysql.opened_resources",
        &[("kind", "table")],
    ),
    (
        "Opened_table_definitions",
        "mysql.opened_resources",
        &[("kind", "table_definition")],
    ),
    (
        "Mysqlx_worker_threads",
        "mysql.mysqlx_worker_threads",
        &[("kind", "available")],
    ),
    (
        "Mysqlx_worker_threads_active",
        "mysql.mysqlx_worker_threads",
        &[("kind", "active")],
    ),
    (
        "Mysqlx_connections_accepted",
        "mysql.mysqlx_connections",
        &[("status", "accepted")],
    ),
    (
        "Mysqlx_connections_closed",
        "mysql.mysqlx_connections",
        &[("status", "closed")],
    ),
    (
        "Mysqlx_connections_rejected",
        "mysql.mysqlx_connections",
        &[("status", "rejected")],
    ),
    ("Uptime", "mysql.uptime", &[]),
];

/// `SHOW GLOBAL STATUS` (variable name, value) recorded into `out`; returns the variables that are not whole
/// numbers where one was expected (`Innodb_buffer_pool_pages_misc` on some versions, MySQL bug 59550), to log.
pub(super) fn record(status: &BTreeMap<&str, &str>, out: &mut Builder<'_>) -> Vec<String> {
    let mut unreadable = Vec::new();
    out.ints(status, STATUS, &mut unreadable);
    // Data pages and bytes come as totals with the dirty part; otelcol reports the dirty part and the rest.
    for (metric, total, dirty) in [
        (
            "mysql.buffer_pool.data_pages",
            "Innodb_buffer_pool_pages_data",
            "Innodb_buffer_pool_pages_dirty",
        ),
        (
            "mysql.buffer_pool.usage",
            "Innodb_buffer_pool_bytes_data",
            "Innodb_buffer_pool_bytes_dirty",
        ),
    ] {
        let number = |name: &str| status.get(name).and_then(|v| v.parse::<i64>().ok());
        if let (Some(total), Some(dirty)) = (number(total), number(dirty)) {
            out.int(metric, dirty, &[("status", "dirty")]);
            out.int(metric, total - dirty, &[("status", "clean")]);
        }
    }
    unreadable
}
