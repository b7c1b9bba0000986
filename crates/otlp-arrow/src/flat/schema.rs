//! Column names and the Arrow schema of each signal's flat table.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};

use super::resource::resource_fields;
use super::value::{attributes_type, value_fields};
use crate::{Error, SIGNAL_METADATA_KEY, Signal};

/// Schema metadata key saying which layout a table has: `flat` here.
pub const LAYOUT_METADATA_KEY: &str = "otlp_arrow.layout";
/// The value of [`LAYOUT_METADATA_KEY`] for flat tables.
pub const FLAT_LAYOUT: &str = "flat";
/// Schema metadata key holding the flat layout's version.
pub const FLAT_VERSION_METADATA_KEY: &str = "otlp_arrow.flat_version";
/// The flat layout version this crate writes and reads.
pub const FLAT_VERSION: &str = "1";

/// Column names of the flat tables, for projections and queries.
pub mod col {
    /// The resource's `service.name` string attribute (also kept in `resource_attributes`).
    pub const SERVICE_NAME: &str = "service_name";
    /// All resource attributes, in order; null when the resource is absent.
    pub const RESOURCE_ATTRIBUTES: &str = "resource_attributes";
    /// `Resource.dropped_attributes_count`.
    pub const RESOURCE_DROPPED_ATTRIBUTES_COUNT: &str = "resource_dropped_attributes_count";
    /// `Resource.entity_refs`.
    pub const RESOURCE_ENTITY_REFS: &str = "resource_entity_refs";
    /// The `Resource*` container's `schema_url`.
    pub const RESOURCE_SCHEMA_URL: &str = "resource_schema_url";
    /// `InstrumentationScope.name`; null when the scope is absent.
    pub const SCOPE_NAME: &str = "scope_name";
    /// `InstrumentationScope.version`.
    pub const SCOPE_VERSION: &str = "scope_version";
    /// `InstrumentationScope.attributes`.
    pub const SCOPE_ATTRIBUTES: &str = "scope_attributes";
    /// `InstrumentationScope.dropped_attributes_count`.
    pub const SCOPE_DROPPED_ATTRIBUTES_COUNT: &str = "scope_dropped_attributes_count";
    /// The `Scope*` container's `schema_url`.
    pub const SCOPE_SCHEMA_URL: &str = "scope_schema_url";
    /// Numbers the `Resource*` containers of a file; a new value starts a new container.
    pub const RESOURCE_ID: &str = "resource_id";
    /// Numbers the `Scope*` containers of a file; a new value starts a new container.
    pub const SCOPE_ID: &str = "scope_id";

    /// The item's attributes.
    pub const ATTRIBUTES: &str = "attributes";
    /// The item's `dropped_attributes_count`.
    pub const DROPPED_ATTRIBUTES_COUNT: &str = "dropped_attributes_count";
    /// Trace flags (spans, links) or log record flags or data point flags.
    pub const FLAGS: &str = "flags";
    /// `trace_id`, `FixedSizeBinary(16)`, null when empty.
    pub const TRACE_ID: &str = "trace_id";
    /// `span_id`, `FixedSizeBinary(8)`, null when empty.
    pub const SPAN_ID: &str = "span_id";

    /// Span: `parent_span_id`, null for a root span.
    pub const PARENT_SPAN_ID: &str = "parent_span_id";
    /// Span: W3C `tracestate`.
    pub const TRACE_STATE: &str = "trace_state";
    /// Span: name (the operation).
    pub const NAME: &str = "name";
    /// Span: kind (0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub const KIND: &str = "kind";
    /// Span: start time.
    pub const START_TIME: &str = "start_time";
    /// Span: `end_time_unix_nano - start_time_unix_nano` in nanoseconds.
    pub const DURATION_NS: &str = "duration_ns";
    /// Span: status code (0 unset, 1 ok, 2 error); null when `status` is absent.
    pub const STATUS_CODE: &str = "status_code";
    /// Span: status message; null when `status` is absent.
    pub const STATUS_MESSAGE: &str = "status_message";
    /// Span: events.
    pub const EVENTS: &str = "events";
    /// Span: `dropped_events_count`.
    pub const DROPPED_EVENTS_COUNT: &str = "dropped_events_count";
    /// Span: links.
    pub const LINKS: &str = "links";
    /// Span: `dropped_links_count`.
    pub const DROPPED_LINKS_COUNT: &str = "dropped_links_count";

