//! OTLP protobuf bytes straight into the flat builders, read in place: no prost tree, no owned strings. A nested
//! array or key-value list value is written from its bytes as the OTLP/JSON of its column; prost decodes only
//! what repeats a field, whose merging is prost's to resolve.
//!
//! The bytes are expected to be an `Export*ServiceRequest` that [`otlp_model::wire::scan`] accepted (the
//! collector scans every request as it arrives); anything malformed is still refused with an error, and the
//! builder keeps nothing of that request. The result equals [`TracesBuilder::append_request`] on the decoded
//! request, field for field, including protobuf's rules for fields sent twice (the last scalar wins, messages
//! merge); the tests compare the two.

use std::cell::RefCell;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use otlp_model::wire::{
    Fields, RECURSION_LIMIT, Value, for_each_field, key_then_value, single_field,
};
use prost::Message;

use super::json;
use super::logs::LogsBuilder;
use super::traces::TracesBuilder;
use super::value::{NestedJson, ValueRef};
use super::{EventInfo, LinkInfo, LogInfo, ResourceInfo, ScopeInfo, SpanInfo};
use crate::Error;

fn malformed(what: impl std::fmt::Display) -> Error {
    Error::Malformed(format!("encoded request: {what}"))
}

/// The fields of a message; a wire error becomes [`Error::Malformed`].
fn fields(bytes: &[u8]) -> impl Iterator<Item = Result<(u32, Value<'_>), Error>> {
    Fields::new(bytes, RECURSION_LIMIT).map(|field| field.map_err(malformed))
}

fn text(value: Value<'_>) -> Result<&str, Error> {
    value.str().map_err(malformed)
}

