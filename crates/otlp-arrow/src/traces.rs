//! Traces: `spans`, `span_attrs`, `events`, `event_attrs`, `links`, `link_attrs`.

use arrow::array::{Array, StructArray};
use arrow::datatypes::SchemaRef;
use arrow::datatypes::{Int32Type, UInt32Type, UInt64Type};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

use crate::columns::{DictMode, IdCol, ParentCol, PrimCol, StrCol, Table, envelope};
use crate::common::{AttrReader, AttrTable, COMMON_TABLES, CommonTables, Nested, decode_common};
use crate::read::{Groups, Ids, Prim, Strs, row_id, tables};
use crate::{Error, Signal};

const TRACE_TABLES: [&str; 12] = [
    COMMON_TABLES[0],
    COMMON_TABLES[1],
    COMMON_TABLES[2],
    COMMON_TABLES[3],
    COMMON_TABLES[4],
    COMMON_TABLES[5],
    "spans",
    "span_attrs",
    "events",
    "event_attrs",
    "links",
    "link_attrs",
];

/// Converts [`ExportTraceServiceRequest`]s to record batches of the normalized layout.
///
/// Keep one encoder per stream: its builders keep their capacity between batches. A
/// standalone encoder ([`TracesEncoder::new`]) gives every batch its own dictionaries
/// with the narrowest key type; the encoder inside [`ArrowIpcWriter`](crate::ArrowIpcWriter)
/// keeps dictionaries across batches so the writer can send delta dictionaries.
pub struct TracesEncoder {
    mode: DictMode,
    /// The last batch's schema, reused while the columns' types stay the same.
    schema: Option<SchemaRef>,
    common: CommonTables,
    span_parent: ParentCol,
    trace_id: IdCol,
    span_id: IdCol,
    parent_span_id: ParentSpanIds,
    trace_state: StrCol,
    flags: PrimCol<UInt32Type>,
    name: StrCol,
    kind: PrimCol<Int32Type>,
    start: PrimCol<UInt64Type>,
    duration: PrimCol<UInt64Type>,
    dropped_attrs: PrimCol<UInt32Type>,
    dropped_events: PrimCol<UInt32Type>,
    dropped_links: PrimCol<UInt32Type>,
    status_code: PrimCol<Int32Type>,
    status_message: StrCol,
    span_attrs: AttrTable,
    event_parent: ParentCol,
    event_time: PrimCol<UInt64Type>,
    event_name: StrCol,
    event_dropped: PrimCol<UInt32Type>,
    event_attrs: AttrTable,
    link_parent: ParentCol,
    link_trace_id: IdCol,
    link_span_id: IdCol,
    link_trace_state: StrCol,
    link_flags: PrimCol<UInt32Type>,
    link_dropped: PrimCol<UInt32Type>,
    link_attrs: AttrTable,
}

