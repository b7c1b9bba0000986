//! `wire::EncodedTraces` against prost, the reference: for arbitrary traces requests (hand-framed ones with
//! repeated fields for prost to merge and headers after the spans, and the generator's realistic ones) and
//! arbitrary edits, decoding the rewritten bytes gives exactly the decoded request with the same edits applied and
//! the emptied scopes and resources removed; and each span's view reads what prost decodes.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_model::wire::{AnyValueView, EncodedTraces, SpanEdits};
use otlp_model::{ExportTraceServiceRequest, OtlpRequest, Signal, wire};
use proptest::prelude::*;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};

fn frame(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    encode_key(field, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Attribute keys from a small set, so that spans often share keys (and repeat one).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("sampling.priority".to_owned()),
        Just("k".to_owned()),
        Just(String::new()),
        "[a-z.]{1,6}",
    ]
}

fn scalar_value() -> impl Strategy<Value = Option<any_value::Value>> {
    prop_oneof![
        Just(None),
        "[a-z ]{0,8}".prop_map(|s| Some(any_value::Value::StringValue(s))),
        any::<bool>().prop_map(|b| Some(any_value::Value::BoolValue(b))),
        any::<i64>().prop_map(|i| Some(any_value::Value::IntValue(i))),
        prop_oneof![any::<f64>(), Just(0.0), Just(1.0), Just(-1.0)]
            .prop_map(|d| Some(any_value::Value::DoubleValue(d))),
        prop::collection::vec(any::<u8>(), 0..4)
            .prop_map(|b| Some(any_value::Value::BytesValue(b))),
        any::<i32>().prop_map(|i| Some(any_value::Value::StringValueStrindex(i))),
        Just(Some(any_value::Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(any_value::Value::IntValue(3)),
            }],
        }))),
        Just(Some(any_value::Value::KvlistValue(KeyValueList::default()))),
    ]
}

fn key_value() -> impl Strategy<Value = KeyValue> {
    (key(), proptest::option::of(scalar_value())).prop_map(|(key, value)| KeyValue {
        key,
        value: value.map(|value| AnyValue { value }),
        ..Default::default()
    })
}

/// One attribute as framed in the span: the encoding of one `KeyValue`, or of two back to back (which prost merges
/// into one: last key, values merged).
fn attribute() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(key_value(), 1..=2)
}

fn trace_state() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("ot=th:0;rv:0123456789abcd".to_owned()),
        "[a-z]{1,4}=[a-z0-9]{1,6}(,[a-z]{1,4}=[a-z0-9]{1,6}){0,2}",
    ]
}

fn span_fields() -> impl Strategy<Value = Span> {
    (
        prop_oneof![
            6 => prop::collection::vec(any::<u8>(), 16..=16),
            1 => prop::collection::vec(any::<u8>(), 0..20),
        ],
        prop::collection::vec(any::<u8>(), 8..=8),
        trace_state(),
        "[a-z ]{0,10}",
        any::<u32>(),
        any::<u64>(),
    )
        .prop_map(
            |(trace_id, span_id, trace_state, name, flags, start)| Span {
                trace_id,
                span_id,
                trace_state,
                name,
                flags,
                start_time_unix_nano: start,
                ..Default::default()
            },
        )
}

/// A span as framed in the request: its fields, its attributes appended after them (out of field order), and
/// sometimes a second span encoding after that, which prost merges into the first (repeated scalars: last wins).
#[derive(Debug, Clone)]
struct SpanModel {
    first: Span,
    attributes: Vec<Vec<KeyValue>>,
    merged: Option<Span>,
}

impl SpanModel {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = self.first.encode_to_vec();
        for attribute in &self.attributes {
            let key_value: Vec<u8> = attribute.iter().flat_map(Message::encode_to_vec).collect();
            frame(9, &key_value, &mut bytes);
        }
        if let Some(merged) = &self.merged {
            bytes.extend(merged.encode_to_vec());
        }
        bytes
    }
}

fn span() -> impl Strategy<Value = SpanModel> {
    (
        span_fields(),
        prop::collection::vec(attribute(), 0..4),
        proptest::option::weighted(0.2, span_fields()),
    )
        .prop_map(|(first, attributes, merged)| SpanModel {
            first,
            attributes,
            merged,
        })
}

/// A `ScopeSpans` or `ResourceSpans`: a header (the message of field 1 and a schema URL), written before or after
/// the children.
#[derive(Debug, Clone)]
struct Container<H, C> {
    header: Option<H>,
    schema_url: String,
    header_last: bool,
    children: Vec<C>,
}

