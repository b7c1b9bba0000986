use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use super::{parent_trace_state, result_threshold, with_ot};
use crate::clock::{Clock, SystemClock};
use crate::consistent::OtelTraceState;
use crate::error::{Error, Result};
use crate::head::SpanMatcher;

/// How a [`CompositeSampler`] combines the samplers whose matchers accept a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompositeMode {
    /// Keep when any applicable sampler keeps (and has budget left).
    Any,
    /// Keep only when every applicable sampler keeps.
    All,
    /// The first applicable sampler decides alone.
    FirstMatch,
}

#[derive(Debug, Clone)]
struct Entry {
    matcher: SpanMatcher,
    sampler: Box<dyn ShouldSample>,
    /// Share of `max_spans_per_second` this entry may keep, if limited.
    percent: Option<f64>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    kept: Vec<u64>,
}

/// Combines samplers: each entry pairs a [`SpanMatcher`] with a sampler and, optionally, a
/// percentage of a total spans-per-second allocation (like otelcol's composite policy).
///
/// Consistent samplers compose consistently: with [`CompositeMode::Any`] a kept span gets
/// the lowest `th` among the samplers that kept it (the union of consistent samplers is the
/// one with the smallest threshold), with [`CompositeMode::All`] the highest. If a sampler
/// that kept the span did not record `th`, the adjusted count is unknown and `th` is
/// removed, as the specification asks.
#[derive(Debug, Clone)]
pub struct CompositeSampler {
    mode: CompositeMode,
    service: String,
    entries: Vec<Entry>,
    max_spans_per_second: Option<f64>,
    clock: Arc<dyn Clock>,
    window: Arc<Mutex<Window>>,
}

impl CompositeSampler {
    /// An empty composite for service `service` (used by [`SpanMatcher::service`]); it drops
    /// every span until entries are added.
    pub fn new(mode: CompositeMode, service: impl Into<String>) -> Self {
        Self::with_clock(mode, service, Arc::new(SystemClock))
    }

    /// Like [`CompositeSampler::new`], with rate windows measured on `clock`.
    pub fn with_clock(
        mode: CompositeMode,
        service: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let start = clock.now();
        CompositeSampler {
            mode,
            service: service.into(),
            entries: Vec::new(),
            max_spans_per_second: None,
            clock,
            window: Arc::new(Mutex::new(Window {
                start,
                kept: Vec::new(),
            })),
        }
    }

    /// Sets the total spans per second shared by entries added with
    /// [`CompositeSampler::add_allocated`].
    pub fn max_spans_per_second(mut self, total: f64) -> Result<Self> {
        if !(total.is_finite() && total > 0.0) {
            return Err(Error::Config(format!(
                "max_spans_per_second must be a positive number, got {total}"
            )));
        }
        self.max_spans_per_second = Some(total);
        Ok(self)
    }

    /// Adds an entry without a rate limit.
    pub fn add(mut self, matcher: SpanMatcher, sampler: impl ShouldSample + 'static) -> Self {
        self.entries.push(Entry {
            matcher,
            sampler: Box::new(sampler),
            percent: None,
        });
        self.resize_window();
        self
    }

    /// Adds an entry that keeps at most `percent`% of `max_spans_per_second` spans per second.
    pub fn add_allocated(
        mut self,
        matcher: SpanMatcher,
        sampler: impl ShouldSample + 'static,
        percent: f64,
    ) -> Result<Self> {
        if self.max_spans_per_second.is_none() {
            return Err(Error::Config(
                "set max_spans_per_second before adding rate-allocated entries".to_owned(),
            ));
        }
        if !(0.0..=100.0).contains(&percent) {
            return Err(Error::PercentageOutOfRange(percent));
        }
        let allocated: f64 = self.entries.iter().filter_map(|e| e.percent).sum();
        if allocated + percent > 100.0 + f64::EPSILON {
            return Err(Error::Config(format!(
                "rate allocations add up to {}%, more than 100%",
                allocated + percent
            )));
        }
        self.entries.push(Entry {
            matcher,
            sampler: Box::new(sampler),
            percent: Some(percent),
        });
        self.resize_window();
        Ok(self)
    }

    fn resize_window(&mut self) {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        window.kept.resize(self.entries.len(), 0);
    }

    /// Takes one span of budget from entry `index`; false when its allocation for the
    /// current second is used up.
    fn take_budget(&self, index: usize, percent: Option<f64>) -> bool {
        let (Some(percent), Some(total)) = (percent, self.max_spans_per_second) else {
            return true;
        };
        let now = self.clock.now();
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if now.saturating_duration_since(window.start) >= Duration::from_secs(1) {
            window.start = now;
            window.kept.iter_mut().for_each(|kept| *kept = 0);
        }
        let limit = total * percent / 100.0;
        match window.kept.get_mut(index) {
            Some(kept) if (*kept as f64) < limit => {
                *kept += 1;
                true
            }
            _ => false,
        }
    }
}

impl ShouldSample for CompositeSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let parent_state = parent_trace_state(parent_context);
        let drop = || SamplingResult {
            decision: SamplingDecision::Drop,
            attributes: Vec::new(),
            trace_state: parent_state.clone(),
        };
        let applicable = self.entries.iter().enumerate().filter(|(_, entry)| {
            entry
                .matcher
                .matches(&self.service, name, span_kind, attributes)
        });
        let mut kept: Vec<SamplingResult> = Vec::new();
        let mut any_applicable = false;
        for (index, entry) in applicable {
            any_applicable = true;
            let result = entry.sampler.should_sample(
                parent_context,
                trace_id,
                name,
                span_kind,
                attributes,
                links,
            );
            let keeps = result.decision == SamplingDecision::RecordAndSample;
            match self.mode {
                CompositeMode::FirstMatch => {
                    return if keeps && self.take_budget(index, entry.percent) {
                        result
                    } else {
                        drop()
                    };
                }
                CompositeMode::All if !keeps => return drop(),
                CompositeMode::Any if keeps && !self.take_budget(index, entry.percent) => {}
                CompositeMode::Any | CompositeMode::All => {
                    if keeps {
                        kept.push(result);
                    }
                }
            }
        }
        if !any_applicable || kept.is_empty() {
            return drop();
        }
        let thresholds: Option<Vec<_>> = kept.iter().map(result_threshold).collect();
        let combined = thresholds.and_then(|all| match self.mode {
            CompositeMode::All => all.into_iter().max(),
            _ => all.into_iter().min(),
        });
        let mut result = kept.swap_remove(0);
        let mut ot = result
            .trace_state
            .get("ot")
            .and_then(|value| OtelTraceState::parse(value).ok())
            .unwrap_or_default();
        ot.threshold = combined;
        result.trace_state = with_ot(result.trace_state, &ot);
        result
            .attributes
            .extend(kept.into_iter().flat_map(|r| r.attributes));
        result
    }
}
