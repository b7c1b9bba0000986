//! Flat telemetry at rest: one row per span, log record or metric data point, with its
//! resource and scope on the row, in Parquet or Arrow IPC files that DuckDB, Polars and
//! pyarrow query with plain SQL and no code of ours.
//!
//! ```
//! use otlp_arrow::flat::{FlatParquetReader, FlatParquetWriter, ParquetOptions, prune_traces};
//! use otlp_arrow::{Signal, AnyRequest};
//!
//! let request = otlp_testkit::Generator::new(7).traces(500);
//! let mut writer = FlatParquetWriter::new(Vec::new(), Signal::Traces, ParquetOptions::default())?;
//! writer.write(&AnyRequest::Traces(request.clone()))?;
//! assert_eq!(writer.rows_written(), 500);
//! let file = bytes::Bytes::from(writer.finish()?);
//!
//! // Any Parquet reader opens `file`; this one gives the OTLP request back.
//! let AnyRequest::Traces(back) = FlatParquetReader::read_all(file)? else { unreachable!() };
//! let mut expected = request;
//! prune_traces(&mut expected); // containers without spans have no row (see below)
//! assert_eq!(back, expected);
//! # Ok::<(), otlp_arrow::Error>(())
//! ```
//!
//! The [normalized layout](crate) (one record batch per request, a table per OTLP
//! message, dictionaries and delta ids) stays where bytes on the wire count: Arrow
//! Flight and IPC streams. Files are for people asking questions, and a question about
//! spans should not start with five joins: here `SELECT service_name, count(*) FROM
//! 'traces.parquet' GROUP BY 1` is the whole query.
//!
//! # Attributes: a map of typed values
//!
//! Every attribute list (the item's, the resource's, the scope's, an event's, a link's,
//! an exemplar's, a metric's metadata) is a column of type
//! `Map<Utf8, Struct<str: Utf8, int: Int64, double: Float64, bool: Boolean, bytes: Binary, json: Utf8>>`.
//! Exactly one field of the value is set, the one of its `AnyValue` kind; arrays,
//! key-value lists, the empty value and `string_value_strindex` go to `json` as their
//! OTLP/JSON text (`{"arrayValue":{"values":[{"stringValue":"a"}]}}`; integers as decimal
//! strings, bytes as base64, NaN and infinities as proto3 JSON strings). A `KeyValue`
//! without a value has none of the fields set. The rare attribute with a `key_strindex`
//! (profiles) keeps the whole `KeyValue` less its key in `json`
//! (`{"keyStrindex":3,"value":{"stringValue":"GET"}}`). Entries keep the order they were
//! sent in, duplicate keys included.
//!
//! So filtering by an attribute is one subscript and one field access, in every tool:
//! DuckDB's map subscript returns the value struct itself (checked against duckdb 2.0.1,
//! the version `xtask/requirements.txt` pins, by `tests/flat_python.rs`), and answers the
//! first entry of a duplicated key:
//!
//! ```sql
//! SELECT count(*) FROM read_parquet('otlp-data/traces/**/*.parquet', hive_partitioning = true)
//! WHERE attributes['http.request.method'].str = 'GET'
//!   AND attributes['http.response.status_code'].int >= 500;
//! ```
//!
//! The alternative, a `Map<Utf8, Utf8>` of every value as text plus typed side columns,
//! would make `attributes['k'] = 'GET'` one field access shorter, but an integer would be
//! text in one place and a number in another, a query on `int` would need a second map,
//! and reading the file back exactly would need the kinds and positions stored on the
//! side. One map of typed values is one place to look, and the value's type is its field.
//!
//! # Schema
//!
//! Times are `Timestamp(Nanosecond, "UTC")` (DuckDB's `TIMESTAMPTZ_NS`, Polars'
//! `Datetime("ns", "UTC")`); OTLP's 0 ("unset") is null. Ids are `FixedSizeBinary(16)`
//! (trace) and `FixedSizeBinary(8)` (span), null when empty; in DuckDB
//! `hex(trace_id)` gives the usual text and `trace_id = from_hex('5b8e…')` finds one.
//! Counts and flags are `UInt32`. The schema metadata carries `otlp_arrow.signal`
//! (`traces`, `logs`, `metrics`), `otlp_arrow.layout` = `flat` and
//! `otlp_arrow.flat_version` = `1`.
//!
//! ## Every signal: resource and scope
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `service_name` | Utf8, null | the resource's `service.name` string attribute, promoted for grouping; it stays in `resource_attributes` too, so the map is the resource exactly as sent |
//! | `resource_attributes` | attribute map, null | the resource's attributes; null when the `resource` field is absent |
//! | `resource_dropped_attributes_count` | UInt32 | |
//! | `resource_entity_refs` | `List<Struct<schema_url, type, id_keys: List<Utf8>, description_keys: List<Utf8>>>` | `Resource.entity_refs` |
//! | `resource_schema_url` | Utf8 | the `Resource{Spans,Logs,Metrics}.schema_url` |
//! | `scope_name` | Utf8, null | null when the `scope` field is absent |
//! | `scope_version` | Utf8, null | |
//! | `scope_attributes` | attribute map, null | |
//! | `scope_dropped_attributes_count` | UInt32 | |
//! | `scope_schema_url` | Utf8 | the `Scope{Spans,Logs,Metrics}.schema_url` |
//! | `resource_id`, `scope_id` | UInt32 | number the containers of a file: a row whose id differs from the row before starts a new `Resource*` / `Scope*` container |
//!
//! Columns come in the order: the item's time(s), `service_name`, the item's columns,
//! then the rest of the table above.
//!
//! ## Traces: one row per span
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `start_time` | Timestamp | `start_time_unix_nano` |
//! | `duration_ns` | Int64 | `end_time_unix_nano - start_time_unix_nano` (wrapping); the end is `start_time + duration_ns` |
//! | `name` | Utf8 | the operation |
//! | `kind` | Int32 | `SpanKind`: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer |
//! | `status_code` | Int32, null | 0 unset, 1 ok, 2 error; null when `status` is absent |
//! | `status_message` | Utf8, null | null when `status` is absent |
//! | `trace_id`, `span_id`, `parent_span_id` | FixedSizeBinary(16), (8), (8), null | null when empty (a root span has no parent) |
//! | `trace_state` | Utf8 | |
//! | `flags` | UInt32 | |
//! | `attributes` | attribute map | |
//! | `dropped_attributes_count` | UInt32 | |
//! | `events` | `List<Struct<time: Timestamp, name: Utf8, attributes: map, dropped_attributes_count: UInt32>>` | |
//! | `dropped_events_count` | UInt32 | |
//! | `links` | `List<Struct<trace_id, span_id, trace_state: Utf8, flags: UInt32, attributes: map, dropped_attributes_count: UInt32>>` | |
//! | `dropped_links_count` | UInt32 | |
//!
//! ## Logs: one row per log record
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `time`, `observed_time` | Timestamp | `time_unix_nano`, `observed_time_unix_nano` |
//! | `severity_number` | Int32 | |
//! | `severity_text` | Utf8 | |
//! | `body` | `Struct<str, int, double, bool, bytes, json>`, null | the body as an attribute value (`body.str` for text bodies); null when absent |
//! | `attributes` | attribute map | |
//! | `dropped_attributes_count`, `flags` | UInt32 | |
//! | `trace_id`, `span_id` | FixedSizeBinary(16), (8), null | |
//! | `event_name` | Utf8 | |
//!
//! ## Metrics: one row per data point
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `start_time`, `time` | Timestamp | the point's `start_time_unix_nano`, `time_unix_nano` |
//! | `metric_name`, `metric_type`, `metric_unit`, `metric_description` | Utf8 | `metric_type` is `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary` |
//! | `metric_metadata` | attribute map | `Metric.metadata` |
//! | `aggregation_temporality` | Int32, null | sums and histograms (1 delta, 2 cumulative) |
//! | `is_monotonic` | Boolean, null | sums |
//! | `attributes` | attribute map | the point's attributes |
//! | `flags` | UInt32 | |
//! | `value_double`, `value_int` | Float64, Int64, null | gauges and sums: the one that is set |
//! | `count` | UInt64, null | histograms and summaries |
//! | `sum`, `min`, `max` | Float64, null | histograms (null when unset) and summaries (`sum`) |
//! | `bucket_counts`, `explicit_bounds` | `List<UInt64>`, `List<Float64>`, null | histograms |
//! | `scale`, `zero_count`, `zero_threshold` | Int32, UInt64, Float64, null | exponential histograms |
//! | `positive_offset`, `positive_bucket_counts`, `negative_offset`, `negative_bucket_counts` | Int32, `List<UInt64>`, null | exponential histograms; null when the buckets are absent |
//! | `quantile_values` | `List<Struct<quantile, value>>`, null | summaries |
//! | `exemplars` | `List<Struct<time, value_double, value_int, span_id, trace_id, filtered_attributes: map>>` | |
//! | `metric_id` | UInt32 | numbers the metrics of a file, like `resource_id` |
//!
//! # What "lossless" means here
//!
//! Reading a file back with [`FlatParquetReader::read_all`] (or
//! [`FlatIpcReader::read_all`]) gives one request that holds every item written, in the
//! order written, each with all its fields, and its resource and scope with all theirs
//! (schema URLs, dropped counts, entity references, absent versus empty). Containers
//! come back exactly as they were: a new `Resource*`, `Scope*` or `Metric` starts where
//! one started in the input (the `*_id` columns say where), so two consecutive
//! containers with equal contents stay two. What does not survive:
//!
//! - Containers without items: a `ResourceSpans` without `ScopeSpans`, a `ScopeSpans`
//!   without spans, a `Metric` without data points (or without data). They have no row
//!   to live in. [`prune_traces`], [`prune_logs`] and [`prune_metrics`] remove exactly
//!   those, so `read_all(write(r)) == prune(r)`, which the property tests check for
//!   arbitrary requests of all three signals (`tests/flat_proptest.rs`).
//! - Request boundaries: a file is a stream of items, as a batching collector writes it.
//!   [`FlatParquetReader::next_request`] gives one request per record batch read; a
//!   container that straddles two batches then comes back as two consecutive containers
//!   with the same contents.
//!
//! # Example queries
//!
//! DuckDB, over a Hive-style directory (`traces/date=2026-01-01/hour=00/….parquet`):
//!
//! ```sql
//! -- Spans and error spans per service.
//! SELECT service_name, count(*) AS spans, count(*) FILTER (WHERE status_code = 2) AS errors
//! FROM read_parquet('otlp-data/traces/**/*.parquet', hive_partitioning = true)
//! GROUP BY service_name ORDER BY errors DESC;
//!
//! -- p99 duration per operation, in milliseconds.
//! SELECT service_name, name, quantile_cont(duration_ns, 0.99) / 1e6 AS p99_ms
//! FROM read_parquet('otlp-data/traces/**/*.parquet', hive_partitioning = true)
//! GROUP BY ALL ORDER BY p99_ms DESC LIMIT 20;
//!
//! -- One trace, as a tree.
//! SELECT hex(span_id), hex(parent_span_id), service_name, name, duration_ns
//! FROM 'otlp-data/traces/**/*.parquet'
//! WHERE trace_id = from_hex('5b8efff798038103d269b633813fc60c') ORDER BY start_time;
//!
//! -- Error logs of one service, with their text.
//! SELECT time, body.str FROM 'otlp-data/logs/**/*.parquet'
//! WHERE service_name = 'checkout' AND severity_number >= 17;
//! ```
//!
//! Polars:
//!
//! ```python
//! import polars as pl
//! spans = pl.scan_parquet("otlp-data/traces/**/*.parquet", hive_partitioning=True)
//! (spans.group_by("service_name", "name")
//!       .agg(pl.col("duration_ns").quantile(0.99).alias("p99"), pl.len())
//!       .sort("p99", descending=True)
//!       .collect())
//! ```
//!
//! pyarrow:
//!
//! ```python
//! import pyarrow.dataset as ds, pyarrow.compute as pc
//! spans = ds.dataset("otlp-data/traces", format="parquet", partitioning="hive")
//! errors = spans.to_table(columns=["service_name", "name"], filter=pc.field("status_code") == 2)
//! print(errors.group_by("service_name").aggregate([("name", "count")]))
//! ```
//!
//! # Writing files
//!
//! [`FlatParquetWriter`] takes requests (or batches from a builder) and writes Parquet
//! with zstd (level 3) and an encoding per column, the one smallest after zstd: a
//! dictionary for strings, keys and small integers; `BYTE_STREAM_SPLIT` for 64-bit
//! integers (attribute values, counts, bucket counts, `duration_ns`) and nested doubles;
//! plain for the random ids, `start_time`, event and exemplar times and the points'
//! doubles; `DELTA_BINARY_PACKED` for `time`, `observed_time` and the container numbers
//! (`resource_id`, `scope_id`, `metric_id`). Every reader the tests run (pyarrow, DuckDB,
//! Polars) decodes them all. The top-level columns carry statistics, per page with a
//! page index when row groups may span several pages (more than 10 000 rows), per column
//! chunk otherwise, and every row group a bloom filter on `trace_id`. Row groups end at
//! [`ParquetOptions::max_row_group_rows`] (50 000) or
//! [`ParquetOptions::max_row_group_bytes`] (32 MiB) of encoded data, whichever comes
//! first: larger groups compress better, and the writer holds the open group in memory.
//! [`FlatParquetWriter::bytes_written`], [`FlatParquetWriter::in_progress_bytes`] and
//! [`FlatParquetWriter::rows_written`] tell an exporter when to rotate.
//!
//! A Parquet file is readable only once [`FlatParquetWriter::finish`] wrote its footer;
//! a process killed before that leaves a file that every reader rejects (no footer, no
//! `PAR1` at the end), and nothing in it can be recovered by standard tools. So write
//! each file under a temporary name and rename it once finished: the rename is atomic,
//! readers see whole files or none, and a kill costs only the file being written.
//! [`FlatIpcWriter`] writes the same rows as an Arrow IPC file (one record batch per
//! request, buffers compressed with zstd or lz4), with the same rule.
//!
//! # Reading files
//!
//! [`FlatParquetReader`] and [`FlatIpcReader`] give requests back, batch by batch or
//! whole. For `otlp-suite inspect`, [`FlatParquetReader::scan`] reads only the named
//! columns (a summary needs four of them), and [`FlatParquetReader::find_trace`] reads
//! only the row groups whose `trace_id` bloom filter (and statistics) may hold the trace,
//! and in them only the matching rows (which [`id_equals`] picks out with otlp-simd's
//! vector id comparison), decoding the other columns only in the pages that hold them. Malformed files give an [`Error`](crate::Error), never a panic.
//!
//! # Size and speed
//!
//! Measured by `cargo bench -p otlp-arrow --bench flat` on otlp-testkit data
//! (docs/benchmarks.md, "otlp-arrow-flat-sizes"), bytes per span, data point or log
//! record:
//!
//! | signal | rows per row group | flat Parquet | columnar reference | OTLP + zstd 3 | Flight stream (normalized) |
//! |---|---:|---:|---:|---:|---:|
//! | traces | 1000 | 47.6 | 35.9 | 41.7 | 31.4 |
//! | traces | 10000 | 29.7 | 28.0 | 36.5 | 24.1 |
//! | metrics | 1000 | 32.7 | 20.1 | 23.1 | 21.8 |
//! | metrics | 10000 | 14.5 | 13.1 | 20.1 | 15.4 |
//! | logs | 1000 | 49.2 | 39.9 | 46.7 | 42.3 |
//! | logs | 10000 | 36.9 | 34.4 | 41.3 | 35.3 |
//!
//! The *columnar reference* compresses every field of this schema alone with zstd 19
//! over the whole row group. At 10000 rows per group Parquet is 1.06x (traces), 1.10x
//! (metrics) and 1.07x (logs) the reference, and nearly all of the difference is Parquet's
//! structure: leave out Parquet's repetition and definition levels, footer and bloom
//! filters, and the reference's validity and list lengths, and the values are 1.00x,
//! 0.97x and 1.00x the reference's (27.6 against 27.7 bytes per span, 12.6 against 12.9
//! per point, 34.3 against 34.1 per record). The levels cost 1.37, 1.09 and 0.56 bytes
//! per item where the reference's structure costs 0.36, 0.21 and 0.32; the benchmark's
//! per-column tables say where. The footer: about 90 bytes of metadata per leaf column per row
//! group (~75 leaves: 0.8 byte per span at 10000, 6.8 at 1000), and for logs the
//! `trace_id` bloom filter (1.6 bytes per record: nearly every record has its own
//! trace). The levels Parquet repeats in every leaf of a nested column, even a leaf
//! that is always null: each typed field of the attribute values (+0.1 a field per
//! span), the exemplars' attribute fields (+0.07 each per point). zstd 3 against 19 on
//! the random ids that repeat far apart (`trace_id` +0.3, exemplar ids +0.24) and on
//! attribute integers (+0.4). Our own chunks write dictionary indices at whole bytes
//! and bit-pack a page's stretch as one run, so that an attribute pattern repeated row
//! after row repeats byte for byte for zstd (the metrics' resource attribute values went
//! from +0.41 to +0.11 bytes per point). Durations, names and the container numbers are
//! below the reference. Higher zstd levels buy a little for a lot of time (29.0 bytes per
//! span at 6, 28.2 at 19).
//!
//! Writing costs more than prost encode + zstd: building the rows is on par with it,
//! and arrow-rs's Parquet encoder then re-interns every string and walks the levels of
//! every leaf of every row, and creates a zstd context per column per row group (a
//! tenth of the time at 1000 rows per group). A decoder that walks protobuf bytes into
//! these builders saves prost's tree. The attribute maps are encoded by our own writer,
//! a row at a time: a row equal to the one before it (a resource's attributes, on each
//! of its spans) reuses that row's dictionary indices, 1.1x parquet-rs's encoder on the
//! whole file. The builders still copy a resource's attributes onto every row for the
//! writer to find them equal again: handing the writer runs of rows is the next step.
//!
//! Beside the Parquet writers analysts already have, on the same 200 000 rows in the same
//! run (`cargo bench -p otlp-arrow --bench flat_writers`; docs/benchmarks.md,
//! "otlp-arrow-flat-writers"), CPU per span from Arrow rows in memory to a closed file:
//! [`FlatParquetWriter`] 2.1 µs, parquet-rs's `ArrowWriter` with the same settings 2.3,
//! Arrow C++ (pyarrow, zstd 3) 4.0, or 3.1 without dictionaries and statistics, and
//! DuckDB (one thread, from its own table) 7.4. Its files are the smallest of them too
//! (35.2 bytes per span against 44.8–45.4 for Arrow C++ and 38.5 for DuckDB). On the
//! 600 000 rows of a file the collector wrote under `otlp-suite loadgen`
//! (`OTLP_FLAT_WRITERS_ROWS=<file>`): 2.0, 2.3, 3.9 (3.0 plain) and 8.0.
//!
//! # Builders
//!
//! [`TracesBuilder`], [`LogsBuilder`] and [`MetricsBuilder`] take an OTLP request one
//! element at a time, in the order a protobuf walk meets them, with borrowed slices and
//! no prost tree: a decoder that walks the received bytes in place drives them directly,
//! and `append_request` (the prost walk) is just one such driver. A resource's and a
//! scope's columns are built once and copied onto each of their rows in bulk; buffers
//! are kept across batches, so steady state allocates only the arrays handed out.
//! Strings are plain `Utf8`, not Arrow dictionaries: the Parquet encoder builds its own
//! dictionaries and would hash every value of an Arrow dictionary array again, and an
//! Arrow IPC file cannot replace a dictionary from one batch to the next.