impl Default for TracesEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TracesEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracesEncoder")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl TracesEncoder {
    /// An encoder whose batches each carry their own, narrowest dictionaries.
    pub fn new() -> Self {
        Self::with_mode(DictMode::Adaptive)
    }

    pub(crate) fn with_mode(mode: DictMode) -> Self {
        Self {
            mode,
            schema: None,
            common: CommonTables::new(),
            span_parent: ParentCol::new(),
            trace_id: IdCol::new("trace_id", 16),
            span_id: IdCol::new("span_id", 8),
            parent_span_id: ParentSpanIds::default(),
            trace_state: StrCol::new("trace_state", false),
            flags: PrimCol::new("flags", false),
            name: StrCol::new("name", false),
            kind: PrimCol::new("kind", false),
            start: PrimCol::new("start_time_unix_nano", false),
            duration: PrimCol::new("duration_nano", false),
            dropped_attrs: PrimCol::new("dropped_attributes_count", false),
            dropped_events: PrimCol::new("dropped_events_count", false),
            dropped_links: PrimCol::new("dropped_links_count", false),
            status_code: PrimCol::new("status_code", true),
            status_message: StrCol::new("status_message", true),
            span_attrs: AttrTable::new(),
            event_parent: ParentCol::new(),
            event_time: PrimCol::new("time_unix_nano", false),
            event_name: StrCol::new("name", false),
            event_dropped: PrimCol::new("dropped_attributes_count", false),
            event_attrs: AttrTable::new(),
            link_parent: ParentCol::new(),
            link_trace_id: IdCol::new("trace_id", 16),
            link_span_id: IdCol::new("span_id", 8),
            link_trace_state: StrCol::new("trace_state", false),
            link_flags: PrimCol::new("flags", false),
            link_dropped: PrimCol::new("dropped_attributes_count", false),
            link_attrs: AttrTable::new(),
        }
    }

    /// Converts one request to one record batch (one envelope row).
    ///
    /// Fails on a trace or span id of the wrong length (OTLP requires 16 and 8 bytes,
    /// or empty) and when a dictionary overflows (see [`Error::DictionaryOverflow`]).
    pub fn encode(&mut self, request: &ExportTraceServiceRequest) -> Result<RecordBatch, Error> {
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
        for s in [
            &mut self.trace_state,
            &mut self.name,
            &mut self.status_message,
            &mut self.event_name,
            &mut self.link_trace_state,
        ] {
            s.reset();
        }
        self.span_attrs.reset();
        self.event_attrs.reset();
        self.link_attrs.reset();
    }

    fn reserve(&mut self, request: &ExportTraceServiceRequest) {
        let (mut spans, mut attrs, mut events, mut links) = (0, 0, 0, 0);
        for rs in &request.resource_spans {
            for ss in &rs.scope_spans {
                spans += ss.spans.len();
                for s in &ss.spans {
                    attrs += s.attributes.len();
                    events += s.events.len();
                    links += s.links.len();
                }
            }
        }
        self.span_parent.reserve(spans);
        self.trace_id.reserve(spans);
        self.span_id.reserve(spans);
        self.parent_span_id.reserve(spans);
        self.trace_state.reserve(spans);
        self.flags.reserve(spans);
        self.name.reserve(spans);
        self.kind.reserve(spans);
        self.start.reserve(spans);
        self.duration.reserve(spans);
        self.dropped_attrs.reserve(spans);
        self.dropped_events.reserve(spans);
        self.dropped_links.reserve(spans);
        self.status_code.reserve(spans);
        self.status_message.reserve(spans);
        self.span_attrs.reserve(attrs);
        self.event_parent.reserve(events);
        self.event_time.reserve(events);
        self.event_name.reserve(events);
        self.event_dropped.reserve(events);
        self.link_parent.reserve(links);
        self.link_trace_id.reserve(links);
        self.link_span_id.reserve(links);
        self.link_trace_state.reserve(links);
        self.link_flags.reserve(links);
        self.link_dropped.reserve(links);
    }

    fn push_request(&mut self, request: &ExportTraceServiceRequest) -> Result<(), Error> {
        self.reserve(request);
        let mut nested = Nested::default();
        let (mut span_row, mut event_row, mut link_row) = (0u32, 0u32, 0u32);
        for rs in &request.resource_spans {
            let resource =
                self.common
                    .push_resource(rs.resource.as_ref(), &rs.schema_url, &mut nested);
            for ss in &rs.scope_spans {
                let scope = self.common.push_scope(
                    resource,
                    ss.scope.as_ref(),
                    &ss.schema_url,
                    &mut nested,
                );
                for s in &ss.spans {
                    self.push_span(scope, span_row, s, &mut nested)?;
                    for e in &s.events {
                        self.event_parent.push(span_row);
                        self.event_time.push(e.time_unix_nano);
                        self.event_name.push(&e.name);
                        self.event_dropped.push(e.dropped_attributes_count);
                        self.event_attrs.push(event_row, &e.attributes, &mut nested);
                        event_row += 1;
                    }
                    for l in &s.links {
                        self.link_parent.push(span_row);
                        self.link_trace_id.push(&l.trace_id)?;
                        self.link_span_id.push(&l.span_id)?;
                        self.link_trace_state.push(&l.trace_state);
                        self.link_flags.push(l.flags);
                        self.link_dropped.push(l.dropped_attributes_count);
                        self.link_attrs.push(link_row, &l.attributes, &mut nested);
                        link_row += 1;
                    }
                    span_row += 1;
                }
            }
        }
        self.common.values.drain(&mut nested);
        Ok(())
    }

    #[inline]
    fn push_span<'a>(
        &mut self,
        scope: u32,
        row: u32,
        s: &'a Span,
        nested: &mut Nested<'a>,
    ) -> Result<(), Error> {
        self.span_parent.push(scope);
        self.trace_id.push(&s.trace_id)?;
        self.span_id.push(&s.span_id)?;
        self.parent_span_id.push(&s.parent_span_id)?;
        self.trace_state.push(&s.trace_state);
        self.flags.push(s.flags);
        self.name.push(&s.name);
        self.kind.push(s.kind);
        self.start.push(s.start_time_unix_nano);
        // Durations are small and similar where end times are not; wrapping keeps any
        // pair of u64s exactly reversible.
        self.duration
            .push(s.end_time_unix_nano.wrapping_sub(s.start_time_unix_nano));
        self.dropped_attrs.push(s.dropped_attributes_count);
        self.dropped_events.push(s.dropped_events_count);
        self.dropped_links.push(s.dropped_links_count);
        match &s.status {
            Some(status) => {
                self.status_code.push(status.code);
                self.status_message.push(&status.message);
            }
            None => {
                self.status_code.push_opt(None);
                self.status_message.push_null();
            }
        }
        self.span_attrs.push(row, &s.attributes, nested);
        Ok(())
    }

    fn discard_rows(&mut self) {
        self.common.discard_rows();
        self.span_parent.discard_rows();
        self.trace_id.discard_rows();
        self.span_id.discard_rows();
        self.parent_span_id.discard_rows();
        self.trace_state.discard_rows();
        self.flags.discard_rows();
        self.name.discard_rows();
        self.kind.discard_rows();
        self.start.discard_rows();
        self.duration.discard_rows();
        self.dropped_attrs.discard_rows();
        self.dropped_events.discard_rows();
        self.dropped_links.discard_rows();
        self.status_code.discard_rows();
        self.status_message.discard_rows();
        self.span_attrs.discard_rows();
        self.event_parent.discard_rows();
        self.event_time.discard_rows();
        self.event_name.discard_rows();
        self.event_dropped.discard_rows();
        self.event_attrs.discard_rows();
        self.link_parent.discard_rows();
        self.link_trace_id.discard_rows();
        self.link_span_id.discard_rows();
        self.link_trace_state.discard_rows();
        self.link_flags.discard_rows();
        self.link_dropped.discard_rows();
        self.link_attrs.discard_rows();
    }

    fn finish(&mut self) -> Result<RecordBatch, Error> {
        let mode = self.mode;
        let mut tables = self.common.finish(mode)?;

        let mut spans = Table::default();
        self.span_parent.finish(&mut spans);
        // Parent references are resolved against span ids before those are handed over.
        let mut parents = Table::default();
        self.parent_span_id.finish(&self.span_id, &mut parents)?;
        self.trace_id.finish(&mut spans)?;
        self.span_id.finish(&mut spans)?;
        spans.append(parents);
        self.trace_state.finish(mode, &mut spans)?;
        self.flags.finish(&mut spans);
        self.name.finish(mode, &mut spans)?;
        self.kind.finish(&mut spans);
        self.start.finish(&mut spans);
        self.duration.finish(&mut spans);
        self.dropped_attrs.finish(&mut spans);
        self.dropped_events.finish(&mut spans);
        self.dropped_links.finish(&mut spans);
        self.status_code.finish(&mut spans);
        self.status_message.finish(mode, &mut spans)?;
        tables.push(("spans", spans));
        tables.push(("span_attrs", self.span_attrs.finish(mode)?));

        let mut events = Table::default();
        self.event_parent.finish(&mut events);
        self.event_time.finish(&mut events);
        self.event_name.finish(mode, &mut events)?;
        self.event_dropped.finish(&mut events);
        tables.push(("events", events));
        tables.push(("event_attrs", self.event_attrs.finish(mode)?));

        let mut links = Table::default();
        self.link_parent.finish(&mut links);
        self.link_trace_id.finish(&mut links)?;
        self.link_span_id.finish(&mut links)?;
        self.link_trace_state.finish(mode, &mut links)?;
        self.link_flags.finish(&mut links);
        self.link_dropped.finish(&mut links);
        tables.push(("links", links));
        tables.push(("link_attrs", self.link_attrs.finish(mode)?));

        envelope(Signal::Traces, tables, &mut self.schema)
    }
}

