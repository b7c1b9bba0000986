//! Spans as flat rows: the builder, its prost driver, and the way back.

use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeBinaryArray, Int32Array, Int64Array, ListArray, StringArray,
    StructArray, TimestampNanosecondArray, UInt32Array,
};
use arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Int32Type, Int64Type, SchemaRef, TimestampNanosecondType,
    UInt32Type,
};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

use super::columns::{BytesCol, IdCol, ListCol, PrimCol};
use super::context_reader::{ContextReader, Step, column, id_vec, regroup, struct_child};
use super::resource::{Context, context_methods};
use super::schema::{attributes_field, col, ids, list_item, list_of, timestamp_type, with_context};
use super::time::{from_timestamp, to_timestamp};
use super::value::{AttrsReader, MapCol, ValueRef};
use crate::{Error, Signal};

/// A span's own fields, as a [`TracesBuilder`] takes them; its attributes, events and
/// links are appended before it with [`TracesBuilder::span_attribute`],
/// [`TracesBuilder::end_event`] and [`TracesBuilder::end_link`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanInfo<'a> {
    /// 16 bytes, or empty.
    pub trace_id: &'a [u8],
    /// 8 bytes, or empty.
    pub span_id: &'a [u8],
    /// W3C `tracestate`.
    pub trace_state: &'a str,
    /// 8 bytes, or empty for a root span.
    pub parent_span_id: &'a [u8],
    /// W3C trace flags and OTLP's `SPAN_FLAGS_CONTEXT_*` bits.
    pub flags: u32,
    /// The operation name.
    pub name: &'a str,
    /// `SpanKind` as its protobuf number.
    pub kind: i32,
    /// Start, nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// `dropped_events_count`.
    pub dropped_events_count: u32,
    /// `dropped_links_count`.
    pub dropped_links_count: u32,
    /// `status` as (code, message); `None` when the field is absent.
    pub status: Option<(i32, &'a str)>,
}

/// A span event's own fields; its attributes come first through
/// [`TracesBuilder::event_attribute`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventInfo<'a> {
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// `name`.
    pub name: &'a str,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
}

/// A span link's own fields; its attributes come first through
/// [`TracesBuilder::link_attribute`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkInfo<'a> {
    /// 16 bytes, or empty.
    pub trace_id: &'a [u8],
    /// 8 bytes, or empty.
    pub span_id: &'a [u8],
    /// W3C `tracestate`.
    pub trace_state: &'a str,
    /// `flags`.
    pub flags: u32,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
}

/// Built once and shared, as the schema is: every batch's finish needs them.
fn event_fields() -> Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS
        .get_or_init(|| {
            Fields::from(vec![
                Field::new(col::TIME, timestamp_type(), true),
                Field::new(col::NAME, DataType::Utf8, false),
                attributes_field(col::ATTRIBUTES),
                Field::new(col::DROPPED_ATTRIBUTES_COUNT, DataType::UInt32, false),
            ])
        })
        .clone()
}

/// Built once and shared, as the schema is: every batch's finish needs them.
fn link_fields() -> Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS
        .get_or_init(|| {
            let (trace_id, span_id) = ids();
            Fields::from(vec![
                trace_id,
                span_id,
                Field::new(col::TRACE_STATE, DataType::Utf8, false),
                Field::new(col::FLAGS, DataType::UInt32, false),
                attributes_field(col::ATTRIBUTES),
                Field::new(col::DROPPED_ATTRIBUTES_COUNT, DataType::UInt32, false),
            ])
        })
        .clone()
}

/// The item field of the events column, built once as [`event_fields`] is.
fn event_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| list_item(event_fields())).clone()
}

/// The item field of the links column, built once as [`link_fields`] is.
fn link_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| list_item(link_fields())).clone()
}

