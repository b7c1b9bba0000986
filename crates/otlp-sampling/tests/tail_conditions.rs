//! `ottl_condition` policies: the engine hands each trace, decoded, to the condition its caller
//! compiled, and combines the answer with the other policies'. The conditions here are a small
//! stand-in language (`name=X`, `service=X`, `fail`) so that the engine's part is what is tested;
//! the collector's tests run real OTTL.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use otlp_sampling::tail::config::OttlConditionConfig;
use otlp_sampling::tail::{
    ConditionError, Decisions, TailSampler, TailSamplingConfig, TraceCondition,
};
use prost::Message;

const WAIT: Duration = Duration::from_secs(10);

/// Holds when any `span` entry holds for any span: `name=X` (the span's name), `service=X` (its
/// resource's `service.name`); `fail` is an error.
#[derive(Debug)]
struct StandIn {
    texts: Vec<String>,
    /// Spans seen per call, to show the whole trace is there.
    seen: Arc<AtomicUsize>,
}

impl TraceCondition for StandIn {
    fn holds(&self, trace: &mut [ResourceSpans]) -> Result<bool, ConditionError> {
        let mut holds = false;
        for rs in trace.iter() {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .and_then(|value| match value {
                    any_value::Value::StringValue(text) => Some(text.as_str()),
                    _ => None,
                })
                .unwrap_or_default();
            for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                self.seen.fetch_add(1, Ordering::Relaxed);
                for text in &self.texts {
                    holds |= match text.split_once('=') {
                        Some(("name", name)) => span.name == name,
                        Some(("service", name)) => service == name,
                        _ => return Err(format!("cannot run `{text}`").into()),
                    };
                }
            }
        }
        Ok(holds)
    }
}

fn engine(policies: &str, seen: &Arc<AtomicUsize>) -> TailSampler {
    let config: TailSamplingConfig =
        serde_norway::from_str(&format!("decision_wait: 10s\npolicies:\n{policies}")).unwrap();
    let seen = Arc::clone(seen);
    let compiler = move |_: &str, block: &OttlConditionConfig| {
        Ok(Box::new(StandIn {
            texts: block.span.clone(),
            seen: Arc::clone(&seen),
        }) as Box<dyn TraceCondition>)
    };
    TailSampler::with_conditions(config, &compiler).unwrap()
}

fn id(n: u8) -> [u8; 16] {
    let mut id = [0xcd; 16];
    id[0] = n;
    id
}

fn named(trace: u8, index: u8, name: &str) -> opentelemetry_proto::tonic::trace::v1::Span {
    let mut span = span(id(trace), index, 5);
    span.name = name.to_owned();
    span
}

fn kept(out: &Decisions) -> Vec<u8> {
    trace_ids(&out.released)
        .into_iter()
        .map(|id| id[0])
        .collect()
}

#[test]
fn a_condition_sees_every_span_of_the_trace_under_its_resource() {
    let seen = Arc::new(AtomicUsize::new(0));
    let mut engine = engine(
        "  - {name: pay, type: ottl_condition, ottl_condition: {span: ['name=pay']}}",
        &seen,
    );
    let start = Instant::now();
    // Trace 1's paying span comes from another service, in a later request.
    engine.ingest(
        vec![resource_spans(
            "web",
            vec![named(1, 0, "browse"), named(2, 0, "browse")],
        )],
        start,
    );
    engine.ingest(
        vec![resource_spans(
            "payments",
            vec![named(1, 1, "pay"), named(2, 1, "refund")],
        )],
        start,
    );
    let out = engine.tick(start + WAIT);
    assert_eq!(kept(&out), vec![1]);
    assert_eq!(out.released_spans, 2);
    assert_eq!(seen.load(Ordering::Relaxed), 4);
    assert_eq!(out.condition_errors, 0);
}

