//! Where a consistent decision takes its randomness from, and W3C Trace Context Level 2's
//! `random-trace-id` flag.
//!
//! OpenTelemetry's sampling specification orders the sources: "with an explicit randomness value
//! present in the `rv` sub-key" that value is used; otherwise "the least-significant 56 bits of the
//! TraceID", which W3C Level 2 guarantees random when the trace's `random-trace-id` flag is set
//! ("TraceState: Probability Sampling", "Randomness Value (`rv`)"). Without the flag the trace ID
//! is still used — "For all span contexts, OpenTelemetry samplers SHOULD presume that TraceIDs
//! meet the W3C Trace Context Level 2 randomness requirements, unless an explicit randomness value
//! is present" (trace SDK, "Presumption of TraceID randomness") — but a decision that had to
//! presume is worth knowing about: the specification's migration guidance has the sampler issue "a
//! warning statement the first time it presumes TraceID randomness for a Context where the Trace
//! random flag is not set", so that operators can tell when every SDK in the system is on Level 2.
//!
//! This crate has no logger, and a warning printed once says nothing about how often or for how
//! long it happens, so the signal is a metric: a process-wide count of presuming decisions
//! ([`presumed_trace_id_randomness`]), published as the OpenTelemetry counter
//! [`PRESUMED_RANDOMNESS_METRIC`] by [`register_metrics`]. It counts per decision, not per trace;
//! zero over a period means every context that reached a consistent sampler was marked random or
//! carried `rv`. Root spans are not counted: their trace ID comes from this process's own ID
//! generator ("For root span contexts, the SDK SHOULD set the `Random` flag … when it generates
//! TraceIDs that meet the … randomness requirements"), which `opentelemetry_sdk`'s default
//! `RandomIdGenerator` does.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::metrics::{Meter, ObservableCounter};

use crate::consistent::{OtelTraceState, Randomness};

/// W3C Trace Context Level 2's `random-trace-id` bit of `trace-flags` (and of the OTLP span and
/// log record `flags` fields, whose low 8 bits are the W3C trace flags).
pub const RANDOM_TRACE_ID_FLAG: u8 = 0x02;

/// Name of the counter [`register_metrics`] publishes.
pub const PRESUMED_RANDOMNESS_METRIC: &str = "otlp_sampling.presumed_trace_id_randomness";

static PRESUMED: AtomicU64 = AtomicU64::new(0);

/// What is known about the randomness of the trace ID a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceIdRandomness {
    /// The context carries the `random-trace-id` flag: the right-most 7 bytes are random.
    Flagged,
    /// The context does not carry the flag (a Level 1 caller, or an SDK that does not set it).
    Unflagged,
    /// A root span: the trace ID was just made by this process's ID generator.
    NewRoot,
}

impl TraceIdRandomness {
    /// From W3C trace flags (or the low byte of an OTLP `flags` field) of a parent context or of
    /// a span on the collection path.
    pub fn from_trace_flags(flags: u8) -> Self {
        if flags & RANDOM_TRACE_ID_FLAG == RANDOM_TRACE_ID_FLAG {
            TraceIdRandomness::Flagged
        } else {
            TraceIdRandomness::Unflagged
        }
    }
}

/// Where a decision's randomness came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RandomnessSource {
    /// The `rv` sub-key of the `ot` tracestate entry.
    Explicit,
    /// The trace ID's right-most 56 bits, known to be random (flagged, or a new root).
    TraceId,
    /// The trace ID's right-most 56 bits, presumed random because nothing said so.
    PresumedTraceId,
}

/// The randomness for a consistent decision and its source, in the specification's order: `rv`,
/// else the trace ID. Pure: use [`note_decision`] (or [`decide_randomness`]) to count presumptions.
pub fn decision_randomness(
    ot: &OtelTraceState,
    trace_id: [u8; 16],
    known: TraceIdRandomness,
) -> (Randomness, RandomnessSource) {
    if let Some(explicit) = ot.randomness {
        return (explicit, RandomnessSource::Explicit);
    }
    let source = match known {
        TraceIdRandomness::Unflagged => RandomnessSource::PresumedTraceId,
        TraceIdRandomness::Flagged | TraceIdRandomness::NewRoot => RandomnessSource::TraceId,
    };
    (Randomness::from_trace_id(trace_id), source)
}

/// [`decision_randomness`], counting the decision when it had to presume.
pub fn decide_randomness(
    ot: &OtelTraceState,
    trace_id: [u8; 16],
    known: TraceIdRandomness,
) -> Randomness {
    let (randomness, source) = decision_randomness(ot, trace_id, known);
    note_decision(source);
    randomness
}

/// Counts a decision made with randomness from `source` (only presumptions are counted).
pub fn note_decision(source: RandomnessSource) {
    if source == RandomnessSource::PresumedTraceId {
        PRESUMED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts `decisions` decisions made with randomness from `source` at once, as many calls of [`note_decision`]
/// would (for a column of decisions).
pub fn note_decisions(source: RandomnessSource, decisions: u64) {
    if source == RandomnessSource::PresumedTraceId && decisions > 0 {
        PRESUMED.fetch_add(decisions, Ordering::Relaxed);
    }
}

/// Decisions in this process so far that presumed trace-ID randomness: no `rv`, and a context or
/// span without the `random-trace-id` flag.
pub fn presumed_trace_id_randomness() -> u64 {
    PRESUMED.load(Ordering::Relaxed)
}

/// Publishes [`presumed_trace_id_randomness`] through `meter` as the monotonic counter
/// [`PRESUMED_RANDOMNESS_METRIC`] (unit `{decision}`). Call once per meter provider.
pub fn register_metrics(meter: &Meter) -> ObservableCounter<u64> {
    meter
        .u64_observable_counter(PRESUMED_RANDOMNESS_METRIC)
        .with_description(
            "Consistent sampling decisions that presumed trace-ID randomness: no explicit `rv` \
             and no W3C Level 2 random-trace-id flag",
        )
        .with_unit("{decision}")
        .with_callback(|observer| observer.observe(presumed_trace_id_randomness(), &[]))
        .build()
}
