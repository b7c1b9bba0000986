//! Reading the spans of an encoded `ExportTraceServiceRequest` in place, for counting: the fields `spanmetrics`
//! counts by, borrowed from the request's bytes, with the values prost would decode. Resources and scopes (one or
//! a few per request) are decoded with prost; spans, their attributes and events are not, which is most of what
//! decoding a request costs.

use super::facts::{Attributes, EventFacts, Events, SpanFacts};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_model::wire::{Fields, RECURSION_LIMIT, Value, WireError};
use prost::Message;

/// `ExportTraceServiceRequest.resource_spans`.
const REQUEST_RESOURCE_SPANS: u32 = 1;
const RESOURCE_SPANS_RESOURCE: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
const SCOPE_SPANS_SCOPE: u32 = 1;
const SCOPE_SPANS_SPANS: u32 = 2;
const SPAN_TRACE_ID: u32 = 1;
const SPAN_SPAN_ID: u32 = 2;
const SPAN_PARENT_SPAN_ID: u32 = 4;
const SPAN_NAME: u32 = 5;
const SPAN_KIND: u32 = 6;
const SPAN_START: u32 = 7;
const SPAN_END: u32 = 8;
pub(in crate::connector) const SPAN_ATTRIBUTES: u32 = 9;
pub(in crate::connector) const SPAN_EVENTS: u32 = 11;
const SPAN_STATUS: u32 = 15;
const EVENT_TIME: u32 = 1;
const EVENT_NAME: u32 = 2;
pub(in crate::connector) const EVENT_ATTRIBUTES: u32 = 3;
const STATUS_CODE: u32 = 3;

/// The nesting each message's fields are read at, as prost counts it.
const RESOURCE_SPANS_DEPTH: u32 = RECURSION_LIMIT - 1;
const SCOPE_SPANS_DEPTH: u32 = RECURSION_LIMIT - 2;
pub(in crate::connector) const SPAN_DEPTH: u32 = RECURSION_LIMIT - 3;
pub(in crate::connector) const EVENT_DEPTH: u32 = RECURSION_LIMIT - 4;

/// A request's resources, each with its scopes and their spans.
pub(in crate::connector) struct EncodedRequest<'a> {
    pub(in crate::connector) resources: Vec<EncodedResource<'a>>,
}

pub(in crate::connector) struct EncodedResource<'a> {
    pub(in crate::connector) resource: Resource,
    pub(in crate::connector) scopes: Vec<EncodedScope<'a>>,
}

pub(in crate::connector) struct EncodedScope<'a> {
    pub(in crate::connector) scope: Option<InstrumentationScope>,
    pub(in crate::connector) spans: Vec<SpanFacts<'a>>,
}

/// Reads every span of `bytes`, or fails (before anything is counted) where prost would fail on the fields read.
pub(in crate::connector) fn parse(bytes: &[u8]) -> Result<EncodedRequest<'_>, WireError> {
    let mut resources = Vec::new();
    for field in Fields::new(bytes, RECURSION_LIMIT) {
        match field? {
            (REQUEST_RESOURCE_SPANS, Value::Len(resource_spans)) => {
                resources.push(parse_resource(resource_spans)?);
            }
            (REQUEST_RESOURCE_SPANS, _) => return Err(wrong_type(REQUEST_RESOURCE_SPANS)),
            _ => {}
        }
    }
    Ok(EncodedRequest { resources })
}

fn parse_resource(bytes: &[u8]) -> Result<EncodedResource<'_>, WireError> {
    // A message field sent twice is merged into one, as prost does, wherever it comes. Should prost fail on one
    // (it does not on a request the receiver accepted), the caller decodes the whole request, and names the error.
    let mut resource = Resource::default();
    let mut scopes = Vec::new();
    for field in Fields::new(bytes, RESOURCE_SPANS_DEPTH) {
        match field? {
            (RESOURCE_SPANS_RESOURCE, Value::Len(part)) => {
                resource
                    .merge(part)
                    .map_err(|_| wrong_type(RESOURCE_SPANS_RESOURCE))?;
            }
            (RESOURCE_SPANS_SCOPE_SPANS, Value::Len(scope_spans)) => {
                scopes.push(parse_scope(scope_spans)?);
            }
            (number @ (RESOURCE_SPANS_RESOURCE | RESOURCE_SPANS_SCOPE_SPANS), _) => {
                return Err(wrong_type(number));
            }
            _ => {}
        }
    }
    Ok(EncodedResource { resource, scopes })
}

