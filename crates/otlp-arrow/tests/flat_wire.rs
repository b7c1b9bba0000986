//! Encoded requests read in place into the flat builders give exactly the rows the prost path gives, for
//! arbitrary requests of every `AnyValue` kind; bytes prost refuses are refused too, keeping nothing.

mod strategies;

use arrow::array::RecordBatch;
use otlp_arrow::flat::FlatBuilder;
use otlp_arrow::{AnyRequest, Signal};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message;
use strategies::{logs, traces};

/// The rows of an encoded request of `signal` read both ways: decoded by prost and appended, and read in place.
fn both_ways(
    signal: Signal,
    bytes: &[u8],
) -> (Result<RecordBatch, String>, Result<RecordBatch, String>) {
    let mut reference = FlatBuilder::new(signal);
    let expected = AnyRequest::decode(signal, bytes)
        .map_err(|e| e.to_string())
        .and_then(|request| {
            reference
                .append(&request)
                .and_then(|()| reference.finish())
                .map_err(|e| e.to_string())
        });
    let mut in_place = FlatBuilder::new(signal);
    let got = in_place
        .append_encoded(bytes)
        .and_then(|()| in_place.finish())
        .map_err(|e| e.to_string());
    (expected, got)
}

/// The prost path and the in-place reader give equal rows, or both refuse the request.
fn agree(
    what: &str,
    expected: Result<RecordBatch, String>,
    got: Result<RecordBatch, String>,
) -> Result<(), TestCaseError> {
    match (expected, got) {
        (Ok(expected), Ok(got)) => prop_assert_eq!(expected, got, "{}", what),
        (Err(_), Err(_)) => {}
        (expected, got) => prop_assert!(
            false,
            "{what}: prost path {:?}, in place {:?}",
            expected.map(|b| b.num_rows()),
            got.map(|b| b.num_rows())
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn traces_in_place_equal_the_prost_path(request in traces()) {
        let (expected, got) = both_ways(Signal::Traces, &request.encode_to_vec());
        agree("traces", expected, got)?;
    }

    #[test]
    fn logs_in_place_equal_the_prost_path(request in logs()) {
        let (expected, got) = both_ways(Signal::Logs, &request.encode_to_vec());
        agree("logs", expected, got)?;
    }

    #[test]
    fn damaged_bytes_that_still_decode_give_the_decoded_rows(request in traces(), at: usize, with: u8) {
        let mut bytes = request.encode_to_vec();
        if !bytes.is_empty() {
            let at = at % bytes.len();
            bytes[at] = with;
        }
        // The collector reads in place only what the scanner accepted, and the scanner accepts what prost does.
        if AnyRequest::decode(Signal::Traces, &bytes).is_err() {
            return Ok(());
        }
        let (expected, got) = both_ways(Signal::Traces, &bytes);
        agree("damaged traces", expected, got)?;
    }
}

#[test]
fn realistic_requests_in_place_equal_the_prost_path() {
    let mut generator = otlp_testkit::Generator::new(3);
    for _ in 0..5 {
        let traces = generator.traces(500).encode_to_vec();
        let (expected, got) = both_ways(Signal::Traces, &traces);
        assert_eq!(expected.unwrap(), got.unwrap());
        let logs = generator.logs(300).encode_to_vec();
        let (expected, got) = both_ways(Signal::Logs, &logs);
        assert_eq!(expected.unwrap(), got.unwrap());
    }
}

/// One field of an `AnyValue` as prost encodes it, or (`None`) a field number `AnyValue` does not have.
fn any_value_field() -> impl Strategy<Value = Vec<u8>> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
    let text = || AnyValue {
        value: Some(Value::StringValue("x".into())),
    };
    prop_oneof![
        "[a-z]{0,3}".prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        any::<f64>().prop_map(Value::DoubleValue),
        prop::collection::vec(any::<u8>(), 0..3).prop_map(Value::BytesValue),
        any::<i32>().prop_map(Value::StringValueStrindex),
        Just(Value::ArrayValue(ArrayValue {
            values: vec![text()],
        })),
        Just(Value::KvlistValue(KeyValueList {
            values: vec![KeyValue {
                key: "k".into(),
                value: Some(text()),
                ..KeyValue::default()
            }],
        })),
    ]
    .prop_map(|value| AnyValue { value: Some(value) }.encode_to_vec())
    .boxed()
    .prop_union(
        prop_oneof![
            // A string that is not UTF-8, which prost refuses wherever it is.
            Just(vec![0x0a, 0x01, 0xff]),
            // A field `AnyValue` does not define, which prost skips.
            Just(vec![0xa0, 0x01, 0x07]),
        ]
        .boxed(),
    )
}

/// `field`, length-delimited, appended to `out`.
fn push_len_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    prost::encoding::encode_key(field, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// `message` wrapped in one field of each of `fields`, innermost first.
fn wrapped(mut message: Vec<u8>, fields: &[u32]) -> Vec<u8> {
    for &field in fields {
        let mut outer = Vec::new();
        push_len_field(&mut outer, field, &message);
        message = outer;
    }
    message
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// prost never writes an `AnyValue` with more than one field, but a sender may: the last one wins, a nested
    /// value anywhere among them is resolved by prost, and a bad string anywhere refuses the request.
    #[test]
    fn any_values_with_several_fields_read_as_prost_merges_them(
        fields in prop::collection::vec(any_value_field(), 0..4),
    ) {
        use opentelemetry_proto::tonic::logs::v1::LogRecord;
        use opentelemetry_proto::tonic::trace::v1::Span;

        let value = fields.concat();
        let mut attribute = Vec::new();
        push_len_field(&mut attribute, 1, b"k");
        push_len_field(&mut attribute, 2, &value);
        let mut span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "s".into(),
            ..Span::default()
        }
        .encode_to_vec();
        push_len_field(&mut span, 9, &attribute);
        // Request → ResourceSpans → ScopeSpans → Span.
        let traces = wrapped(span, &[2, 2, 1]);
        let mut record = LogRecord::default().encode_to_vec();
        push_len_field(&mut record, 5, &value);
        push_len_field(&mut record, 6, &attribute);
        let logs = wrapped(record, &[2, 2, 1]);

        let (expected, got) = both_ways(Signal::Traces, &traces);
        agree("traces", expected, got)?;
        let (expected, got) = both_ways(Signal::Logs, &logs);
        agree("logs", expected, got)?;
    }
}
