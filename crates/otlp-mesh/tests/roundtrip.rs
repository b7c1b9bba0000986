//! Property tests: inject→extract round trips for every propagator, and arbitrary or mutated
//! header values never panic and never produce a context that does not re-encode to itself.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use otlp_mesh::{
    B3Encoding, B3Propagator, EnvoyPropagator, EnvoyRequest, Format, JaegerPropagator,
    LinkerdPropagator, MeshPropagator, OpenCensusPropagator, SamplingHint,
    W3cTraceContextPropagator, XRayFields, XRayPropagator, envoy_request, sampling_hint,
    with_sampling_hint, xray_fields,
};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Accept,
    Deny,
    Deferred,
    Debug,
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Accept),
        Just(State::Deny),
        Just(State::Deferred),
        Just(State::Debug)
    ]
}

fn context(trace: u128, span: u64, state: State, trace_state: TraceState) -> Context {
    let flags = match state {
        State::Accept | State::Debug => TraceFlags::SAMPLED,
        State::Deny | State::Deferred => TraceFlags::default(),
    };
    let cx = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        flags,
        true,
        trace_state,
    ));
    match state {
        State::Deferred => with_sampling_hint(&cx, TraceId::from(trace), SamplingHint::Deferred),
        State::Debug => with_sampling_hint(&cx, TraceId::from(trace), SamplingHint::Debug),
        State::Accept | State::Deny => cx,
    }
}

fn state_of(cx: &Context) -> State {
    match (sampling_hint(cx), cx.span().span_context().is_sampled()) {
        (Some(SamplingHint::Debug), true) => State::Debug,
        (Some(SamplingHint::Deferred), false) => State::Deferred,
        (None, true) => State::Accept,
        (None, false) => State::Deny,
        other => panic!("inconsistent sampling state {other:?}"),
    }
}

fn roundtrip(propagator: &dyn TextMapPropagator, cx: &Context) -> Context {
    let mut carrier = HashMap::new();
    propagator.inject_context(cx, &mut carrier);
    propagator.extract_with_context(&Context::new(), &carrier)
}

fn assert_ids(before: &Context, after: &Context) {
    let (before, after) = (
        before.span().span_context().clone(),
        after.span().span_context().clone(),
    );
    assert_eq!(before.trace_id(), after.trace_id());
    assert_eq!(before.span_id(), after.span_id());
    assert!(after.is_remote());
}

/// What a format can express of each state.
fn expected(format: Format, state: State) -> State {
    match (format, state) {
        (Format::TraceContext | Format::OpenCensus, State::Debug) => State::Accept,
        (Format::TraceContext | Format::OpenCensus | Format::Jaeger, State::Deferred) => {
            State::Deny
        }
        (Format::XRay, State::Debug) => State::Accept,
        (_, state) => state,
    }
}

fn tracestate_entries() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-z][a-z0-9_*/-]{0,12}", "[!-+\\--<>-~]{1,20}", 0..6)
        .prop_map(|map| map.into_iter().collect())
}