fn parse_scope(bytes: &[u8]) -> Result<EncodedScope<'_>, WireError> {
    let mut scope: Option<InstrumentationScope> = None;
    let mut spans = Vec::new();
    for field in Fields::new(bytes, SCOPE_SPANS_DEPTH) {
        match field? {
            (SCOPE_SPANS_SCOPE, Value::Len(part)) => {
                scope
                    .get_or_insert_with(InstrumentationScope::default)
                    .merge(part)
                    .map_err(|_| wrong_type(SCOPE_SPANS_SCOPE))?;
            }
            (SCOPE_SPANS_SPANS, Value::Len(span)) => spans.push(parse_span(span)?),
            (number @ (SCOPE_SPANS_SCOPE | SCOPE_SPANS_SPANS), _) => {
                return Err(wrong_type(number));
            }
            _ => {}
        }
    }
    Ok(EncodedScope { scope, spans })
}

/// One span's facts. A scalar field sent twice keeps its last value, and `status` messages merge (the last
/// `code` wins), as in prost; attributes and events are kept as the part of the span from their first field to
/// their last, walked when a dimension is looked up.
fn parse_span(bytes: &[u8]) -> Result<SpanFacts<'_>, WireError> {
    let mut span = SpanFacts {
        name: "",
        kind: 0,
        status: 0,
        start: 0,
        end: 0,
        trace_id: &[],
        span_id: &[],
        parent_span_id: &[],
        attributes: Attributes::Encoded {
            message: &[],
            field: SPAN_ATTRIBUTES,
            depth: SPAN_DEPTH,
        },
        events: Events::Encoded(&[]),
    };
    let mut attributes: Option<(usize, usize)> = None;
    let mut events: Option<(usize, usize)> = None;
    let mut fields = Fields::new(bytes, SPAN_DEPTH);
    loop {
        let start = fields.offset();
        let Some(field) = fields.next() else { break };
        let end = fields.offset();
        match field? {
            (SPAN_TRACE_ID, Value::Len(id)) => span.trace_id = id,
            (SPAN_SPAN_ID, Value::Len(id)) => span.span_id = id,
            (SPAN_PARENT_SPAN_ID, Value::Len(id)) => span.parent_span_id = id,
            (SPAN_NAME, value @ Value::Len(_)) => {
                span.name = value
                    .str()
                    .map_err(|_| WireError::InvalidUtf8 { field: SPAN_NAME })?;
            }
            // prost reads an enum as an int32: the varint's bits, truncated.
            (SPAN_KIND, Value::Varint(kind)) => span.kind = kind as i32,
            (SPAN_START, Value::Fixed64(nanos)) => span.start = nanos,
            (SPAN_END, Value::Fixed64(nanos)) => span.end = nanos,
            (SPAN_ATTRIBUTES, Value::Len(_)) => {
                attributes = Some((attributes.map_or(start, |(first, _)| first), end));
            }
            (SPAN_EVENTS, Value::Len(_)) => {
                events = Some((events.map_or(start, |(first, _)| first), end));
            }
            (SPAN_STATUS, Value::Len(status)) => {
                for field in Fields::new(status, SPAN_DEPTH - 1) {
                    match field? {
                        (STATUS_CODE, Value::Varint(code)) => span.status = code as i32,
                        (STATUS_CODE, _) => return Err(wrong_type(STATUS_CODE)),
                        _ => {}
                    }
                }
            }
            (
                number @ (SPAN_TRACE_ID | SPAN_SPAN_ID | SPAN_PARENT_SPAN_ID | SPAN_NAME
                | SPAN_KIND | SPAN_START | SPAN_END | SPAN_ATTRIBUTES | SPAN_EVENTS
                | SPAN_STATUS),
                _,
            ) => return Err(wrong_type(number)),
            _ => {}
        }
    }
    if let Some((first, last)) = attributes {
        span.attributes = Attributes::Encoded {
            message: bytes.get(first..last).unwrap_or(bytes),
            field: SPAN_ATTRIBUTES,
            depth: SPAN_DEPTH,
        };
    }
    if let Some((first, last)) = events {
        span.events = Events::Encoded(bytes.get(first..last).unwrap_or(bytes));
    }
    Ok(span)
}

