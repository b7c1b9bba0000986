//! Logs: `logs` and `log_attrs`.

use arrow::array::StructArray;
use arrow::datatypes::SchemaRef;
use arrow::datatypes::{Int32Type, UInt32Type, UInt64Type};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use crate::columns::{DictMode, IdCol, ParentCol, PrimCol, StrCol, Table, envelope};
use crate::common::{
    AttrReader, AttrTable, COMMON_TABLES, CommonTables, Nested, ValueCols, ValueReader,
    decode_common,
};
use crate::read::{Groups, Ids, Prim, Strs, row_id, tables};
use crate::{Error, Signal};

const LOG_TABLES: [&str; 8] = [
    COMMON_TABLES[0],
    COMMON_TABLES[1],
    COMMON_TABLES[2],
    COMMON_TABLES[3],
    COMMON_TABLES[4],
    COMMON_TABLES[5],
    "logs",
    "log_attrs",
];

const BODY: [&str; 7] = [
    "body_type",
    "body_str",
    "body_int",
    "body_double",
    "body_bool",
    "body_bytes",
    "body_container",
];

/// Converts [`ExportLogsServiceRequest`]s to record batches of the normalized layout
/// (see [`TracesEncoder`](crate::TracesEncoder) for the dictionary behaviour).
pub struct LogsEncoder {
    mode: DictMode,
    /// The last batch's schema, reused while the columns' types stay the same.
    schema: Option<SchemaRef>,
    common: CommonTables,
    parent: ParentCol,
    time: PrimCol<UInt64Type>,
    observed: PrimCol<UInt64Type>,
    severity_number: PrimCol<Int32Type>,
    severity_text: StrCol,
    body: ValueCols,
    dropped: PrimCol<UInt32Type>,
    flags: PrimCol<UInt32Type>,
    trace_id: IdCol,
    span_id: IdCol,
    event_name: StrCol,
    attrs: AttrTable,
}

impl Default for LogsEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LogsEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsEncoder")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl LogsEncoder {
    /// An encoder whose batches each carry their own, narrowest dictionaries.
    pub fn new() -> Self {
        Self::with_mode(DictMode::Adaptive)
    }

    pub(crate) fn with_mode(mode: DictMode) -> Self {
        Self {
            mode,
            schema: None,
            common: CommonTables::new(),
            parent: ParentCol::new(),
            time: PrimCol::new("time_unix_nano", false),
            observed: PrimCol::new("observed_time_unix_nano", false),
            severity_number: PrimCol::new("severity_number", false),
            severity_text: StrCol::new("severity_text", false),
            body: ValueCols::new(BODY),
            dropped: PrimCol::new("dropped_attributes_count", false),
            flags: PrimCol::new("flags", false),
            trace_id: IdCol::new("trace_id", 16),
            span_id: IdCol::new("span_id", 8),
            event_name: StrCol::new("event_name", false),
            attrs: AttrTable::new(),
        }
    }

    /// Converts one request to one record batch (one envelope row).
    pub fn encode(&mut self, request: &ExportLogsServiceRequest) -> Result<RecordBatch, Error> {
        let result = self.push_request(request).and_then(|()| self.finish());
        if result.is_err() {
            self.discard_rows();
        }
        result
    }

    /// Forgets all dictionaries (the next batch starts a new IPC stream).
    pub fn reset(&mut self) {
        self.discard_rows();
        self.common.reset();
        self.severity_text.reset();
        self.event_name.reset();
        self.body.reset();
        self.attrs.reset();
    }

    fn push_request(&mut self, request: &ExportLogsServiceRequest) -> Result<(), Error> {
        let records: usize = request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum();
        self.parent.reserve(records);
        self.time.reserve(records);
        self.observed.reserve(records);
        self.severity_number.reserve(records);
        self.severity_text.reserve(records);
        self.body.reserve(records);
        self.dropped.reserve(records);
        self.flags.reserve(records);
        self.trace_id.reserve(records);
        self.span_id.reserve(records);
        self.event_name.reserve(records);

        let mut nested = Nested::default();
        let mut row = 0u32;
        for rl in &request.resource_logs {
            let resource =
                self.common
                    .push_resource(rl.resource.as_ref(), &rl.schema_url, &mut nested);
            for sl in &rl.scope_logs {
                let scope = self.common.push_scope(
                    resource,
                    sl.scope.as_ref(),
                    &sl.schema_url,
                    &mut nested,
                );
                for r in &sl.log_records {
                    self.parent.push(scope);
                    self.time.push(r.time_unix_nano);
                    self.observed.push(r.observed_time_unix_nano);
                    self.severity_number.push(r.severity_number);
                    self.severity_text.push(&r.severity_text);
                    self.body.push(r.body.as_ref(), &mut nested);
                    self.dropped.push(r.dropped_attributes_count);
                    self.flags.push(r.flags);
                    self.trace_id.push(&r.trace_id)?;
                    self.span_id.push(&r.span_id)?;
                    self.event_name.push(&r.event_name);
                    self.attrs.push(row, &r.attributes, &mut nested);
                    row += 1;
                }
            }
        }
        self.common.values.drain(&mut nested);
        Ok(())
    }

    fn discard_rows(&mut self) {
        self.common.discard_rows();
        self.parent.discard_rows();
        self.time.discard_rows();
        self.observed.discard_rows();
        self.severity_number.discard_rows();
        self.severity_text.discard_rows();
        self.body.discard_rows();
        self.dropped.discard_rows();
        self.flags.discard_rows();
        self.trace_id.discard_rows();
        self.span_id.discard_rows();
        self.event_name.discard_rows();
        self.attrs.discard_rows();
    }

    fn finish(&mut self) -> Result<RecordBatch, Error> {
        let mode = self.mode;
        let mut tables = self.common.finish(mode)?;
        let mut logs = Table::default();
        self.parent.finish(&mut logs);
        self.time.finish(&mut logs);
        self.observed.finish(&mut logs);
        self.severity_number.finish(&mut logs);
        self.severity_text.finish(mode, &mut logs)?;
        self.body.finish(mode, &mut logs)?;
        self.dropped.finish(&mut logs);
        self.flags.finish(&mut logs);
        self.trace_id.finish(&mut logs)?;
        self.span_id.finish(&mut logs)?;
        self.event_name.finish(mode, &mut logs)?;
        tables.push(("logs", logs));
        tables.push(("log_attrs", self.attrs.finish(mode)?));
        envelope(Signal::Logs, tables, &mut self.schema)
    }
}

