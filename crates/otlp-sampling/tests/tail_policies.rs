//! Tail-sampling engine: for every policy type a matching trace is kept and a
//! non-matching one is not; decision combination, late spans, decision caches, bounded
//! memory with eviction reasons, and config parsing of otelcol's YAML.

mod common;

use std::time::{Duration, Instant};

use common::*;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use otlp_sampling::Error;
use otlp_sampling::tail::{Decisions, DropReason, TailSampler, TailSamplingConfig};

const WAIT: Duration = Duration::from_secs(10);

fn engine(yaml: &str) -> TailSampler {
    let config: TailSamplingConfig = serde_norway::from_str(yaml).unwrap();
    TailSampler::new(config).unwrap()
}

fn with_policies(policies: &str) -> TailSampler {
    engine(&format!("decision_wait: 10s\npolicies:\n{policies}"))
}

fn id(n: u8) -> [u8; 16] {
    let mut id = [0xab; 16];
    id[0] = n;
    id
}

/// Ingests each trace as its own batch at `start`, ticks past the wait, and returns the
/// first bytes of the trace IDs kept.
fn kept_traces(engine: &mut TailSampler, traces: Vec<Vec<Span>>) -> Vec<u8> {
    let start = Instant::now();
    for spans in traces {
        let out = engine.ingest(vec![resource_spans("svc", spans)], start);
        assert_eq!(
            out.released_spans, 0,
            "nothing is released before the decision"
        );
    }
    let out = engine.tick(start + WAIT);
    trace_ids(&out.released)
        .into_iter()
        .map(|id| id[0])
        .collect()
}

#[test]
fn always_sample_keeps_and_no_policy_drops() {
    let mut e = with_policies("  - {name: all, type: always_sample}");
    assert_eq!(kept_traces(&mut e, vec![vec![span(id(1), 0, 5)]]), vec![1]);
    let mut none = engine("decision_wait: 10s");
    assert!(kept_traces(&mut none, vec![vec![span(id(1), 0, 5)]]).is_empty());
}

#[test]
fn latency_policy_uses_trace_duration_and_upper_bound() {
    let mut e = with_policies(
        "  - {name: slow, type: latency, latency: {threshold_ms: 500, upper_threshold_ms: 2000}}",
    );
    // Trace 1 spans 1s through two spans; trace 2 is fast; trace 3 is above the upper bound.
    let mut late = span(id(1), 1, 400);
    late.start_time_unix_nano += 600_000_000;
    late.end_time_unix_nano += 600_000_000;
    let kept = kept_traces(
        &mut e,
        vec![
            vec![span(id(1), 0, 100), late],
            vec![span(id(2), 0, 100)],
            vec![span(id(3), 0, 5_000)],
        ],
    );
    assert_eq!(kept, vec![1]);
}

#[test]
fn numeric_attribute_policy_matches_span_and_resource_attributes() {
    let mut e = with_policies(
        "  - {name: errors, type: numeric_attribute, numeric_attribute: {key: http.status_code, min_value: 500, max_value: 599}}",
    );
    let mut resource_level = resource_spans("svc", vec![span(id(3), 0, 1)]);
    resource_level
        .resource
        .as_mut()
        .unwrap()
        .attributes
        .push(double_attr("http.status_code", 502.0));
    let start = Instant::now();
    e.ingest(vec![resource_level], start);
    let kept = {
        e.ingest(
            vec![resource_spans(
                "svc",
                vec![with_attrs(
                    span(id(1), 0, 1),
                    vec![int_attr("http.status_code", 503)],
                )],
            )],
            start,
        );
        e.ingest(
            vec![resource_spans(
                "svc",
                vec![with_attrs(
                    span(id(2), 0, 1),
                    vec![int_attr("http.status_code", 200)],
                )],
            )],
            start,
        );
        trace_ids(&e.tick(start + WAIT).released)
            .into_iter()
            .map(|id| id[0])
            .collect::<Vec<_>>()
    };
    assert_eq!(kept, vec![1, 3]);
}