/// The flat traces schema (one row per span).
pub(crate) fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let (trace_id, span_id) = ids();
            with_context(
                Signal::Traces,
                vec![
                    Field::new(col::START_TIME, timestamp_type(), true),
                    Field::new(col::DURATION_NS, DataType::Int64, false),
                    Field::new(col::NAME, DataType::Utf8, false),
                    Field::new(col::KIND, DataType::Int32, false),
                    Field::new(col::STATUS_CODE, DataType::Int32, true),
                    Field::new(col::STATUS_MESSAGE, DataType::Utf8, true),
                    trace_id,
                    span_id,
                    Field::new(col::PARENT_SPAN_ID, DataType::FixedSizeBinary(8), true),
                    Field::new(col::TRACE_STATE, DataType::Utf8, false),
                    Field::new(col::FLAGS, DataType::UInt32, false),
                    attributes_field(col::ATTRIBUTES),
                    Field::new(col::DROPPED_ATTRIBUTES_COUNT, DataType::UInt32, false),
                    Field::new(col::EVENTS, list_of(event_fields()), false),
                    Field::new(col::DROPPED_EVENTS_COUNT, DataType::UInt32, false),
                    Field::new(col::LINKS, list_of(link_fields()), false),
                    Field::new(col::DROPPED_LINKS_COUNT, DataType::UInt32, false),
                ],
            )
        })
        .clone()
}

/// Builds flat span rows, one call per OTLP element, in the order a protobuf walk
/// meets them; [`finish`](Self::finish) hands out a record batch and keeps the buffers.
///
/// The calls for one request: for each resource, [`begin_resource`](Self::begin_resource),
/// its attributes, [`end_resource`](Self::end_resource); for each scope in it,
/// [`begin_scope`](Self::begin_scope), its attributes, [`end_scope`](Self::end_scope); for
/// each span, its attributes, events (attributes then [`end_event`](Self::end_event)) and
/// links (attributes then [`end_link`](Self::end_link)) in any order, then
/// [`end_span`](Self::end_span) with the span's own fields. Nothing here needs a prost
/// tree: a decoder walking protobuf bytes can drive it with borrowed slices.
///
/// ```
/// use otlp_arrow::flat::{ResourceInfo, ScopeInfo, SpanInfo, TracesBuilder, ValueRef};
///
/// let mut builder = TracesBuilder::new();
/// builder.begin_resource();
/// builder.resource_attribute("service.name", ValueRef::Str("checkout"), 0)?;
/// builder.end_resource(ResourceInfo { present: true, ..Default::default() });
/// builder.begin_scope();
/// builder.end_scope(ScopeInfo { present: true, name: "io.opentelemetry.http", ..Default::default() });
/// builder.span_attribute("http.request.method", ValueRef::Str("GET"), 0)?;
/// builder.end_span(&SpanInfo {
///     trace_id: &[1; 16],
///     span_id: &[2; 8],
///     name: "GET /cart",
///     start_time_unix_nano: 1_767_225_600_000_000_000,
///     end_time_unix_nano: 1_767_225_600_001_500_000,
///     ..Default::default()
/// })?;
/// let batch = builder.finish()?;
/// assert_eq!(batch.num_rows(), 1);
/// # Ok::<(), otlp_arrow::Error>(())
/// ```
#[derive(Debug)]
pub struct TracesBuilder {
    ctx: Context,
    start_time: PrimCol<TimestampNanosecondType>,
    duration: PrimCol<Int64Type>,
    name: BytesCol,
    kind: PrimCol<Int32Type>,
    status_code: PrimCol<Int32Type>,
    status_message: BytesCol,
    trace_id: IdCol<16>,
    span_id: IdCol<8>,
    parent_span_id: IdCol<8>,
    trace_state: BytesCol,
    flags: PrimCol<UInt32Type>,
    attributes: MapCol,
    dropped_attributes_count: PrimCol<UInt32Type>,
    events: ListCol,
    event_time: PrimCol<TimestampNanosecondType>,
    event_name: BytesCol,
    event_attributes: MapCol,
    event_dropped: PrimCol<UInt32Type>,
    dropped_events_count: PrimCol<UInt32Type>,
    links: ListCol,
    link_trace_id: IdCol<16>,
    link_span_id: IdCol<8>,
    link_trace_state: BytesCol,
    link_flags: PrimCol<UInt32Type>,
    link_attributes: MapCol,
    link_dropped: PrimCol<UInt32Type>,
    dropped_links_count: PrimCol<UInt32Type>,
}