/// `parent_span_id` is usually the span id of another span of the same batch: then it
/// is stored as `parent_row_offset` (that span's row minus this row, a small number
/// that compresses well) instead of 8 random bytes.
#[derive(Default)]
struct ParentSpanIds {
    ids: Vec<Option<u64>>,
    rows: std::collections::HashMap<u64, u32, crate::columns::FxBuild>,
}

impl ParentSpanIds {
    fn reserve(&mut self, additional: usize) {
        self.ids.reserve(additional);
    }

    fn push(&mut self, id: &[u8]) -> Result<(), Error> {
        match <[u8; 8]>::try_from(id) {
            Ok(bytes) => self.ids.push(Some(u64::from_le_bytes(bytes))),
            Err(_) if id.is_empty() => self.ids.push(None),
            Err(_) => {
                return Err(Error::InvalidId {
                    field: "parent_span_id",
                    expected: 8,
                    actual: id.len(),
                });
            }
        }
        Ok(())
    }

    fn discard_rows(&mut self) {
        self.ids.clear();
    }

    fn finish(&mut self, span_ids: &IdCol, out: &mut Table) -> Result<(), Error> {
        self.rows.clear();
        for row in 0..span_ids.len() {
            if let Some(Ok(id)) = span_ids.get(row).map(<[u8; 8]>::try_from) {
                let row = row_id(row, "spans")?;
                self.rows.entry(u64::from_le_bytes(id)).or_insert(row);
            }
        }
        let mut explicit = IdCol::new("parent_span_id", 8);
        let mut offsets = PrimCol::<Int32Type>::new("parent_row_offset", true);
        explicit.reserve(self.ids.len());
        offsets.reserve(self.ids.len());
        for (row, id) in self.ids.drain(..).enumerate() {
            let offset = id
                .and_then(|id| self.rows.get(&id))
                .and_then(|&parent| i32::try_from(i64::from(parent) - row as i64).ok());
            match (id, offset) {
                (Some(_), Some(offset)) => {
                    explicit.push(&[])?;
                    offsets.push(offset);
                }
                (Some(id), None) => {
                    explicit.push(&id.to_le_bytes())?;
                    offsets.push_opt(None);
                }
                (None, _) => {
                    explicit.push(&[])?;
                    offsets.push_opt(None);
                }
            }
        }
        explicit.finish(out)?;
        offsets.finish(out);
        Ok(())
    }
}

