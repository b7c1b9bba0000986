//! The consistent rule over a column of trace ids against the one-id rule, and the `probabilistic_sampler` logic on
//! encoded requests against the decoded path (the reference): for every mode and setting and arbitrary spans
//! (tracestates with and without `th`/`rv`, malformed ones, `sampling.priority` of every type, trace ids of the
//! wrong length, flags with and without the random bit), decoding what `sample_encoded_traces` writes gives exactly
//! what `sample_traces` leaves, with the same counts.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_sampling::consistent::{
    KeepBitmap, MAX_VALUE, Randomness, Threshold, decide_trace_ids, decide_trace_ids_into,
};
use otlp_sampling::probabilistic::{
    ProbabilisticSampler, ProbabilisticSamplerConfig, SampleCounts, SamplerMode,
};
use proptest::prelude::*;
use prost::Message;

fn trace_ids() -> impl Strategy<Value = Vec<[u8; 16]>> {
    prop::collection::vec(prop::array::uniform16(any::<u8>()), 0..300)
}

fn assert_one_id_rule(ids: &[[u8; 16]], threshold: Threshold, bitmap: &KeepBitmap) {
    assert_eq!(bitmap.len(), ids.len());
    let mut kept = 0;
    for (i, id) in ids.iter().enumerate() {
        let expected = threshold.should_sample(Randomness::from_trace_id(*id));
        assert_eq!(bitmap.is_kept(i), expected, "id {i} at {threshold:?}");
        kept += usize::from(expected);
    }
    assert_eq!(bitmap.kept(), kept);
    assert!(!bitmap.is_kept(ids.len()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary thresholds, and the ones at an id's randomness and either side of it, where `>=` and `>` differ.
    #[test]
    fn column_decisions_equal_the_one_id_rule(
        ids in trace_ids(),
        raw in 0..=MAX_VALUE,
        pick in any::<usize>(),
    ) {
        let mut thresholds = vec![raw, 0, MAX_VALUE, 1 << 55];
        if let Some(id) = ids.get(pick % ids.len().max(1)) {
            let at = Randomness::from_trace_id(*id).raw();
            thresholds.extend([at, at.saturating_sub(1), (at + 1).min(MAX_VALUE)]);
        }
        let mut reused = KeepBitmap::new();
        for raw in thresholds {
            let threshold = Threshold::from_raw(raw).unwrap();
            assert_one_id_rule(&ids, threshold, &decide_trace_ids(&ids, threshold));
            // A reused bitmap, last filled for another column, gives the same.
            decide_trace_ids_into(&ids[..ids.len() / 2], threshold, &mut reused);
            decide_trace_ids_into(&ids, threshold, &mut reused);
            assert_one_id_rule(&ids, threshold, &reused);
        }
    }
}

fn config() -> impl Strategy<Value = ProbabilisticSamplerConfig> {
    (
        prop_oneof![
            Just(SamplerMode::HashSeed),
            Just(SamplerMode::Proportional),
            Just(SamplerMode::Equalizing),
        ],
        prop_oneof![
            Just(0.0),
            Just(100.0),
            Just(25.0),
            Just(0.01),
            // Below 2^-56 once divided by 100: the proportional mode keeps nothing.
            Just(1e-15),
            0.0..=100.0f64,
        ],
        any::<bool>(),
        1u8..=14,
        any::<u32>(),
    )
        .prop_map(
            |(mode, sampling_percentage, fail_closed, sampling_precision, hash_seed)| {
                ProbabilisticSamplerConfig {
                    mode,
                    sampling_percentage,
                    fail_closed,
                    sampling_precision,
                    hash_seed,
                    ..Default::default()
                }
            },
        )
}

fn hex14() -> impl Strategy<Value = String> {
    "[0-9a-f]{14}"
}

/// Tracestates a collector sees: none, other vendors only, consistent `th`/`rv` (consistent with the id or not),
/// other `ot` sub-keys, and malformed `ot` values.
fn trace_state() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        2 => Just("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE".to_owned()),
        2 => hex14().prop_map(|rv| format!("ot=th:0;rv:{rv}")),
        1 => (hex14(), "[0-9a-f]{1,4}").prop_map(|(rv, th)| format!("ot=th:{th};rv:{rv},rojo=1")),
        1 => "[0-9a-f]{1,4}".prop_map(|th| format!("ot=th:{th}")),
        1 => hex14().prop_map(|rv| format!("congo=2,ot=rv:{rv}")),
        1 => Just("ot=x:y;z:w,rojo=1".to_owned()),
        1 => Just("ot=th:zz".to_owned()),
        1 => Just("ot=rv:123".to_owned()),
        1 => Just("ot=nocolon".to_owned()),
    ]
}

