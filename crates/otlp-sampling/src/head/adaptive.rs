use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingResult, ShouldSample};

use super::consistent_result;
use crate::clock::{Clock, SystemClock};
use crate::consistent::{MAX_ADJUSTED_COUNT, Threshold};
use crate::error::{Error, Result};

/// Settings of an [`AdaptiveSampler`].
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveSamplerConfig {
    /// Sampled spans per second to aim for, per operation (span name).
    pub target_spans_per_sec: f64,
    /// How often each operation's probability is recomputed.
    pub adjustment_interval: Duration,
    /// Weight of the newest interval in the smoothed incoming rate (0 < w <= 1); lower
    /// values ride out bursts, higher values react faster.
    pub smoothing: f64,
    /// Lowest probability ever used, so quiet-but-present operations stay visible.
    pub min_probability: f64,
    /// Operations tracked individually; further names share one overflow bucket so memory
    /// stays bounded when span names have high cardinality.
    pub max_operations: usize,
}

impl Default for AdaptiveSamplerConfig {
    fn default() -> Self {
        AdaptiveSamplerConfig {
            target_spans_per_sec: 10.0,
            adjustment_interval: Duration::from_secs(1),
            smoothing: 0.5,
            min_probability: 1e-6,
            max_operations: 2_000,
        }
    }
}

#[derive(Debug)]
struct OperationState {
    threshold: Threshold,
    window_start: Instant,
    seen_in_window: u64,
    smoothed_rate: Option<f64>,
}

#[derive(Debug)]
struct State {
    operations: HashMap<String, OperationState>,
}

const OVERFLOW_OPERATION: &str = "";

/// A Jaeger-adaptive-style sampler: per operation it measures the incoming span rate and
/// sets the probability to `target / smoothed incoming rate`, so the sampled rate holds at
/// the target whatever the load. Decisions are consistent (trace randomness against the
/// current threshold) and carry `th`, so adjusted counts stay correct while the
/// probability moves.
///
/// Time comes from a [`Clock`]; tests drive a [`crate::clock::ManualClock`].
#[derive(Debug, Clone)]
pub struct AdaptiveSampler {
    config: AdaptiveSamplerConfig,
    min_threshold_probability: f64,
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

impl AdaptiveSampler {
    /// A sampler on the system clock.
    pub fn new(config: AdaptiveSamplerConfig) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A sampler reading time from `clock`.
    pub fn with_clock(config: AdaptiveSamplerConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        if !(config.target_spans_per_sec.is_finite() && config.target_spans_per_sec > 0.0) {
            return Err(Error::Config(format!(
                "target_spans_per_sec must be a positive number, got {}",
                config.target_spans_per_sec
            )));
        }
        if !(config.smoothing > 0.0 && config.smoothing <= 1.0) {
            return Err(Error::Config(format!(
                "smoothing must be in (0, 1], got {}",
                config.smoothing
            )));
        }
        if config.adjustment_interval.is_zero() {
            return Err(Error::Config(
                "adjustment_interval must be positive".to_owned(),
            ));
        }
        let min_probability = config.min_probability.max(1.0 / MAX_ADJUSTED_COUNT as f64);
        // Validates the probability range once, so later conversions cannot fail.
        Threshold::from_probability(min_probability.min(1.0))?;
        Ok(AdaptiveSampler {
            config,
            min_threshold_probability: min_probability.min(1.0),
            clock,
            state: Arc::new(Mutex::new(State {
                operations: HashMap::new(),
            })),
        })
    }

    /// The probability currently applied to `operation` (1.0 before it has been seen).
    pub fn current_probability(&self, operation: &str) -> f64 {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .operations
            .get(operation)
            .map_or(1.0, |op| op.threshold.probability())
    }

    fn threshold_for(&self, operation: &str) -> Threshold {
        let now = self.clock.now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        // Look up before inserting so the common case does not allocate the key.
        if let Some(op) = state.operations.get_mut(operation) {
            return self.advance(op, now);
        }
        let key = if state.operations.len() < self.config.max_operations {
            operation
        } else {
            OVERFLOW_OPERATION
        };
        let op = state
            .operations
            .entry(key.to_owned())
            .or_insert_with(|| OperationState {
                threshold: Threshold::ALWAYS_SAMPLE,
                window_start: now,
                seen_in_window: 0,
                smoothed_rate: None,
            });
        self.advance(op, now)
    }

    /// Counts one span and, once per adjustment interval, re-aims the probability.
    fn advance(&self, op: &mut OperationState, now: Instant) -> Threshold {
        let elapsed = now.saturating_duration_since(op.window_start);
        if elapsed >= self.config.adjustment_interval {
            let observed = op.seen_in_window as f64 / elapsed.as_secs_f64();
            let smoothed = match op.smoothed_rate {
                None => observed,
                Some(previous) => {
                    self.config.smoothing * observed + (1.0 - self.config.smoothing) * previous
                }
            };
            op.smoothed_rate = Some(smoothed);
            let probability = if smoothed > 0.0 {
                (self.config.target_spans_per_sec / smoothed)
                    .clamp(self.min_threshold_probability, 1.0)
            } else {
                1.0
            };
            // Full precision: the rate is the point here, and rounding to 4 digits would bias
            // the sampled rate by up to a few percent at some probabilities.
            if let Ok(threshold) = Threshold::from_probability(probability) {
                op.threshold = threshold;
            }
            op.window_start = now;
            op.seen_in_window = 0;
        }
        op.seen_in_window += 1;
        op.threshold
    }
}

impl ShouldSample for AdaptiveSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let threshold = self.threshold_for(name);
        consistent_result(parent_context, trace_id, threshold)
    }
}
