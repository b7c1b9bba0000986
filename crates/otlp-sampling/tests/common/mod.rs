//! Small OTLP span fixtures and seeded randomness shared by the integration tests.
#![allow(dead_code)]

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded generator, so every statistical test is deterministic.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A random W3C-level-2 trace ID (random low 56 bits).
pub fn trace_id(rng: &mut ChaCha8Rng) -> [u8; 16] {
    let mut id = [0u8; 16];
    rng.fill(&mut id);
    id
}

/// `n` standard deviations of a binomial(count, p) count.
pub fn binomial_tolerance(count: u64, p: f64, sigmas: f64) -> f64 {
    sigmas * (count as f64 * p * (1.0 - p)).sqrt()
}

pub fn string_attr(key: &str, value: &str) -> KeyValue {
    attr(key, any_value::Value::StringValue(value.to_owned()))
}

pub fn int_attr(key: &str, value: i64) -> KeyValue {
    attr(key, any_value::Value::IntValue(value))
}

pub fn double_attr(key: &str, value: f64) -> KeyValue {
    attr(key, any_value::Value::DoubleValue(value))
}

pub fn bool_attr(key: &str, value: bool) -> KeyValue {
    attr(key, any_value::Value::BoolValue(value))
}

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// A span of `trace_id` lasting `duration_ms`.
pub fn span(trace_id: [u8; 16], span_index: u8, duration_ms: u64) -> Span {
    let start = 1_700_000_000_000_000_000u64 + u64::from(span_index) * 1_000;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![1, 2, 3, 4, 5, 6, 7, span_index.wrapping_add(1)],
        name: format!("op-{span_index}"),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + duration_ms * 1_000_000,
        ..Default::default()
    }
}

pub fn with_status(mut span: Span, code: i32) -> Span {
    span.status = Some(Status {
        message: String::new(),
        code,
    });
    span
}

pub fn with_attrs(mut span: Span, attributes: Vec<KeyValue>) -> Span {
    span.attributes = attributes;
    span
}

/// One `ResourceSpans` for service `service` holding `spans`.
pub fn resource_spans(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![string_attr("service.name", service)],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        schema_url: String::new(),
    }
}

/// Total spans in a list of `ResourceSpans`.
pub fn span_count(batches: &[ResourceSpans]) -> u64 {
    batches
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len() as u64)
        .sum()
}

/// Distinct trace IDs in a list of `ResourceSpans`.
pub fn trace_ids(batches: &[ResourceSpans]) -> std::collections::BTreeSet<Vec<u8>> {
    batches
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.trace_id.clone())
        .collect()
}