/// Converts one request with a fresh [`LogsEncoder`].
pub fn logs_to_arrow(request: &ExportLogsServiceRequest) -> Result<RecordBatch, Error> {
    LogsEncoder::new().encode(request)
}

/// Converts a record batch of the logs layout back to one request.
pub fn arrow_to_logs(batch: &RecordBatch) -> Result<ExportLogsServiceRequest, Error> {
    crate::check_schema(Signal::Logs, batch.schema_ref())?;
    let mut resource_logs = Vec::new();
    for row in 0..batch.num_rows() {
        let tables = tables(batch, row, &LOG_TABLES)?;
        decode_row(&tables, &mut resource_logs)?;
    }
    Ok(ExportLogsServiceRequest { resource_logs })
}

fn decode_row(tables: &[StructArray], out: &mut Vec<ResourceLogs>) -> Result<(), Error> {
    let (common, rest) = tables.split_at(COMMON_TABLES.len().min(tables.len()));
    let [logs, log_attrs] = rest else {
        return Err(Error::InvalidData {
            table: "envelope",
            reason: "missing log tables".into(),
        });
    };
    let (resources, scopes, values) = decode_common(common)?;
    let t = "logs";
    let mut groups = Groups::new(logs, t)?;
    let time = Prim::<UInt64Type>::new(logs, t, "time_unix_nano")?;
    let observed = Prim::<UInt64Type>::new(logs, t, "observed_time_unix_nano")?;
    let severity_number = Prim::<Int32Type>::new(logs, t, "severity_number")?;
    let severity_text = Strs::new(logs, t, "severity_text")?;
    let body = ValueReader::new(logs, t, BODY)?;
    let dropped = Prim::<UInt32Type>::new(logs, t, "dropped_attributes_count")?;
    let flags = Prim::<UInt32Type>::new(logs, t, "flags")?;
    let trace_id = Ids::new(logs, t, "trace_id", 16)?;
    let span_id = Ids::new(logs, t, "span_id", 8)?;
    let event_name = Strs::new(logs, t, "event_name")?;
    let mut attrs = AttrReader::new(log_attrs, "log_attrs")?;

    let first = out.len();
    out.extend(resources.into_iter().map(|r| ResourceLogs {
        resource: r.resource,
        scope_logs: Vec::new(),
        schema_url: r.schema_url,
    }));
    for (scope_row, scope) in scopes.into_iter().enumerate() {
        let rows = groups.take(row_id(scope_row, "scopes")?);
        let mut log_records = Vec::with_capacity(rows.len());
        for i in rows {
            log_records.push(LogRecord {
                time_unix_nano: time.get(i),
                observed_time_unix_nano: observed.get(i),
                severity_number: severity_number.get(i),
                severity_text: severity_text.get(i)?,
                body: body.get(i, &values, None, 0)?,
                attributes: attrs.take(row_id(i, t)?, &values)?,
                dropped_attributes_count: dropped.get(i),
                flags: flags.get(i),
                trace_id: trace_id.get(i),
                span_id: span_id.get(i),
                event_name: event_name.get(i)?,
            });
        }
        let Some(rl) = out.get_mut(first + scope.resource as usize) else {
            return Err(Error::InvalidData {
                table: "scopes",
                reason: format!("scope {scope_row} references a missing resource"),
            });
        };
        rl.scope_logs.push(ScopeLogs {
            scope: scope.scope,
            log_records,
            schema_url: scope.schema_url,
        });
    }
    groups.finish()?;
    attrs.finish()?;
    Ok(())
}