#[test]
fn inverted_match_vetoes_other_policies() {
    let mut e = with_policies(
        "  - {name: all, type: always_sample}\n  - {name: no-health, type: string_attribute, string_attribute: {key: url.path, values: [/health], invert_match: true}}",
    );
    let kept = kept_traces(
        &mut e,
        vec![
            vec![with_attrs(
                span(id(1), 0, 1),
                vec![string_attr("url.path", "/health")],
            )],
            vec![with_attrs(
                span(id(2), 0, 1),
                vec![string_attr("url.path", "/cart")],
            )],
        ],
    );
    assert_eq!(kept, vec![2]);
    // Alone, an inverted policy samples what does not match.
    let mut alone = with_policies(
        "  - {name: no-health, type: numeric_attribute, numeric_attribute: {key: n, min_value: 1, max_value: 2, invert_match: true}}",
    );
    let kept = kept_traces(
        &mut alone,
        vec![
            vec![with_attrs(span(id(1), 0, 1), vec![int_attr("n", 1)])],
            vec![with_attrs(span(id(2), 0, 1), vec![int_attr("n", 7)])],
        ],
    );
    assert_eq!(kept, vec![2]);
}

#[test]
fn probabilistic_policy_without_salt_is_consistent_with_head_sampling() {
    let mut e = with_policies(
        "  - {name: half, type: probabilistic, probabilistic: {sampling_percentage: 50}}",
    );
    let mut high = [0xff; 16];
    high[0] = 1;
    let mut low = [0x00; 16];
    low[0] = 2;
    let kept = kept_traces(&mut e, vec![vec![span(high, 0, 1)], vec![span(low, 0, 1)]]);
    assert_eq!(kept, vec![1]);
}

#[test]
fn probabilistic_policy_with_salt_hits_its_rate() {
    let mut e = with_policies(
        "  - {name: tenth, type: probabilistic, probabilistic: {sampling_percentage: 10, hash_salt: s1}}",
    );
    let mut rng = rng(11);
    let start = Instant::now();
    let total = 20_000u64;
    for _ in 0..total {
        e.ingest(
            vec![resource_spans("svc", vec![span(trace_id(&mut rng), 0, 1)])],
            start,
        );
    }
    let out = e.tick(start + WAIT);
    let expected = total as f64 * 0.1;
    let tolerance = binomial_tolerance(total, 0.1, 5.0);
    assert!(
        (out.sampled_traces as f64 - expected).abs() <= tolerance,
        "{} sampled",
        out.sampled_traces
    );
    assert_eq!(out.sampled_traces + out.not_sampled_traces, total);
}

#[test]
fn status_code_policy() {
    let mut e = with_policies(
        "  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}",
    );
    let kept = kept_traces(
        &mut e,
        vec![
            vec![span(id(1), 0, 1), with_status(span(id(1), 1, 1), 2)],
            vec![with_status(span(id(2), 0, 1), 1), span(id(2), 1, 1)],
        ],
    );
    assert_eq!(kept, vec![1]);
}

#[test]
fn string_attribute_policy_exact_and_regex() {
    let mut exact = with_policies(
        "  - {name: vip, type: string_attribute, string_attribute: {key: tenant, values: [gold, platinum]}}",
    );
    let kept = kept_traces(
        &mut exact,
        vec![
            vec![with_attrs(
                span(id(1), 0, 1),
                vec![string_attr("tenant", "gold")],
            )],
            vec![with_attrs(
                span(id(2), 0, 1),
                vec![string_attr("tenant", "golden")],
            )],
        ],
    );
    assert_eq!(kept, vec![1]);
    let mut regex = with_policies(
        "  - {name: admin, type: string_attribute, string_attribute: {key: url.path, values: ['^/admin/.*'], enabled_regex_matching: true, cache_max_size: 10}}",
    );
    let kept = kept_traces(
        &mut regex,
        vec![
            vec![with_attrs(
                span(id(1), 0, 1),
                vec![string_attr("url.path", "/admin/users")],
            )],
            vec![with_attrs(
                span(id(2), 0, 1),
                vec![string_attr("url.path", "/shop/admin/")],
            )],
        ],
    );
    assert_eq!(kept, vec![1]);
}