proptest! {
    // A fixed seed keeps every run identical, and no regression files are written.
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6d65_7368),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_format_round_trips(trace in 1..=u128::MAX, span in 1..=u64::MAX, state in state()) {
        let cx = context(trace, span, state, TraceState::default());
        let formats: [(Format, Box<dyn TextMapPropagator>); 8] = [
            (Format::TraceContext, Box::new(W3cTraceContextPropagator::new())),
            (Format::B3, Box::new(B3Propagator::new(B3Encoding::Single))),
            (Format::B3, Box::new(B3Propagator::new(B3Encoding::Multi))),
            (Format::B3, Box::new(B3Propagator::new(B3Encoding::SingleAndMulti))),
            (Format::XRay, Box::new(XRayPropagator::new())),
            (Format::Jaeger, Box::new(JaegerPropagator::new())),
            (Format::OpenCensus, Box::new(OpenCensusPropagator::new())),
            (Format::Linkerd, Box::new(LinkerdPropagator::new())),
        ];
        for (format, propagator) in formats {
            let back = roundtrip(propagator.as_ref(), &cx);
            assert_ids(&cx, &back);
            prop_assert_eq!(state_of(&back), expected(format, state), "{:?}", format);
        }
    }

    #[test]
    fn composite_round_trips_through_each_single_format(
        trace in 1..=u128::MAX, span in 1..=u64::MAX, state in state(), index in 0..Format::ALL.len()
    ) {
        let format = Format::ALL[index];
        let propagator = MeshPropagator::builder().precedence([format]).inject([format]).build();
        let cx = context(trace, span, state, TraceState::default());
        let back = roundtrip(&propagator, &cx);
        assert_ids(&cx, &back);
        prop_assert_eq!(state_of(&back), expected(format, state));
        prop_assert_eq!(otlp_mesh::extracted_from(&back), Some(format));
    }

    #[test]
    fn w3c_tracestate_round_trips(trace in 1..=u128::MAX, span in 1..=u64::MAX, entries in tracestate_entries()) {
        let trace_state = TraceState::from_key_value(entries.clone()).unwrap();
        let cx = context(trace, span, State::Accept, trace_state.clone());
        let back = roundtrip(&W3cTraceContextPropagator::new(), &cx);
        assert_ids(&cx, &back);
        prop_assert_eq!(back.span().span_context().trace_state().header(), trace_state.header());
    }

    #[test]
    fn xray_fields_round_trip(
        trace in 1..=u128::MAX, span in 1..=u64::MAX,
        self_id in proptest::option::of("1-[0-9a-f]{8}-[0-9a-f]{24}"),
        lineage in proptest::option::of("[0-9a-f]{8}:[0-9]{1,3}(\\|[0-9a-f]{8}:[0-9]{1,3}){0,2}"),
        other in prop::collection::vec(("[A-Z][A-Za-z]{0,8}", "[A-Za-z0-9]{1,12}"), 0..3),
    ) {
        let other: Vec<(String, String)> = other
            .into_iter()
            .filter(|(key, _)| !matches!(key.as_str(), "Root" | "Parent" | "Sampled" | "Self" | "Lineage"))
            .collect();
        let fields = XRayFields { trace_id: TraceId::from(trace), self_id, lineage, other };
        let cx = context(trace, span, State::Accept, TraceState::default()).with_value(fields.clone());
        let back = roundtrip(&XRayPropagator::new(), &cx);
        assert_ids(&cx, &back);
        let empty = fields.self_id.is_none() && fields.lineage.is_none() && fields.other.is_empty();
        prop_assert_eq!(xray_fields(&back), (!empty).then_some(&fields));
    }

    #[test]
    fn envoy_request_id_round_trips(uuid in "[0-9a-f]{8}-[0-9a-f]{4}-[49ab][0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}") {
        let request = EnvoyRequest {
            trace_reason: otlp_mesh::trace_reason(&uuid),
            request_id: Some(uuid),
            client_trace_id: None,
            force_trace: false,
        };
        let cx = Context::new().with_value(request.clone());
        let back = roundtrip(&EnvoyPropagator::new(), &cx);
        prop_assert_eq!(envoy_request(&back), Some(&request));
    }

    #[test]
    fn arbitrary_values_never_panic(value in any::<String>(), index in 0..HEADERS.len()) {
        check_no_panic_and_stable(HEADERS[index], &value);
    }

    #[test]
    fn mutated_valid_values_never_panic(
        index in 0..VALID.len(), position in any::<prop::sample::Index>(), replacement in any::<char>()
    ) {
        let (header, valid) = VALID[index];
        let mut chars: Vec<char> = valid.chars().collect();
        let at = position.index(chars.len());
        chars[at] = replacement;
        let mutated: String = chars.into_iter().collect();
        check_no_panic_and_stable(header, &mutated);
        let truncated: String = valid.chars().take(at).collect();
        check_no_panic_and_stable(header, &truncated);
    }
}

const HEADERS: [&str; 9] = [
    "traceparent",
    "tracestate",
    "b3",
    "x-b3-traceid",
    "x-amzn-trace-id",
    "uber-trace-id",
    "grpc-trace-bin",
    "l5d-ctx-trace",
    "x-request-id",
];

const VALID: [(&str, &str); 6] = [
    (
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ),
    (
        "b3",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
    ),
    (
        "x-amzn-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1",
    ),
    (
        "uber-trace-id",
        "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
    ),
    ("grpc-trace-bin", "AABL+S81d7NNpqPOkp0ODkc2AQDwZ6oLqQK3AgE"),
    (
        "l5d-ctx-trace",
        "AQIDBAUGBwgREhMUFRYXGCEiIyQlJicoAAAAAAAAAAY=",
    ),
];

/// Whatever a value does, extraction must not panic, and a context it yields must survive its own
/// propagator's inject→extract unchanged (so nothing half-parsed is passed on).
fn check_no_panic_and_stable(header: &str, value: &str) {
    let carrier: HashMap<String, String> = [(header.to_owned(), value.to_owned())].into();
    let propagators: [Box<dyn TextMapPropagator>; 8] = [
        Box::new(W3cTraceContextPropagator::new()),
        Box::new(B3Propagator::new(B3Encoding::SingleAndMulti)),
        Box::new(XRayPropagator::new()),
        Box::new(JaegerPropagator::new()),
        Box::new(OpenCensusPropagator::new()),
        Box::new(LinkerdPropagator::new()),
        Box::new(EnvoyPropagator::new()),
        Box::new(MeshPropagator::builder().inject(Format::ALL).build()),
    ];
    for propagator in propagators {
        let cx = propagator.extract_with_context(&Context::new(), &carrier);
        let span_context = cx.span().span_context().clone();
        if span_context.is_valid() {
            let again = roundtrip(propagator.as_ref(), &cx);
            assert_eq!(
                again.span().span_context().trace_id(),
                span_context.trace_id()
            );
            assert_eq!(
                again.span().span_context().span_id(),
                span_context.span_id()
            );
        }
    }
}
