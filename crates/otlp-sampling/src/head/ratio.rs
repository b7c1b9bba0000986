use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingResult, ShouldSample};

use super::consistent_result;
use crate::consistent::{DEFAULT_PRECISION, Threshold};
use crate::error::Result;

/// A fixed-probability root sampler that follows the specification's consistent
/// probability sampling: keep when `R >= T` with `R` the trace's randomness and
/// `T = (1 - p) * 2^56`, and write `ot=th:<T>` on kept spans, keeping every other
/// tracestate entry.
///
/// Two services configured with the same probability reach the same decision for the same
/// trace, and a trace kept at 1% is also kept by every sampler at 10%.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsistentProbabilitySampler {
    threshold: Threshold,
}

impl ConsistentProbabilitySampler {
    /// A sampler for probability `p` (in `[2^-56, 1]`), encoded at the default precision of 4
    /// hex digits.
    pub fn new(probability: f64) -> Result<Self> {
        Self::with_precision(probability, DEFAULT_PRECISION)
    }

    /// A sampler for probability `p` with `th` rounded to `precision` hex digits (1..=14).
    pub fn with_precision(probability: f64, precision: u8) -> Result<Self> {
        Ok(ConsistentProbabilitySampler {
            threshold: Threshold::from_probability_with_precision(probability, precision)?,
        })
    }

    /// A sampler with an explicit threshold.
    pub fn from_threshold(threshold: Threshold) -> Self {
        ConsistentProbabilitySampler { threshold }
    }

    /// The rejection threshold in use.
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }
}

impl ShouldSample for ConsistentProbabilitySampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        consistent_result(parent_context, trace_id, self.threshold)
    }
}