#[test]
fn boolean_attribute_policy() {
    let mut e = with_policies(
        "  - {name: debug, type: boolean_attribute, boolean_attribute: {key: debug, value: true}}",
    );
    let kept = kept_traces(
        &mut e,
        vec![
            vec![with_attrs(
                span(id(1), 0, 1),
                vec![bool_attr("debug", true)],
            )],
            vec![with_attrs(
                span(id(2), 0, 1),
                vec![bool_attr("debug", false)],
            )],
            vec![with_attrs(
                span(id(3), 0, 1),
                vec![string_attr("debug", "true")],
            )],
        ],
    );
    assert_eq!(kept, vec![1]);
}

#[test]
fn trace_state_policy() {
    let mut e = with_policies(
        "  - {name: premium, type: trace_state, trace_state: {key: vendor, values: [premium]}}",
    );
    let mut premium = span(id(1), 0, 1);
    premium.trace_state = "ot=th:8,vendor=premium".into();
    let mut basic = span(id(2), 0, 1);
    basic.trace_state = "vendor=basic".into();
    assert_eq!(
        kept_traces(&mut e, vec![vec![premium], vec![basic]]),
        vec![1]
    );
}

/// otelcol's `trace_flags`: a trace with any span whose W3C flags (the low byte of `Span.flags`) say sampled.
#[test]
fn trace_flags_policy_looks_at_the_sampled_bit() {
    let mut e = with_policies("  - {name: sampled-upstream, type: trace_flags}");
    let flagged = |trace: u8, index: u8, flags: u32| {
        let mut span = span(id(trace), index, 5);
        span.flags = flags;
        span
    };
    let kept = kept_traces(
        &mut e,
        vec![
            // Sampled, with the "parent is remote" bits of the upper byte set too.
            vec![flagged(1, 0, 0x0000_0300), flagged(1, 1, 0x0000_0301)],
            // Only bits other than `sampled`.
            vec![flagged(2, 0, 0x0000_0302)],
            vec![flagged(3, 0, 0)],
        ],
    );
    assert_eq!(kept, vec![1]);
}

#[test]
fn rate_limiting_policy_caps_spans_per_second() {
    let mut e = with_policies(
        "  - {name: cap, type: rate_limiting, rate_limiting: {spans_per_second: 10}}",
    );
    let four_spans = |n: u8| (0..4).map(|i| span(id(n), i, 1)).collect::<Vec<_>>();
    let start = Instant::now();
    for n in 1..=3 {
        e.ingest(vec![resource_spans("svc", four_spans(n))], start);
    }
    let first = e.tick(start + WAIT);
    assert_eq!(
        trace_ids(&first.released)
            .into_iter()
            .map(|id| id[0])
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(first.dropped.get(DropReason::NotSampled), 4);
    // A new second brings a new allowance.
    e.ingest(
        vec![resource_spans("svc", four_spans(4))],
        start + Duration::from_secs(1),
    );
    let second = e.tick(start + WAIT + Duration::from_secs(1));
    assert_eq!(second.sampled_traces, 1);
}

#[test]
fn bytes_limiting_policy_is_a_token_bucket() {
    let big = |n: u8| {
        vec![with_attrs(
            span(id(n), 0, 1),
            vec![string_attr("payload", &"x".repeat(600))],
        )]
    };
    let mut e = with_policies(
        "  - {name: bytes, type: bytes_limiting, bytes_limiting: {bytes_per_second: 1000, burst_capacity: 1000}}",
    );
    let kept = kept_traces(&mut e, vec![big(1), big(2)]);
    assert_eq!(kept, vec![1]);
}

#[test]
fn span_count_policy() {
    let mut e = with_policies(
        "  - {name: mid, type: span_count, span_count: {min_spans: 2, max_spans: 3}}",
    );
    let trace = |n: u8, spans: u8| (0..spans).map(|i| span(id(n), i, 1)).collect::<Vec<_>>();
    assert_eq!(
        kept_traces(
            &mut e,
            vec![trace(1, 1), trace(2, 2), trace(3, 3), trace(4, 4)]
        ),
        vec![2, 3]
    );
}

#[test]
fn and_policy_needs_every_sub_policy() {
    let mut e = with_policies(
        "  - name: slow-errors
    type: and
    and:
      and_sub_policy:
        - {name: slow, type: latency, latency: {threshold_ms: 100}}
        - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}",
    );
    let kept = kept_traces(
        &mut e,
        vec![
            vec![with_status(span(id(1), 0, 500), 2)],
            vec![with_status(span(id(2), 0, 5), 2)],
            vec![span(id(3), 0, 500)],
        ],
    );
    assert_eq!(kept, vec![1]);
}