    /// Log record: `time_unix_nano`; data point: `time_unix_nano`.
    pub const TIME: &str = "time";
    /// Log record: `observed_time_unix_nano`.
    pub const OBSERVED_TIME: &str = "observed_time";
    /// Log record: `severity_number`.
    pub const SEVERITY_NUMBER: &str = "severity_number";
    /// Log record: `severity_text`.
    pub const SEVERITY_TEXT: &str = "severity_text";
    /// Log record: `body`, a value struct; null when absent.
    pub const BODY: &str = "body";
    /// Log record: `event_name`.
    pub const EVENT_NAME: &str = "event_name";
}

/// `Timestamp(Nanosecond, "UTC")`: OTLP's `*_unix_nano`, with 0 (unset) stored as null. Made once: every batch
/// types its time columns with it, and a fresh one allocates its time zone.
pub(crate) fn timestamp_type() -> DataType {
    static TIMESTAMP: OnceLock<DataType> = OnceLock::new();
    TIMESTAMP
        .get_or_init(|| DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())))
        .clone()
}

pub(crate) fn metadata(signal: Signal) -> HashMap<String, String> {
    HashMap::from([
        (SIGNAL_METADATA_KEY.to_owned(), signal.as_str().to_owned()),
        (LAYOUT_METADATA_KEY.to_owned(), FLAT_LAYOUT.to_owned()),
        (
            FLAT_VERSION_METADATA_KEY.to_owned(),
            FLAT_VERSION.to_owned(),
        ),
    ])
}

/// Wraps a signal's own fields with the resource and scope fields.
pub(crate) fn with_context(signal: Signal, own: Vec<Field>) -> SchemaRef {
    let (leading, trailing) = resource_fields();
    let mut fields = Vec::with_capacity(own.len() + leading.len() + trailing.len());
    let (first, rest) = own.split_at(own.len().min(2));
    // The item's time(s) first, then the service, then the rest.
    fields.extend_from_slice(first);
    fields.extend(leading);
    fields.extend_from_slice(rest);
    fields.extend(trailing);
    Arc::new(Schema::new_with_metadata(fields, metadata(signal)))
}

pub(crate) fn ids() -> (Field, Field) {
    (
        Field::new(col::TRACE_ID, DataType::FixedSizeBinary(16), true),
        Field::new(col::SPAN_ID, DataType::FixedSizeBinary(8), true),
    )
}

pub(crate) fn attributes_field(name: &str) -> Field {
    Field::new(name, attributes_type(), false)
}

pub(crate) fn value_struct(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Struct(value_fields()), nullable)
}

/// A `List<Struct<fields>>` type whose items are never null.
pub(crate) fn list_of(fields: Fields) -> DataType {
    DataType::List(list_item(fields))
}

/// The item field of [`list_of`]`(fields)`. A batch's list arrays need it at every finish: callers building
/// one per finish keep it in a `OnceLock`, as the schemas are kept.
pub(crate) fn list_item(fields: Fields) -> FieldRef {
    Arc::new(Field::new("item", DataType::Struct(fields), false))
}

/// The flat schema of a signal.
pub fn flat_schema(signal: Signal) -> SchemaRef {
    match signal {
        Signal::Traces => super::traces::schema(),
        Signal::Logs => super::logs::schema(),
        Signal::Metrics => super::metrics::schema(),
    }
}

/// The signal of a flat schema, checking its layout and version metadata.
pub fn flat_signal(schema: &Schema) -> Result<Signal, Error> {
    let meta = schema.metadata();
    if meta.get(LAYOUT_METADATA_KEY).map(String::as_str) != Some(FLAT_LAYOUT) {
        return Err(Error::NotOtlpArrow(format!(
            "schema metadata `{LAYOUT_METADATA_KEY}` is {:?}, expected {FLAT_LAYOUT:?}",
            meta.get(LAYOUT_METADATA_KEY)
        )));
    }
    match meta.get(FLAT_VERSION_METADATA_KEY).map(String::as_str) {
        Some(FLAT_VERSION) => crate::signal_of_schema(schema),
        other => Err(Error::NotOtlpArrow(format!(
            "unsupported flat layout version {other:?}, this build reads {FLAT_VERSION}"
        ))),
    }
}
