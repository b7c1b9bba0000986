//! Consistent-sampling vectors for W3C Trace Context Level 2's `random-trace-id` flag, after
//! OpenTelemetry's "TraceState: Probability Sampling" ("Randomness Value (`rv`)") and the trace
//! SDK's "Presumption of TraceID randomness":
//!
//! - with `rv` present, `rv` decides, flag or no flag;
//! - without it, the trace ID's right-most 56 bits decide when the flag is set (and for new roots);
//! - without either, the trace ID still decides, and the decision is counted in
//!   [`presumed_trace_id_randomness`], published as the metric [`PRESUMED_RANDOMNESS_METRIC`].
//!
//! The counter is process-wide, so only `presumptions_are_counted_and_published` may make a
//! presuming decision in this test binary; the other tests use flagged contexts, `rv` or roots.

use opentelemetry::Context;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SamplingDecision, SdkTracerProvider, ShouldSample,
};
use otlp_sampling::consistent::{OtelTraceState, Randomness, Threshold};
use otlp_sampling::head::ConsistentProbabilitySampler;
use otlp_sampling::probabilistic::{
    ItemDecision, ProbabilisticSampler, ProbabilisticSamplerConfig, SamplerMode,
};
use otlp_sampling::randomness::{
    PRESUMED_RANDOMNESS_METRIC, RANDOM_TRACE_ID_FLAG, RandomnessSource, TraceIdRandomness,
    decision_randomness, presumed_trace_id_randomness, register_metrics,
};
use prost::Message;

/// At p = 0.25 the threshold is 0xc0000000000000: kept when R >= T.
const THRESHOLD: u64 = 0xc0_0000_0000_0000;
const RANDOM: TraceFlags = TraceFlags::new(RANDOM_TRACE_ID_FLAG);

/// A trace ID whose right-most 56 bits are `low` (the leading byte keeps the ID valid).
fn trace_id_with_randomness(low: u64) -> TraceId {
    TraceId::from((0x4bu128 << 120) | u128::from(low))
}

/// A parent context for `trace_id` with `flags` and an optional `ot=rv:…` entry.
fn parent(trace_id: TraceId, flags: TraceFlags, rv: Option<u64>) -> Context {
    let state = match rv {
        Some(rv) => TraceState::from_key_value([("ot", format!("rv:{rv:014x}"))]).unwrap(),
        None => TraceState::NONE,
    };
    Context::new().with_remote_span_context(SpanContext::new(
        trace_id,
        SpanId::from(7u64),
        flags,
        true,
        state,
    ))
}

fn head_decision(parent_cx: &Context, trace_id: TraceId) -> SamplingDecision {
    ConsistentProbabilitySampler::new(0.25)
        .unwrap()
        .should_sample(
            Some(parent_cx),
            trace_id,
            "GET /",
            &SpanKind::Server,
            &[],
            &[],
        )
        .decision
}

#[test]
fn rv_decides_when_present_flag_or_no_flag() {
    let keep_by_id = trace_id_with_randomness(THRESHOLD);
    let drop_by_id = trace_id_with_randomness(THRESHOLD - 1);
    for flags in [RANDOM, TraceFlags::SAMPLED | RANDOM] {
        assert_eq!(
            head_decision(&parent(keep_by_id, flags, Some(THRESHOLD - 1)), keep_by_id),
            SamplingDecision::Drop,
            "rv below T drops although the trace ID would keep"
        );
        assert_eq!(
            head_decision(&parent(drop_by_id, flags, Some(THRESHOLD)), drop_by_id),
            SamplingDecision::RecordAndSample,
            "rv at T keeps although the trace ID would drop"
        );
    }
    let ot = OtelTraceState::parse("rv:c0000000000000").unwrap();
    for known in [
        TraceIdRandomness::Flagged,
        TraceIdRandomness::Unflagged,
        TraceIdRandomness::NewRoot,
    ] {
        assert_eq!(
            decision_randomness(&ot, drop_by_id.to_bytes(), known),
            (Randomness::from_raw(THRESHOLD), RandomnessSource::Explicit)
        );
    }
}