#[test]
fn drop_policy_overrides_sampling_unless_first_match_stops_early() {
    let policies = "  - {name: all, type: always_sample}
  - name: drop-health
    type: drop
    drop:
      drop_sub_policy:
        - {name: health, type: string_attribute, string_attribute: {key: url.path, values: [/health]}}";
    let traces = || {
        vec![
            vec![with_attrs(
                span(id(1), 0, 1),
                vec![string_attr("url.path", "/health")],
            )],
            vec![with_attrs(
                span(id(2), 0, 1),
                vec![string_attr("url.path", "/cart")],
            )],
        ]
    };
    assert_eq!(kept_traces(&mut with_policies(policies), traces()), vec![2]);
    let mut first_match = engine(&format!(
        "decision_wait: 10s\nsample_on_first_match: true\npolicies:\n{policies}"
    ));
    assert_eq!(kept_traces(&mut first_match, traces()), vec![1, 2]);
}

#[test]
fn composite_policy_allocates_rate_in_order() {
    let mut e = with_policies(
        "  - name: composite
    type: composite
    composite:
      max_total_spans_per_second: 10
      policy_order: [errors, everything]
      composite_sub_policy:
        - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
        - {name: everything, type: always_sample}
      rate_allocation:
        - {policy: errors, percent: 30}
        - {policy: everything, percent: 20}",
    );
    let start = Instant::now();
    // Ten error traces and ten ok traces of one span each, in one second.
    for n in 0..10 {
        e.ingest(
            vec![resource_spans(
                "svc",
                vec![with_status(span(id(n), 0, 1), 2)],
            )],
            start,
        );
        e.ingest(
            vec![resource_spans("svc", vec![span(id(100 + n), 0, 1)])],
            start,
        );
    }
    let out = e.tick(start + WAIT);
    let kept = trace_ids(&out.released);
    let errors = kept.iter().filter(|id| id[0] < 100).count();
    let others = kept.len() - errors;
    assert_eq!((errors, others), (3, 2));
}

#[test]
fn late_spans_follow_the_decision() {
    let mut e = with_policies(
        "  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}",
    );
    let start = Instant::now();
    e.ingest(
        vec![resource_spans(
            "svc",
            vec![with_status(span(id(1), 0, 1), 2), span(id(2), 0, 1)],
        )],
        start,
    );
    let decided = e.tick(start + WAIT);
    assert_eq!(decided.released_spans, 1);
    let late = e.ingest(
        vec![resource_spans(
            "svc",
            vec![span(id(1), 5, 1), span(id(2), 5, 1), span(id(2), 6, 1)],
        )],
        start + WAIT + Duration::from_secs(60),
    );
    assert_eq!(
        late.released_spans, 1,
        "the sampled trace's late span is released at once"
    );
    assert_eq!(trace_ids(&late.released).into_iter().next().unwrap()[0], 1);
    assert_eq!(late.dropped.get(DropReason::LateNotSampled), 2);
}

#[test]
fn decision_cache_remembers_after_eviction() {
    let yaml = "decision_wait: 1s
num_traces: 1
decision_cache: {sampled_cache_size: 10, non_sampled_cache_size: 10}
policies:
  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}";
    let mut e = engine(yaml);
    let t0 = Instant::now();
    e.ingest(
        vec![resource_spans(
            "svc",
            vec![with_status(span(id(1), 0, 1), 2)],
        )],
        t0,
    );
    e.tick(t0 + Duration::from_secs(1));
    e.ingest(
        vec![resource_spans("svc", vec![span(id(2), 0, 1)])],
        t0 + Duration::from_secs(1),
    );
    e.tick(t0 + Duration::from_secs(2));
    // A third trace evicts trace 2 (num_traces = 1); trace 1 was evicted by trace 2.
    e.ingest(
        vec![resource_spans("svc", vec![span(id(3), 0, 1)])],
        t0 + Duration::from_secs(2),
    );
    assert_eq!(e.held_traces(), 1);
    let late = e.ingest(
        vec![resource_spans(
            "svc",
            vec![span(id(1), 1, 1), span(id(2), 1, 1)],
        )],
        t0 + Duration::from_secs(3),
    );
    assert_eq!(late.released_spans, 1);
    assert_eq!(late.dropped.get(DropReason::LateNotSampled), 1);
}

