//! [`TrafficAwareSampler`]: all of a quiet function's traces, about the budget of a busy one's,
//! consistent decisions per trace ID, parent handling and setting validation. Trace IDs come
//! from a seeded generator and time is driven explicitly, so results are deterministic.

use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
use otlp_faas::{Error, TrafficAwareSampler};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn trace_ids(seed: u64, count: usize) -> Vec<TraceId> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| TraceId::from(rng.random::<u128>()))
        .collect()
}

fn sampled(
    sampler: &TrafficAwareSampler,
    ids: &[TraceId],
    start: Instant,
    spacing: Duration,
) -> usize {
    ids.iter()
        .enumerate()
        .filter(|(index, id)| {
            let now = start + spacing * (*index as u32);
            sampler.decide_root(**id, now).decision == SamplingDecision::RecordAndSample
        })
        .count()
}

#[test]
fn a_quiet_function_keeps_every_trace() {
    let sampler = TrafficAwareSampler::new()
        .window(Duration::from_secs(60))
        .unwrap()
        .limits(100, 20)
        .unwrap();
    let ids = trace_ids(1, 1000);
    // One invocation every 2 s: 30 per window, well under the quiet limit.
    assert_eq!(
        sampled(&sampler, &ids, Instant::now(), Duration::from_secs(2)),
        1000
    );
}

#[test]
fn a_busy_function_keeps_about_its_budget_per_window() {
    let sampler = TrafficAwareSampler::new()
        .window(Duration::from_secs(10))
        .unwrap()
        .limits(100, 50)
        .unwrap()
        .min_probability(0.0001)
        .unwrap();
    // 1000 invocations per 10 s window for 10 windows.
    let ids = trace_ids(2, 10_000);
    let kept = sampled(&sampler, &ids, Instant::now(), Duration::from_millis(10));
    // Budget 50 per window over 10 windows; the first window adapts as its count grows.
    assert!((400..=800).contains(&kept), "kept {kept}");
}

#[test]
fn the_floor_probability_bounds_how_little_is_kept() {
    let sampler = TrafficAwareSampler::new()
        .window(Duration::from_secs(1))
        .unwrap()
        .limits(10, 1)
        .unwrap()
        .min_probability(0.5)
        .unwrap();
    let ids = trace_ids(3, 4000);
    let kept = sampled(&sampler, &ids, Instant::now(), Duration::from_micros(250));
    assert!((1800..=2200).contains(&kept), "kept {kept}");
}

#[test]
fn probability_returns_to_one_after_traffic_drops() {
    let sampler = TrafficAwareSampler::new()
        .window(Duration::from_secs(1))
        .unwrap()
        .limits(10, 5)
        .unwrap();
    let start = Instant::now();
    let mut last = 1.0;
    for index in 0..100u32 {
        last = sampler.record_root(start + Duration::from_millis(u64::from(index)));
    }
    assert!((last - 0.05).abs() < 1e-12, "{last}");
    // The next window still remembers the busy one; the one after a quiet gap does not.
    assert!(sampler.record_root(start + Duration::from_millis(1500)) < 1.0);
    assert_eq!(sampler.record_root(start + Duration::from_secs(5)), 1.0);
}

#[test]
fn decisions_are_consistent_per_trace_id() {
    let ids = trace_ids(4, 2000);
    for id in &ids {
        // A trace kept at a low probability is kept at every higher one.
        if TrafficAwareSampler::trace_id_within(*id, 0.1) {
            assert!(TrafficAwareSampler::trace_id_within(*id, 0.5));
        }
        assert!(TrafficAwareSampler::trace_id_within(*id, 1.0));
    }
    let at_tenth = ids
        .iter()
        .filter(|id| TrafficAwareSampler::trace_id_within(**id, 0.1))
        .count();
    assert!((150..=250).contains(&at_tenth), "{at_tenth}");
}

fn remote_parent(sampled: bool) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(7u128),
        SpanId::from(9u64),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    ))
}

#[test]
fn parents_decide_unless_told_otherwise() {
    let busy = || {
        let sampler = TrafficAwareSampler::new()
            .limits(1, 1)
            .unwrap()
            .min_probability(1e-9)
            .unwrap();
        let now = Instant::now();
        for _ in 0..1_000_000 {
            sampler.record_root(now);
        }
        sampler
    };
    let decide = |sampler: &TrafficAwareSampler, parent: Option<&Context>| {
        sampler
            .should_sample(
                parent,
                TraceId::from(0xabcd_u128 << 64),
                "invoke",
                &SpanKind::Server,
                &[],
                &[],
            )
            .decision
    };
    let following = busy();
    assert_eq!(
        decide(&following, Some(&remote_parent(true))),
        SamplingDecision::RecordAndSample
    );
    assert_eq!(
        decide(&following, Some(&remote_parent(false))),
        SamplingDecision::Drop
    );

    let own_mind = busy().follow_parent(false);
    // A remote unsampled parent (X-Ray `Sampled=0` with tracing off) no longer drops everything:
    // this trace ID's random bits are all zero, so only a probability of 1 keeps it.
    assert_eq!(
        decide(&own_mind, Some(&remote_parent(false))),
        SamplingDecision::Drop
    );
    let quiet = TrafficAwareSampler::new().follow_parent(false);
    assert_eq!(
        decide(&quiet, Some(&remote_parent(false))),
        SamplingDecision::RecordAndSample
    );
}

#[test]
fn invalid_settings_are_refused_with_the_reason() {
    assert!(matches!(
        TrafficAwareSampler::new().window(Duration::ZERO),
        Err(Error::InvalidSamplerSetting {
            setting: "window",
            ..
        })
    ));
    assert!(matches!(
        TrafficAwareSampler::new().limits(10, 0),
        Err(Error::InvalidSamplerSetting {
            setting: "busy_budget",
            ..
        })
    ));
    assert!(matches!(
        TrafficAwareSampler::new().limits(10, 11),
        Err(Error::InvalidSamplerSetting {
            setting: "busy_budget",
            ..
        })
    ));
    for bad in [0.0, -0.5, 1.5, f64::NAN] {
        let error = TrafficAwareSampler::new().min_probability(bad).unwrap_err();
        assert!(error.to_string().contains("min_probability"), "{error}");
    }
}
