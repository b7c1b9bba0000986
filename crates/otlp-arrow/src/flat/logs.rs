//! Log records as flat rows: the builder, its prost driver, and the way back.

use std::sync::OnceLock;

use arrow::array::{
    Array, ArrayRef, FixedSizeBinaryArray, Int32Array, StringArray, TimestampNanosecondArray,
    UInt32Array,
};
use arrow::datatypes::{
    DataType, Field, Int32Type, SchemaRef, TimestampNanosecondType, UInt32Type,
};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::columns::{BytesCol, IdCol, PrimCol};
use super::context_reader::{ContextReader, Step, column, id_vec, regroup};
use super::resource::{Context, context_methods};
use super::schema::{attributes_field, col, ids, timestamp_type, value_struct, with_context};
use super::time::{from_timestamp, to_timestamp};
use super::value::{AttrsReader, MapCol, ValueCols, ValueReader, ValueRef};
use crate::{Error, Signal};

/// A log record's own fields, as a [`LogsBuilder`] takes them; its attributes come
/// first through [`LogsBuilder::log_attribute`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogInfo<'a> {
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// `observed_time_unix_nano`.
    pub observed_time_unix_nano: u64,
    /// `severity_number`.
    pub severity_number: i32,
    /// `severity_text`.
    pub severity_text: &'a str,
    /// `body` ([`ValueRef::Absent`] when not set).
    pub body: ValueRef<'a>,
    /// `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// `flags`.
    pub flags: u32,
    /// 16 bytes, or empty.
    pub trace_id: &'a [u8],
    /// 8 bytes, or empty.
    pub span_id: &'a [u8],
    /// `event_name`.
    pub event_name: &'a str,
}

impl Default for LogInfo<'_> {
    fn default() -> Self {
        Self {
            time_unix_nano: 0,
            observed_time_unix_nano: 0,
            severity_number: 0,
            severity_text: "",
            body: ValueRef::Absent,
            dropped_attributes_count: 0,
            flags: 0,
            trace_id: &[],
            span_id: &[],
            event_name: "",
        }
    }
}

/// The flat logs schema (one row per log record).
pub(crate) fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let (trace_id, span_id) = ids();
            with_context(
                Signal::Logs,
                vec![
                    Field::new(col::TIME, timestamp_type(), true),
                    Field::new(col::OBSERVED_TIME, timestamp_type(), true),
                    Field::new(col::SEVERITY_NUMBER, DataType::Int32, false),
                    Field::new(col::SEVERITY_TEXT, DataType::Utf8, false),
                    value_struct(col::BODY, true),
                    attributes_field(col::ATTRIBUTES),
                    Field::new(col::DROPPED_ATTRIBUTES_COUNT, DataType::UInt32, false),
                    Field::new(col::FLAGS, DataType::UInt32, false),
                    trace_id,
                    span_id,
                    Field::new(col::EVENT_NAME, DataType::Utf8, false),
                ],
            )
        })
        .clone()
}

/// Builds flat log record rows; see [`TracesBuilder`](super::TracesBuilder) for the
/// calling pattern (resource, scope, then per record its attributes and
/// [`end_log`](Self::end_log)).
#[derive(Debug)]
pub struct LogsBuilder {
    ctx: Context,
    time: PrimCol<TimestampNanosecondType>,
    observed_time: PrimCol<TimestampNanosecondType>,
    severity_number: PrimCol<Int32Type>,
    severity_text: BytesCol,
    body: ValueCols,
    attributes: MapCol,
    dropped_attributes_count: PrimCol<UInt32Type>,
    flags: PrimCol<UInt32Type>,
    trace_id: IdCol<16>,
    span_id: IdCol<8>,
    event_name: BytesCol,
}