impl Default for TracesBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TracesBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            ctx: Context::default(),
            start_time: PrimCol::default(),
            duration: PrimCol::default(),
            name: BytesCol::default(),
            kind: PrimCol::default(),
            status_code: PrimCol::default(),
            status_message: BytesCol::default(),
            trace_id: IdCol::default(),
            span_id: IdCol::default(),
            parent_span_id: IdCol::default(),
            trace_state: BytesCol::default(),
            flags: PrimCol::default(),
            attributes: MapCol::default(),
            dropped_attributes_count: PrimCol::default(),
            events: ListCol::default(),
            event_time: PrimCol::default(),
            event_name: BytesCol::default(),
            event_attributes: MapCol::default(),
            event_dropped: PrimCol::default(),
            dropped_events_count: PrimCol::default(),
            links: ListCol::default(),
            link_trace_id: IdCol::default(),
            link_span_id: IdCol::default(),
            link_trace_state: BytesCol::default(),
            link_flags: PrimCol::default(),
            link_attributes: MapCol::default(),
            link_dropped: PrimCol::default(),
            dropped_links_count: PrimCol::default(),
        }
    }

    /// An empty builder whose batches carry the resource and scope attribute maps run-end encoded (see
    /// [`FlatBuilder::run_encoded`](super::FlatBuilder::run_encoded)).
    pub(crate) fn run_encoded() -> Self {
        Self {
            ctx: Context::run_encoded(),
            ..Self::new()
        }
    }

    /// The schema of the batches this builder produces.
    pub fn schema(&self) -> SchemaRef {
        schema()
    }

    context_methods!("span", "ResourceSpans");

    /// Adds an attribute to the span being built.
    #[inline]
    pub fn span_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.attributes.push_entry(key, value, key_strindex)
    }

    /// Adds an attribute to the event being built.
    pub fn event_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.event_attributes.push_entry(key, value, key_strindex)
    }

    /// Ends an event of the span being built.
    pub fn end_event(&mut self, event: &EventInfo<'_>) {
        self.event_time.push_opt(to_timestamp(event.time_unix_nano));
        self.event_name.push(event.name.as_bytes());
        self.event_attributes.close_row();
        self.event_dropped.push(event.dropped_attributes_count);
    }

    /// Adds an attribute to the link being built.
    pub fn link_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.link_attributes.push_entry(key, value, key_strindex)
    }

    /// Ends a link of the span being built. A link id of the wrong length is an error and
    /// drops the link (and its attributes).
    pub fn end_link(&mut self, link: &LinkInfo<'_>) -> Result<(), Error> {
        let checked = IdCol::<16>::check(link.trace_id, "links.trace_id")
            .and_then(|()| IdCol::<8>::check(link.span_id, "links.span_id"));
        if let Err(e) = checked {
            self.link_attributes.discard_open();
            return Err(e);
        }
        self.link_trace_id.push_checked(link.trace_id);
        self.link_span_id.push_checked(link.span_id);
        self.link_trace_state.push(link.trace_state.as_bytes());
        self.link_flags.push(link.flags);
        self.link_attributes.close_row();
        self.link_dropped.push(link.dropped_attributes_count);
        Ok(())
    }

    /// Ends the span: one row, with the attributes, events and links appended since the
    /// previous span. An id of the wrong length is an error and drops the span.
    pub fn end_span(&mut self, span: &SpanInfo<'_>) -> Result<(), Error> {
        let checked = IdCol::<16>::check(span.trace_id, col::TRACE_ID)
            .and_then(|()| IdCol::<8>::check(span.span_id, col::SPAN_ID))
            .and_then(|()| IdCol::<8>::check(span.parent_span_id, col::PARENT_SPAN_ID));
        if let Err(e) = checked {
            self.discard_open_span();
            return Err(e);
        }
        self.ctx.item();
        self.start_time
            .push_opt(to_timestamp(span.start_time_unix_nano));
        self.duration.push(
            span.end_time_unix_nano
                .wrapping_sub(span.start_time_unix_nano) as i64,
        );
        self.name.push(span.name.as_bytes());
        self.kind.push(span.kind);
        match span.status {
            Some((code, message)) => {
                self.status_code.push(code);
                self.status_message.push(message.as_bytes());
            }
            None => {
                self.status_code.push_null();
                self.status_message.push_null();
            }
        }
        self.trace_id.push_checked(span.trace_id);
        self.span_id.push_checked(span.span_id);
        self.parent_span_id.push_checked(span.parent_span_id);
        self.trace_state.push(span.trace_state.as_bytes());
        self.flags.push(span.flags);
        self.attributes.close_row();
        self.dropped_attributes_count
            .push(span.dropped_attributes_count);
        self.events.close(self.event_time.len());
        self.dropped_events_count.push(span.dropped_events_count);
        self.links.close(self.link_flags.len());
        self.dropped_links_count.push(span.dropped_links_count);
        Ok(())
    }

    /// Drops the attributes, events and links appended for a span that will not be ended.
    pub(super) fn discard_open_span(&mut self) {
        self.attributes.discard_open();
        let events = self.events.open_start();
        self.event_time.truncate(events);
        self.event_name.truncate(events);
        self.event_attributes.truncate(events);
        self.event_dropped.truncate(events);
        let links = self.links.open_start();
        self.link_trace_id.truncate(links);
        self.link_span_id.truncate(links);
        self.link_trace_state.truncate(links);
        self.link_flags.truncate(links);
        self.link_attributes.truncate(links);
        self.link_dropped.truncate(links);
    }

    /// Appends every span of `request`. On error nothing of the request is kept.
    pub fn append_request(&mut self, request: &ExportTraceServiceRequest) -> Result<(), Error> {
        let rows = self.len();
        let result = self.append_all(request);
        if result.is_err() {
            self.truncate(rows);
        }
        result
    }

    fn append_all(&mut self, request: &ExportTraceServiceRequest) -> Result<(), Error> {
        for rs in &request.resource_spans {
            self.ctx
                .append_resource(rs.resource.as_ref(), &rs.schema_url)?;
            for ss in &rs.scope_spans {
                self.ctx.append_scope(ss.scope.as_ref(), &ss.schema_url)?;
                for s in &ss.spans {
                    self.append_span(s)?;
                }
            }
        }
        Ok(())
    }

    fn append_span(&mut self, s: &Span) -> Result<(), Error> {
        let appended = (|| {
            for kv in &s.attributes {
                self.span_attribute(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)?;
            }
            for e in &s.events {
                for kv in &e.attributes {
                    self.event_attribute(
                        &kv.key,
                        ValueRef::of(kv.value.as_ref()),
                        kv.key_strindex,
                    )?;
                }
                self.end_event(&EventInfo {
                    time_unix_nano: e.time_unix_nano,
                    name: &e.name,
                    dropped_attributes_count: e.dropped_attributes_count,
                });
            }
            for l in &s.links {
                for kv in &l.attributes {
                    self.link_attribute(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)?;
                }
                self.end_link(&LinkInfo {
                    trace_id: &l.trace_id,
                    span_id: &l.span_id,
                    trace_state: &l.trace_state,
                    flags: l.flags,
                    dropped_attributes_count: l.dropped_attributes_count,
                })?;
            }
            Ok(())
        })();
        if let Err(e) = appended {
            self.discard_open_span();
            return Err(e);
        }
        self.end_span(&SpanInfo {
            trace_id: &s.trace_id,
            span_id: &s.span_id,
            trace_state: &s.trace_state,
            parent_span_id: &s.parent_span_id,
            flags: s.flags,
            name: &s.name,
            kind: s.kind,
            start_time_unix_nano: s.start_time_unix_nano,
            end_time_unix_nano: s.end_time_unix_nano,
            dropped_attributes_count: s.dropped_attributes_count,
            dropped_events_count: s.dropped_events_count,
            dropped_links_count: s.dropped_links_count,
            status: s.status.as_ref().map(|st| (st.code, st.message.as_str())),
        })
    }

    /// Keeps only the first `rows` spans (and drops any open span).
    pub(super) fn truncate(&mut self, rows: usize) {
        self.discard_open_span();
        self.ctx.truncate_rows(rows);
        self.start_time.truncate(rows);
        self.duration.truncate(rows);
        self.name.truncate(rows);
        self.kind.truncate(rows);
        self.status_code.truncate(rows);
        self.status_message.truncate(rows);
        self.trace_id.truncate(rows);
        self.span_id.truncate(rows);
        self.parent_span_id.truncate(rows);
        self.trace_state.truncate(rows);
        self.flags.truncate(rows);
        self.attributes.truncate(rows);
        self.dropped_attributes_count.truncate(rows);
        self.events.truncate(rows);
        self.dropped_events_count.truncate(rows);
        self.links.truncate(rows);
        self.dropped_links_count.truncate(rows);
        self.discard_open_span();
    }

    /// The spans appended so far as a record batch of [`flat_schema`](super::flat_schema)
    /// (`Signal::Traces`); the builder is empty afterwards but keeps its buffers and the
    /// resource and scope in force. On error (a column beyond 2 GiB) the rows are lost.
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        let result = self.finish_columns();
        if result.is_err() {
            self.truncate(0);
            self.ctx.clear_rows();
        }
        result
    }

    fn finish_columns(&mut self) -> Result<RecordBatch, Error> {
        let schema = schema();
        let ctx = self.ctx.finish()?;
        let events = StructArray::try_new(
            event_fields(),
            vec![
                self.event_time.finish_as(Some(&timestamp_type()))?,
                self.event_name.finish_utf8("events.name")?,
                self.event_attributes.finish("events.attributes")?,
                self.event_dropped.finish()?,
            ],
            None,
        )?;
        let links = StructArray::try_new(
            link_fields(),
            vec![
                self.link_trace_id.finish()?,
                self.link_span_id.finish()?,
                self.link_trace_state.finish_utf8("links.trace_state")?,
                self.link_flags.finish()?,
                self.link_attributes.finish("links.attributes")?,
                self.link_dropped.finish()?,
            ],
            None,
        )?;
        let mut columns: Vec<ArrayRef> = vec![
            self.start_time.finish_as(Some(&timestamp_type()))?,
            self.duration.finish()?,
        ];
        columns.extend(ctx.leading);
        columns.extend([
            self.name.finish_utf8(col::NAME)?,
            self.kind.finish()?,
            self.status_code.finish()?,
            self.status_message.finish_utf8(col::STATUS_MESSAGE)?,
            self.trace_id.finish()?,
            self.span_id.finish()?,
            self.parent_span_id.finish()?,
            self.trace_state.finish_utf8(col::TRACE_STATE)?,
            self.flags.finish()?,
            self.attributes.finish(col::ATTRIBUTES)?,
            self.dropped_attributes_count.finish()?,
            self.events
                .finish(col::EVENTS, event_item(), Arc::new(events))?,
            self.dropped_events_count.finish()?,
            self.links
                .finish(col::LINKS, link_item(), Arc::new(links))?,
            self.dropped_links_count.finish()?,
        ]);
        columns.extend(ctx.trailing);
        Ok(RecordBatch::try_new(
            self.ctx.batch_schema(schema),
            columns,
        )?)
    }
}

