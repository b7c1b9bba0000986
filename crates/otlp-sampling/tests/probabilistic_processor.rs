//! otelcol's `probabilistic_sampler` logic: rates per mode, `th` written in proportional
//! and equalizing modes, fail-closed handling, sampling priority, and log records.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_sampling::consistent::{OtelTraceState, Randomness, Threshold, ot_from_w3c};
use otlp_sampling::probabilistic::{
    AttributeSource, ItemDecision, ProbabilisticSampler, ProbabilisticSamplerConfig, SamplerMode,
};

fn sampler(yaml: &str) -> ProbabilisticSampler {
    ProbabilisticSampler::new(serde_norway::from_str(yaml).unwrap()).unwrap()
}

fn random_spans(seed: u64, n: usize, trace_state: &str) -> Vec<Span> {
    let mut rng = rng(seed);
    (0..n)
        .map(|_| {
            let mut s = span(trace_id(&mut rng), 0, 1);
            s.trace_state = trace_state.to_owned();
            s
        })
        .collect()
}

fn assert_rate(kept: u64, total: u64, p: f64) {
    let tolerance = binomial_tolerance(total, p, 5.0);
    let expected = total as f64 * p;
    assert!(
        (kept as f64 - expected).abs() <= tolerance,
        "kept {kept}, expected {expected:.0} ± {tolerance:.0}"
    );
}

