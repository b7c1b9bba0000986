use super::model::{Batch, RefKind, TagValue, from_thrift};
use super::thrift::{Binary, Compact, ThriftError};

/// A Thrift binary `jaeger.Batch` with one span, written field by field as the protocol lays it out.
fn binary_batch() -> Vec<u8> {
    let mut out = Vec::new();
    let field = |out: &mut Vec<u8>, kind: u8, id: i16| {
        out.push(kind);
        out.extend_from_slice(&id.to_be_bytes());
    };
    let string = |out: &mut Vec<u8>, text: &str| {
        out.extend_from_slice(&(text.len() as i32).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    };
    // Batch.process
    field(&mut out, 12, 1);
    field(&mut out, 11, 1);
    string(&mut out, "billing");
    out.push(0);
    // Batch.spans: a list of one struct
    field(&mut out, 15, 2);
    out.push(12);
    out.extend_from_slice(&1i32.to_be_bytes());
    for (id, value) in [(1i16, 7i64), (2, 0), (3, 9), (4, 0)] {
        field(&mut out, 10, id);
        out.extend_from_slice(&value.to_be_bytes());
    }
    field(&mut out, 11, 5);
    string(&mut out, "charge");
    // references: FOLLOWS_FROM span 8 of the same trace
    field(&mut out, 15, 6);
    out.push(12);
    out.extend_from_slice(&1i32.to_be_bytes());
    field(&mut out, 8, 1);
    out.extend_from_slice(&1i32.to_be_bytes());
    for (id, value) in [(2i16, 7i64), (3, 0), (4, 8)] {
        field(&mut out, 10, id);
        out.extend_from_slice(&value.to_be_bytes());
    }
    out.push(0);
    // an unknown field, skipped: a map<string, i32> of one entry
    field(&mut out, 13, 99);
    out.extend_from_slice(&[11, 8]);
    out.extend_from_slice(&1i32.to_be_bytes());
    string(&mut out, "k");
    out.extend_from_slice(&5i32.to_be_bytes());
    for (id, value) in [(8i16, 1_000_000i64), (9, 250)] {
        field(&mut out, 10, id);
        out.extend_from_slice(&value.to_be_bytes());
    }
    // tags: one LONG tag
    field(&mut out, 15, 10);
    out.push(12);
    out.extend_from_slice(&1i32.to_be_bytes());
    field(&mut out, 11, 1);
    string(&mut out, "retries");
    field(&mut out, 8, 2);
    out.extend_from_slice(&3i32.to_be_bytes());
    field(&mut out, 10, 6);
    out.extend_from_slice(&4i64.to_be_bytes());
    out.push(0);
    out.push(0); // end of span
    out.push(0); // end of batch
    out
}

#[test]
fn a_binary_batch_is_read_field_by_field_and_unknown_fields_are_skipped() {
    let batch: Batch = from_thrift(&mut Binary::new(&binary_batch()), false).unwrap();
    assert_eq!(batch.process.unwrap().service_name, "billing");
    let span = &batch.spans[0];
    assert_eq!(span.trace_id[15], 7);
    assert_eq!(span.span_id[7], 9);
    assert_eq!(span.parent_span_id, None, "0 is no parent");
    assert_eq!(span.operation_name, "charge");
    assert_eq!(span.references[0].kind, RefKind::FollowsFrom);
    assert_eq!(span.references[0].span_id[7], 8);
    assert_eq!(span.start_unix_nano, 1_000_000_000);
    assert_eq!(span.duration_nano, 250_000);
    assert_eq!(span.tags[0].key, "retries");
    assert_eq!(span.tags[0].value, TagValue::Long(4));
}

#[test]
fn hostile_input_is_refused_without_allocating_what_it_claims() {
    let whole = binary_batch();
    for cut in 0..whole.len() {
        assert!(
            from_thrift(&mut Binary::new(&whole[..cut]), false).is_err(),
            "a batch cut at {cut} bytes"
        );
    }
    // A list claiming two billion spans in a few bytes.
    let mut huge = vec![15, 0, 2, 12];
    huge.extend_from_slice(&i32::MAX.to_be_bytes());
    let error = from_thrift(&mut Binary::new(&huge), false).unwrap_err();
    assert!(matches!(error, ThriftError::Malformed(_)), "{error}");
    // Structs inside structs, past any Jaeger message's depth, in an unknown field.
    let mut deep = Vec::new();
    for _ in 0..100 {
        deep.extend_from_slice(&[12, 0, 50]);
    }
    assert_eq!(
        from_thrift(&mut Binary::new(&deep), false).unwrap_err(),
        ThriftError::TooDeep
    );
    // Not a compact message at all.
    assert!(from_thrift(&mut Compact::new(b"\x80\x01\x00\x04junk"), true).is_err());
}

#[test]
fn a_compact_emit_batch_is_read_with_field_deltas_and_header_booleans() {
    // emitBatch(1: Batch { 1: Process { 1: "svc", 2: [Tag { 1: "up", 2: BOOL, 5: true }] } })
    let mut message = vec![0x82, 0x81, 0x00, 9];
    message.extend_from_slice(b"emitBatch");
    message.push(0x1c); // field 1 (delta 1), struct
    message.push(0x1c); // Batch.process
    message.push(0x18); // Process.serviceName: binary
    message.push(3);
    message.extend_from_slice(b"svc");
    message.push(0x19); // Process.tags: list
    message.push(0x1c); // one struct
    message.push(0x18); // Tag.key
    message.push(2);
    message.extend_from_slice(b"up");
    message.push(0x15); // Tag.vType: i32
    message.push(4); // zigzag 2 = BOOL
    message.push(0x31); // field 5 (delta 3), BOOLEAN_TRUE in the header
    message.extend_from_slice(&[0, 0, 0, 0]); // end of tag, process, batch, arguments
    let batch = from_thrift(&mut Compact::new(&message), true).unwrap();
    let process = batch.process.unwrap();
    assert_eq!(process.service_name, "svc");
    assert_eq!(process.tags[0].value, TagValue::Bool(true));
}
