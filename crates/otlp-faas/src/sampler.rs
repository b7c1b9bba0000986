//! Traffic-aware head sampling: every trace of a quiet function, a bounded number per window of a
//! busy one's.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use crate::{Error, Result};

/// Attribute recorded on sampled root spans: the probability they were kept with, so counts can
/// be scaled back up.
pub const SAMPLING_PROBABILITY_KEY: &str = "otlp_faas.sampling.probability";

/// The 56 random low bits of a W3C trace ID are what the decision compares, as consistent
/// probability sampling does, so every service deciding on the same trace agrees.
const RANDOM_BITS: u32 = 56;
const RANDOM_MASK: u128 = (1u128 << RANDOM_BITS) - 1;

/// A head sampler that keeps every root trace while traffic is at most `quiet_limit` roots per
/// window, and above that keeps about `busy_budget` roots per window (but never less than
/// `min_probability` of them).
///
/// Traffic is measured per window as the larger of the previous window's root count and the
/// current window's count so far, so a burst lowers the probability within the window it starts
/// in. Spans with a valid parent follow the parent's decision unless
/// [`TrafficAwareSampler::follow_parent`] turns that off (useful when Lambda's X-Ray header says
/// `Sampled=0` because active tracing is off).
#[derive(Debug)]
pub struct TrafficAwareSampler {
    window: Duration,
    quiet_limit: u64,
    busy_budget: u64,
    min_probability: f64,
    follow_parent: bool,
    state: Mutex<WindowState>,
}

#[derive(Debug, Default)]
struct WindowState {
    started: Option<Instant>,
    current: u64,
    previous: u64,
}

impl TrafficAwareSampler {
    /// A sampler with a 60 s window that keeps everything up to 60 roots per window (one per
    /// second) and about 60 per window above that, never less than 0.1%.
    pub fn new() -> Self {
        Self {
            window: Duration::from_secs(60),
            quiet_limit: 60,
            busy_budget: 60,
            min_probability: 0.001,
            follow_parent: true,
            state: Mutex::new(WindowState::default()),
        }
    }

    /// Sets the measurement window; it must be longer than zero.
    pub fn window(mut self, window: Duration) -> Result<Self> {
        if window.is_zero() {
            return Err(Error::InvalidSamplerSetting {
                setting: "window",
                reason: "must be longer than zero".to_owned(),
            });
        }
        self.window = window;
        Ok(self)
    }

    /// Sets how many roots per window count as quiet (all kept) and how many to keep per window
    /// when busy; the budget must be at least 1 and at most the quiet limit (otherwise the
    /// probability would jump up when traffic crosses the limit).
    pub fn limits(mut self, quiet_limit: u64, busy_budget: u64) -> Result<Self> {
        if busy_budget == 0 || busy_budget > quiet_limit {
            return Err(Error::InvalidSamplerSetting {
                setting: "busy_budget",
                reason: format!(
                    "{busy_budget} must be between 1 and the quiet limit {quiet_limit}"
                ),
            });
        }
        self.quiet_limit = quiet_limit;
        self.busy_budget = busy_budget;
        Ok(self)
    }

    /// Sets the lowest probability used however busy the function is; must be in (0, 1].
    pub fn min_probability(mut self, probability: f64) -> Result<Self> {
        if !(probability > 0.0 && probability <= 1.0) {
            return Err(Error::InvalidSamplerSetting {
                setting: "min_probability",
                reason: format!("{probability} is not in (0, 1]"),
            });
        }
        self.min_probability = probability;
        Ok(self)
    }

    /// Whether spans with a valid parent take the parent's decision (default `true`).
    pub fn follow_parent(mut self, follow: bool) -> Self {
        self.follow_parent = follow;
        self
    }

    /// Counts one root at `now` and returns the probability it is sampled with.
    pub fn record_root(&self, now: Instant) -> f64 {
        let mut state = match self.state.lock() {
            Ok(state) => state,
            // A panic elsewhere while holding the lock leaves plain counters, still usable.
            Err(poisoned) => poisoned.into_inner(),
        };
        let started = *state.started.get_or_insert(now);
        let elapsed = now.saturating_duration_since(started);
        if elapsed >= self.window {
            let windows_passed = elapsed.as_nanos() / self.window.as_nanos().max(1);
            // A gap of more than one window means the previous window saw nothing.
            state.previous = if windows_passed == 1 {
                state.current
            } else {
                0
            };
            state.current = 0;
            let advance = self
                .window
                .saturating_mul(u32::try_from(windows_passed).unwrap_or(u32::MAX));
            state.started = Some(started + advance);
        }
        state.current = state.current.saturating_add(1);
        let traffic = state.previous.max(state.current);
        if traffic <= self.quiet_limit {
            1.0
        } else {
            (self.busy_budget as f64 / traffic as f64).max(self.min_probability)
        }
    }

    /// Whether `trace_id` is kept at `probability`, by the OpenTelemetry consistent-probability
    /// rule: its 56 low (random) bits are at least the rejection threshold `(1 - p) · 2^56`. A
    /// trace kept at some probability is kept at every higher one, here and by any other
    /// sampler following the rule (such as `otlp-sampling`'s consistent sampler).
    pub fn trace_id_within(trace_id: TraceId, probability: f64) -> bool {
        if probability >= 1.0 {
            return true;
        }
        let random = u128::from_be_bytes(trace_id.to_bytes()) & RANDOM_MASK;
        let rejection = ((1.0 - probability.max(0.0)) * (1u128 << RANDOM_BITS) as f64) as u128;
        random >= rejection
    }

    /// The decision for a root span at `now` (what [`ShouldSample::should_sample`] does with the
    /// current time).
    pub fn decide_root(&self, trace_id: TraceId, now: Instant) -> SamplingResult {
        let probability = self.record_root(now);
        if Self::trace_id_within(trace_id, probability) {
            SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: vec![KeyValue::new(SAMPLING_PROBABILITY_KEY, probability)],
                trace_state: TraceState::default(),
            }
        } else {
            SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: TraceState::default(),
            }
        }
    }
}

impl Default for TrafficAwareSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for TrafficAwareSampler {
    /// The clone starts with fresh traffic counters.
    fn clone(&self) -> Self {
        Self {
            window: self.window,
            quiet_limit: self.quiet_limit,
            busy_budget: self.busy_budget,
            min_probability: self.min_probability,
            follow_parent: self.follow_parent,
            state: Mutex::new(WindowState::default()),
        }
    }
}

impl ShouldSample for TrafficAwareSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        if let Some(parent) = parent_context.filter(|cx| cx.has_active_span()) {
            let span = parent.span();
            let parent_span = span.span_context();
            if parent_span.is_valid() && (self.follow_parent || !parent_span.is_remote()) {
                let decision = if parent_span.is_sampled() {
                    SamplingDecision::RecordAndSample
                } else {
                    SamplingDecision::Drop
                };
                return SamplingResult {
                    decision,
                    attributes: Vec::new(),
                    trace_state: parent_span.trace_state().clone(),
                };
            }
        }
        self.decide_root(trace_id, Instant::now())
    }
}