#[test]
fn num_traces_bound_evicts_oldest_undecided_trace_with_a_reason() {
    let mut e = engine(
        "decision_wait: 10s\nnum_traces: 2\npolicies:\n  - {name: all, type: always_sample}",
    );
    let t0 = Instant::now();
    let mut dropped = Decisions::default();
    for n in 1..=3 {
        dropped.merge(e.ingest(
            vec![resource_spans(
                "svc",
                vec![span(id(n), 0, 1), span(id(n), 1, 1)],
            )],
            t0,
        ));
    }
    assert_eq!(dropped.dropped.get(DropReason::TraceLimit), 2);
    assert_eq!(e.held_traces(), 2);
    let out = e.tick(t0 + WAIT);
    assert_eq!(
        trace_ids(&out.released)
            .into_iter()
            .map(|id| id[0])
            .collect::<Vec<_>>(),
        vec![2, 3]
    );
}

#[test]
fn byte_bound_evicts_oldest_traces_with_memory_limit_reason() {
    let mut e = engine(
        "decision_wait: 10s\nmax_buffered_bytes: 3000\npolicies:\n  - {name: all, type: always_sample}",
    );
    let t0 = Instant::now();
    let mut total_dropped = 0;
    for n in 0..20 {
        let out = e.ingest(vec![resource_spans("svc", vec![span(id(n), 0, 1)])], t0);
        total_dropped += out.dropped.get(DropReason::MemoryLimit);
        assert!(e.buffered_bytes() <= 3000);
    }
    assert!(total_dropped > 0);
    let out = e.flush(t0);
    assert_eq!(out.released_spans + total_dropped, 20);
    assert_eq!(e.buffered_bytes(), 0);
}

#[test]
fn dropping_pending_traces_counts_every_span_and_empties_the_buffer() {
    let mut e = with_policies("  - {name: all, type: always_sample}");
    let start = Instant::now();
    let batch = vec![resource_spans(
        "svc",
        vec![span(id(1), 0, 5), span(id(1), 1, 5), span(id(2), 0, 5)],
    )];
    e.ingest(batch, start);
    assert_eq!(e.buffered_spans(), 3);
    let out = e.drop_pending();
    assert_eq!(out.dropped.get(DropReason::PendingAtShutdown), 3);
    assert_eq!(out.released_spans, 0);
    assert_eq!(
        (e.buffered_spans(), e.buffered_bytes(), e.held_traces()),
        (0, 0, 0)
    );
    // Nothing is left to decide later.
    assert_eq!(e.tick(start + WAIT).released_spans, 0);
}

#[test]
fn invalid_trace_ids_are_counted() {
    let mut e = with_policies("  - {name: all, type: always_sample}");
    let mut bad = span(id(1), 0, 1);
    bad.trace_id = vec![1, 2, 3];
    let zero = span([0; 16], 0, 1);
    let out = e.ingest(
        vec![resource_spans("svc", vec![bad, zero, span(id(2), 0, 1)])],
        Instant::now(),
    );
    assert_eq!(out.dropped.get(DropReason::InvalidTraceId), 2);
    assert_eq!(e.buffered_spans(), 1);
}