/// Converts one request with a fresh [`TracesEncoder`].
pub fn traces_to_arrow(request: &ExportTraceServiceRequest) -> Result<RecordBatch, Error> {
    TracesEncoder::new().encode(request)
}

/// Converts a record batch of the traces layout back to one request (the resource
/// spans of every envelope row, in order).
pub fn arrow_to_traces(batch: &RecordBatch) -> Result<ExportTraceServiceRequest, Error> {
    crate::check_schema(Signal::Traces, batch.schema_ref())?;
    let mut resource_spans = Vec::new();
    for row in 0..batch.num_rows() {
        let tables = tables(batch, row, &TRACE_TABLES)?;
        decode_row(&tables, &mut resource_spans)?;
    }
    Ok(ExportTraceServiceRequest { resource_spans })
}

fn decode_row(tables: &[StructArray], out: &mut Vec<ResourceSpans>) -> Result<(), Error> {
    let (common, rest) = tables.split_at(COMMON_TABLES.len().min(tables.len()));
    let [spans, span_attrs, events, event_attrs, links, link_attrs] = rest else {
        return Err(Error::InvalidData {
            table: "envelope",
            reason: "missing trace tables".into(),
        });
    };
    let (resources, scopes, values) = decode_common(common)?;

    let t = "spans";
    let mut span_groups = Groups::new(spans, t)?;
    let trace_id = Ids::new(spans, t, "trace_id", 16)?;
    let span_id = Ids::new(spans, t, "span_id", 8)?;
    let parent_span_id = Ids::new(spans, t, "parent_span_id", 8)?;
    let parent_row_offset = Prim::<Int32Type>::new(spans, t, "parent_row_offset")?;
    let trace_state = Strs::new(spans, t, "trace_state")?;
    let flags = Prim::<UInt32Type>::new(spans, t, "flags")?;
    let name = Strs::new(spans, t, "name")?;
    let kind = Prim::<Int32Type>::new(spans, t, "kind")?;
    let start = Prim::<UInt64Type>::new(spans, t, "start_time_unix_nano")?;
    let duration = Prim::<UInt64Type>::new(spans, t, "duration_nano")?;
    let dropped_attrs = Prim::<UInt32Type>::new(spans, t, "dropped_attributes_count")?;
    let dropped_events = Prim::<UInt32Type>::new(spans, t, "dropped_events_count")?;
    let dropped_links = Prim::<UInt32Type>::new(spans, t, "dropped_links_count")?;
    let status_code = Prim::<Int32Type>::new(spans, t, "status_code")?;
    let status_message = Strs::new(spans, t, "status_message")?;
    let mut span_attr_reader = AttrReader::new(span_attrs, "span_attrs")?;

    let t = "events";
    let mut event_groups = Groups::new(events, t)?;
    let event_time = Prim::<UInt64Type>::new(events, t, "time_unix_nano")?;
    let event_name = Strs::new(events, t, "name")?;
    let event_dropped = Prim::<UInt32Type>::new(events, t, "dropped_attributes_count")?;
    let mut event_attr_reader = AttrReader::new(event_attrs, "event_attrs")?;

    let t = "links";
    let mut link_groups = Groups::new(links, t)?;
    let link_trace_id = Ids::new(links, t, "trace_id", 16)?;
    let link_span_id = Ids::new(links, t, "span_id", 8)?;
    let link_trace_state = Strs::new(links, t, "trace_state")?;
    let link_flags = Prim::<UInt32Type>::new(links, t, "flags")?;
    let link_dropped = Prim::<UInt32Type>::new(links, t, "dropped_attributes_count")?;
    let mut link_attr_reader = AttrReader::new(link_attrs, "link_attrs")?;

    let first = out.len();
    out.extend(resources.into_iter().map(|r| ResourceSpans {
        resource: r.resource,
        scope_spans: Vec::new(),
        schema_url: r.schema_url,
    }));
    for (scope_row, scope) in scopes.into_iter().enumerate() {
        let mut scope_spans = ScopeSpans {
            scope: scope.scope,
            spans: Vec::new(),
            schema_url: scope.schema_url,
        };
        let rows = span_groups.take(row_id(scope_row, "scopes")?);
        scope_spans.spans.reserve(rows.len());
        for i in rows {
            let id = row_id(i, "spans")?;
            let attributes = span_attr_reader.take(id, &values)?;
            let mut span_events = Vec::new();
            for e in event_groups.take(id) {
                span_events.push(span::Event {
                    time_unix_nano: event_time.get(e),
                    name: event_name.get(e)?,
                    attributes: event_attr_reader.take(row_id(e, "events")?, &values)?,
                    dropped_attributes_count: event_dropped.get(e),
                });
            }
            let mut span_links = Vec::new();
            for l in link_groups.take(id) {
                span_links.push(span::Link {
                    trace_id: link_trace_id.get(l),
                    span_id: link_span_id.get(l),
                    trace_state: link_trace_state.get(l)?,
                    attributes: link_attr_reader.take(row_id(l, "links")?, &values)?,
                    dropped_attributes_count: link_dropped.get(l),
                    flags: link_flags.get(l),
                });
            }
            let start_time = start.get(i);
            scope_spans.spans.push(Span {
                trace_id: trace_id.get(i),
                span_id: span_id.get(i),
                trace_state: trace_state.get(i)?,
                parent_span_id: match parent_row_offset.opt(i) {
                    None => parent_span_id.get(i),
                    Some(offset) => {
                        let parent = (i as i64 + i64::from(offset)) as usize;
                        let id = span_id.get(parent);
                        if parent >= spans.len() || id.is_empty() {
                            return Err(Error::InvalidData {
                                table: "spans",
                                reason: format!(
                                    "row {i}: parent_row_offset {offset} points at no span id"
                                ),
                            });
                        }
                        id
                    }
                },
                flags: flags.get(i),
                name: name.get(i)?,
                kind: kind.get(i),
                start_time_unix_nano: start_time,
                end_time_unix_nano: start_time.wrapping_add(duration.get(i)),
                attributes,
                dropped_attributes_count: dropped_attrs.get(i),
                events: span_events,
                dropped_events_count: dropped_events.get(i),
                links: span_links,
                dropped_links_count: dropped_links.get(i),
                status: status_code
                    .opt(i)
                    .map(|code| {
                        Ok::<_, Error>(Status {
                            message: status_message.get(i)?,
                            code,
                        })
                    })
                    .transpose()?,
            });
        }
        let target = first + scope.resource as usize;
        let Some(rs) = out.get_mut(target) else {
            return Err(Error::InvalidData {
                table: "scopes",
                reason: format!("scope {scope_row} references a missing resource"),
            });
        };
        rs.scope_spans.push(scope_spans);
    }
    span_groups.finish()?;
    event_groups.finish()?;
    link_groups.finish()?;
    span_attr_reader.finish()?;
    event_attr_reader.finish()?;
    link_attr_reader.finish()?;
    Ok(())
}
