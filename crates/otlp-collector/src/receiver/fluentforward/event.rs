//! A Forward protocol event (Fluentd's Forward Protocol v1: Message, Forward and PackedForward modes, gzip'd
//! CompressedPackedForward included) turned into OTLP log records as otelcol's receiver turns them: `log` or
//! `message` the body, every other key an attribute, the tag `fluent.tag`.

use crate::receiver::msgpack::{self, Incomplete, Value};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::io::Read;

/// What one event holds.
#[derive(Debug, Default)]
pub(super) struct Event {
    pub(super) records: Vec<LogRecord>,
    /// The `chunk` option: the client wants it acknowledged once the records are taken.
    pub(super) chunk: Option<String>,
}

/// The largest PackedForward entries taken once decompressed.
const MAX_UNPACKED: u64 = 64 << 20;

/// `value` (a top-level array) as an event, or why it is not one.
pub(super) fn event(value: Value) -> Result<Event, String> {
    let Value::Array(items) = value else {
        return Err("an event is an array".into());
    };
    if !(2..=4).contains(&items.len()) {
        return Err(format!("an event of {} elements", items.len()));
    }
    let mut items = items.into_iter();
    let tag = items
        .next()
        .and_then(|t| t.as_text())
        .ok_or("the tag is not a string")?;
    let second = items.next().unwrap_or(Value::Nil);
    let mut rest: Vec<Value> = items.collect();
    if matches!(second, Value::Int(_) | Value::UInt(_) | Value::Ext(..)) {
        // Message mode: [tag, time, record, options?].
        if rest.is_empty() {
            return Err("a message without its record".into());
        }
        let record = rest.remove(0);
        let mut event = options_of(rest.first());
        event.records.push(record_of(&second, record, &tag)?);
        return Ok(event);
    }
    // Forward and PackedForward modes: [tag, entries, options?].
    if rest.len() > 1 {
        return Err("entries followed by more than their options".into());
    }
    let options = rest.first();
    let mut event = options_of(options);
    match second {
        Value::Array(entries) => {
            for entry in entries {
                event.records.push(entry_of(entry, &tag)?);
            }
        }
        Value::Str(_) | Value::Bin(_) => {
            let packed = match second {
                Value::Bin(bytes) => bytes,
                Value::Str(text) => text.into_bytes(),
                _ => Vec::new(),
            };
            let compressed =
                matches!(option(options, "compressed"), Some(Value::Str(c)) if c == "gzip");
            let bytes = if compressed { gunzip(&packed)? } else { packed };
            let mut at = 0;
            while at < bytes.len() {
                let (entry, used) = msgpack::decode(&bytes[at..]).map_err(|e| match e {
                    Incomplete::More => "packed entries cut short".to_owned(),
                    Incomplete::Invalid(why) => format!("packed entries: {why}"),
                })?;
                at += used;
                event.records.push(entry_of(entry, &tag)?);
            }
        }
        _ => return Err("the entries are neither an array nor packed bytes".into()),
    }
    Ok(event)
}

fn option<'v>(options: Option<&'v Value>, key: &str) -> Option<&'v Value> {
    let Some(Value::Map(entries)) = options else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k.as_text().as_deref() == Some(key))
        .map(|(_, v)| v)
}

fn options_of(options: Option<&Value>) -> Event {
    Event {
        records: Vec::new(),
        chunk: option(options, "chunk").and_then(Value::as_text),
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_UNPACKED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the compressed entries: {e}"))?;
    if out.len() as u64 > MAX_UNPACKED {
        return Err(format!(
            "the compressed entries unpack to more than {MAX_UNPACKED} bytes"
        ));
    }
    Ok(out)
}

/// `[time, record]`.
fn entry_of(entry: Value, tag: &str) -> Result<LogRecord, String> {
    match entry {
        Value::Array(mut pair) if pair.len() == 2 => {
            let record = pair.pop().unwrap_or(Value::Nil);
            record_of(&pair[0], record, tag)
        }
        _ => Err("an entry is [time, record]".into()),
    }
}

/// The time: seconds, or Fluentd's EventTime (extension 0: seconds and nanoseconds, big-endian).
fn time_of(time: &Value) -> Result<u64, String> {
    match time {
        Value::Int(seconds) => Ok(u64::try_from(*seconds)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)),
        Value::UInt(seconds) => Ok(seconds.saturating_mul(1_000_000_000)),
        Value::Ext(0, bytes) if bytes.len() == 8 => {
            let seconds = u64::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
            let nanos = u64::from(u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
            Ok(seconds * 1_000_000_000 + nanos)
        }
        other => Err(format!(
            "a time that is not seconds or an EventTime: {other:?}"
        )),
    }
}

fn record_of(time: &Value, record: Value, tag: &str) -> Result<LogRecord, String> {
    let Value::Map(entries) = record else {
        return Err("a record is a map".into());
    };
    let mut log = LogRecord {
        time_unix_nano: time_of(time)?,
        ..Default::default()
    };
    log.attributes.push(otlp_ottl::key_value(
        "fluent.tag",
        otlp_ottl::string_value(tag),
    ));
    for (key, value) in entries {
        let key = key.as_text().unwrap_or_else(|| format!("{key:?}"));
        // Fluentd names the line `message`, Fluent Bit `log`.
        if key == "message" || key == "log" {
            log.body = Some(any(value));
        } else {
            log.attributes.push(KeyValue {
                key,
                value: Some(any(value)),
                ..Default::default()
            });
        }
    }
    Ok(log)
}

/// A value as OTLP's, as otelcol maps them: bytes as text, an unsigned integer too large for an int as text.
fn any(value: Value) -> AnyValue {
    let value = match value {
        Value::Nil => None,
        Value::Bool(b) => Some(any_value::Value::BoolValue(b)),
        Value::Int(i) => Some(any_value::Value::IntValue(i)),
        Value::UInt(u) => Some(any_value::Value::StringValue(u.to_string())),
        Value::Float(f) => Some(any_value::Value::DoubleValue(f)),
        Value::Str(s) => Some(any_value::Value::StringValue(s)),
        Value::Bin(b) => Some(any_value::Value::StringValue(
            String::from_utf8_lossy(&b).into_owned(),
        )),
        Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.into_iter().map(any).collect(),
        })),
        Value::Map(entries) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: entries
                .into_iter()
                .map(|(k, v)| KeyValue {
                    key: k.as_text().unwrap_or_else(|| format!("{k:?}")),
                    value: Some(any(v)),
                    ..Default::default()
                })
                .collect(),
        })),
        Value::Ext(kind, bytes) => Some(any_value::Value::StringValue(format!(
            "ext({kind}): {bytes:?}"
        ))),
    };
    AnyValue { value }
}

#[cfg(test)]
mod tests;