impl Default for LogsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LogsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            ctx: Context::default(),
            time: PrimCol::default(),
            observed_time: PrimCol::default(),
            severity_number: PrimCol::default(),
            severity_text: BytesCol::default(),
            body: ValueCols::new(false),
            attributes: MapCol::default(),
            dropped_attributes_count: PrimCol::default(),
            flags: PrimCol::default(),
            trace_id: IdCol::default(),
            span_id: IdCol::default(),
            event_name: BytesCol::default(),
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

    context_methods!("log record", "ResourceLogs");

    /// Adds an attribute to the log record being built.
    #[inline]
    pub fn log_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.attributes.push_entry(key, value, key_strindex)
    }

    /// Ends the log record: one row with the attributes appended since the previous one.
    /// An id of the wrong length, or a body nested too deep, is an error and drops it.
    pub fn end_log(&mut self, log: &LogInfo<'_>) -> Result<(), Error> {
        let checked = IdCol::<16>::check(log.trace_id, col::TRACE_ID)
            .and_then(|()| IdCol::<8>::check(log.span_id, col::SPAN_ID))
            .and_then(|()| match log.body {
                ValueRef::Absent => {
                    self.body.push_null();
                    Ok(())
                }
                body => self.body.push(body, 0),
            });
        if let Err(e) = checked {
            self.attributes.discard_open();
            // The body is the last thing checked: it was not appended.
            return Err(e);
        }
        self.ctx.item();
        self.time.push_opt(to_timestamp(log.time_unix_nano));
        self.observed_time
            .push_opt(to_timestamp(log.observed_time_unix_nano));
        self.severity_number.push(log.severity_number);
        self.severity_text.push(log.severity_text.as_bytes());
        self.attributes.close_row();
        self.dropped_attributes_count
            .push(log.dropped_attributes_count);
        self.flags.push(log.flags);
        self.trace_id.push_checked(log.trace_id);
        self.span_id.push_checked(log.span_id);
        self.event_name.push(log.event_name.as_bytes());
        Ok(())
    }

    /// Appends every log record of `request`. On error nothing of the request is kept.
    pub fn append_request(&mut self, request: &ExportLogsServiceRequest) -> Result<(), Error> {
        let rows = self.len();
        let result = self.append_all(request);
        if result.is_err() {
            self.truncate(rows);
        }
        result
    }

    fn append_all(&mut self, request: &ExportLogsServiceRequest) -> Result<(), Error> {
        for rl in &request.resource_logs {
            self.ctx
                .append_resource(rl.resource.as_ref(), &rl.schema_url)?;
            for sl in &rl.scope_logs {
                self.ctx.append_scope(sl.scope.as_ref(), &sl.schema_url)?;
                for r in &sl.log_records {
                    self.append_log(r)?;
                }
            }
        }
        Ok(())
    }

    fn append_log(&mut self, r: &LogRecord) -> Result<(), Error> {
        for kv in &r.attributes {
            if let Err(e) =
                self.log_attribute(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)
            {
                self.attributes.discard_open();
                return Err(e);
            }
        }
        self.end_log(&LogInfo {
            time_unix_nano: r.time_unix_nano,
            observed_time_unix_nano: r.observed_time_unix_nano,
            severity_number: r.severity_number,
            severity_text: &r.severity_text,
            body: ValueRef::of(r.body.as_ref()),
            dropped_attributes_count: r.dropped_attributes_count,
            flags: r.flags,
            trace_id: &r.trace_id,
            span_id: &r.span_id,
            event_name: &r.event_name,
        })
    }

    /// Drops the attributes appended for a log record that will not be ended.
    pub(super) fn discard_open_log(&mut self) {
        self.attributes.discard_open();
    }

    pub(super) fn truncate(&mut self, rows: usize) {
        self.attributes.discard_open();
        self.ctx.truncate_rows(rows);
        self.time.truncate(rows);
        self.observed_time.truncate(rows);
        self.severity_number.truncate(rows);
        self.severity_text.truncate(rows);
        self.body.truncate(rows);
        self.attributes.truncate(rows);
        self.dropped_attributes_count.truncate(rows);
        self.flags.truncate(rows);
        self.trace_id.truncate(rows);
        self.span_id.truncate(rows);
        self.event_name.truncate(rows);
    }

    /// The log records appended so far as a record batch; see
    /// [`TracesBuilder::finish`](super::TracesBuilder::finish).
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        let result = self.finish_columns();
        if result.is_err() {
            self.truncate(0);
            self.ctx.clear_rows();
        }
        result
    }

    fn finish_columns(&mut self) -> Result<RecordBatch, Error> {
        let ctx = self.ctx.finish()?;
        let mut columns: Vec<ArrayRef> = vec![
            self.time.finish_as(Some(&timestamp_type()))?,
            self.observed_time.finish_as(Some(&timestamp_type()))?,
        ];
        columns.extend(ctx.leading);
        columns.extend([
            self.severity_number.finish()?,
            self.severity_text.finish_utf8(col::SEVERITY_TEXT)?,
            std::sync::Arc::new(self.body.finish()?) as ArrayRef,
            self.attributes.finish(col::ATTRIBUTES)?,
            self.dropped_attributes_count.finish()?,
            self.flags.finish()?,
            self.trace_id.finish()?,
            self.span_id.finish()?,
            self.event_name.finish_utf8(col::EVENT_NAME)?,
        ]);
        columns.extend(ctx.trailing);
        Ok(RecordBatch::try_new(
            self.ctx.batch_schema(schema()),
            columns,
        )?)
    }
}