#[test]
fn every_span_is_released_or_counted_as_dropped() {
    let mut e = engine(
        "decision_wait: 2s
num_traces: 500
max_buffered_bytes: 400000
policies:
  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
  - {name: some, type: probabilistic, probabilistic: {sampling_percentage: 20}}",
    );
    let mut rng = rng(12);
    use rand::Rng;
    let t0 = Instant::now();
    let mut ids: Vec<[u8; 16]> = Vec::new();
    let (mut ingested, mut accounted) = (0u64, 0u64);
    for step in 0..2_000u64 {
        let now = t0 + Duration::from_millis(step * 10);
        let mut spans: Vec<Span> = Vec::new();
        for _ in 0..5 {
            // Mostly new traces, sometimes more spans for a recent (or decided) one.
            let tid = if !ids.is_empty() && rng.random_bool(0.3) {
                ids[rng.random_range(ids.len().saturating_sub(300)..ids.len())]
            } else {
                let t = trace_id(&mut rng);
                ids.push(t);
                t
            };
            let s = span(tid, rng.random(), 1);
            spans.push(if rng.random_bool(0.05) {
                with_status(s, 2)
            } else {
                s
            });
        }
        ingested += spans.len() as u64;
        let batch: Vec<ResourceSpans> = vec![resource_spans("svc", spans)];
        let mut out = e.ingest(batch, now);
        out.merge(e.tick(now));
        accounted += out.released_spans + out.dropped.total();
        assert_eq!(span_count(&out.released), out.released_spans);
    }
    let out = e.flush(t0 + Duration::from_secs(3600));
    accounted += out.released_spans + out.dropped.total();
    assert_eq!(accounted, ingested);
}

#[test]
fn full_otelcol_config_parses_and_builds() {
    let yaml = r#"
decision_wait: 10s
num_traces: 100
expected_new_traces_per_sec: 10
decision_cache:
  sampled_cache_size: 100
  non_sampled_cache_size: 100
sample_on_first_match: false
policies:
  - {name: test-policy-1, type: always_sample}
  - {name: test-policy-2, type: latency, latency: {threshold_ms: 5000, upper_threshold_ms: 10000}}
  - {name: test-policy-3, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100}}
  - {name: test-policy-4, type: probabilistic, probabilistic: {sampling_percentage: 10}}
  - {name: test-policy-5, type: status_code, status_code: {status_codes: [ERROR, UNSET]}}
  - {name: test-policy-6, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]}}
  - {name: test-policy-7, type: string_attribute, string_attribute: {key: key2, values: [value1, val*], enabled_regex_matching: true, cache_max_size: 10}}
  - {name: test-policy-8, type: rate_limiting, rate_limiting: {spans_per_second: 35}}
  - {name: test-policy-9, type: string_attribute, string_attribute: {key: http.url, values: [\/health, \/metrics], enabled_regex_matching: true, invert_match: true}}
  - {name: test-policy-10, type: span_count, span_count: {min_spans: 2, max_spans: 20}}
  - {name: test-policy-11, type: trace_state, trace_state: {key: key3, values: [value1, value2]}}
  - {name: test-policy-12, type: boolean_attribute, boolean_attribute: {key: key4, value: true}}
  - {name: test-policy-13, type: bytes_limiting, bytes_limiting: {bytes_per_second: 1024, burst_capacity: 2048}}
  - name: and-policy-1
    type: and
    and:
      and_sub_policy:
        - {name: test-and-policy-1, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100}}
        - {name: test-and-policy-2, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]}}
  - name: composite-policy-1
    type: composite
    composite:
      max_total_spans_per_second: 1000
      policy_order: [test-composite-policy-1, test-composite-policy-2, test-composite-policy-3]
      composite_sub_policy:
        - {name: test-composite-policy-1, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100}}
        - {name: test-composite-policy-2, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]}}
        - {name: test-composite-policy-3, type: always_sample}
      rate_allocation:
        - {policy: test-composite-policy-1, percent: 50}
        - {policy: test-composite-policy-2, percent: 25}
  - name: drop-policy-1
    type: drop
    drop:
      drop_sub_policy:
        - {name: test-drop-policy-1, type: string_attribute, string_attribute: {key: url.path, values: [\/health, \/metrics], enabled_regex_matching: true}}
