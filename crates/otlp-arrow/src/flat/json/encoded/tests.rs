use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use proptest::prelude::*;
use prost::Message;

use super::{IN_PLACE_DEPTH, write_encoded};
use crate::flat::json::write_nested;

// Arbitrary values of every kind, nested: the integration tests' strategies.
#[path = "../../../../tests/strategies/mod.rs"]
mod strategies;

fn value(value: Value) -> AnyValue {
    AnyValue { value: Some(value) }
}

fn array(values: Vec<AnyValue>) -> AnyValue {
    value(Value::ArrayValue(ArrayValue { values }))
}

fn kvlist(values: Vec<KeyValue>) -> AnyValue {
    value(Value::KvlistValue(KeyValueList { values }))
}

/// The text written in place from `bytes`, if it was.
fn in_place(bytes: &[u8]) -> Option<String> {
    let mut out = String::new();
    write_encoded(&mut out, bytes).then_some(out)
}

/// The text written for what prost decodes from `bytes`.
fn decoded(bytes: &[u8]) -> String {
    let value = AnyValue::decode(bytes).expect("prost decodes the bytes");
    let mut out = String::new();
    write_nested(&mut out, &value, 0).expect("within the nesting limit");
    out
}

#[test]
fn every_kind_nested_is_written_as_its_decoded_value_is() {
    let scalars = vec![
        AnyValue { value: None },
        value(Value::StringValue("a \"quoted\"\n\u{1}é string".into())),
        value(Value::BoolValue(true)),
        value(Value::BoolValue(false)),
        value(Value::IntValue(i64::MIN)),
        value(Value::IntValue(-1)),
        value(Value::DoubleValue(f64::NAN)),
        value(Value::DoubleValue(f64::NEG_INFINITY)),
        value(Value::DoubleValue(-0.0)),
        value(Value::DoubleValue(1e-7)),
        value(Value::BytesValue(vec![0, 255, 7, 8])),
        value(Value::StringValueStrindex(-3)),
    ];
    let entries = vec![
        KeyValue {
            key: "k".into(),
            value: Some(array(scalars.clone())),
            key_strindex: 0,
        },
        KeyValue {
            key: String::new(),
            value: None,
            key_strindex: 4,
        },
        KeyValue {
            key: "empty".into(),
            value: Some(AnyValue { value: None }),
            key_strindex: 0,
        },
    ];
    let values = [
        array(scalars.clone()),
        array(vec![]),
        kvlist(vec![]),
        kvlist(entries.clone()),
        array(vec![
            kvlist(entries),
            array(scalars),
            array(vec![array(vec![])]),
        ]),
    ];
    for value in values {
        let bytes = value.encode_to_vec();
        assert_eq!(in_place(&bytes), Some(decoded(&bytes)), "{value:?}");
    }
}

#[test]
fn fields_sent_twice_are_left_to_prost() {
    let string = value(Value::StringValue("s".into())).encode_to_vec();
    let list = array(vec![value(Value::IntValue(1))]).encode_to_vec();
    let entry = |key: &str, value: &AnyValue| {
        KeyValue {
            key: key.into(),
            value: Some(value.clone()),
            key_strindex: 0,
        }
        .encode_to_vec()
    };
    let in_list = |entry: Vec<u8>| {
        // KeyValueList's field 1 around the entry, inside AnyValue's field 6.
        let mut list = vec![0x0a, entry.len() as u8];
        list.extend(entry);
        let mut any = vec![0x32, list.len() as u8];
        any.extend(list);
        any
    };
    let shapes = [
        // A oneof set twice: prost keeps the last.
        [string.clone(), list.clone()].concat(),
        [list.clone(), string.clone()].concat(),
        // An array sent twice: prost merges the two.
        [list.clone(), list.clone()].concat(),
        // An entry whose value or key comes twice.
        in_list([entry("k", &array(vec![])), entry("", &array(vec![]))].concat()),
        in_list([entry("k", &array(vec![])), entry("j", &array(vec![]))].concat()),
    ];
    for bytes in shapes {
        assert!(AnyValue::decode(bytes.as_slice()).is_ok(), "{bytes:?}");
        assert_eq!(in_place(&bytes), None, "{bytes:?}");
    }
}

#[test]
fn what_prost_refuses_or_nests_too_deep_is_left_to_prost() {
    // An array whose element has a bool as a length-delimited field.
    assert_eq!(in_place(&[0x2a, 0x04, 0x0a, 0x02, 0x12, 0x00]), None);
    // A string value that is not UTF-8.
    assert_eq!(in_place(&[0x2a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff]), None);
    let nested = |levels: usize, wrap: fn(AnyValue) -> AnyValue| {
        (0..levels).fold(array(vec![]), |inner, _| wrap(inner))
    };
    let in_array = |inner| array(vec![inner]);
    let in_kvlist = |inner| {
        kvlist(vec![KeyValue {
            key: "k".into(),
            value: Some(inner),
            key_strindex: 0,
        }])
    };
    for wrap in [in_array as fn(AnyValue) -> AnyValue, in_kvlist] {
        let deepest = nested(IN_PLACE_DEPTH, wrap).encode_to_vec();
        assert_eq!(in_place(&deepest), Some(decoded(&deepest)));
        assert_eq!(
            in_place(&nested(IN_PLACE_DEPTH + 1, wrap).encode_to_vec()),
            None
        );
    }
}

proptest! {
    /// Whatever bytes are written in place, damaged or not, are written as prost decodes them.
    #[test]
    fn what_is_written_in_place_is_what_prost_decodes(
        value in strategies::any_value(),
        damage in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let mut bytes = value.encode_to_vec();
        if let Some((at, with)) = damage
            && !bytes.is_empty()
        {
            let at = at.index(bytes.len());
            bytes[at] = with;
        }
        if let Some(text) = in_place(&bytes) {
            prop_assert_eq!(text, decoded(&bytes));
        } else if damage.is_none() && matches!(value.value, Some(Value::ArrayValue(_) | Value::KvlistValue(_))) {
            prop_assert!(false, "a plain value was declined: {:?}", value);
        }
    }
}
