//! OTLP ⇄ Apache Arrow: columnar traces, metrics and logs, Arrow IPC streams and files,
//! and (with the `flight` feature) Arrow Flight transport.
//!
//! ```
//! use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
//! use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
//! use otlp_arrow::{AnyRequest, ArrowIpcReader, ArrowIpcWriter, IpcFormat, Signal, WriterOptions};
//!
//! let request = ExportTraceServiceRequest {
//!     resource_spans: vec![ResourceSpans {
//!         scope_spans: vec![ScopeSpans {
//!             spans: vec![Span {
//!                 trace_id: vec![7; 16],
//!                 span_id: vec![1; 8],
//!                 name: "GET /users".into(),
//!                 start_time_unix_nano: 1_700_000_000_000_000_000,
//!                 end_time_unix_nano: 1_700_000_000_002_000_000,
//!                 ..Default::default()
//!             }],
//!             ..Default::default()
//!         }],
//!         ..Default::default()
//!     }],
//! };
//!
//! // One record batch per request, written as an Arrow IPC file compressed with zstd.
//! let mut file = Vec::new();
//! let mut writer = ArrowIpcWriter::new(&mut file, Signal::Traces, WriterOptions::new(IpcFormat::File))?;
//! writer.write(&request)?;
//! writer.finish()?;
//!
//! // Any Arrow reader can open `file`; this one gives the OTLP requests back.
//! let mut reader = ArrowIpcReader::new(file.as_slice(), IpcFormat::File)?;
//! let Some(AnyRequest::Traces(back)) = reader.next_request()? else { panic!("no traces") };
//! assert_eq!(back, request);
//! # Ok::<(), otlp_arrow::Error>(())
//! ```
//!
//! # Layout
//!
//! Each OTLP request becomes **one record batch with one row**. Every column of that row
//! is a `List<Struct>`: one normalized table. Children point at their parent with a
//! `parent_id` column; the id of a row is its position in its table (0, 1, 2, … within
//! the batch). `parent_id` is stored **delta-encoded** (`parent_id[i] - parent_id[i-1]`,
//! the first row absolute). Tables other than attributes keep the request's order, so
//! their rows come parent by parent and the deltas are runs of 0 and 1 that compress
//! to almost nothing. To get absolute ids take the cumulative
//! sum (`pyarrow.compute.cumulative_sum`).
//!
//! Strings are **dictionary-encoded**. A standalone encoder ([`TracesEncoder::new`], …)
//! picks per batch and column the narrowest key: `UInt8` up to 256 distinct values,
//! `UInt16` up to 65 536, a plain `Utf8` column beyond. Inside [`ArrowIpcWriter`] and the
//! Flight client, dictionaries persist across batches with `UInt16` keys so the schema
//! stays fixed and each new string is sent once, as an IPC **delta dictionary**.
//!
//! The schema carries the metadata `otlp_arrow.signal` (`traces`, `metrics` or `logs`)
//! and `otlp_arrow.version` (`1`).
//!
//! ## Shared tables (all signals)
//!
//! | table | column | type | meaning |
//! |---|---|---|---|
//! | `resources` | `present` | Boolean | `resource` field set |
//! | | `schema_url` | dict Utf8 | the `Resource{Spans,Metrics,Logs}.schema_url` |
//! | | `dropped_attributes_count` | UInt32 | |
//! | `entity_refs` | `parent_id` | UInt32 Δ | resource row |
//! | | `schema_url`, `type` | dict Utf8 | |
//! | | `id_keys`, `description_keys` | `List<dict Utf8>` | |
//! | `resource_attrs` | *attribute columns* | | parent: resource row |
//! | `scopes` | `parent_id` | UInt32 Δ | resource row |
//! | | `present` | Boolean | `scope` field set |
//! | | `name`, `version` | dict Utf8 | |
//! | | `dropped_attributes_count` | UInt32 | |
//! | | `schema_url` | dict Utf8 | the `Scope{Spans,Metrics,Logs}.schema_url` |
//! | `scope_attrs` | *attribute columns* | | parent: scope row |
//! | `values` | `parent_id` | UInt32 Δ | container id (see below) |
//! | | `key` | dict Utf8, null | null for array elements, the key for map entries |
//! | | `key_strindex` | Int32 | |
//! | | *value columns* | | the element |
//!
//! **Attribute columns** (`*_attrs` tables and `metric_metadata`): `parent_id` (UInt32,
//! delta-encoded with wrapping, see below), `index` (UInt32, the attribute's position in
//! its parent's list), `key` (dict Utf8), `key_strindex` (Int32), then the value
//! columns. In IPC streams and files and on Flight, attribute rows are **sorted** by
//! key, then value, then parent (standalone conversions skip the sort, which costs more
//! than the rest of the conversion, and keep the request's order), so each
//! column is made of long runs (one key; equal values such as `http.method = GET`) and
//! `parent_id` steps are small; it goes down where a new key starts, so its deltas
//! wrap around u32 (take the cumulative sum modulo 2^32). Sorting by (`parent_id`,
//! `index`) gives back the original order.
//!
//! **Value columns**: `type` (UInt8: 0 value absent, 1 empty `AnyValue`, 2 string,
//! 3 bool, 4 int, 5 double, 6 bytes, 7 array, 8 map, 9 `string_value_strindex`),
//! `str` (dict Utf8), `int` (Int64, also holds the strindex), `double` (Float64),
//! `bool` (Boolean), `bytes` (Binary) and `container` (UInt32): for arrays and maps, the
//! id of the container whose elements are the `values` rows with that `parent_id`.
//! Only the column of the value's type is non-null. Containers are numbered
//! breadth-first per batch, so nested values are real rows and columns, never a
//! serialized blob, and a nested container's id is always larger than its parent's.
//!
//! ## Traces
//!
//! | table | columns |
//! |---|---|
//! | `spans` | `parent_id` (UInt32 Δ, scope row), `trace_id` (FixedSizeBinary(16), null if empty), `span_id` (FixedSizeBinary(8), null if empty), `parent_span_id` (FixedSizeBinary(8): null if empty or given by `parent_row_offset`), `parent_row_offset` (Int32: when the parent span is in the same batch, its row minus this row; the parent span id is that row's `span_id`), `trace_state` (dict Utf8), `flags` (UInt32), `name` (dict Utf8), `kind` (Int32), `start_time_unix_nano` (UInt64), `duration_nano` (UInt64, `end - start` wrapping), `dropped_attributes_count`, `dropped_events_count`, `dropped_links_count` (UInt32), `status_code` (Int32, null when `status` is unset), `status_message` (dict Utf8, null when `status` is unset) |
//! | `span_attrs` | attribute columns, parent: span row |
//! | `events` | `parent_id` (UInt32 Δ, span row), `time_unix_nano` (UInt64), `name` (dict Utf8), `dropped_attributes_count` (UInt32) |
//! | `event_attrs` | attribute columns, parent: event row |
//! | `links` | `parent_id` (UInt32 Δ, span row), `trace_id` (FixedSizeBinary(16)), `span_id` (FixedSizeBinary(8)), `trace_state` (dict Utf8), `flags` (UInt32), `dropped_attributes_count` (UInt32) |
//! | `link_attrs` | attribute columns, parent: link row |
//!
//! ## Logs
//!
//! | table | columns |
//! |---|---|
//! | `logs` | `parent_id` (UInt32 Δ, scope row), `time_unix_nano`, `observed_time_unix_nano` (UInt64), `severity_number` (Int32), `severity_text` (dict Utf8), `body_type`, `body_str`, `body_int`, `body_double`, `body_bool`, `body_bytes`, `body_container` (value columns of the body), `dropped_attributes_count` (UInt32), `flags` (UInt32), `trace_id` (FixedSizeBinary(16)), `span_id` (FixedSizeBinary(8)), `event_name` (dict Utf8) |
//! | `log_attrs` | attribute columns, parent: log row |
//!
//! ## Metrics
//!
//! | table | columns |
//! |---|---|
//! | `metrics` | `parent_id` (UInt32 Δ, scope row), `name`, `description`, `unit` (dict Utf8), `data_type` (UInt8: 0 none, 1 gauge, 2 sum, 3 histogram, 4 exponential histogram, 5 summary), `aggregation_temporality` (Int32), `is_monotonic` (Boolean) |
//! | `metric_metadata` | attribute columns, parent: metric row |
//! | `number_points` | `parent_id` (UInt32 Δ, metric row), `point_id` (UInt32 Δ), `start_time_unix_nano`, `time_unix_nano` (UInt64), `flags` (UInt32), `value_type` (UInt8: 0 none, 1 double, 2 int), `double` (Float64), `int` (Int64) |
//! | `histogram_points` | `parent_id`, `point_id`, times, `flags`, `count` (UInt64), `sum` (Float64, null if unset), `bucket_counts` (`List<UInt64>`), `explicit_bounds` (`List<Float64>`), `min`, `max` (Float64, null if unset) |
//! | `exp_histogram_points` | `parent_id`, `point_id`, times, `flags`, `count`, `sum`, `scale` (Int32), `zero_count` (UInt64), `zero_threshold` (Float64), `positive_present`/`negative_present` (Boolean), `positive_offset`/`negative_offset` (Int32), `positive_bucket_counts`/`negative_bucket_counts` (`List<UInt64>`), `min`, `max` |
//! | `summary_points` | `parent_id`, `point_id`, times, `flags`, `count` (UInt64), `sum` (Float64), `quantiles`, `quantile_values` (`List<Float64>`, same length) |
//! | `point_attrs` | attribute columns, parent: point id |
//! | `exemplars` | `parent_id` (UInt32 Δ, point id), `time_unix_nano` (UInt64), `value_type` (UInt8), `double`, `int`, `span_id` (FixedSizeBinary(8)), `trace_id` (FixedSizeBinary(16)) |
//! | `exemplar_attrs` | attribute columns (`filtered_attributes`), parent: exemplar row |
//!
//! A point id numbers the data points of all four point tables together, in the order
//! they appear in the request, so one `point_attrs` and one `exemplars` table serve all.
//!
//! # Untrusted input
//!
//! [`ArrowIpcReader`] reads IPC framing itself: a message length is checked against
//! [`ReaderOptions::max_message_bytes`] and bytes are only buffered as they actually
//! arrive, so a hostile length field cannot make it allocate; buffer ranges, alignment,
//! decompressed sizes and the schema's types are checked before arrow-ipc sees a
//! message, and a panic inside arrow-ipc on a malformed body is caught and reported
//! as [`Error::Malformed`] (with `panic = "abort"` it would abort instead). Decoding
//! checks every column type, dictionary key, parent id, container reference and
//! nesting level and reports an [`Error`].
// docs.rs (`--cfg docsrs`, nightly) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod columns;
mod common;
mod error;
pub mod flat;
#[cfg(feature = "flight")]
pub mod flight;
mod ipc;
mod logs;
mod metrics;
mod read;
mod request;
mod traces;

