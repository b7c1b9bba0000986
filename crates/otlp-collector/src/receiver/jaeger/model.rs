//! Jaeger's span model as it arrives: Thrift `jaeger.Batch` (from agents' UDP `emitBatch` and the collector's
//! `/api/traces`) and protobuf `jaeger.api_v2.Batch` (gRPC `PostSpans`), both read into one [`Batch`].

use super::thrift::{Protocol, ThriftError, Type};

/// A batch of one process's spans.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Batch {
    pub(super) process: Option<Process>,
    pub(super) spans: Vec<Span>,
}

/// The service that recorded the spans.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Process {
    pub(super) service_name: String,
    pub(super) tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tag {
    pub(super) key: String,
    pub(super) value: TagValue,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TagValue {
    Str(String),
    Double(f64),
    Bool(bool),
    Long(i64),
    Binary(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefKind {
    ChildOf,
    FollowsFrom,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reference {
    pub(super) kind: RefKind,
    pub(super) trace_id: [u8; 16],
    pub(super) span_id: [u8; 8],
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Log {
    pub(super) time_unix_nano: u64,
    pub(super) fields: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Span {
    pub(super) trace_id: [u8; 16],
    pub(super) span_id: [u8; 8],
    /// Thrift's own field; protobuf spans name their parent in `references` only.
    pub(super) parent_span_id: Option<[u8; 8]>,
    pub(super) operation_name: String,
    pub(super) references: Vec<Reference>,
    pub(super) flags: u32,
    pub(super) start_unix_nano: u64,
    pub(super) duration_nano: u64,
    pub(super) tags: Vec<Tag>,
    pub(super) logs: Vec<Log>,
    /// A span's own process, which protobuf batches may give instead of the batch's.
    pub(super) process: Option<Process>,
}

fn ids(high: i64, low: i64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&high.to_be_bytes());
    id[8..].copy_from_slice(&low.to_be_bytes());
    id
}

fn micros(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0).saturating_mul(1000)
}

/// `jaeger.Batch` in Thrift, as the agent's `emitBatch` arguments (`message` true) or bare (`/api/traces`).
pub(super) fn from_thrift(
    protocol: &mut impl Protocol,
    message: bool,
) -> Result<Batch, ThriftError> {
    if !message {
        return thrift_batch(protocol);
    }
    let method = protocol.message_begin()?;
    if method != "emitBatch" {
        return Err(ThriftError::Malformed(format!(
            "`{method}` is not the agent's emitBatch"
        )));
    }
    let mut batch = None;
    thrift_struct(protocol, |protocol, field| {
        if field.id == 1 && field.kind == Type::Struct {
            batch = Some(thrift_batch(protocol)?);
            return Ok(true);
        }
        Ok(false)
    })?;
    batch.ok_or_else(|| ThriftError::Malformed("emitBatch without a batch".into()))
}

/// Reads a struct, handing each field to `read`, which reads it and says so, or leaves it to be skipped.
fn thrift_struct<P: Protocol>(
    protocol: &mut P,
    mut read: impl FnMut(&mut P, &super::thrift::Field) -> Result<bool, ThriftError>,
) -> Result<(), ThriftError> {
    protocol.struct_begin()?;
    while let Some(field) = protocol.field()? {
        if !read(protocol, &field)? {
            protocol.skip(field.kind, Some(&field), 0)?;
        }
    }
    protocol.struct_end();
    Ok(())
}

fn thrift_list<P: Protocol, T>(
    protocol: &mut P,
    mut read: impl FnMut(&mut P) -> Result<T, ThriftError>,
) -> Result<Vec<T>, ThriftError> {
    let (kind, count) = protocol.list()?;
    if kind != Type::Struct {
        for _ in 0..count {
            protocol.skip(kind, None, 0)?;
        }
        return Ok(Vec::new());
    }
    (0..count).map(|_| read(protocol)).collect()
}

fn thrift_batch(protocol: &mut impl Protocol) -> Result<Batch, ThriftError> {
    let mut batch = Batch::default();
    thrift_struct(protocol, |protocol, field| {
        match (field.id, field.kind) {
            (1, Type::Struct) => batch.process = Some(thrift_process(protocol)?),
            (2, Type::List) => batch.spans = thrift_list(protocol, thrift_span)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(batch)
}

fn thrift_process(protocol: &mut impl Protocol) -> Result<Process, ThriftError> {
    let mut process = Process::default();
    thrift_struct(protocol, |protocol, field| {
        match (field.id, field.kind) {
            (1, Type::Binary) => process.service_name = protocol.string()?,
            (2, Type::List) => process.tags = thrift_list(protocol, thrift_tag)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(process)
}

fn thrift_tag(protocol: &mut impl Protocol) -> Result<Tag, ThriftError> {
    let mut key = String::new();
    let mut kind = 0;
    let (mut text, mut double, mut boolean, mut long, mut binary) = (None, None, None, None, None);
    thrift_struct(protocol, |protocol, field| {
        match (field.id, field.kind) {
            (1, Type::Binary) => key = protocol.string()?,
            (2, Type::I32) => kind = protocol.i32()?,
            (3, Type::Binary) => text = Some(protocol.string()?),
            (4, Type::Double) => double = Some(protocol.double()?),
            (5, Type::Bool) => boolean = Some(protocol.bool(Some(field))?),
            (6, Type::I64) => long = Some(protocol.i64()?),
            (7, Type::Binary) => binary = Some(protocol.binary()?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    // The type says which value counts; a missing one is that type's zero, as Jaeger reads it.
    let value = match kind {
        1 => TagValue::Double(double.unwrap_or(0.0)),
        2 => TagValue::Bool(boolean.unwrap_or(false)),
        3 => TagValue::Long(long.unwrap_or(0)),
        4 => TagValue::Binary(binary.unwrap_or_default()),
        _ => TagValue::Str(text.unwrap_or_default()),
    };
    Ok(Tag { key, value })
}

fn thrift_span(protocol: &mut impl Protocol) -> Result<Span, ThriftError> {
    let mut span = Span::default();
    let (mut trace_low, mut trace_high) = (0i64, 0i64);
    thrift_struct(protocol, |protocol, field| {
        match (field.id, field.kind) {
            (1, Type::I64) => trace_low = protocol.i64()?,
            (2, Type::I64) => trace_high = protocol.i64()?,
            (3, Type::I64) => span.span_id = protocol.i64()?.to_be_bytes(),
            (4, Type::I64) => {
                let parent = protocol.i64()?;
                span.parent_span_id = (parent != 0).then(|| parent.to_be_bytes());
            }
            (5, Type::Binary) => span.operation_name = protocol.string()?,
            (6, Type::List) => span.references = thrift_list(protocol, thrift_reference)?,
            (7, Type::I32) => span.flags = protocol.i32()? as u32,
            (8, Type::I64) => span.start_unix_nano = micros(protocol.i64()?),
            (9, Type::I64) => span.duration_nano = micros(protocol.i64()?),
            (10, Type::List) => span.tags = thrift_list(protocol, thrift_tag)?,
            (11, Type::List) => span.logs = thrift_list(protocol, thrift_log)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    span.trace_id = ids(trace_high, trace_low);
    Ok(span)
}

fn thrift_reference(protocol: &mut impl Protocol) -> Result<Reference, ThriftError> {
    let (mut kind, mut low, mut high, mut span) = (0, 0i64, 0i64, 0i64);
    thrift_struct(protocol, |protocol, field| {
        match (field.id, field.kind) {
            (1, Type::I32) => kind = protocol.i32()?,
            (2, Type::I64) => low = protocol.i64()?,
            (3, Type::I64) => high = protocol.i64()?,
            (4, Type::I64) => span = protocol.i64()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Reference {
        kind: if kind == 1 {
            RefKind::FollowsFrom
        } else {
            RefKind::ChildOf
        },
        trace_id: ids(high, low),
        span_id: span.to_be_bytes(),
    })
}

fn thrift_log(protocol: &mut impl Protocol) -> Result<Log, ThriftError> {
    let mut log = Log {
        time_unix_nano: 0,
        fields: Vec::new(),
    };
    thrift_struct(protocol, |protocol, field| {
        match (field.id, field.kind) {
            (1, Type::I64) => log.time_unix_nano = micros(protocol.i64()?),
            (2, Type::List) => log.fields = thrift_list(protocol, thrift_tag)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(log)
}

/// `jaeger.api_v2`'s messages (`model.proto`, `collector.proto`), with those files' field numbers.
pub(super) mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct PostSpansRequest {
        #[prost(message, optional, tag = "1")]
        pub(crate) batch: Option<Batch>,
    }

    #[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
    pub(crate) struct PostSpansResponse {}

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Batch {
        #[prost(message, repeated, tag = "1")]
        pub(crate) spans: Vec<Span>,
        #[prost(message, optional, tag = "2")]
        pub(crate) process: Option<Process>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Process {
        #[prost(string, tag = "1")]
        pub(crate) service_name: String,
        #[prost(message, repeated, tag = "2")]
        pub(crate) tags: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct KeyValue {
        #[prost(string, tag = "1")]
        pub(crate) key: String,
        #[prost(int32, tag = "2")]
        pub(crate) v_type: i32,
        #[prost(string, tag = "3")]
        pub(crate) v_str: String,
        #[prost(bool, tag = "4")]
        pub(crate) v_bool: bool,
        #[prost(int64, tag = "5")]
        pub(crate) v_int64: i64,
        #[prost(double, tag = "6")]
        pub(crate) v_float64: f64,
        #[prost(bytes = "vec", tag = "7")]
        pub(crate) v_binary: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct SpanRef {
        #[prost(bytes = "vec", tag = "1")]
        pub(crate) trace_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub(crate) span_id: Vec<u8>,
        #[prost(int32, tag = "3")]
        pub(crate) ref_type: i32,
    }

    #[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
    pub(crate) struct Timestamp {
        #[prost(int64, tag = "1")]
        pub(crate) seconds: i64,
        #[prost(int32, tag = "2")]
        pub(crate) nanos: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Log {
        #[prost(message, optional, tag = "1")]
        pub(crate) timestamp: Option<Timestamp>,
        #[prost(message, repeated, tag = "2")]
        pub(crate) fields: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Span {
        #[prost(bytes = "vec", tag = "1")]
        pub(crate) trace_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub(crate) span_id: Vec<u8>,
        #[prost(string, tag = "3")]
        pub(crate) operation_name: String,
        #[prost(message, repeated, tag = "4")]
        pub(crate) references: Vec<SpanRef>,
        #[prost(uint32, tag = "5")]
        pub(crate) flags: u32,
        #[prost(message, optional, tag = "6")]
        pub(crate) start_time: Option<Timestamp>,
        /// `google.protobuf.Duration`: the same two fields as a timestamp.
        #[prost(message, optional, tag = "7")]
        pub(crate) duration: Option<Timestamp>,
        #[prost(message, repeated, tag = "8")]
        pub(crate) tags: Vec<KeyValue>,
        #[prost(message, repeated, tag = "9")]
        pub(crate) logs: Vec<Log>,
        #[prost(message, optional, tag = "10")]
        pub(crate) process: Option<Process>,
    }
}

/// Why a protobuf batch cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("span {index}: {problem}")]
pub struct BadSpan {
    /// Its place in the batch, from 0.
    pub index: usize,
    /// What is wrong.
    pub problem: String,
}

fn nanos(time: Option<proto::Timestamp>) -> u64 {
    time.map_or(0, |t| {
        u64::try_from(t.seconds)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(t.nanos).unwrap_or(0))
    })
}

fn proto_tag(kv: proto::KeyValue) -> Tag {
    let value = match kv.v_type {
        1 => TagValue::Bool(kv.v_bool),
        2 => TagValue::Long(kv.v_int64),
        3 => TagValue::Double(kv.v_float64),
        4 => TagValue::Binary(kv.v_binary),
        _ => TagValue::Str(kv.v_str),
    };
    Tag { key: kv.key, value }
}

fn proto_process(process: proto::Process) -> Process {
    Process {
        service_name: process.service_name,
        tags: process.tags.into_iter().map(proto_tag).collect(),
    }
}

/// A protobuf batch; ids must be 16 (trace) and 8 (span) bytes, as Jaeger's marshalling writes them.
pub(super) fn from_proto(batch: proto::Batch) -> Result<Batch, BadSpan> {
    let spans = batch
        .spans
        .into_iter()
        .enumerate()
        .map(|(index, span)| {
            let bad = |problem: String| BadSpan { index, problem };
            let trace_id: [u8; 16] = span.trace_id.as_slice().try_into().map_err(|_| {
                bad(format!(
                    "trace_id has {} bytes, not 16",
                    span.trace_id.len()
                ))
            })?;
            let span_id: [u8; 8] = span
                .span_id
                .as_slice()
                .try_into()
                .map_err(|_| bad(format!("span_id has {} bytes, not 8", span.span_id.len())))?;
            let references = span
                .references
                .into_iter()
                .filter_map(|r| {
                    Some(Reference {
                        kind: if r.ref_type == 1 {
                            RefKind::FollowsFrom
                        } else {
                            RefKind::ChildOf
                        },
                        trace_id: r.trace_id.as_slice().try_into().ok()?,
                        span_id: r.span_id.as_slice().try_into().ok()?,
                    })
                })
                .collect();
            Ok(Span {
                trace_id,
                span_id,
                parent_span_id: None,
                operation_name: span.operation_name,
                references,
                flags: span.flags,
                start_unix_nano: nanos(span.start_time),
                duration_nano: nanos(span.duration),
                tags: span.tags.into_iter().map(proto_tag).collect(),
                logs: span
                    .logs
                    .into_iter()
                    .map(|log| Log {
                        time_unix_nano: nanos(log.timestamp),
                        fields: log.fields.into_iter().map(proto_tag).collect(),
                    })
                    .collect(),
                process: span.process.map(proto_process),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Batch {
        process: batch.process.map(proto_process),
        spans,
    })
}
