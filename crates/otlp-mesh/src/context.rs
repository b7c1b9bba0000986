//! Facts carried next to the span context that W3C trace flags cannot hold.
//!
//! B3, X-Ray, Jaeger and Linkerd can say "sampling not decided yet" (deferred) or "sample this for
//! debugging". A tempting place for that is a spare bit of `TraceFlags`, which is what some
//! propagators do with `0x02`; but W3C Trace Context Level 2 assigned `0x02` to the *random-trace-id*
//! flag, so a deferred B3 request would leave this process claiming its trace ID is random, and the
//! W3C propagator (which masks to the sampled bit today) would silently drop the fact anyway. A
//! `tracestate` entry would survive, but would leak a B3-only detail to every vendor downstream. A
//! [`Context`] value is process-local, travels with the context into child spans' contexts, and is
//! bound to the trace ID it came with so it cannot apply to a different trace started later.

use opentelemetry::{
    Context,
    trace::{TraceContextExt, TraceId},
};

/// A sampling fact from a header format that has more states than W3C's sampled bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SamplingHint {
    /// The upstream made no decision (B3 without sampling state, X-Ray `Sampled=?`, Linkerd
    /// "sampling unknown"): the receiver decides.
    Deferred,
    /// The upstream forced sampling for debugging (B3 `d` / `X-B3-Flags: 1`, Jaeger flag `0x02`,
    /// Linkerd debug flag). Implies sampled.
    Debug,
    /// A decision that came without any trace IDs (`b3: 0`, `b3: 1`, `b3: d` alone). The receiver
    /// starts a new trace; a sampler can honour the decision by reading it from the parent context
    /// that `ShouldSample::should_sample` receives, and propagators pass it on while the context
    /// has no span.
    DecisionOnly(Decision),
}

/// A bare sampling decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Do not record.
    Deny,
    /// Record.
    Accept,
    /// Record, and the request is flagged for debugging.
    Debug,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SamplingHintValue {
    trace_id: TraceId,
    hint: SamplingHint,
}

/// Returns `cx` carrying `hint` for the trace `trace_id` (use [`TraceId::INVALID`] for
/// [`SamplingHint::DecisionOnly`]).
pub fn with_sampling_hint(cx: &Context, trace_id: TraceId, hint: SamplingHint) -> Context {
    cx.with_value(SamplingHintValue { trace_id, hint })
}

/// The sampling hint that applies to the span in `cx`, if any: a hint only counts for the trace it
/// arrived with, and a [`SamplingHint::DecisionOnly`] only while `cx` has no valid span.
pub fn sampling_hint(cx: &Context) -> Option<SamplingHint> {
    let value = cx.get::<SamplingHintValue>()?;
    let span_trace_id = cx.span().span_context().trace_id();
    match value.hint {
        SamplingHint::DecisionOnly(_) => (span_trace_id == TraceId::INVALID).then_some(value.hint),
        hint => {
            (span_trace_id == value.trace_id && span_trace_id != TraceId::INVALID).then_some(hint)
        }
    }
}

/// X-Ray header fields beyond `Root`, `Parent` and `Sampled`, kept so they can be passed on unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XRayFields {
    /// The trace these fields belong to.
    pub trace_id: TraceId,
    /// `Self=`, added by Application Load Balancers.
    pub self_id: Option<String>,
    /// `Lineage=`, the loop-detection counters added by Lambda and other services.
    pub lineage: Option<String>,
    /// Any other `key=value` pairs, in arrival order.
    pub other: Vec<(String, String)>,
}

/// The X-Ray fields stored in `cx` for the trace of its current span.
pub fn xray_fields(cx: &Context) -> Option<&XRayFields> {
    let fields = cx.get::<XRayFields>()?;
    (fields.trace_id == cx.span().span_context().trace_id()).then_some(fields)
}

/// Why Envoy traced this request, read from the version nibble of `x-request-id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnvoyTraceReason {
    /// `'9'`: sampled by Envoy's random sampling.
    Sampled,
    /// `'a'`: forced by `x-envoy-force-trace`.
    Forced,
    /// `'b'`: requested by the client through `x-client-trace-id`.
    Client,
    /// `'4'` or `'7'` (an untouched UUIDv4/v7): not traced.
    NotTraced,
}

impl EnvoyTraceReason {
    /// The value used for the `envoy.trace_reason` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvoyTraceReason::Sampled => "sampled",
            EnvoyTraceReason::Forced => "forced",
            EnvoyTraceReason::Client => "client",
            EnvoyTraceReason::NotTraced => "not_traced",
        }
    }
}

/// Request-scoped Envoy headers. They carry no span IDs, so they are kept beside whichever span
/// context another format provided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvoyRequest {
    /// `x-request-id`, passed on unchanged so every hop reaches the same tracing decision.
    pub request_id: Option<String>,
    /// Decoded from `request_id` when it is a UUID.
    pub trace_reason: Option<EnvoyTraceReason>,
    /// `x-client-trace-id`.
    pub client_trace_id: Option<String>,
    /// `x-envoy-force-trace` was present.
    pub force_trace: bool,
}

/// The Envoy request facts stored in `cx`.
pub fn envoy_request(cx: &Context) -> Option<&EnvoyRequest> {
    cx.get::<EnvoyRequest>()
}

/// Which header format supplied the span context (set by [`crate::MeshPropagator`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtractedFrom(pub crate::Format);

/// The format that supplied the span context in `cx`, when a [`crate::MeshPropagator`] extracted it.
pub fn extracted_from(cx: &Context) -> Option<crate::Format> {
    cx.get::<ExtractedFrom>().map(|from| from.0)
}

/// What a format read from its headers, before it is put into a [`Context`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Extracted {
    /// A remote span, possibly with a sampling fact the flags cannot carry.
    Span(opentelemetry::trace::SpanContext, Option<SamplingHint>),
    /// Only a sampling decision, no IDs.
    DecisionOnly(Decision),
}

impl Extracted {
    pub(crate) fn apply(self, cx: &Context) -> Context {
        match self {
            Extracted::Span(span_context, hint) => {
                let trace_id = span_context.trace_id();
                let cx = cx.with_remote_span_context(span_context);
                match hint {
                    Some(hint) => with_sampling_hint(&cx, trace_id, hint),
                    None => cx,
                }
            }
            Extracted::DecisionOnly(decision) => {
                with_sampling_hint(cx, TraceId::INVALID, SamplingHint::DecisionOnly(decision))
            }
        }
    }
}

/// The decision to send downstream for the span in `cx`: `None` means "deferred" (send no decision).
pub(crate) fn outgoing_decision(cx: &Context) -> Option<Decision> {
    let span = cx.span();
    let span_context = span.span_context();
    match sampling_hint(cx) {
        Some(SamplingHint::Debug) => Some(Decision::Debug),
        Some(SamplingHint::DecisionOnly(decision)) => Some(decision),
        _ if span_context.is_sampled() => Some(Decision::Accept),
        Some(SamplingHint::Deferred) => None,
        None => Some(Decision::Deny),
    }
}