fn list_items<'a>(list: &'a ListArray, name: &str) -> Result<&'a StructArray, Error> {
    list.values()
        .as_struct_opt()
        .ok_or_else(|| Error::ColumnType {
            column: name.to_owned(),
            expected: "List<Struct>",
            actual: list.data_type().to_string(),
        })
}

/// Reads a flat traces batch back into one request: rows whose `resource_id` and
/// `scope_id` stay the same share one `ResourceSpans` and `ScopeSpans`.
pub fn decode_traces(batch: &RecordBatch) -> Result<ExportTraceServiceRequest, Error> {
    let ctx = ContextReader::new(batch)?;
    let start_time: &TimestampNanosecondArray = column(batch, col::START_TIME, "Timestamp(ns)")?;
    let duration: &Int64Array = column(batch, col::DURATION_NS, "Int64")?;
    let name: &StringArray = column(batch, col::NAME, "Utf8")?;
    let kind: &Int32Array = column(batch, col::KIND, "Int32")?;
    let status_code: &Int32Array = column(batch, col::STATUS_CODE, "Int32")?;
    let status_message: &StringArray = column(batch, col::STATUS_MESSAGE, "Utf8")?;
    let trace_id: &FixedSizeBinaryArray = column(batch, col::TRACE_ID, "FixedSizeBinary(16)")?;
    let span_id: &FixedSizeBinaryArray = column(batch, col::SPAN_ID, "FixedSizeBinary(8)")?;
    let parent: &FixedSizeBinaryArray = column(batch, col::PARENT_SPAN_ID, "FixedSizeBinary(8)")?;
    let trace_state: &StringArray = column(batch, col::TRACE_STATE, "Utf8")?;
    let flags: &UInt32Array = column(batch, col::FLAGS, "UInt32")?;
    let attributes = AttrsReader::new(
        batch
            .column_by_name(col::ATTRIBUTES)
            .ok_or_else(|| Error::MissingColumn(col::ATTRIBUTES.into()))?
            .as_ref(),
        col::ATTRIBUTES,
    )?;
    let dropped_attributes: &UInt32Array = column(batch, col::DROPPED_ATTRIBUTES_COUNT, "UInt32")?;
    let events: &ListArray = column(batch, col::EVENTS, "List<Struct>")?;
    let dropped_events: &UInt32Array = column(batch, col::DROPPED_EVENTS_COUNT, "UInt32")?;
    let links: &ListArray = column(batch, col::LINKS, "List<Struct>")?;
    let dropped_links: &UInt32Array = column(batch, col::DROPPED_LINKS_COUNT, "UInt32")?;
    for (array, width, name) in [
        (trace_id, 16, col::TRACE_ID),
        (span_id, 8, col::SPAN_ID),
        (parent, 8, col::PARENT_SPAN_ID),
    ] {
        if array.value_length() != width {
            return Err(Error::ColumnType {
                column: name.to_owned(),
                expected: "FixedSizeBinary of the OTLP id width",
                actual: array.data_type().to_string(),
            });
        }
    }

    let event_items = list_items(events, col::EVENTS)?;
    let event_time: &TimestampNanosecondArray =
        struct_child(event_items, col::TIME, "Timestamp(ns)", col::EVENTS)?;
    let event_name: &StringArray = struct_child(event_items, col::NAME, "Utf8", col::EVENTS)?;
    let event_attributes = AttrsReader::new(
        event_items
            .column_by_name(col::ATTRIBUTES)
            .ok_or_else(|| Error::MissingColumn("events.attributes".into()))?
            .as_ref(),
        "events.attributes",
    )?;
    let event_dropped: &UInt32Array = struct_child(
        event_items,
        col::DROPPED_ATTRIBUTES_COUNT,
        "UInt32",
        col::EVENTS,
    )?;

    let link_items = list_items(links, col::LINKS)?;
    let link_trace_id: &FixedSizeBinaryArray =
        struct_child(link_items, col::TRACE_ID, "FixedSizeBinary(16)", col::LINKS)?;
    let link_span_id: &FixedSizeBinaryArray =
        struct_child(link_items, col::SPAN_ID, "FixedSizeBinary(8)", col::LINKS)?;
    let link_trace_state: &StringArray =
        struct_child(link_items, col::TRACE_STATE, "Utf8", col::LINKS)?;
    let link_flags: &UInt32Array = struct_child(link_items, col::FLAGS, "UInt32", col::LINKS)?;
    let link_attributes = AttrsReader::new(
        link_items
            .column_by_name(col::ATTRIBUTES)
            .ok_or_else(|| Error::MissingColumn("links.attributes".into()))?
            .as_ref(),
        "links.attributes",
    )?;
    let link_dropped: &UInt32Array = struct_child(
        link_items,
        col::DROPPED_ATTRIBUTES_COUNT,
        "UInt32",
        col::LINKS,
    )?;

    let mut out = ExportTraceServiceRequest::default();
    regroup(&ctx, batch.num_rows(), |step| {
        let row = match step {
            Step::Resource(resource, schema_url) => {
                out.resource_spans.push(ResourceSpans {
                    resource,
                    scope_spans: Vec::new(),
                    schema_url,
                });
                return Ok(());
            }
            Step::Scope(scope, schema_url) => {
                if let Some(rs) = out.resource_spans.last_mut() {
                    rs.scope_spans.push(ScopeSpans {
                        scope,
                        spans: Vec::new(),
                        schema_url,
                    });
                }
                return Ok(());
            }
            Step::Item(row) => row,
        };
        let start = from_timestamp(start_time, row);
        let event_range =
            events.value_offsets()[row] as usize..events.value_offsets()[row + 1] as usize;
        let mut span_events = Vec::with_capacity(event_range.len());
        for e in event_range {
            span_events.push(span::Event {
                time_unix_nano: from_timestamp(event_time, e),
                name: event_name.value(e).to_owned(),
                attributes: event_attributes.get(e)?,
                dropped_attributes_count: event_dropped.value(e),
            });
        }
        let link_range =
            links.value_offsets()[row] as usize..links.value_offsets()[row + 1] as usize;
        let mut span_links = Vec::with_capacity(link_range.len());
        for l in link_range {
            span_links.push(span::Link {
                trace_id: id_vec(link_trace_id, l),
                span_id: id_vec(link_span_id, l),
                trace_state: link_trace_state.value(l).to_owned(),
                attributes: link_attributes.get(l)?,
                dropped_attributes_count: link_dropped.value(l),
                flags: link_flags.value(l),
            });
        }
        let span = Span {
            trace_id: id_vec(trace_id, row),
            span_id: id_vec(span_id, row),
            trace_state: trace_state.value(row).to_owned(),
            parent_span_id: id_vec(parent, row),
            flags: flags.value(row),
            name: name.value(row).to_owned(),
            kind: kind.value(row),
            start_time_unix_nano: start,
            end_time_unix_nano: start.wrapping_add(duration.value(row) as u64),
            attributes: attributes.get(row)?,
            dropped_attributes_count: dropped_attributes.value(row),
            events: span_events,
            dropped_events_count: dropped_events.value(row),
            links: span_links,
            dropped_links_count: dropped_links.value(row),
            status: status_code.is_valid(row).then(|| Status {
                code: status_code.value(row),
                message: if status_message.is_valid(row) {
                    status_message.value(row).to_owned()
                } else {
                    String::new()
                },
            }),
        };
        if let Some(ss) = out
            .resource_spans
            .last_mut()
            .and_then(|rs| rs.scope_spans.last_mut())
        {
            ss.spans.push(span);
        }
        Ok(())
    })?;
    Ok(out)
}
