use super::*;
use std::io::Write;

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

fn record(pairs: &[(&str, Value)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (s(k), v.clone())).collect())
}

fn attribute<'a>(log: &'a LogRecord, key: &str) -> Option<&'a any_value::Value> {
    log.attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

/// MessagePack of `value`, for packed entries.
fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Int(i) => {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::Str(text) => {
            out.push(0xdb);
            out.extend_from_slice(&(text.len() as u32).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        Value::Array(items) => {
            out.push(0xdd);
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            items.iter().for_each(|i| encode(i, out));
        }
        Value::Map(entries) => {
            out.push(0xdf);
            out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
            for (k, v) in entries {
                encode(k, out);
                encode(v, out);
            }
        }
        other => panic!("not needed here: {other:?}"),
    }
}

#[test]
fn message_mode_with_an_event_time_and_a_chunk() {
    let mut time = Vec::new();
    time.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    time.extend_from_slice(&123_456_789u32.to_be_bytes());
    let event = event(Value::Array(vec![
        s("app.web"),
        Value::Ext(0, time),
        record(&[
            ("log", s("GET /")),
            ("status", Value::Int(200)),
            ("big", Value::UInt(u64::MAX)),
        ]),
        record(&[("chunk", s("p8n9gmxTQVC8/nh2wlKKeQ=="))]),
    ]))
    .unwrap();
    assert_eq!(event.chunk.as_deref(), Some("p8n9gmxTQVC8/nh2wlKKeQ=="));
    let log = &event.records[0];
    assert_eq!(log.time_unix_nano, 1_700_000_000_123_456_789);
    assert_eq!(
        log.body.as_ref().unwrap().value,
        Some(any_value::Value::StringValue("GET /".into()))
    );
    assert_eq!(
        attribute(log, "fluent.tag"),
        Some(&any_value::Value::StringValue("app.web".into()))
    );
    assert_eq!(
        attribute(log, "status"),
        Some(&any_value::Value::IntValue(200))
    );
    assert_eq!(
        attribute(log, "big"),
        Some(&any_value::Value::StringValue(u64::MAX.to_string()))
    );
}

#[test]
fn forward_and_packed_forward_modes_gzipped_or_not() {
    let entries = vec![
        Value::Array(vec![Value::Int(1), record(&[("message", s("one"))])]),
        Value::Array(vec![Value::Int(2), record(&[("message", s("two"))])]),
    ];
    let forward = event(Value::Array(vec![s("t"), Value::Array(entries.clone())])).unwrap();
    assert_eq!(forward.records.len(), 2);
    assert_eq!(forward.records[1].time_unix_nano, 2_000_000_000);
    assert_eq!(forward.chunk, None);

    let mut packed = Vec::new();
    entries.iter().for_each(|e| encode(e, &mut packed));
    let plain = event(Value::Array(vec![s("t"), Value::Bin(packed.clone())])).unwrap();
    assert_eq!(plain.records.len(), 2);

    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&packed).unwrap();
    let compressed = event(Value::Array(vec![
        s("t"),
        Value::Bin(gzip.finish().unwrap()),
        record(&[("compressed", s("gzip")), ("chunk", s("c1"))]),
    ]))
    .unwrap();
    assert_eq!(compressed.records.len(), 2);
    assert_eq!(compressed.chunk.as_deref(), Some("c1"));
    assert_eq!(
        compressed.records[0].body.as_ref().unwrap().value,
        Some(any_value::Value::StringValue("one".into()))
    );
}

#[test]
fn what_is_not_an_event_is_refused_with_the_reason() {
    for (value, reason) in [
        (s("x"), "an event is an array"),
        (Value::Array(vec![s("t")]), "an event of 1 elements"),
        (
            Value::Array(vec![Value::Int(1), Value::Array(vec![])]),
            "the tag is not a string",
        ),
        (
            Value::Array(vec![s("t"), Value::Int(1)]),
            "a message without its record",
        ),
        (
            Value::Array(vec![s("t"), Value::Int(1), s("not a map")]),
            "a record is a map",
        ),
        (
            Value::Array(vec![s("t"), Value::Array(vec![Value::Int(1)])]),
            "an entry is [time, record]",
        ),
        (
            Value::Array(vec![s("t"), Value::Bool(true)]),
            "the entries are neither an array nor packed bytes",
        ),
        (
            Value::Array(vec![s("t"), Value::Bin(vec![0x92, 0x01])]),
            "packed entries cut short",
        ),
        (
            Value::Array(vec![s("t"), Value::Float(1.5), record(&[])]),
            "the entries are neither",
        ),
    ] {
        let error = event(value).unwrap_err();
        assert!(error.starts_with(reason), "{error} / {reason}");
    }
}