impl<H: Message, C> Container<H, C> {
    fn encode(&self, child_field: u32, encode_child: impl Fn(&C) -> Vec<u8>) -> Vec<u8> {
        let mut header = Vec::new();
        if let Some(message) = &self.header {
            frame(1, &message.encode_to_vec(), &mut header);
        }
        if !self.schema_url.is_empty() {
            frame(3, self.schema_url.as_bytes(), &mut header);
        }
        let mut bytes = Vec::new();
        if !self.header_last {
            bytes.extend_from_slice(&header);
        }
        for child in &self.children {
            frame(child_field, &encode_child(child), &mut bytes);
        }
        if self.header_last {
            bytes.extend_from_slice(&header);
        }
        bytes
    }
}

type ScopeModel = Container<InstrumentationScope, SpanModel>;
type ResourceModel = Container<Resource, ScopeModel>;

fn scope() -> impl Strategy<Value = ScopeModel> {
    (
        proptest::option::of("[a-z]{0,6}".prop_map(|name| InstrumentationScope {
            name,
            ..Default::default()
        })),
        "(https://s/[a-z]{1,3})?",
        any::<bool>(),
        prop::collection::vec(span(), 0..5),
    )
        .prop_map(|(header, schema_url, header_last, children)| Container {
            header,
            schema_url,
            header_last,
            children,
        })
}

fn resource() -> impl Strategy<Value = ResourceModel> {
    (
        proptest::option::of(
            prop::collection::vec(key_value(), 0..3).prop_map(|attributes| Resource {
                attributes,
                ..Default::default()
            }),
        ),
        "(https://r/[a-z]{1,3})?",
        any::<bool>(),
        prop::collection::vec(scope(), 0..4),
    )
        .prop_map(|(header, schema_url, header_last, children)| Container {
            header,
            schema_url,
            header_last,
            children,
        })
}

/// A request's bytes, framed by hand; sometimes with an unknown field (which prost skips) at the end.
fn request() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(resource(), 0..4), any::<bool>()).prop_map(|(resources, unknown)| {
        let mut bytes = Vec::new();
        for resource in &resources {
            let encoded = resource.encode(2, |scope| scope.encode(2, SpanModel::encode));
            frame(1, &encoded, &mut bytes);
        }
        if unknown {
            frame(9, b"unknown", &mut bytes);
        }
        bytes
    })
}

#[derive(Debug, Clone)]
enum EditModel {
    Keep,
    Remove,
    TraceState(String),
}

fn edits() -> impl Strategy<Value = Vec<EditModel>> {
    prop::collection::vec(
        prop_oneof![
            2 => Just(EditModel::Keep),
            3 => Just(EditModel::Remove),
            2 => prop_oneof![Just(String::new()), "ot=th:[0-9a-f]{1,4}(,[a-z]=[a-z]{1,3})?"]
                .prop_map(EditModel::TraceState),
        ],
        0..40,
    )
}

fn span_edits(edits: &[EditModel]) -> SpanEdits {
    let mut span_edits = SpanEdits::new();
    for edit in edits {
        match edit {
            EditModel::Keep => span_edits.keep(),
            EditModel::Remove => span_edits.remove(),
            EditModel::TraceState(trace_state) => span_edits.keep_with_trace_state(trace_state),
        }
    }
    span_edits
}

/// The reference: the edits on the decoded request (a span past the last edit is kept), then the emptied scopes
/// and resources removed, as a sampler of the prost tree does.
fn edit_decoded(request: &mut ExportTraceServiceRequest, edits: &[EditModel]) {
    let mut index = 0;
    for resource in &mut request.resource_spans {
        for scope in &mut resource.scope_spans {
            scope.spans.retain_mut(|span| {
                let edit = edits.get(index);
                index += 1;
                match edit {
                    None | Some(EditModel::Keep) => true,
                    Some(EditModel::Remove) => false,
                    Some(EditModel::TraceState(trace_state)) => {
                        span.trace_state = trace_state.clone();
                        true
                    }
                }
            });
        }
        resource.scope_spans.retain(|scope| !scope.spans.is_empty());
    }
    request
        .resource_spans
        .retain(|resource| !resource.scope_spans.is_empty());
}

/// What prost's decoded span gives for `span.attributes.iter().find(|kv| kv.key == key)`, then the values, in the
/// view's terms (doubles by their bits, so that NaN equals itself).
fn expected_attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| value.value.as_ref())?;
    Some(match value {
        any_value::Value::StringValue(s) => format!("string {s}"),
        any_value::Value::BoolValue(b) => format!("bool {b}"),
        any_value::Value::IntValue(i) => format!("int {i}"),
        any_value::Value::DoubleValue(d) => format!("double {:x}", d.to_bits()),
        any_value::Value::ArrayValue(_) => "array".to_owned(),
        any_value::Value::KvlistValue(_) => "kvlist".to_owned(),
        any_value::Value::BytesValue(b) => format!("bytes {b:?}"),
        any_value::Value::StringValueStrindex(i) => format!("strindex {i}"),
    })
}