thread_local! {
    /// Where a nested value's OTLP/JSON is written before a builder copies it: one buffer per thread, not one
    /// per value.
    static NESTED_JSON: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A buffer grown past this by one large value is let go after it, rather than held by its thread for good.
const NESTED_JSON_KEPT: usize = 64 * 1024;

/// Hands `use_value` the value of the `AnyValue` message in `bytes`, read in place.
///
/// The value is built where `use_value` takes it. Returned through a `Result` and matched again, it was copied
/// whole over the narrower stores that had just written it, and each such load waited for those stores to
/// complete: 24% of the walk's samples in perf annotate of the `flat_batch_from_encoded` bench.
#[inline(always)]
fn with_any_value<R>(
    bytes: &[u8],
    use_value: impl FnOnce(ValueRef<'_>) -> Result<R, Error>,
) -> Result<R, Error> {
    // One field, the shape of nearly every value, read without the loop.
    match single_field(bytes) {
        Some((number, raw)) => with_field_value(number, raw, bytes, use_value),
        None => with_any_value_fields(bytes, use_value),
    }
}

#[inline(never)]
fn with_any_value_fields<R>(
    bytes: &[u8],
    use_value: impl FnOnce(ValueRef<'_>) -> Result<R, Error>,
) -> Result<R, Error> {
    // The last field that sets the value wins, as in prost; every string on the way is checked, as prost does.
    let mut last = None;
    for field in fields(bytes) {
        let (number, raw) = field?;
        match number {
            1 => {
                text(raw)?;
                last = Some((number, raw));
            }
            2 | 3 | 4 | 7 | 8 => last = Some((number, raw)),
            5 | 6 => return with_nested_value(bytes, use_value),
            _ => {}
        }
    }
    match last {
        Some((number, raw)) => with_field_value(number, raw, bytes, use_value),
        None => use_value(ValueRef::Empty),
    }
}

/// Hands `use_value` the value that field `number` of the `AnyValue` in `bytes` sets.
#[inline(always)]
fn with_field_value<R>(
    number: u32,
    raw: Value<'_>,
    bytes: &[u8],
    use_value: impl FnOnce(ValueRef<'_>) -> Result<R, Error>,
) -> Result<R, Error> {
    let value = match number {
        1 => ValueRef::Str(text(raw)?),
        2 => ValueRef::Bool(raw.number() != 0),
        3 => ValueRef::Int(raw.number() as i64),
        4 => ValueRef::Double(f64::from_bits(raw.number())),
        7 => ValueRef::Bytes(raw.bytes()),
        8 => ValueRef::StrIndex(raw.number() as i32),
        5 | 6 => return with_nested_value(bytes, use_value),
        _ => ValueRef::Empty,
    };
    use_value(value)
}

/// Hands `use_value` the array or key-value list value of the `AnyValue` in `bytes`: as the OTLP/JSON written
/// from its bytes where their shape allows ([`json::write_encoded`]), else as prost decodes it (which also
/// resolves fields sent twice).
fn with_nested_value<R>(
    bytes: &[u8],
    use_value: impl FnOnce(ValueRef<'_>) -> Result<R, Error>,
) -> Result<R, Error> {
    NESTED_JSON.with_borrow_mut(|text| {
        text.clear();
        let result = if json::write_encoded(text, bytes) {
            use_value(ValueRef::Json(NestedJson::new(text)))
        } else {
            AnyValue::decode(bytes)
                .map_err(malformed)
                .and_then(|value| use_value(ValueRef::of(Some(&value))))
        };
        if text.capacity() > NESTED_JSON_KEPT {
            *text = String::new();
        }
        result
    })
}

/// A `KeyValue`: its key, value and `key_strindex`, handed to `push`. Inlined into the loops over attributes,
/// as the value's [`with_any_value`] is into it.
#[inline(always)]
fn key_value(
    bytes: &[u8],
    mut push: impl FnMut(&str, ValueRef<'_>, i32) -> Result<(), Error>,
) -> Result<(), Error> {
    // Nearly every attribute is a key and then a value, each under 128 bytes, which this reads by its shape.
    if let Some((key, value)) = key_then_value(bytes) {
        let key = text(Value::Len(key))?;
        return with_any_value(value, |value| push(key, value, 0));
    }
    key_value_fields(bytes, push)
}

#[inline(never)]
fn key_value_fields(
    bytes: &[u8],
    mut push: impl FnMut(&str, ValueRef<'_>, i32) -> Result<(), Error>,
) -> Result<(), Error> {
    let (mut key, mut value, mut strindex, mut values) = ("", None, 0i32, 0usize);
    for_each_field(bytes, RECURSION_LIMIT, |field| {
        match field.map_err(malformed)? {
            (1, raw) => key = text(raw)?,
            (2, raw) => {
                value = Some(raw.bytes());
                values += 1;
            }
            (3, raw) => strindex = raw.number() as i32,
            _ => {}
        }
        Ok::<(), Error>(())
    })?;
    if values > 1 {
        // A value sent twice merges field by field: leave that to the decoder.
        let owned = KeyValue::decode(bytes).map_err(malformed)?;
        return push(
            &owned.key,
            ValueRef::of(owned.value.as_ref()),
            owned.key_strindex,
        );
    }
    match value {
        None => push(key, ValueRef::Absent, strindex),
        Some(bytes) => with_any_value(bytes, |value| push(key, value, strindex)),
    }
}

/// The resource and scope calls every flat builder has.
trait Contexts {
    fn begin_resource(&mut self);
    fn resource_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        strindex: i32,
    ) -> Result<(), Error>;
    fn resource_entity_ref<'k>(
        &mut self,
        schema_url: &str,
        entity_type: &str,
        id_keys: impl IntoIterator<Item = &'k str>,
        description_keys: impl IntoIterator<Item = &'k str>,
    );
    fn end_resource(&mut self, info: ResourceInfo<'_>);
    fn begin_scope(&mut self);
    fn scope_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        strindex: i32,
    ) -> Result<(), Error>;
    fn end_scope(&mut self, info: ScopeInfo<'_>);
}

macro_rules! contexts {
    ($builder:ty) => {
        impl Contexts for $builder {
            fn begin_resource(&mut self) {
                <$builder>::begin_resource(self);
            }
            fn resource_attribute(
                &mut self,
                key: &str,
                value: ValueRef<'_>,
                strindex: i32,
            ) -> Result<(), Error> {
                <$builder>::resource_attribute(self, key, value, strindex)
            }
            fn resource_entity_ref<'k>(
                &mut self,
                schema_url: &str,
                entity_type: &str,
                id_keys: impl IntoIterator<Item = &'k str>,
                description_keys: impl IntoIterator<Item = &'k str>,
            ) {
                <$builder>::resource_entity_ref(
                    self,
                    schema_url,
                    entity_type,
                    id_keys,
                    description_keys,
                );
            }
            fn end_resource(&mut self, info: ResourceInfo<'_>) {
                <$builder>::end_resource(self, info);
            }
            fn begin_scope(&mut self) {
                <$builder>::begin_scope(self);
            }
            fn scope_attribute(
                &mut self,
                key: &str,
                value: ValueRef<'_>,
                strindex: i32,
            ) -> Result<(), Error> {
                <$builder>::scope_attribute(self, key, value, strindex)
            }
            fn end_scope(&mut self, info: ScopeInfo<'_>) {
                <$builder>::end_scope(self, info);
            }
        }
    };
}

contexts!(TracesBuilder);
contexts!(LogsBuilder);

/// Strings of a repeated string field of an `EntityRef`.
fn strings(bytes: &[u8], number: u32) -> impl Iterator<Item = &str> {
    fields(bytes).filter_map(move |field| match field {
        Ok((n, raw)) if n == number => raw.str().ok(),
        _ => None,
    })
}

/// Describes the resource of a container (every occurrence of field 1, merged in order). The schema URL is read
/// in the same pass: protobuf puts it after the items, so the container's fields are walked here and once more for
/// its items, not a third time to find it first.
fn resource(builder: &mut impl Contexts, container_bytes: &[u8]) -> Result<(), Error> {
    builder.begin_resource();
    let (mut present, mut schema_url, mut dropped) = (false, "", 0u32);
    for field in fields(container_bytes) {
        match field? {
            (1, raw) => {
                present = true;
                for field in fields(raw.bytes()) {
                    match field? {
                        (1, kv) => {
                            key_value(kv.bytes(), |k, v, i| builder.resource_attribute(k, v, i))?;
                        }
                        (2, raw) => dropped = raw.number() as u32,
                        (3, entity) => {
                            let (mut schema, mut kind) = ("", "");
                            for field in fields(entity.bytes()) {
                                match field? {
                                    (1, raw) => schema = text(raw)?,
                                    (2, raw) => kind = text(raw)?,
                                    _ => {}
                                }
                            }
                            let bytes = entity.bytes();
                            builder.resource_entity_ref(
                                schema,
                                kind,
                                strings(bytes, 3),
                                strings(bytes, 4),
                            );
                        }
                        _ => {}
                    }
                }
            }
            (3, raw) => schema_url = text(raw)?,
            _ => {}
        }
    }
    builder.end_resource(ResourceInfo {
        present,
        dropped_attributes_count: dropped,
        schema_url,
    });
    Ok(())
}

/// Describes the scope of a container, its schema URL read in the same pass (as for [`resource`]).
fn scope(builder: &mut impl Contexts, container_bytes: &[u8]) -> Result<(), Error> {
    builder.begin_scope();
    let (mut present, mut schema_url) = (false, "");
    let (mut name, mut version, mut dropped) = ("", "", 0u32);
    for field in fields(container_bytes) {
        match field? {
            (1, raw) => {
                present = true;
                for field in fields(raw.bytes()) {
                    match field? {
                        (1, raw) => name = text(raw)?,
                        (2, raw) => version = text(raw)?,
                        (3, kv) => {
                            key_value(kv.bytes(), |k, v, i| builder.scope_attribute(k, v, i))?;
                        }
                        (4, raw) => dropped = raw.number() as u32,
                        _ => {}
                    }
                }
            }
            (3, raw) => schema_url = text(raw)?,
            _ => {}
        }
    }
    builder.end_scope(ScopeInfo {
        present,
        name,
        version,
        dropped_attributes_count: dropped,
        schema_url,
    });
    Ok(())
}

/// Walks request → resources → scopes and hands each item's bytes to `item`.
fn walk<B: Contexts>(
    builder: &mut B,
    bytes: &[u8],
    mut item: impl FnMut(&mut B, &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    for field in fields(bytes) {
        let (1, resource_container) = field? else {
            continue;
        };
        let resource_container = resource_container.bytes();
        resource(builder, resource_container)?;
        for field in fields(resource_container) {
            let (2, scope_container) = field? else {
                continue;
            };
            let scope_container = scope_container.bytes();
            scope(builder, scope_container)?;
            for field in fields(scope_container) {
                let (2, raw) = field? else { continue };
                item(builder, raw.bytes())?;
            }
        }
    }
    Ok(())
}

impl TracesBuilder {
    /// Appends every span of an encoded `ExportTraceServiceRequest`, read in place. On error nothing of the
    /// request is kept.
    pub fn append_encoded(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let rows = self.len();
        let result = walk(self, bytes, |builder, span| {
            builder.append_encoded_span(span)
        });
        if result.is_err() {
            self.truncate(rows);
        }
        result
    }

    fn append_encoded_span(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let result = self.span_parts(bytes);
        match result {
            Ok(info) => self.end_span(&info),
            Err(e) => {
                self.discard_open_span();
                Err(e)
            }
        }
    }

    /// Appends a span's attributes, events and links, and returns its own fields.
    fn span_parts<'a>(&mut self, bytes: &'a [u8]) -> Result<SpanInfo<'a>, Error> {
        let mut span = SpanInfo::default();
        for field in fields(bytes) {
            let (number, raw) = field?;
            match number {
                1 => span.trace_id = raw.bytes(),
                2 => span.span_id = raw.bytes(),
                3 => span.trace_state = text(raw)?,
                4 => span.parent_span_id = raw.bytes(),
                5 => span.name = text(raw)?,
                6 => span.kind = raw.number() as i32,
                7 => span.start_time_unix_nano = raw.number(),
                8 => span.end_time_unix_nano = raw.number(),
                9 => key_value(raw.bytes(), |k, v, i| self.span_attribute(k, v, i))?,
                10 => span.dropped_attributes_count = raw.number() as u32,
                11 => self.encoded_event(raw.bytes())?,
                12 => span.dropped_events_count = raw.number() as u32,
                13 => self.encoded_link(raw.bytes())?,
                14 => span.dropped_links_count = raw.number() as u32,
                15 => {
                    // A status sent twice merges: each occurrence's fields apply in order.
                    let (mut code, mut message) = span.status.unwrap_or((0, ""));
                    for field in fields(raw.bytes()) {
                        match field? {
                            (2, raw) => message = text(raw)?,
                            (3, raw) => code = raw.number() as i32,
                            _ => {}
                        }
                    }
                    span.status = Some((code, message));
                }
                16 => span.flags = raw.number() as u32,
                _ => {}
            }
        }
        Ok(span)
    }

    fn encoded_event(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut event = EventInfo::default();
        for field in fields(bytes) {
            match field? {
                (1, raw) => event.time_unix_nano = raw.number(),
                (2, raw) => event.name = text(raw)?,
                (3, kv) => key_value(kv.bytes(), |k, v, i| self.event_attribute(k, v, i))?,
                (4, raw) => event.dropped_attributes_count = raw.number() as u32,
                _ => {}
            }
        }
        self.end_event(&event);
        Ok(())
    }

    fn encoded_link(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut link = LinkInfo::default();
        for field in fields(bytes) {
            match field? {
                (1, raw) => link.trace_id = raw.bytes(),
                (2, raw) => link.span_id = raw.bytes(),
                (3, raw) => link.trace_state = text(raw)?,
                (4, kv) => key_value(kv.bytes(), |k, v, i| self.link_attribute(k, v, i))?,
                (5, raw) => link.dropped_attributes_count = raw.number() as u32,
                (6, raw) => link.flags = raw.number() as u32,
                _ => {}
            }
        }
        self.end_link(&link)
    }
}

impl LogsBuilder {
    /// Appends every log record of an encoded `ExportLogsServiceRequest`, read in place. On error nothing of
    /// the request is kept.
    pub fn append_encoded(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let rows = self.len();
        let result = walk(self, bytes, |builder, record| {
            builder.append_encoded_log(record)
        });
        if result.is_err() {
            self.truncate(rows);
        }
        result
    }

    fn append_encoded_log(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut log = LogInfo::default();
        let mut body: Option<&[u8]> = None;
        let mut bodies = 0usize;
        let parts = (|| {
            for field in fields(bytes) {
                let (number, raw) = field?;
                match number {
                    1 => log.time_unix_nano = raw.number(),
                    2 => log.severity_number = raw.number() as i32,
                    3 => log.severity_text = text(raw)?,
                    5 => {
                        body = Some(raw.bytes());
                        bodies += 1;
                    }
                    6 => key_value(raw.bytes(), |k, v, i| self.log_attribute(k, v, i))?,
                    7 => log.dropped_attributes_count = raw.number() as u32,
                    8 => log.flags = raw.number() as u32,
                    9 => log.trace_id = raw.bytes(),
                    10 => log.span_id = raw.bytes(),
                    11 => log.observed_time_unix_nano = raw.number(),
                    12 => log.event_name = text(raw)?,
                    _ => {}
                }
            }
            Ok::<_, Error>(())
        })();
        if let Err(e) = parts {
            self.discard_open_log();
            return Err(e);
        }
        // A body sent twice merges field by field: the decoder resolves that.
        match (body, bodies) {
            (None, _) => self.end_log(&log),
            (Some(body), 1) => with_any_value(body, |body| self.end_log(&LogInfo { body, ..log })),
            (Some(_), _) => {
                let record = opentelemetry_proto::tonic::logs::v1::LogRecord::decode(bytes)
                    .map_err(malformed)?;
                let body = ValueRef::of(record.body.as_ref());
                self.end_log(&LogInfo { body, ..log })
            }
        }
    }
}