/// One event of a span read in place. Its fields were checked when the receiver took the request: a name that
/// does not read (never, on such a request) is taken as empty.
pub(in crate::connector) fn event(bytes: &[u8]) -> EventFacts<'_> {
    let mut event = EventFacts {
        name: "",
        time: 0,
        attributes: Attributes::Encoded {
            message: bytes,
            field: EVENT_ATTRIBUTES,
            depth: EVENT_DEPTH,
        },
    };
    for field in Fields::new(bytes, EVENT_DEPTH) {
        match field {
            Ok((EVENT_TIME, Value::Fixed64(nanos))) => event.time = nanos,
            Ok((EVENT_NAME, value @ Value::Len(_))) => event.name = value.str().unwrap_or(""),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    event
}

fn wrong_type(field: u32) -> WireError {
    WireError::WrongWireType { field }
}

#[cfg(test)]
mod tests {
    use super::super::aggregate::Aggregator;
    use super::super::facts::SpanFacts;
    use super::super::{DimensionConfig, SpanMetricsConfig};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{Span, Status, span};
    use proptest::prelude::*;
    use prost::Message;
    use prost::encoding::{WireType, encode_key, encode_varint};

    /// Every setting that reads attributes: dimensions on the span, resource and events, with and without
    /// defaults, scopes as dimensions, exemplars, exponential buckets.
    const SETTINGS: &str = r#"
dimensions: [{name: k0}, {name: k1, default: none}]
calls_dimensions: [{name: k2}]
histogram: {exponential: {max_size: 20}, dimensions: [{name: k3, default: "-"}]}
events: {enabled: true, dimensions: [{name: k4}, {name: k2, default: "?"}]}
include_instrumentation_scope: [s0, s1]
exemplars: {enabled: true, max_per_data_point: 3}
"#;

    fn value() -> impl Strategy<Value = Option<AnyValue>> {
        let scalar = prop_oneof![
            "[ab]{0,2}".prop_map(any_value::Value::StringValue),
            (-2i64..3).prop_map(any_value::Value::IntValue),
            prop_oneof![Just(0.5f64), Just(-0.0f64), Just(2.0f64)]
                .prop_map(any_value::Value::DoubleValue),
            any::<bool>().prop_map(any_value::Value::BoolValue),
            prop::collection::vec(any::<u8>(), 0..3).prop_map(any_value::Value::BytesValue),
        ];
        let nested = prop_oneof![
            scalar.clone(),
            prop::collection::vec(scalar.clone(), 0..3).prop_map(|values| {
                any_value::Value::ArrayValue(ArrayValue {
                    values: values
                        .into_iter()
                        .map(|v| AnyValue { value: Some(v) })
                        .collect(),
                })
            }),
            scalar.prop_map(|v| {
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![otlp_ottl::key_value("x", AnyValue { value: Some(v) })],
                })
            }),
        ];
        prop_oneof![
            1 => Just(None),
            1 => Just(Some(AnyValue { value: None })),
            8 => nested.prop_map(|v| Some(AnyValue { value: Some(v) })),
        ]
    }

    fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
        let key = prop_oneof![
            Just("k0"),
            Just("k1"),
            Just("k2"),
            Just("k3"),
            Just("k4"),
            Just("service.name"),
            Just("exception.type"),
            Just("other"),
        ];
        prop::collection::vec((key, value()), 0..5).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(key, value)| KeyValue {
                    key: key.to_string(),
                    value,
                    ..Default::default()
                })
                .collect()
        })
    }

    fn span() -> impl Strategy<Value = Span> {
        (
            prop_oneof![Just(vec![]), Just(vec![1; 16]), Just(vec![2; 16])],
            prop_oneof![Just("GET"), Just("POST"), Just("")],
            -1i32..7,
            (0u64..3_000_000, 0u64..3_000_000),
            attributes(),
            prop::collection::vec(
                (
                    prop_oneof![Just("exception"), Just("retry"), Just("")],
                    0u64..3_000_000,
                    attributes(),
                ),
                0..3,
            ),
            prop::option::of(-1i32..4),
            prop_oneof![Just(vec![]), Just(vec![4; 8])],
        )
            .prop_map(
                |(
                    trace_id,
                    name,
                    kind,
                    (start, end),
                    attributes,
                    events,
                    status,
                    parent_span_id,
                )| Span {
                    trace_id,
                    span_id: vec![3; 8],
                    parent_span_id,
                    name: name.to_string(),
                    kind,
                    start_time_unix_nano: start,
                    end_time_unix_nano: end,
                    attributes,
                    events: events
                        .into_iter()
                        .map(|(name, time_unix_nano, attributes)| span::Event {
                            name: name.to_string(),
                            time_unix_nano,
                            attributes,
                            ..Default::default()
                        })
                        .collect(),
                    status: status.map(|code| Status {
                        code,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
    }

    /// A span's encoding, sent as one message or as two whose fields prost merges.
    fn span_bytes() -> impl Strategy<Value = Vec<u8>> {
        (span(), prop::option::of(span())).prop_map(|(first, second)| {
            let mut bytes = first.encode_to_vec();
            if let Some(second) = second {
                bytes.extend(second.encode_to_vec());
            }
            bytes
        })
    }

    fn len_field(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
        encode_key(field, WireType::LengthDelimited, out);
        encode_varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }

    /// A request of resources (with or without `service.name`), scopes and spans, encoded as SDKs do and
    /// with the merges prost allows.
    fn request() -> impl Strategy<Value = Vec<u8>> {
        let scope = (
            prop::option::of(prop_oneof![Just("s0"), Just("s1"), Just("s2"), Just("")]),
            prop::collection::vec(span_bytes(), 0..4),
        );
        let resource = (
            prop::option::of((
                prop::option::of(prop_oneof![Just("a"), Just("b")]),
                attributes(),
            )),
            prop::collection::vec(scope, 0..3),
        );
        prop::collection::vec(resource, 0..3).prop_map(|resources| {
            let mut request = Vec::new();
            for (resource, scopes) in resources {
                let mut resource_spans = Vec::new();
                if let Some((service, mut attributes)) = resource {
                    if let Some(service) = service {
                        attributes.insert(
                            0,
                            otlp_ottl::key_value("service.name", otlp_ottl::string_value(service)),
                        );
                    }
                    let resource = Resource {
                        attributes,
                        ..Default::default()
                    };
                    len_field(1, &resource.encode_to_vec(), &mut resource_spans);
                }
                for (scope, spans) in scopes {
                    let mut scope_spans = Vec::new();
                    for span in spans {
                        len_field(2, &span, &mut scope_spans);
                    }
                    // After the spans, which prost reads the same.
                    if let Some(name) = scope {
                        let scope = InstrumentationScope {
                            name: name.to_string(),
                            version: "1".to_string(),
                            ..Default::default()
                        };
                        len_field(1, &scope.encode_to_vec(), &mut scope_spans);
                    }
                    len_field(2, &scope_spans, &mut resource_spans);
                }
                len_field(1, &resource_spans, &mut request);
            }
            request
        })
    }

    fn aggregator() -> Aggregator {
        let config: SpanMetricsConfig = serde_norway::from_str(SETTINGS).unwrap();
        Aggregator::new(config.compile().unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Read in place or decoded, the same requests give the same metrics, `spanmetrics`' and `exceptions`'.
        #[test]
        fn in_place_counts_what_decoding_counts(requests in prop::collection::vec(request(), 1..3)) {
            let exceptions = || {
                let dimensions = [DimensionConfig { name: "k0".to_string(), default: Some("-".to_string()) }];
                super::super::exception_counter(&dimensions, true).unwrap()
            };
            for (mut in_place, mut decoded) in [(aggregator(), aggregator()), (exceptions(), exceptions())] {
                for (i, bytes) in requests.iter().enumerate() {
                    let request = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
                    let now = i as u64 + 1;
                    prop_assert_eq!(
                        in_place.aggregate_encoded(&super::parse(bytes).unwrap(), now),
                        decoded.aggregate(&request, now)
                    );
                }
                prop_assert_eq!(in_place.take_metrics(10), decoded.take_metrics(10));
            }
        }

        /// Read in place, each span has the ids, kind, status and times prost decodes (what `servicegraph` pairs
        /// spans by), and its events' names and times (what `exceptions` reads).
        #[test]
        fn in_place_reads_the_ids_and_kinds_prost_decodes(bytes in request()) {
            let request = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
            let parsed = super::parse(&bytes).unwrap();
            let facts = |span: &SpanFacts<'_>| {
                let mut events = Vec::new();
                span.events.each(|event| events.push((event.name.to_string(), event.time)));
                (span.trace_id.to_vec(), span.span_id.to_vec(), span.parent_span_id.to_vec(), span.kind,
                    span.status, span.start, span.end, events)
            };
            let in_place: Vec<_> = parsed.resources.iter()
                .flat_map(|resource| &resource.scopes)
                .flat_map(|scope| &scope.spans)
                .map(facts)
                .collect();
            let decoded: Vec<_> = request.resource_spans.iter()
                .flat_map(|resource| &resource.scope_spans)
                .flat_map(|scope| &scope.spans)
                .map(|span| facts(&SpanFacts::decoded(span)))
                .collect();
            prop_assert_eq!(in_place, decoded);
        }
    }
}
