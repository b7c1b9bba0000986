use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span, Status};
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};

/// Start, end, status code, trace state and (key, value) attributes: what the policies read.
type Read = (u64, u64, i32, String, Vec<(String, Option<String>)>);

/// What the policies read, from a prost-decoded span: the reference.
fn expected(span: &Span) -> Read {
    let attributes = span
        .attributes
        .iter()
        .map(|kv| {
            let value = kv
                .value
                .as_ref()
                .and_then(|v| v.value.as_ref())
                .map(|v| match v {
                    any_value::Value::StringValue(s) => format!("str {s}"),
                    any_value::Value::BoolValue(b) => format!("bool {b}"),
                    any_value::Value::IntValue(n) => format!("int {n}"),
                    any_value::Value::DoubleValue(x) => format!("double {x}"),
                    _ => "other".to_owned(),
                });
            (kv.key.clone(), value)
        })
        .collect();
    (
        span.start_time_unix_nano,
        span.end_time_unix_nano,
        span.status.as_ref().map_or(0, |s| s.code),
        span.trace_state.clone(),
        attributes,
    )
}

fn read(view: SpanView<'_>) -> Read {
    let attributes = view
        .table
        .attributes
        .get(view.facts.attributes.clone())
        .unwrap()
        .iter()
        .map(|attribute| {
            let value = match &attribute.value {
                ValueAt::Unset => None,
                ValueAt::Str(range) => Some(format!("str {}", text(view.bytes, range))),
                ValueAt::Bool(b) => Some(format!("bool {b}")),
                ValueAt::Int(n) => Some(format!("int {n}")),
                ValueAt::Double(x) => Some(format!("double {x}")),
                ValueAt::Other => Some("other".to_owned()),
            };
            (text(view.bytes, &attribute.key).to_owned(), value)
        })
        .collect();
    (
        view.facts.start_time_unix_nano,
        view.facts.end_time_unix_nano,
        view.facts.status_code,
        view.trace_state().to_owned(),
        attributes,
    )
}

fn assert_reads_as_prost_decodes(records: &[u8]) {
    let decoded = ScopeSpans::decode(records).unwrap().spans;
    let mut table = SpanTable::default();
    assert_eq!(
        table.read_records(records, 0..records.len()),
        Ok(decoded.len())
    );
    let read: Vec<_> = table.spans(records).map(read).collect();
    let expected: Vec<_> = decoded.iter().map(expected).collect();
    assert_eq!(read, expected);
}

#[test]
fn generated_spans_read_as_prost_decodes_them() {
    let mut generator = otlp_testkit::Generator::new(7)
        .with_error_rate(0.3)
        .unwrap();
    for request in (0..5).map(|_| generator.traces(200)) {
        for scope in request.resource_spans.iter().flat_map(|r| &r.scope_spans) {
            let records = ScopeSpans {
                spans: scope.spans.clone(),
                ..Default::default()
            }
            .encode_to_vec();
            assert_reads_as_prost_decodes(&records);
            let mut table = SpanTable::default();
            table.read_records(&records, 0..records.len()).unwrap();
            for (view, span) in table.spans(&records).zip(&scope.spans) {
                assert_eq!(view.facts.encoded_len, span.encoded_len());
            }
        }
    }
}

