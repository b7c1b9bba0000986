//! What the engine reports back: released spans, decided traces, and dropped spans by reason.

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

#[cfg(doc)]
use super::engine::TailSampler;
use super::release::EncodedSpans;

/// Why spans were dropped; every dropped span is counted under exactly one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// The policies decided not to sample the trace.
    NotSampled,
    /// A span arrived after its trace was decided (or cached) as not sampled.
    LateNotSampled,
    /// The trace was evicted undecided because `num_traces` traces were already held.
    TraceLimit,
    /// The trace was evicted undecided to stay under `max_buffered_bytes`.
    MemoryLimit,
    /// The span's trace ID is not 16 bytes (or is all zeros).
    InvalidTraceId,
    /// A buffered span could not be decoded back from its stored encoding. The engine encodes
    /// only spans that decoded, so this counts a defect, never expected in operation.
    Undecodable,
    /// The trace was still waiting when [`TailSampler::drop_pending`] was called (at shutdown,
    /// with `drop_pending_traces_on_shutdown`).
    PendingAtShutdown,
}

impl DropReason {
    /// Every reason, for iterating metrics.
    pub const ALL: [DropReason; 7] = [
        DropReason::NotSampled,
        DropReason::LateNotSampled,
        DropReason::TraceLimit,
        DropReason::MemoryLimit,
        DropReason::InvalidTraceId,
        DropReason::Undecodable,
        DropReason::PendingAtShutdown,
    ];

    /// A stable snake_case label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::NotSampled => "not_sampled",
            DropReason::LateNotSampled => "late_not_sampled",
            DropReason::TraceLimit => "trace_limit",
            DropReason::MemoryLimit => "memory_limit",
            DropReason::InvalidTraceId => "invalid_trace_id",
            DropReason::Undecodable => "undecodable",
            DropReason::PendingAtShutdown => "pending_at_shutdown",
        }
    }
}

/// Dropped span counts by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    counts: [u64; DropReason::ALL.len()],
}

impl DropCounts {
    /// Spans dropped for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts.get(reason as usize).copied().unwrap_or(0)
    }

    /// Spans dropped for any reason.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(reason, count)` for every reason, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|reason| (*reason, self.get(*reason)))
    }

    pub(super) fn add(&mut self, reason: DropReason, spans: u64) {
        if let Some(count) = self.counts.get_mut(reason as usize) {
            *count += spans;
        }
    }

    pub(super) fn merge(&mut self, other: &DropCounts) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }
}

/// The form a [`TailSampler`] releases sampled spans in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReleaseFormat {
    /// Decoded, in [`Decisions::released`].
    #[default]
    Decoded,
    /// Encoded, in [`Decisions::released_encoded`]: the spans' bytes as they were buffered
    /// (as received, for [`TailSampler::ingest_encoded`]) between their resource's and scope's
    /// headers as prost encodes them. For a caller that sends sampled spans on as protobuf; it
    /// saves encoding them again, which costs about as much as the decoding the policies need.
    Encoded,
}

/// What an [`TailSampler::ingest`] or [`TailSampler::tick`] call produced.
#[derive(Debug, Default)]
pub struct Decisions {
    /// Spans to pass downstream, with [`ReleaseFormat::Decoded`]: sampled traces, plus late
    /// spans of traces already sampled. Spans that arrived in the same `ResourceSpans` (and
    /// scope) are merged back into one, so resources are not repeated per trace.
    pub released: Vec<ResourceSpans>,
    /// The same spans with [`ReleaseFormat::Encoded`]: encoded `ExportTraceServiceRequest`s
    /// (none when nothing was released), merged by resource and scope likewise, of about 1 MiB
    /// each; concatenated, they are one request.
    pub released_encoded: Vec<EncodedSpans>,
    /// Number of spans in `released` or `released_encoded`.
    pub released_spans: u64,
    /// Traces decided as sampled by this call.
    pub sampled_traces: u64,
    /// Traces decided as not sampled by this call.
    pub not_sampled_traces: u64,
    /// Spans dropped by this call, by reason.
    pub dropped: DropCounts,
    /// Times an `ottl_condition` policy could not judge a trace (its condition failed under
    /// `error_mode: propagate`) and so did not sample it.
    pub condition_errors: u64,
}

impl Decisions {
    /// Adds another call's results to this one.
    pub fn merge(&mut self, other: Decisions) {
        self.released.extend(other.released);
        self.released_encoded.extend(other.released_encoded);
        self.released_spans += other.released_spans;
        self.sampled_traces += other.sampled_traces;
        self.not_sampled_traces += other.not_sampled_traces;
        self.dropped.merge(&other.dropped);
        self.condition_errors += other.condition_errors;
    }
}