"#;
    let config: TailSamplingConfig = serde_norway::from_str(yaml).unwrap();
    assert_eq!(config.decision_wait, Duration::from_secs(10));
    assert_eq!(config.decision_cache.sampled_cache_size, 100);
    assert_eq!(config.policies.len(), 16);
    TailSampler::new(config.clone()).unwrap();
    // Serialising and parsing back gives the same config (the collector may echo it).
    let echoed: TailSamplingConfig =
        serde_norway::from_str(&serde_norway::to_string(&config).unwrap()).unwrap();
    assert_eq!(echoed, config);
}

#[test]
fn config_errors_say_what_is_wrong() {
    assert!(
        serde_norway::from_str::<TailSamplingConfig>("decision_wait: 10s\nnum_trace: 5").is_err()
    );
    assert!(serde_norway::from_str::<TailSamplingConfig>("decision_wait: ten").is_err());
    assert!(
        serde_norway::from_str::<TailSamplingConfig>("policies: [{name: a, type: sometimes}]")
            .is_err()
    );
    let missing: TailSamplingConfig =
        serde_norway::from_str("policies: [{name: a, type: latency}]").unwrap();
    let err = TailSampler::new(missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid sampling configuration: policy `a` has type `latency` but no `latency:` block"
    );
    let bad_regex: TailSamplingConfig = serde_norway::from_str(
        "policies: [{name: a, type: string_attribute, string_attribute: {key: k, values: ['('], enabled_regex_matching: true}}]",
    )
    .unwrap();
    assert!(matches!(
        TailSampler::new(bad_regex),
        Err(Error::Regex { .. })
    ));
    let duplicate: TailSamplingConfig = serde_norway::from_str(
        "policies: [{name: a, type: always_sample}, {name: a, type: always_sample}]",
    )
    .unwrap();
    assert!(TailSampler::new(duplicate).is_err());
    // Every policy that cannot be built is named, not only the first.
    let several: TailSamplingConfig = serde_norway::from_str(
        "policies:
  - {name: slow, type: latency}
  - {name: fine, type: always_sample}
  - {name: tier, type: string_attribute, string_attribute: {key: k, values: ['('], enabled_regex_matching: true}}
  - {name: some, type: probabilistic, probabilistic: {sampling_percentage: 250}}",
    )
    .unwrap();
    let message = TailSampler::new(several).unwrap_err().to_string();
    assert!(
        message.starts_with(
            "invalid sampling configuration: policy `slow` has type `latency` but no `latency:` block; \
             policy `tier`: invalid regular expression `(`: unclosed group; "
        ),
        "{message}"
    );
    assert!(
        message.ends_with(
            "; policy `some`: sampling percentage 250 is out of range: it must be a number in [0, 100]"
        ),
        "{message}"
    );
}

#[test]
fn released_spans_keep_their_resource_and_scope_and_are_regrouped() {
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::trace::v1::ScopeSpans;
    let mut e = with_policies("  - {name: all, type: always_sample}");
    let scope = |name: &str| {
        Some(InstrumentationScope {
            name: name.into(),
            ..Default::default()
        })
    };
    let mut batch = resource_spans("checkout", vec![span(id(1), 0, 1), span(id(2), 0, 1)]);
    batch.scope_spans[0].scope = scope("http");
    batch.scope_spans.push(ScopeSpans {
        scope: scope("db"),
        spans: vec![span(id(1), 1, 1)],
        schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
    });
    let other = resource_spans("payments", vec![span(id(1), 2, 1)]);
    let start = Instant::now();
    e.ingest(vec![batch.clone(), other.clone()], start);
    let out = e.tick(start + WAIT);
    assert_eq!(out.sampled_traces, 2);
    // Both traces' spans from one input ResourceSpans come back under one resource again.
    assert_eq!(out.released.len(), 2);
    assert_eq!(out.released[0].resource, batch.resource);
    assert_eq!(out.released[1].resource, other.resource);
    let scopes: Vec<_> = out.released[0]
        .scope_spans
        .iter()
        .map(|ss| {
            (
                ss.scope.clone().unwrap().name,
                ss.schema_url.clone(),
                ss.spans.len(),
            )
        })
        .collect();
    assert_eq!(
        scopes,
        vec![
            ("http".to_owned(), String::new(), 2),
            (
                "db".to_owned(),
                "https://opentelemetry.io/schemas/1.26.0".to_owned(),
                1
            ),
        ]
    );
}