#[test]
fn config_defaults_match_otelcol() {
    let config: ProbabilisticSamplerConfig =
        serde_norway::from_str("sampling_percentage: 15.3").unwrap();
    assert_eq!(config.mode, SamplerMode::HashSeed);
    assert!(config.fail_closed);
    assert_eq!(config.sampling_precision, 4);
    assert_eq!(config.attribute_source, AttributeSource::TraceId);
    assert!(
        serde_norway::from_str::<ProbabilisticSamplerConfig>(
            "sampling_percentage: 1\nsampling_rate: 2"
        )
        .is_err()
    );
    assert!(
        ProbabilisticSampler::new(ProbabilisticSamplerConfig {
            sampling_percentage: 101.0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        ProbabilisticSampler::new(ProbabilisticSamplerConfig {
            sampling_precision: 15,
            ..Default::default()
        })
        .is_err()
    );
}

#[test]
fn hash_seed_mode_hits_its_rate_leaves_tracestate_and_depends_on_seed() {
    let total = 100_000;
    let seeded = |seed: u32| sampler(&format!("sampling_percentage: 25\nhash_seed: {seed}"));
    let mut spans = vec![resource_spans("svc", random_spans(21, total, "vendor=x"))];
    let mut again = spans.clone();
    let counts = seeded(22).sample_traces(&mut spans);
    assert_rate(counts.kept, total as u64, 0.25);
    assert_eq!(counts.kept + counts.dropped_not_sampled, total as u64);
    assert!(
        spans[0].scope_spans[0]
            .spans
            .iter()
            .all(|s| s.trace_state == "vendor=x")
    );
    // Same seed, same decisions; another seed picks a different subset.
    seeded(22).sample_traces(&mut again);
    assert_eq!(trace_ids(&spans), trace_ids(&again));
    let mut other = vec![resource_spans("svc", random_spans(21, total, ""))];
    seeded(23).sample_traces(&mut other);
    assert_ne!(trace_ids(&spans), trace_ids(&other));
}

#[test]
fn proportional_mode_multiplies_incoming_probability_and_writes_th() {
    let s = sampler("sampling_percentage: 10\nmode: proportional");
    let total = 100_000u64;
    let mut fresh = vec![resource_spans(
        "svc",
        random_spans(31, total as usize, "vendor=x"),
    )];
    let counts = s.sample_traces(&mut fresh);
    assert_rate(counts.kept, total, 0.1);
    for span in &fresh[0].scope_spans[0].spans {
        assert_eq!(span.trace_state, "ot=th:e666,vendor=x");
    }
    // Already sampled at 50% upstream: the result represents 5%.
    let mut halved = vec![resource_spans("svc", random_spans(32, total as usize, ""))];
    halved[0].scope_spans[0]
        .spans
        .retain(|s| Randomness::from_trace_id_bytes(&s.trace_id).unwrap().raw() >= 1 << 55);
    for span in &mut halved[0].scope_spans[0].spans {
        span.trace_state = "ot=th:8".into();
    }
    let arriving = span_count(&halved);
    let counts = s.sample_traces(&mut halved);
    assert_rate(counts.kept, arriving, 0.1);
    let expected = Threshold::from_probability_with_precision(0.05, 4).unwrap();
    for span in &halved[0].scope_spans[0].spans {
        let ot = ot_from_w3c(&span.trace_state).unwrap();
        assert_eq!(ot.threshold, Some(expected));
        assert!(expected.should_sample(Randomness::from_trace_id_bytes(&span.trace_id).unwrap()));
    }
}

#[test]
fn equalizing_mode_raises_low_thresholds_and_keeps_stricter_ones() {
    let s = sampler("sampling_percentage: 10\nmode: equalizing");
    let mut rng = rng(41);
    let ten_percent = Threshold::from_probability_with_precision(0.1, 4).unwrap();
    let one_percent = Threshold::parse_th("fd70a").unwrap();
    let mut from_half = 0;
    let mut halves = 0;
    for _ in 0..50_000 {
        let mut span = span(trace_id(&mut rng), 0, 1);
        let r = Randomness::from_trace_id_bytes(&span.trace_id).unwrap();
        if one_percent.should_sample(r) {
            span.trace_state = "ot=th:fd70a".into();
            // Already rarer than 10%: kept as is.
            assert_eq!(
                s.decide_span(&mut span),
                ItemDecision::Keep(Some(one_percent))
            );
            assert_eq!(span.trace_state, "ot=th:fd70a");
        } else if Threshold::parse_th("8").unwrap().should_sample(r) {
            halves += 1;
            span.trace_state = "ot=th:8".into();
            if let ItemDecision::Keep(threshold) = s.decide_span(&mut span) {
                from_half += 1;
                assert_eq!(threshold, Some(ten_percent));
                assert_eq!(span.trace_state, "ot=th:e666");
            }
        }
    }
    // Items that passed 50% but not 1% are kept when they also pass 10%.
    let conditional =
        (ten_percent.probability() - one_percent.probability()) / (0.5 - one_percent.probability());
    assert_rate(from_half, halves, conditional);
}

#[test]
fn invalid_sampling_state_follows_fail_closed() {
    let closed = sampler("sampling_percentage: 100\nmode: proportional");
    let open = sampler("sampling_percentage: 100\nmode: proportional\nfail_closed: false");
    for bad_state in ["ot=th:XYZ", "ot=rv:123", "ot=th:ffffffffffffff"] {
        let mut s = span([0x11; 16], 0, 1);
        s.trace_state = bad_state.into();
        assert_eq!(
            closed.decide_span(&mut s.clone()),
            ItemDecision::Invalid,
            "{bad_state}"
        );
        assert_eq!(
            open.decide_span(&mut s),
            ItemDecision::Keep(None),
            "{bad_state}"
        );
    }
    let mut no_id = span([0x11; 16], 0, 1);
    no_id.trace_id.clear();
    assert_eq!(
        closed.decide_span(&mut no_id.clone()),
        ItemDecision::Invalid
    );
    assert_eq!(
        sampler("sampling_percentage: 50").decide_span(&mut no_id),
        ItemDecision::Invalid
    );
}

#[test]
fn sampling_priority_forces_the_decision() {
    let s = sampler("sampling_percentage: 0.0001\nmode: proportional");
    let mut keep = with_attrs(span([0; 16], 0, 1), vec![int_attr("sampling.priority", 1)]);
    keep.trace_id[0] = 1;
    assert_eq!(
        s.decide_span(&mut keep),
        ItemDecision::Keep(Some(Threshold::ALWAYS_SAMPLE))
    );
    assert_eq!(keep.trace_state, "ot=th:0");
    let mut drop = with_attrs(
        span([0xff; 16], 0, 1),
        vec![int_attr("sampling.priority", 0)],
    );
    assert_eq!(
        sampler("sampling_percentage: 100").decide_span(&mut drop),
        ItemDecision::NotSampled
    );
}

#[test]
fn precision_setting_controls_th_digits() {
    let s = sampler(
        "sampling_percentage: 33.333333333333336\nmode: proportional\nsampling_precision: 2",
    );
    let mut span = span([0xff; 16], 0, 1);
    assert!(matches!(s.decide_span(&mut span), ItemDecision::Keep(_)));
    assert_eq!(
        OtelTraceState::parse(span.trace_state.strip_prefix("ot=").unwrap())
            .unwrap()
            .threshold
            .unwrap()
            .to_th(),
        "ab"
    );
}

fn logs(records: Vec<LogRecord>) -> Vec<ResourceLogs> {
    vec![ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }]
}

#[test]
fn logs_sample_by_trace_id_or_record_attribute_and_record_threshold() {
    let mut rng = rng(51);
    let total = 50_000u64;
    let records: Vec<LogRecord> = (0..total)
        .map(|i| LogRecord {
            trace_id: trace_id(&mut rng).to_vec(),
            attributes: vec![string_attr("request.id", &format!("req-{i}"))],
            ..Default::default()
        })
        .collect();
    let mut by_trace = logs(records.clone());
    let counts = sampler("sampling_percentage: 20\nmode: equalizing").sample_logs(&mut by_trace);
    assert_rate(counts.kept, total, 0.2);
    for record in &by_trace[0].scope_logs[0].log_records {
        let th = record
            .attributes
            .iter()
            .find(|kv| kv.key == "sampling.threshold")
            .unwrap();
        assert_eq!(
            th.value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("cccd".into()))
        );
    }
    let mut by_attribute = logs(records);
    let s = sampler(
        "sampling_percentage: 20\nattribute_source: record\nfrom_attribute: request.id\nhash_seed: 7",
    );
    let counts = s.sample_logs(&mut by_attribute);
    assert_rate(counts.kept, total, 0.2);
    // A record without the attribute is invalid, so dropped under fail_closed.
    let mut missing = LogRecord::default();
    assert_eq!(s.decide_log(&mut missing), ItemDecision::Invalid);
}

#[test]
fn log_sampling_priority_attribute_overrides_percentage() {
    let s = sampler("sampling_percentage: 0\nsampling_priority: priority");
    let mut rng = rng(52);
    let total = 20_000u64;
    let mut records = logs(
        (0..total)
            .map(|_| LogRecord {
                trace_id: trace_id(&mut rng).to_vec(),
                attributes: vec![double_attr("priority", 50.0)],
                ..Default::default()
            })
            .collect(),
    );
    let counts = s.sample_logs(&mut records);
    assert_rate(counts.kept, total, 0.5);
}