fn field(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    encode_key(number, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// Fields repeated for prost to merge or overwrite, an attribute without a value, unknown
/// fields, and every `AnyValue` kind, negative numbers included.
#[test]
fn repeated_and_odd_fields_read_as_prost_decodes_them() {
    use any_value::Value as V;
    let span = Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        trace_state: "vendor=premium,ot=th:8".into(),
        start_time_unix_nano: 5,
        end_time_unix_nano: 9,
        attributes: vec![
            attribute("s", V::StringValue("x".into())),
            attribute("b", V::BoolValue(true)),
            attribute("i", V::IntValue(-42)),
            attribute("d", V::DoubleValue(-0.5)),
            attribute("bytes", V::BytesValue(vec![1, 2])),
            KeyValue {
                key: "none".into(),
                value: None,
                ..Default::default()
            },
            KeyValue {
                key: "empty".into(),
                value: Some(AnyValue { value: None }),
                ..Default::default()
            },
        ],
        status: Some(Status {
            code: 2,
            message: "boom".into(),
        }),
        ..Default::default()
    };
    let mut record = span.encode_to_vec();
    // A later start time and trace state win; a status without a code keeps the code.
    record.push(7 << 3 | 1);
    record.extend_from_slice(&77u64.to_le_bytes());
    field(&mut record, 3, b"later=1");
    field(
        &mut record,
        15,
        &Status {
            code: 0,
            message: "again".into(),
        }
        .encode_to_vec(),
    );
    // An attribute whose value comes twice: the second AnyValue's variant wins; then one
    // whose second AnyValue sets nothing, keeping the first.
    let mut twice = Vec::new();
    field(&mut twice, 1, b"twice");
    field(
        &mut twice,
        2,
        &AnyValue {
            value: Some(V::IntValue(1)),
        }
        .encode_to_vec(),
    );
    field(
        &mut twice,
        2,
        &AnyValue {
            value: Some(V::StringValue("two".into())),
        }
        .encode_to_vec(),
    );
    field(&mut record, 9, &twice);
    let mut kept = Vec::new();
    field(&mut kept, 1, b"kept");
    field(
        &mut kept,
        2,
        &AnyValue {
            value: Some(V::BoolValue(false)),
        }
        .encode_to_vec(),
    );
    field(&mut kept, 2, &[]);
    field(&mut record, 9, &kept);
    field(&mut record, 99, b"unknown");
    let mut records = Vec::new();
    field(&mut records, 2, &record);
    field(&mut records, 2, &Span::default().encode_to_vec());
    assert_reads_as_prost_decodes(&records);
}

fn any_value() -> impl proptest::strategy::Strategy<Value = Option<any_value::Value>> {
    use any_value::Value as V;
    use proptest::prelude::*;
    prop_oneof![
        Just(None),
        "[a-z/]{0,8}".prop_map(|s| Some(V::StringValue(s))),
        any::<bool>().prop_map(|b| Some(V::BoolValue(b))),
        any::<i64>().prop_map(|n| Some(V::IntValue(n))),
        any::<f64>()
            .prop_filter("NaN never equals itself", |x| !x.is_nan())
            .prop_map(|x| Some(V::DoubleValue(x))),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(|b| Some(V::BytesValue(b))),
    ]
}

fn span() -> impl proptest::strategy::Strategy<Value = Span> {
    use proptest::prelude::*;
    let attribute =
        ("[abc]{1,2}", proptest::option::of(any_value())).prop_map(|(key, value)| KeyValue {
            key,
            value: value.map(|value| AnyValue { value }),
            ..Default::default()
        });
    (
        any::<u64>(),
        any::<u64>(),
        proptest::option::of(any::<i32>()),
        "[a-z=,]{0,12}",
        prop::collection::vec(attribute, 0..6),
    )
        .prop_map(|(start, end, code, trace_state, attributes)| Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            status: code.map(|code| Status {
                code,
                ..Default::default()
            }),
            trace_state,
            attributes,
            name: "s".into(),
            ..Default::default()
        })
}

proptest::proptest! {
    /// Arbitrary spans, each followed (or not) by a second encoding of another span's fields
    /// for prost to merge in: every field read as prost decodes it.
    #[test]
    fn arbitrary_spans_read_as_prost_decodes_them(
        spans in proptest::collection::vec((span(), proptest::option::of(span())), 0..8),
    ) {
        let mut records = Vec::new();
        for (span, merged) in &spans {
            let mut record = span.encode_to_vec();
            if let Some(merged) = merged {
                record.extend_from_slice(&merged.encode_to_vec());
            }
            field(&mut records, 2, &record);
        }
        assert_reads_as_prost_decodes(&records);
    }
}

#[test]
fn a_table_for_some_keys_keeps_only_their_attributes() {
    let span = Span {
        attributes: vec![
            attribute("http.route", any_value::Value::StringValue("/a".into())),
            attribute("other", any_value::Value::IntValue(1)),
            attribute("debug", any_value::Value::BoolValue(true)),
        ],
        ..Default::default()
    };
    let mut encoded = span.encode_to_vec();
    // Key fields twice, as prost reads them: the last one, "debug", is the attribute's key.
    let mut repeated_key = Vec::new();
    field(&mut repeated_key, 1, b"other");
    field(&mut repeated_key, 1, b"debug");
    let value = AnyValue {
        value: Some(any_value::Value::BoolValue(false)),
    };
    field(&mut repeated_key, 2, &value.encode_to_vec());
    field(&mut encoded, span_field::ATTRIBUTES, &repeated_key);
    let mut records = Vec::new();
    field(&mut records, 2, &encoded);
    let mut table = SpanTable::keeping(["debug".to_owned(), "http.route".to_owned()]);
    table.read_records(&records, 0..records.len()).unwrap();
    let spans: Vec<_> = table.spans(&records).map(read).collect();
    let [(.., kept)] = spans.as_slice() else {
        panic!("{} spans", spans.len());
    };
    let expected = [
        ("http.route", "str /a"),
        ("debug", "bool true"),
        ("debug", "bool false"),
    ]
    .map(|(key, value)| (key.to_owned(), Some(value.to_owned())));
    assert_eq!(kept, &expected);
}

#[test]
fn a_record_that_does_not_read_leaves_nothing() {
    let mut records = Vec::new();
    let span = Span {
        attributes: vec![attribute("k", any_value::Value::IntValue(1))],
        ..Default::default()
    };
    field(&mut records, 2, &span.encode_to_vec());
    let good = records.len();
    // A start time sent as a varint: prost refuses it.
    field(&mut records, 2, &[7 << 3, 1]);
    let mut table = SpanTable::default();
    table.read_records(&records, 0..good).unwrap();
    assert!(table.read_records(&records, 0..records.len()).is_err());
    assert_eq!(table.spans(&records).count(), 1);
    assert_eq!(table.attributes.len(), 1);
}
