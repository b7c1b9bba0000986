//! Criterion benchmarks: nanoseconds per head decision against `opentelemetry_sdk`'s
//! `TraceIdRatioBased` (the `peer_sdk_trace_id_ratio` function), tail-engine spans per
//! second per core with 10 policies, the `probabilistic_sampler` logic, and (written to
//! `$OTLP_BENCH_NOTES/otlp-sampling-memory.md`) bytes of memory per buffered span.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
use otlp_sampling::head::{
    AdaptiveSampler, AdaptiveSamplerConfig, AnomalySampler, AnomalySamplerConfig, AttributeMatcher,
    CompositeMode, CompositeSampler, ConsistentProbabilitySampler, RateLimitedSampler, Rule,
    RuleSampler, SpanMatcher, parent_based,
};
use otlp_sampling::probabilistic::{ProbabilisticSampler, ProbabilisticSamplerConfig, SamplerMode};
use otlp_sampling::tail::{ReleaseFormat, TailSampler, TailSamplingConfig};
use prost::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DECISIONS: usize = 1024;
const TAIL_SPANS: usize = 10_000;

fn trace_ids() -> Vec<TraceId> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..DECISIONS)
        .map(|_| TraceId::from_bytes(rng.random::<[u8; 16]>()))
        .collect()
}

fn run_decisions(sampler: &dyn ShouldSample, ids: &[TraceId], attributes: &[KeyValue]) -> usize {
    ids.iter()
        .filter(|id| {
            sampler
                .should_sample(
                    None,
                    **id,
                    "GET /api/items",
                    &SpanKind::Server,
                    attributes,
                    &[],
                )
                .decision
                == SamplingDecision::RecordAndSample
        })
        .count()
}

fn head_decision(c: &mut Criterion) {
    let ids = trace_ids();
    let attributes = [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("http.response.status_code", 200),
    ];
    let samplers: Vec<(&str, Box<dyn ShouldSample>)> = vec![
        (
            "peer_sdk_trace_id_ratio",
            Box::new(Sampler::TraceIdRatioBased(0.1)),
        ),
        (
            "consistent_probability",
            Box::new(ConsistentProbabilitySampler::new(0.1).unwrap()),
        ),
        (
            "parent_based_consistent",
            Box::new(parent_based(
                ConsistentProbabilitySampler::new(0.1).unwrap(),
            )),
        ),
        (
            "rule",
            Box::new(
                RuleSampler::new("bench", 0.1)
                    .unwrap()
                    .rule(Rule::new(SpanMatcher::any().name("POST /checkout"), 1.0).unwrap())
                    .rule(
                        Rule::new(
                            SpanMatcher::any().attribute(
                                AttributeMatcher::range("http.response.status_code", 500.0, 599.0)
                                    .unwrap(),
                            ),
                            1.0,
                        )
                        .unwrap(),
                    ),
            ),
        ),
        (
            "adaptive",
            // On the real clock: about a tenth of the decisions this loop makes per second.
            Box::new(
                AdaptiveSampler::new(AdaptiveSamplerConfig {
                    target_spans_per_sec: 1e6,
                    ..Default::default()
                })
                .unwrap(),
            ),
        ),
        (
            "rate_limited",
            Box::new(RateLimitedSampler::new(1e6).unwrap()),
        ),
        (
            "anomaly",
            Box::new(
                AnomalySampler::new(AnomalySamplerConfig {
                    budget: 0.1,
                    ..Default::default()
                })
                .unwrap(),
            ),
        ),
        (
            "composite_any",
            Box::new(
                CompositeSampler::new(CompositeMode::Any, "bench")
                    .add(
                        SpanMatcher::any().name("POST /checkout"),
                        ConsistentProbabilitySampler::new(1.0).unwrap(),
                    )
                    .add(
                        SpanMatcher::any(),
                        ConsistentProbabilitySampler::new(0.1).unwrap(),
                    ),
            ),
        ),
    ];
    let mut group = c.benchmark_group("head_decision");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(DECISIONS as u64));
    for (name, sampler) in &samplers {
        group.bench_with_input(BenchmarkId::new(*name, "p=0.1"), &ids, |b, ids| {
            b.iter(|| black_box(run_decisions(sampler.as_ref(), ids, &attributes)))
        });
    }
    group.finish();
}

fn tail_config() -> TailSamplingConfig {
    serde_norway::from_str(
        r#"
decision_wait: 10s
num_traces: 100000
policies:
  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
  - {name: slow, type: latency, latency: {threshold_ms: 500}}
  - {name: server-errors, type: numeric_attribute, numeric_attribute: {key: http.response.status_code, min_value: 500, max_value: 599}}
  - {name: admin, type: string_attribute, string_attribute: {key: http.route, values: ['^/admin/'], enabled_regex_matching: true}}
  - {name: debug, type: boolean_attribute, boolean_attribute: {key: debug, value: true}}
  - {name: tenth, type: probabilistic, probabilistic: {sampling_percentage: 10}}
  - {name: big, type: span_count, span_count: {min_spans: 50}}
  - {name: premium, type: trace_state, trace_state: {key: vendor, values: [premium]}}
  - {name: cap, type: rate_limiting, rate_limiting: {spans_per_second: 1000000}}
  - name: slow-errors
    type: and
    and:
      and_sub_policy:
        - {name: slow2, type: latency, latency: {threshold_ms: 100}}
        - {name: errors2, type: status_code, status_code: {status_codes: [ERROR]}}
"#,
    )
    .unwrap()
}