#[test]
fn flagged_trace_ids_decide_at_the_threshold_boundary() {
    for (low, expected) in [
        (THRESHOLD, SamplingDecision::RecordAndSample),
        (THRESHOLD - 1, SamplingDecision::Drop),
        (0xff_ffff_ffff_ffff, SamplingDecision::RecordAndSample),
        (0, SamplingDecision::Drop),
    ] {
        let trace_id = trace_id_with_randomness(low);
        for flags in [RANDOM, TraceFlags::SAMPLED | RANDOM] {
            assert_eq!(
                head_decision(&parent(trace_id, flags, None), trace_id),
                expected,
                "{low:#x} {flags:?}"
            );
        }
        assert_eq!(
            decision_randomness(
                &OtelTraceState::default(),
                trace_id.to_bytes(),
                TraceIdRandomness::Flagged
            ),
            (Randomness::from_raw(low), RandomnessSource::TraceId)
        );
    }
    assert_eq!(
        TraceIdRandomness::from_trace_flags(0x03),
        TraceIdRandomness::Flagged
    );
    assert_eq!(
        TraceIdRandomness::from_trace_flags(0x01),
        TraceIdRandomness::Unflagged
    );
}

/// Through the SDK: a root span (the SDK's own random trace ID) and a child of a random remote
/// parent, with the sampler used for every span (not behind `ParentBased`).
#[test]
fn sdk_spans_with_flagged_parents_and_roots_are_not_presumptions() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(ConsistentProbabilitySampler::new(0.25).unwrap())
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("random-flag");
    let keep = trace_id_with_randomness(THRESHOLD + 1);
    let span = tracer.start_with_context("child", &parent(keep, RANDOM, None));
    assert!(span.span_context().is_sampled());
    assert_eq!(
        span.span_context().trace_flags() & RANDOM,
        RANDOM,
        "the SDK keeps a sampled child's inherited random flag"
    );
    assert_eq!(
        span.span_context().trace_state().get("ot"),
        Some("th:c"),
        "kept spans record th"
    );
    drop(span);
    let drop_id = trace_id_with_randomness(1);
    let span = tracer.start_with_context("child", &parent(drop_id, RANDOM, None));
    assert!(!span.span_context().is_sampled());
    drop(span);
    for _ in 0..32 {
        drop(tracer.start_with_context("root", &Context::new()));
    }
    provider.force_flush().unwrap();
    assert!(
        !exporter.get_finished_spans().unwrap().is_empty(),
        "some of 32 roots at 25% are kept"
    );
}

fn span_with(trace_id: TraceId, flags: u32, trace_state: &str) -> Span {
    Span {
        trace_id: trace_id.to_bytes().to_vec(),
        span_id: vec![1; 8],
        flags,
        trace_state: trace_state.to_owned(),
        ..Default::default()
    }
}

fn processor(mode: SamplerMode) -> ProbabilisticSampler {
    ProbabilisticSampler::new(ProbabilisticSamplerConfig {
        sampling_percentage: 25.0,
        mode,
        ..Default::default()
    })
    .unwrap()
}

fn metric_total(exporter: &InMemoryMetricExporter) -> Option<u64> {
    let batches = exporter.get_finished_metrics().unwrap();
    let metric = batches
        .iter()
        .flat_map(|batch| batch.scope_metrics())
        .flat_map(|scope| scope.metrics())
        .filter(|metric| metric.name() == PRESUMED_RANDOMNESS_METRIC)
        .last()?;
    match metric.data() {
        AggregatedMetrics::U64(MetricData::Sum(sum)) => {
            assert!(sum.is_monotonic());
            sum.data_points().map(|point| point.value()).last()
        }
        other => panic!("unexpected aggregation {other:?}"),
    }
}

