//! Head samplers: each implements [`opentelemetry_sdk::trace::ShouldSample`], so it drops
//! into any `SdkTracerProvider` (wrap in [`opentelemetry_sdk::trace::ParentBasedSampler`]
//! to follow the parent's decision for non-root spans; see [`parent_based`]).

mod adaptive;
mod anomaly;
mod composite;
mod rate_limited;
mod ratio;
mod rule;

pub use adaptive::{AdaptiveSampler, AdaptiveSamplerConfig};
pub use anomaly::{AnomalySampler, AnomalySamplerConfig, SpanOutcome};
pub use composite::{CompositeMode, CompositeSampler};
pub use rate_limited::RateLimitedSampler;
pub use ratio::ConsistentProbabilitySampler;
pub(crate) use rule::compile_regex;
pub use rule::{AttributeMatcher, Rule, RuleSampler, SpanMatcher};

use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt, TraceId, TraceState};
use opentelemetry_sdk::trace::{
    ParentBasedSampler, SamplingDecision, SamplingResult, ShouldSample,
};

use crate::consistent::{OtelTraceState, Threshold};
use crate::randomness::{TraceIdRandomness, decide_randomness};

/// Wraps a root sampler in the SDK's spec-complete [`ParentBasedSampler`]: spans with a
/// sampled parent are kept and inherit the parent's tracestate (and so its `th`), spans
/// with an unsampled parent are dropped, and root spans ask `root`.
pub fn parent_based(root: impl ShouldSample + 'static) -> ParentBasedSampler {
    ParentBasedSampler::new(root)
}

/// The parent's tracestate, or an empty one for root spans.
pub(crate) fn parent_trace_state(parent_context: Option<&Context>) -> TraceState {
    parent_context
        .map(|cx| cx.span().span_context().trace_state().clone())
        .unwrap_or_default()
}

/// What the parent context says about the randomness of the trace ID: the SDK hands samplers the
/// parent context of root spans too, with no valid span in it.
pub(crate) fn trace_id_randomness(parent_context: Option<&Context>) -> TraceIdRandomness {
    let Some(cx) = parent_context else {
        return TraceIdRandomness::NewRoot;
    };
    let span = cx.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        TraceIdRandomness::from_trace_flags(span_context.trace_flags().to_u8())
    } else {
        TraceIdRandomness::NewRoot
    }
}

/// The consistent decision for `threshold`: keep when the trace's randomness reaches it — `rv`
/// from the parent's tracestate, else the trace ID, counted as a presumption when the parent
/// context lacks W3C Level 2's random flag (see [`crate::randomness`]) — and record `th` on kept
/// spans so their adjusted count is known downstream. An unparsable `ot` entry is replaced, as the
/// specification asks, rather than propagated.
pub(crate) fn consistent_result(
    parent_context: Option<&Context>,
    trace_id: TraceId,
    threshold: Threshold,
) -> SamplingResult {
    let parent_state = parent_trace_state(parent_context);
    let mut ot = parent_state
        .get("ot")
        .and_then(|value| OtelTraceState::parse(value).ok())
        .unwrap_or_default();
    let randomness = decide_randomness(
        &ot,
        trace_id.to_bytes(),
        trace_id_randomness(parent_context),
    );
    if !threshold.should_sample(randomness) {
        return SamplingResult {
            decision: SamplingDecision::Drop,
            attributes: Vec::new(),
            trace_state: parent_state,
        };
    }
    ot.threshold = Some(threshold);
    SamplingResult {
        decision: SamplingDecision::RecordAndSample,
        attributes: Vec::new(),
        trace_state: with_ot(parent_state, &ot),
    }
}

/// `state` with its `ot` entry replaced by `ot` (removed when `ot` encodes to nothing).
pub(crate) fn with_ot(state: TraceState, ot: &OtelTraceState) -> TraceState {
    let encoded = ot.encode();
    let updated = if encoded.is_empty() {
        state.delete("ot")
    } else {
        state.insert("ot", encoded)
    };
    // The encoding only uses characters W3C allows, so this fallback is unreachable in
    // practice; keeping the parent's state is the safe answer if it ever is not.
    updated.unwrap_or(state)
}

/// The `th` recorded in a sampler's result, if any.
pub(crate) fn result_threshold(result: &SamplingResult) -> Option<Threshold> {
    result
        .trace_state
        .get("ot")
        .and_then(|value| OtelTraceState::parse(value).ok())
        .and_then(|ot| ot.threshold)
}