fn priority() -> impl Strategy<Value = Option<any_value::Value>> {
    prop_oneof![
        Just(None),
        prop_oneof![Just(0i64), Just(1), Just(-3), any::<i64>()]
            .prop_map(any_value::Value::IntValue)
            .prop_map(Some),
        prop_oneof![Just(0.0f64), Just(0.5), Just(-0.5), Just(f64::NAN)]
            .prop_map(any_value::Value::DoubleValue)
            .prop_map(Some),
        Just(Some(any_value::Value::StringValue("1".to_owned()))),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    let attribute = |key: &'static str| {
        proptest::option::of(priority()).prop_map(move |value| KeyValue {
            key: key.to_owned(),
            value: value.map(|value| AnyValue { value }),
            ..Default::default()
        })
    };
    (
        proptest::option::weighted(0.1, attribute("http.route")),
        proptest::option::weighted(0.3, attribute("sampling.priority")),
        proptest::option::weighted(0.1, attribute("sampling.priority")),
    )
        .prop_map(|(a, b, c)| [a, b, c].into_iter().flatten().collect())
}

fn span() -> impl Strategy<Value = Span> {
    (
        prop_oneof![
            8 => prop::collection::vec(any::<u8>(), 16..=16),
            1 => prop::collection::vec(any::<u8>(), 0..20),
            // The largest and smallest randomness: kept at the 2^-56 threshold, and only at 0.
            1 => Just(vec![0xff; 16]),
            1 => Just(vec![0; 16]),
        ],
        trace_state(),
        prop_oneof![Just(0x0103u32), Just(0x01), Just(0), any::<u32>()],
        attributes(),
    )
        .prop_map(|(trace_id, trace_state, flags, attributes)| Span {
            trace_id,
            span_id: vec![1; 8],
            trace_state,
            flags,
            attributes,
            name: "op".to_owned(),
            ..Default::default()
        })
}

fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope = prop::collection::vec(span(), 0..6).prop_map(|spans| ScopeSpans {
        spans,
        ..Default::default()
    });
    let resource = prop::collection::vec(scope, 0..3).prop_map(|scope_spans| ResourceSpans {
        scope_spans,
        ..Default::default()
    });
    prop::collection::vec(resource, 0..4)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

/// Both paths over `request`: the decoded one (the reference) and the encoded one.
fn check_both_paths(
    sampler: &ProbabilisticSampler,
    request: &ExportTraceServiceRequest,
) -> Result<SampleCounts, TestCaseError> {
    let bytes = request.encode_to_vec();
    let mut expected = request.clone();
    let expected_counts = sampler.sample_traces(&mut expected.resource_spans);
    let mut out = Vec::new();
    let counts = sampler.sample_encoded_traces(&bytes, &mut out).unwrap();
    prop_assert_eq!(counts, expected_counts);
    let decoded = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
    // Compared as prost encodes them: equal trees encode to equal bytes, and a NaN priority equals itself.
    prop_assert_eq!(
        decoded.encode_to_vec(),
        expected.encode_to_vec(),
        "{:?}\n!=\n{:?}",
        decoded,
        expected
    );
    Ok(counts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoded_requests_are_sampled_like_decoded_ones(config in config(), request in request()) {
        check_both_paths(&ProbabilisticSampler::new(config).unwrap(), &request)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn generated_requests_are_sampled_like_decoded_ones(
        config in config(),
        seed in any::<u64>(),
        spans in 1usize..400,
    ) {
        let request = otlp_testkit::Generator::new(seed).traces(spans);
        check_both_paths(&ProbabilisticSampler::new(config).unwrap(), &request)?;
    }
}

#[test]
fn realistic_traffic_takes_the_column_and_both_branches() {
    // Proportional at 25% over the generator's spans: most have no `th`/`rv` (the column), a quarter carry
    // `th:0;rv:…` (one by one); some of each are kept and some dropped.
    let sampler = ProbabilisticSampler::new(ProbabilisticSamplerConfig {
        mode: SamplerMode::Proportional,
        sampling_percentage: 25.0,
        ..Default::default()
    })
    .unwrap();
    let request = otlp_testkit::Generator::new(11).traces(2000);
    let counts = check_both_paths(&sampler, &request).unwrap();
    assert!(
        counts.kept > 200 && counts.dropped_not_sampled > 1000,
        "{counts:?}"
    );
    assert_eq!(counts.kept + counts.dropped_not_sampled, 2000);
}

#[test]
fn below_the_smallest_probability_the_proportional_mode_keeps_nothing() {
    // 1e-15 % is below 2^-56: the proportional mode has no threshold to record and drops even the span with the
    // largest randomness, which the smallest threshold would keep; the equalizing mode keeps it at that threshold.
    let span = Span {
        trace_id: vec![0xff; 16],
        span_id: vec![1; 8],
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    for (mode, kept) in [(SamplerMode::Proportional, 0), (SamplerMode::Equalizing, 1)] {
        let sampler = ProbabilisticSampler::new(ProbabilisticSamplerConfig {
            mode,
            sampling_percentage: 1e-15,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(check_both_paths(&sampler, &request).unwrap().kept, kept);
    }
}

#[test]
fn a_malformed_request_is_refused_and_nothing_is_written() {
    let sampler = ProbabilisticSampler::new(ProbabilisticSamplerConfig {
        mode: SamplerMode::Equalizing,
        sampling_percentage: 50.0,
        ..Default::default()
    })
    .unwrap();
    let mut out = Vec::new();
    for bad in [&[0x0a, 0x05][..], &[0x08, 0x01], &[0x0a, 0x02, 0x12, 0x05]] {
        assert!(sampler.sample_encoded_traces(bad, &mut out).is_err());
    }
    assert!(out.is_empty());
}