#[test]
fn presumptions_are_counted_and_published() {
    let exporter = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let _counter = register_metrics(&meter_provider.meter("random-flag-test"));

    let keep = trace_id_with_randomness(THRESHOLD);
    let before = presumed_trace_id_randomness();
    // Not presumptions: a flagged parent, explicit rv, a root.
    head_decision(&parent(keep, RANDOM, None), keep);
    head_decision(&parent(keep, TraceFlags::SAMPLED, Some(THRESHOLD)), keep);
    head_decision(&Context::new(), keep);
    assert_eq!(presumed_trace_id_randomness(), before);

    // A Level 1 parent (no random flag, no rv): the trace ID still decides, and it is counted.
    for (low, expected) in [
        (THRESHOLD, SamplingDecision::RecordAndSample),
        (THRESHOLD - 1, SamplingDecision::Drop),
    ] {
        let trace_id = trace_id_with_randomness(low);
        assert_eq!(
            head_decision(&parent(trace_id, TraceFlags::SAMPLED, None), trace_id),
            expected
        );
    }
    assert_eq!(presumed_trace_id_randomness(), before + 2);

    // The collector's probabilistic processor reads the flag from the OTLP `flags` field.
    for mode in [SamplerMode::Proportional, SamplerMode::Equalizing] {
        let sampler = processor(mode);
        let at_start = presumed_trace_id_randomness();
        let mut flagged = span_with(keep, 0x0300 | 0x02, "");
        assert!(matches!(
            sampler.decide_span(&mut flagged),
            ItemDecision::Keep(_)
        ));
        let mut with_rv = span_with(keep, 0, "ot=rv:00000000000001");
        assert_eq!(sampler.decide_span(&mut with_rv), ItemDecision::NotSampled);
        assert_eq!(presumed_trace_id_randomness(), at_start);
        let mut unflagged = span_with(keep, 0x01, "");
        assert!(matches!(
            sampler.decide_span(&mut unflagged),
            ItemDecision::Keep(_)
        ));
        assert_eq!(unflagged.trace_state, "ot=th:c");
        assert_eq!(presumed_trace_id_randomness(), at_start + 1);
    }
    let mut batch = vec![ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans: vec![
                span_with(trace_id_with_randomness(THRESHOLD - 1), 0, ""),
                span_with(keep, 0x02, ""),
            ],
            ..Default::default()
        }],
        ..Default::default()
    }];
    let encoded = ExportTraceServiceRequest {
        resource_spans: batch.clone(),
    }
    .encode_to_vec();
    let counts = processor(SamplerMode::Equalizing).sample_traces(&mut batch);
    assert_eq!((counts.kept, counts.dropped_not_sampled), (1, 1));
    // One unflagged span per mode above, one in the batch.
    assert_eq!(presumed_trace_id_randomness(), before + 5);
    // The encoded request, whose spans are decided over their trace-id column: the same presumption is counted.
    let mut out = Vec::new();
    let counts = processor(SamplerMode::Equalizing)
        .sample_encoded_traces(&encoded, &mut out)
        .unwrap();
    assert_eq!((counts.kept, counts.dropped_not_sampled), (1, 1));
    assert_eq!(presumed_trace_id_randomness(), before + 6);

    // Log records carry the same flags; a record's `sampling.randomness` is its explicit rv.
    let record = |flags: u32| LogRecord {
        trace_id: keep.to_bytes().to_vec(),
        flags,
        ..Default::default()
    };
    let mut logs = vec![ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: vec![record(0x02), record(0x01)],
            ..Default::default()
        }],
        ..Default::default()
    }];
    let counts = processor(SamplerMode::Proportional).sample_logs(&mut logs);
    assert_eq!(counts.kept, 2);
    assert_eq!(presumed_trace_id_randomness(), before + 7);

    meter_provider.force_flush().unwrap();
    assert_eq!(
        metric_total(&exporter),
        Some(presumed_trace_id_randomness())
    );
    // A threshold check that does not depend on the counter: the same vectors decide the same
    // way whatever the flag says.
    let unflagged = decision_randomness(
        &OtelTraceState::default(),
        keep.to_bytes(),
        TraceIdRandomness::Unflagged,
    );
    assert_eq!(
        unflagged,
        (
            Randomness::from_raw(THRESHOLD),
            RandomnessSource::PresumedTraceId
        )
    );
    assert!(
        Threshold::from_raw(THRESHOLD)
            .unwrap()
            .should_sample(unflagged.0)
    );
}