fn viewed_attribute(value: Option<AnyValueView<'_>>) -> Option<String> {
    Some(match value? {
        AnyValueView::String(s) => format!("string {s}"),
        AnyValueView::Bool(b) => format!("bool {b}"),
        AnyValueView::Int(i) => format!("int {i}"),
        AnyValueView::Double(d) => format!("double {:x}", d.to_bits()),
        AnyValueView::Array => "array".to_owned(),
        AnyValueView::KvList => "kvlist".to_owned(),
        AnyValueView::Bytes(b) => format!("bytes {b:?}"),
        AnyValueView::StringIndex(i) => format!("strindex {i}"),
    })
}

fn check_views(bytes: &[u8]) -> Result<(), TestCaseError> {
    let decoded = ExportTraceServiceRequest::decode(bytes).unwrap();
    let traces = EncodedTraces::parse(bytes).unwrap();
    let spans: Vec<&Span> = decoded
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .collect();
    prop_assert_eq!(traces.spans().len(), spans.len());
    for (view, span) in traces.spans().iter().zip(spans) {
        prop_assert_eq!(view.trace_id(), span.trace_id.as_slice());
        prop_assert_eq!(view.trace_state(), span.trace_state.as_str());
        prop_assert_eq!(view.flags(), span.flags);
        for key in ["sampling.priority", "k", "", "absent"] {
            prop_assert_eq!(
                viewed_attribute(view.find_attribute(key).unwrap()),
                expected_attribute(span, key),
                "key {:?}",
                key
            );
        }
    }
    Ok(())
}

fn check_rewrite(bytes: &[u8], edits: &[EditModel]) -> Result<(), TestCaseError> {
    let mut expected = ExportTraceServiceRequest::decode(bytes).unwrap();
    edit_decoded(&mut expected, edits);
    let traces = EncodedTraces::parse(bytes).unwrap();
    // Appended after what `out` already holds.
    let mut out = vec![0x0a, 0x00];
    let kept = traces.rewrite(&span_edits(edits), &mut out).unwrap();
    let rewritten = &out[2..];
    let decoded = ExportTraceServiceRequest::decode(rewritten).unwrap();
    // Compared as prost encodes them: equal trees encode to equal bytes, and a NaN attribute equals itself.
    prop_assert_eq!(
        decoded.encode_to_vec(),
        expected.encode_to_vec(),
        "{:?}\n!=\n{:?}",
        decoded,
        expected
    );
    prop_assert_eq!(kept, expected.item_count());
    // The rewritten bytes are themselves a request the scanner accepts, with the same count.
    prop_assert_eq!(wire::scan(Signal::Traces, rewritten).unwrap().items, kept);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rewriting_equals_editing_the_decoded_request(bytes in request(), edits in edits()) {
        check_rewrite(&bytes, &edits)?;
    }

    #[test]
    fn span_views_read_what_prost_decodes(bytes in request()) {
        check_views(&bytes)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn generated_requests_rewrite_like_prost(
        seed in any::<u64>(),
        spans in 1usize..300,
        edits in prop::collection::vec(
            prop_oneof![
                Just(EditModel::Keep),
                Just(EditModel::Remove),
                Just(EditModel::TraceState("ot=th:c,rojo=00f067aa0ba902b7".to_owned())),
            ],
            0..300,
        ),
    ) {
        let bytes = otlp_testkit::Generator::new(seed).traces(spans).encode_to_vec();
        check_views(&bytes)?;
        check_rewrite(&bytes, &edits)?;
    }
}

#[test]
fn keeping_everything_gives_the_same_request_back() {
    let request = otlp_testkit::Generator::new(3).traces(200);
    let bytes = request.encode_to_vec();
    let mut out = Vec::new();
    let kept = EncodedTraces::parse(&bytes)
        .unwrap()
        .rewrite(&SpanEdits::new(), &mut out)
        .unwrap();
    assert_eq!(kept, 200);
    // prost's encoding has no empty containers to drop, so the bytes are the same.
    assert_eq!(out, bytes);
}

#[test]
fn removing_everything_leaves_an_empty_request() {
    let bytes = otlp_testkit::Generator::new(4).traces(50).encode_to_vec();
    let traces = EncodedTraces::parse(&bytes).unwrap();
    let mut edits = SpanEdits::new();
    for _ in traces.spans() {
        edits.remove();
    }
    let mut out = Vec::new();
    assert_eq!(traces.rewrite(&edits, &mut out).unwrap(), 0);
    assert!(out.is_empty());
}