/// Reads a flat logs batch back into one request (see
/// [`decode_traces`](super::decode_traces) for how containers regroup).
pub fn decode_logs(batch: &RecordBatch) -> Result<ExportLogsServiceRequest, Error> {
    let ctx = ContextReader::new(batch)?;
    let time: &TimestampNanosecondArray = column(batch, col::TIME, "Timestamp(ns)")?;
    let observed: &TimestampNanosecondArray = column(batch, col::OBSERVED_TIME, "Timestamp(ns)")?;
    let severity_number: &Int32Array = column(batch, col::SEVERITY_NUMBER, "Int32")?;
    let severity_text: &StringArray = column(batch, col::SEVERITY_TEXT, "Utf8")?;
    let body = ValueReader::new(
        batch
            .column_by_name(col::BODY)
            .ok_or_else(|| Error::MissingColumn(col::BODY.into()))?
            .as_ref(),
        col::BODY,
    )?;
    let attributes = AttrsReader::new(
        batch
            .column_by_name(col::ATTRIBUTES)
            .ok_or_else(|| Error::MissingColumn(col::ATTRIBUTES.into()))?
            .as_ref(),
        col::ATTRIBUTES,
    )?;
    let dropped: &UInt32Array = column(batch, col::DROPPED_ATTRIBUTES_COUNT, "UInt32")?;
    let flags: &UInt32Array = column(batch, col::FLAGS, "UInt32")?;
    let trace_id: &FixedSizeBinaryArray = column(batch, col::TRACE_ID, "FixedSizeBinary(16)")?;
    let span_id: &FixedSizeBinaryArray = column(batch, col::SPAN_ID, "FixedSizeBinary(8)")?;
    let event_name: &StringArray = column(batch, col::EVENT_NAME, "Utf8")?;
    if trace_id.value_length() != 16 || span_id.value_length() != 8 {
        return Err(Error::ColumnType {
            column: format!("{}/{}", col::TRACE_ID, col::SPAN_ID),
            expected: "FixedSizeBinary(16) and FixedSizeBinary(8)",
            actual: format!("{} and {}", trace_id.data_type(), span_id.data_type()),
        });
    }

    let mut out = ExportLogsServiceRequest::default();
    regroup(&ctx, batch.num_rows(), |step| {
        let row = match step {
            Step::Resource(resource, schema_url) => {
                out.resource_logs.push(ResourceLogs {
                    resource,
                    scope_logs: Vec::new(),
                    schema_url,
                });
                return Ok(());
            }
            Step::Scope(scope, schema_url) => {
                if let Some(rl) = out.resource_logs.last_mut() {
                    rl.scope_logs.push(ScopeLogs {
                        scope,
                        log_records: Vec::new(),
                        schema_url,
                    });
                }
                return Ok(());
            }
            Step::Item(row) => row,
        };
        let record = LogRecord {
            time_unix_nano: from_timestamp(time, row),
            observed_time_unix_nano: from_timestamp(observed, row),
            severity_number: severity_number.value(row),
            severity_text: severity_text.value(row).to_owned(),
            body: if body.is_null(row) {
                None
            } else {
                // A present body with no field set is the empty value.
                Some(body.get(row)?.unwrap_or_default())
            },
            attributes: attributes.get(row)?,
            dropped_attributes_count: dropped.value(row),
            flags: flags.value(row),
            trace_id: id_vec(trace_id, row),
            span_id: id_vec(span_id, row),
            event_name: event_name.value(row).to_owned(),
        };
        if let Some(sl) = out
            .resource_logs
            .last_mut()
            .and_then(|rl| rl.scope_logs.last_mut())
        {
            sl.log_records.push(record);
        }
        Ok(())
    })?;
    Ok(out)
}