pub use common::MAX_NESTING;
pub use error::Error;
pub use ipc::{
    ArrowIpcReader, ArrowIpcWriter, Compression, IpcFormat, ReaderOptions, WriterOptions,
};
pub use logs::{LogsEncoder, arrow_to_logs, logs_to_arrow};
pub use metrics::{MetricsEncoder, arrow_to_metrics, metrics_to_arrow};
pub use traces::{TracesEncoder, arrow_to_traces, traces_to_arrow};

pub use otlp_model::{AnyRequest, Signal};
pub use request::{ArrowRequest, Encoder};

/// The Arrow version of the record batches this crate produces and takes (to print or compute on them without
/// matching versions by hand).
pub use arrow;
/// The OTLP types this crate reads and writes, at the version it was built with, so that requests built for it
/// need no separately pinned dependency.
pub use opentelemetry_proto;
/// The Parquet version of the flat files' writer and reader (for a `RowFilter` or writer properties of your own).
pub use parquet;

use std::collections::HashMap;

use arrow::datatypes::Schema;
use otlp_model::{OtlpRequest, with_signal};

/// Schema metadata key naming the signal of a batch.
pub const SIGNAL_METADATA_KEY: &str = "otlp_arrow.signal";
/// Schema metadata key holding the layout version.
pub const VERSION_METADATA_KEY: &str = "otlp_arrow.version";
/// The layout version this crate writes and reads.
pub const LAYOUT_VERSION: &str = "1";

