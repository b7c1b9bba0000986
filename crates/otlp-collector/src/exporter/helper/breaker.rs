//! The exporter's circuit breaker (ours; otelcol has none): after too large a share of failed attempts in a window,
//! the exporter stops calling its backend for `open_for` and fails its attempts at once, so a dead backend does not
//! cost a timeout per batch and a struggling one gets room to recover; then a few probe attempts decide whether the
//! breaker closes again. Batches wait in the queue and are retried meanwhile, as after any failed attempt.

use crate::de;
use crate::telemetry::Telemetry;
use otlp_control::protect::{BreakerConfig, CircuitBreaker, CircuitState, Permit};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `circuit_breaker` of a network exporter (`otlp`, `otlphttp`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitBreakerConfig {
    /// Whether the breaker is used (default `false`).
    pub enabled: bool,
    /// The share of failed attempts in `window`, in (0, 1], that opens the breaker (default 0.5).
    pub failure_rate: f64,
    /// Fewest attempts in `window` before the share counts (default 20).
    pub min_requests: u32,
    /// The sliding window failures are counted over (default 10s).
    #[serde(deserialize_with = "de::duration")]
    pub window: Duration,
    /// How long the breaker stays open before letting probes through (default 30s).
    #[serde(deserialize_with = "de::duration")]
    pub open_for: Duration,
    /// Probe attempts let through while half-open; all must succeed to close (default 3).
    pub half_open_probes: u32,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        let defaults = BreakerConfig::default();
        CircuitBreakerConfig {
            enabled: false,
            failure_rate: defaults.failure_rate,
            min_requests: defaults.min_requests,
            window: defaults.window,
            open_for: defaults.open_for,
            half_open_probes: defaults.half_open_probes,
        }
    }
}

impl CircuitBreakerConfig {
    fn breaker(&self) -> BreakerConfig {
        BreakerConfig {
            failure_rate: self.failure_rate,
            min_requests: self.min_requests,
            window: self.window,
            buckets: 10,
            open_for: self.open_for,
            half_open_probes: self.half_open_probes,
        }
    }

    /// Checks the settings of an enabled breaker.
    pub fn validate(&self) -> Result<(), String> {
        if self.enabled {
            self.breaker()
                .validate()
                .map_err(|e| format!("circuit_breaker: {e}"))?;
        }
        Ok(())
    }
}

/// One exporter's breaker, with its state published as `otelcol_exporter_circuit_state` (0 closed, 1 open,
/// 2 half-open).
pub(super) struct Breaker(Arc<CircuitBreaker>);

impl Breaker {
    /// The breaker `config` asks for, or `None` when it is disabled (or, having been validated, cannot be built).
    pub(super) fn new(
        config: &CircuitBreakerConfig,
        telemetry: &Telemetry,
        labels: &[(&str, &str)],
    ) -> Option<Self> {
        if !config.enabled {
            return None;
        }
        let breaker = Arc::new(CircuitBreaker::new(config.breaker(), Instant::now()).ok()?);
        let watched = Arc::clone(&breaker);
        telemetry.gauge(
            "otelcol_exporter_circuit_state",
            "The exporter's circuit breaker: 0 closed, 1 open (attempts fail at once), 2 half-open (probing).",
            labels,
            move || match watched.state(Instant::now()) {
                CircuitState::Closed => 0,
                CircuitState::Open => 1,
                CircuitState::HalfOpen => 2,
            },
        );
        Some(Breaker(breaker))
    }

    /// Leave to call the backend, or how long until a probe may go.
    pub(super) fn try_acquire(&self) -> Result<Permit, Duration> {
        self.0
            .try_acquire(Instant::now())
            .map_err(|refused| refused.retry_after)
    }

    /// The outcome of a call it let through: `reached` when the backend answered, even with a permanent refusal.
    pub(super) fn record(&self, permit: Permit, reached: bool) {
        self.0.record(permit, reached, Instant::now());
    }
}