#[test]
fn encoded_requests_are_judged_the_same() {
    let seen = Arc::new(AtomicUsize::new(0));
    let mut engine = engine(
        "  - {name: payments, type: ottl_condition, ottl_condition: {span: ['service=payments']}}",
        &seen,
    );
    let start = Instant::now();
    let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
        resource_spans: vec![
            resource_spans("web", vec![named(1, 0, "browse")]),
            resource_spans("payments", vec![named(2, 0, "pay")]),
        ],
    };
    engine
        .ingest_encoded(&request.encode_to_vec(), start)
        .unwrap();
    assert_eq!(kept(&engine.tick(start + WAIT)), vec![2]);
}

/// A condition combines like any policy: in `and` with another, inverted attribute policies
/// still veto it, and `drop` can use one.
#[test]
fn conditions_combine_with_other_policies() {
    let seen = Arc::new(AtomicUsize::new(0));
    let mut engine = engine(
        "  - name: slow-pay
    type: and
    and:
      and_sub_policy:
        - {name: pay, type: ottl_condition, ottl_condition: {span: ['name=pay']}}
        - {name: slow, type: latency, latency: {threshold_ms: 100}}
  - name: no-health
    type: drop
    drop:
      drop_sub_policy:
        - {name: health, type: ottl_condition, ottl_condition: {span: ['name=health']}}
  - {name: everything-else, type: always_sample}",
        &seen,
    );
    let start = Instant::now();
    let mut slow_pay = named(1, 0, "pay");
    slow_pay.end_time_unix_nano += 1_000_000_000;
    let spans = vec![
        slow_pay,
        named(2, 0, "pay"),
        named(3, 0, "health"),
        named(4, 0, "browse"),
    ];
    engine.ingest(vec![resource_spans("svc", spans)], start);
    assert_eq!(kept(&engine.tick(start + WAIT)), vec![1, 2, 4]);
}

/// A condition that cannot judge a trace (`propagate`) does not sample it and is counted; the
/// other policies still decide.
#[test]
fn a_failing_condition_does_not_sample_and_is_counted() {
    let seen = Arc::new(AtomicUsize::new(0));
    let mut engine = engine(
        "  - {name: broken, type: ottl_condition, ottl_condition: {span: ['fail']}}
  - {name: pay, type: ottl_condition, ottl_condition: {span: ['name=pay']}}",
        &seen,
    );
    let start = Instant::now();
    engine.ingest(
        vec![resource_spans(
            "svc",
            vec![named(1, 0, "pay"), named(2, 0, "browse")],
        )],
        start,
    );
    let out = engine.tick(start + WAIT);
    assert_eq!(kept(&out), vec![1]);
    assert_eq!(out.condition_errors, 2);
}

#[test]
fn a_condition_policy_needs_a_compiler_and_its_block() {
    let config: TailSamplingConfig = serde_norway::from_str(
        "policies: [{name: pay, type: ottl_condition, ottl_condition: {span: ['name == \"pay\"']}}]",
    )
    .unwrap();
    assert_eq!(
        TailSampler::new(config.clone()).unwrap_err().to_string(),
        "invalid sampling configuration: policy `pay` has type `ottl_condition`, which needs an \
         OTTL engine: build the sampler with `TailSampler::with_conditions`"
    );
    let refuse = |_: &str, _: &OttlConditionConfig| -> Result<Box<dyn TraceCondition>, String> {
        Err("span[0]: unknown path `nmae`".to_owned())
    };
    assert_eq!(
        TailSampler::with_conditions(config, &refuse)
            .unwrap_err()
            .to_string(),
        "invalid sampling configuration: policy `pay`: span[0]: unknown path `nmae`"
    );
    let without_block: TailSamplingConfig =
        serde_norway::from_str("policies: [{name: pay, type: ottl_condition}]").unwrap();
    assert_eq!(
        TailSampler::with_conditions(without_block, &refuse)
            .unwrap_err()
            .to_string(),
        "invalid sampling configuration: policy `pay` has type `ottl_condition` but no \
         `ottl_condition:` block"
    );
}