/// The signal a schema was written for, from its metadata.
pub fn signal_of_schema(schema: &Schema) -> Result<Signal, Error> {
    let found = schema
        .metadata()
        .get(SIGNAL_METADATA_KEY)
        .map(String::as_str);
    found
        .and_then(|name| name.parse().ok())
        .ok_or_else(|| match found {
            None => Error::NotOtlpArrow(format!(
                "the schema metadata has no `{SIGNAL_METADATA_KEY}` key, which names the signal \
                 (traces, metrics or logs); the collector's Parquet and Arrow files carry it"
            )),
            Some(name) => Error::NotOtlpArrow(format!(
                "schema metadata `{SIGNAL_METADATA_KEY}` is `{name}`; expected traces, metrics or logs"
            )),
        })
}

/// Decodes a record batch of either layout, told by its schema metadata: this crate's nested one,
/// or the [`flat`] one of the collector's Parquet and Arrow files, so that a table read from those
/// files (with pyarrow, say) decodes as it was written.
pub fn decode_batch(batch: &arrow::record_batch::RecordBatch) -> Result<AnyRequest, Error> {
    let layout = batch.schema_ref().metadata().get(flat::LAYOUT_METADATA_KEY);
    if layout.is_some_and(|layout| layout == flat::FLAT_LAYOUT) {
        return flat::decode(batch);
    }
    with_signal!(signal_of_schema(batch.schema_ref())?, R => {
        R::from_arrow(batch).map(OtlpRequest::into_any)
    })
}

/// The schema metadata that names `signal` and this layout's version.
pub(crate) fn schema_metadata(signal: Signal) -> HashMap<String, String> {
    HashMap::from([
        (SIGNAL_METADATA_KEY.to_string(), signal.as_str().to_string()),
        (VERSION_METADATA_KEY.to_string(), LAYOUT_VERSION.to_string()),
    ])
}

/// Checks that `schema` was written for `signal` in this layout version.
pub(crate) fn check_schema(signal: Signal, schema: &Schema) -> Result<(), Error> {
    let found = signal_of_schema(schema)?;
    if found != signal {
        return Err(Error::WrongSignal {
            expected: signal,
            found,
        });
    }
    match schema
        .metadata()
        .get(VERSION_METADATA_KEY)
        .map(String::as_str)
    {
        Some(LAYOUT_VERSION) => Ok(()),
        other => Err(Error::NotOtlpArrow(format!(
            "unsupported layout version {other:?}, this build reads {LAYOUT_VERSION}"
        ))),
    }
}

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