fn test_spans(spans: usize) -> Vec<ResourceSpans> {
    otlp_testkit::Generator::new(7).traces(spans).resource_spans
}

fn sdk_filter(batch: &mut [ResourceSpans]) -> usize {
    let sampler = Sampler::TraceIdRatioBased(0.1);
    let mut kept = 0;
    for rs in batch.iter_mut() {
        for ss in rs.scope_spans.iter_mut() {
            ss.spans.retain(|span| {
                let id = <[u8; 16]>::try_from(span.trace_id.as_slice()).unwrap_or_default();
                sampler
                    .should_sample(
                        None,
                        TraceId::from_bytes(id),
                        &span.name,
                        &SpanKind::Internal,
                        &[],
                        &[],
                    )
                    .decision
                    == SamplingDecision::RecordAndSample
            });
            kept += ss.spans.len();
        }
    }
    kept
}

fn tail_engine(c: &mut Criterion) {
    let batch = test_spans(TAIL_SPANS);
    let spans: usize = batch
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    let mut group = c.benchmark_group("tail_engine");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(spans as u64));
    group.bench_function(BenchmarkId::new("tail_sampler_10_policies", spans), |b| {
        b.iter_batched(
            || (TailSampler::new(tail_config()).unwrap(), batch.clone()),
            |(mut engine, batch)| {
                let now = Instant::now();
                engine.ingest(batch, now);
                black_box(engine.tick(now + Duration::from_secs(10)))
            },
            BatchSize::LargeInput,
        )
    });
    // The collector's way: the request as received in, sampled spans out as bytes to forward.
    let encoded = ExportTraceServiceRequest {
        resource_spans: batch.clone(),
    }
    .encode_to_vec();
    group.bench_function(
        BenchmarkId::new("tail_sampler_10_policies_encoded", spans),
        |b| {
            b.iter_batched(
                || {
                    TailSampler::new(tail_config())
                        .unwrap()
                        .with_release_format(ReleaseFormat::Encoded)
                },
                |mut engine| {
                    let now = Instant::now();
                    engine.ingest_encoded(&encoded, now).unwrap();
                    black_box(engine.tick(now + Duration::from_secs(10)))
                },
                BatchSize::LargeInput,
            )
        },
    );
    group.bench_function(BenchmarkId::new("peer_sdk_trace_id_ratio", spans), |b| {
        b.iter_batched(
            || batch.clone(),
            |mut batch| black_box(sdk_filter(&mut batch)),
            BatchSize::LargeInput,
        )
    });
    let processor = ProbabilisticSampler::new(ProbabilisticSamplerConfig {
        sampling_percentage: 10.0,
        mode: SamplerMode::Proportional,
        ..Default::default()
    })
    .unwrap();
    group.bench_function(
        BenchmarkId::new("probabilistic_processor_proportional", spans),
        |b| {
            b.iter_batched(
                || batch.clone(),
                |mut batch| black_box(processor.sample_traces(&mut batch)),
                BatchSize::LargeInput,
            )
        },
    );
    group.finish();
    write_memory_notes(&batch, spans);
}

/// Bytes per buffered span are not a time, so they go to a notes fragment.
fn write_memory_notes(batch: &[ResourceSpans], spans: usize) {
    let Some(dir) = std::env::var_os("OTLP_BENCH_NOTES") else {
        return;
    };
    let mut engine = TailSampler::new(tail_config()).unwrap();
    engine.ingest(batch.to_vec(), Instant::now());
    let buffered = engine.buffered_spans().max(1) as f64;
    let encoded: usize = batch.iter().map(Message::encoded_len).sum();
    let fragment = format!(
        "### otlp-sampling: memory per buffered span\n\n\
         {spans} spans from `otlp_testkit::Generator` (seed 7) buffered in the tail engine, \
         {traces} traces held.\n\n\
         | measure | bytes per span |\n|---|---|\n\
         | OTLP protobuf encoding (reference) | {enc:.0} |\n\
         | buffered spans at their encoded size, with their bookkeeping (what `max_buffered_bytes` bounds) | {data:.0} |\n\
         | total engine estimate, spans held in zstd blocks (data + trace table + queues) | {total:.0} |\n",
        traces = engine.held_traces(),
        enc = encoded as f64 / spans.max(1) as f64,
        data = engine.buffered_bytes() as f64 / buffered,
        total = engine.estimated_memory_bytes() as f64 / buffered,
    );
    let path = std::path::Path::new(&dir).join("otlp-sampling-memory.md");
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, fragment)) {
        eprintln!("could not write {}: {err}", path.display());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = head_decision, tail_engine
}
criterion_main!(benches);