mod columns;
mod context_reader;
mod file;
mod id_filter;
mod ipc;
mod json;
mod logs;
mod metrics;
mod metrics_reader;
mod parquet;
mod prune;
mod resource;
mod schema;
mod time;
mod traces;
mod value;
mod wire;

pub use file::{FlatBuilder, decode};
pub use id_filter::id_equals;
pub use ipc::{FlatIpcReader, FlatIpcWriter};
pub use logs::{LogInfo, LogsBuilder, decode_logs};
pub use metrics::{
    ExemplarInfo, MetricData, MetricInfo, MetricsBuilder, NumberValue, PointData, PointTimes,
    metric_col,
};
pub use metrics_reader::decode_metrics;
pub use parquet::{
    FlatParquetReader, FlatParquetWriter, ParquetOptions, READ_BATCH_ROWS, TraceSearch,
};
pub use prune::{prune_logs, prune_metrics, prune_traces};
pub use resource::{ResourceInfo, SERVICE_NAME_KEY, ScopeInfo};
pub use schema::{
    FLAT_LAYOUT, FLAT_VERSION, FLAT_VERSION_METADATA_KEY, LAYOUT_METADATA_KEY, col, flat_schema,
    flat_signal,
};
pub use traces::{EventInfo, LinkInfo, SpanInfo, TracesBuilder, decode_traces};
pub use value::{NestedJson, ValueRef};
