use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use super::{parent_trace_state, with_ot};
use crate::clock::{Clock, SystemClock};
use crate::consistent::OtelTraceState;
use crate::error::{Error, Result};

#[derive(Debug)]
struct Bucket {
    credits: f64,
    last: Instant,
}

/// A hard cap on root spans per second (Jaeger's `ratelimiting` sampler): a token bucket
/// refilled at `max_per_second` that holds at most one second's worth.
///
/// A rate limit has no fixed probability, so kept spans carry no `th` (any inherited `th`
/// is erased, as the specification asks when the adjusted count is unknown). Use
/// [`crate::head::AdaptiveSampler`] when estimates must stay unbiased.
#[derive(Debug, Clone)]
pub struct RateLimitedSampler {
    max_per_second: f64,
    clock: Arc<dyn Clock>,
    bucket: Arc<Mutex<Bucket>>,
}

impl RateLimitedSampler {
    /// A limiter on the system clock.
    pub fn new(max_per_second: f64) -> Result<Self> {
        Self::with_clock(max_per_second, Arc::new(SystemClock))
    }

    /// A limiter reading time from `clock`.
    pub fn with_clock(max_per_second: f64, clock: Arc<dyn Clock>) -> Result<Self> {
        if !(max_per_second.is_finite() && max_per_second > 0.0) {
            return Err(Error::Config(format!(
                "max_per_second must be a positive number, got {max_per_second}"
            )));
        }
        let last = clock.now();
        Ok(RateLimitedSampler {
            max_per_second,
            clock,
            bucket: Arc::new(Mutex::new(Bucket {
                credits: max_per_second.max(1.0),
                last,
            })),
        })
    }

    fn take(&self) -> bool {
        let now = self.clock.now();
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.last = now;
        bucket.credits =
            (bucket.credits + elapsed * self.max_per_second).min(self.max_per_second.max(1.0));
        if bucket.credits >= 1.0 {
            bucket.credits -= 1.0;
            true
        } else {
            false
        }
    }
}

impl ShouldSample for RateLimitedSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let parent_state = parent_trace_state(parent_context);
        if !self.take() {
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: parent_state,
            };
        }
        let trace_state = match parent_state.get("ot").map(OtelTraceState::parse) {
            Some(Ok(mut ot)) if ot.threshold.is_some() => {
                ot.threshold = None;
                with_ot(parent_state, &ot)
            }
            _ => parent_state,
        };
        SamplingResult {
            decision: SamplingDecision::RecordAndSample,
            attributes: Vec::new(),
            trace_state,
        }
    }
}
