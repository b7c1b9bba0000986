//! A circuit breaker for exporters: closed / open / half-open over a sliding failure-rate window.
//!
//! Closed, it counts outcomes in a time window split into buckets; when at least
//! `min_requests` calls fall in the window and the failure share reaches `failure_rate`, it
//! opens. Open, every call is refused until `open_for` has passed. Then it lets at most
//! `half_open_probes` calls through; if they all succeed it closes, the first failure opens it
//! again. Calls are tracked by [`Permit`]s, so a slow call started while closed cannot close a
//! breaker that has since opened.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Circuit breaker settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerConfig {
    /// Failure share (0–1] over the window that opens the breaker.
    pub failure_rate: f64,
    /// Fewest calls in the window before the failure share counts.
    pub min_requests: u32,
    /// Length of the sliding window.
    #[serde(with = "crate::duration_ms")]
    pub window: Duration,
    /// Number of buckets the window is split into (its resolution).
    pub buckets: u32,
    /// How long the breaker stays open before probing.
    #[serde(with = "crate::duration_ms")]
    pub open_for: Duration,
    /// Calls let through while half-open; all must succeed to close.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_rate: 0.5,
            min_requests: 20,
            window: Duration::from_secs(10),
            buckets: 10,
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }
}

impl BreakerConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a failure rate outside (0, 1], zero buckets, probes or window.
    pub fn validate(&self) -> Result<()> {
        if !(self.failure_rate > 0.0 && self.failure_rate <= 1.0) {
            return Err(Error::Config(format!(
                "breaker failure_rate must be in (0, 1], got {}",
                self.failure_rate
            )));
        }
        if self.buckets == 0 || self.half_open_probes == 0 || self.min_requests == 0 {
            return Err(Error::Config(
                "breaker buckets, half_open_probes and min_requests must be positive".into(),
            ));
        }
        if self.window < Duration::from_millis(u64::from(self.buckets)) {
            return Err(Error::Config(
                "breaker window must be at least one millisecond per bucket".into(),
            ));
        }
        Ok(())
    }
}

/// The breaker's state as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls flow; failures are counted.
    Closed,
    /// Calls are refused.
    Open,
    /// A few probe calls are let through.
    HalfOpen,
}

/// Permission for one call; hand it back with [`CircuitBreaker::record`].
#[derive(Debug)]
#[must_use = "record the call's outcome with CircuitBreaker::record"]
pub struct Permit {
    generation: u64,
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// When the breaker will let a probe through (zero while half-open probes are all taken).
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    successes: u64,
    failures: u64,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { issued: u32, succeeded: u32 },
}

/// The window as a ring of buckets plus running totals, so each call costs O(1): buckets that
/// slid out of the window are emptied (and subtracted) as time moves past them.
#[derive(Debug)]
struct Inner {
    phase: Phase,
    generation: u64,
    epoch: Instant,
    buckets: Vec<Bucket>,
    /// The bucket index (time since `epoch` / bucket length) the ring is advanced to.
    current: u64,
    successes: u64,
    failures: u64,
}

impl Inner {
    fn advance(&mut self, index: u64) {
        if index <= self.current {
            return;
        }
        let len = self.buckets.len() as u64;
        for step in 1..=(index - self.current).min(len) {
            let slot = ((self.current + step) % len) as usize;
            let bucket = std::mem::take(&mut self.buckets[slot]);
            self.successes -= bucket.successes;
            self.failures -= bucket.failures;
        }
        self.current = index;
    }

    fn reset_window(&mut self) {
        self.buckets.fill(Bucket::default());
        self.successes = 0;
        self.failures = 0;
    }
}

/// A thread-safe circuit breaker; time comes from the caller.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    bucket_len_nanos: u64,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker whose window starts at `now`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for invalid settings.
    pub fn new(config: BreakerConfig, now: Instant) -> Result<Self> {
        config.validate()?;
        let bucket_len = config.window / config.buckets;
        let buckets = vec![Bucket::default(); config.buckets as usize];
        Ok(Self {
            config,
            bucket_len_nanos: u64::try_from(bucket_len.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
            inner: Mutex::new(Inner {
                phase: Phase::Closed,
                generation: 0,
                epoch: now,
                buckets,
                current: 0,
                successes: 0,
                failures: 0,
            }),
        })
    }

    /// The state at `now` (an open breaker whose time is up reports half-open).
    pub fn state(&self, now: Instant) -> CircuitState {
        let mut inner = self.inner.lock();
        Self::expire_open(&mut inner, now);
        match inner.phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { .. } => CircuitState::Open,
            Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`.
    ///
    /// # Errors
    ///
    /// [`Refused`] while open, or while half-open with every probe already issued.
    pub fn try_acquire(&self, now: Instant) -> std::result::Result<Permit, Refused> {
        let mut inner = self.inner.lock();
        Self::expire_open(&mut inner, now);
        let generation = inner.generation;
        match &mut inner.phase {
            Phase::Closed => Ok(Permit { generation }),
            Phase::Open { until } => Err(Refused {
                retry_after: until.saturating_duration_since(now),
            }),
            Phase::HalfOpen { issued, .. } => {
                if *issued < self.config.half_open_probes {
                    *issued += 1;
                    Ok(Permit { generation })
                } else {
                    Err(Refused {
                        retry_after: Duration::ZERO,
                    })
                }
            }
        }
    }

    /// Records how the call behind `permit` ended.
    pub fn record(&self, permit: Permit, success: bool, now: Instant) {
        let mut inner = self.inner.lock();
        if permit.generation != inner.generation {
            return; // started under an earlier state: says nothing about the current one
        }
        match inner.phase {
            Phase::Closed => {
                self.count(&mut inner, success, now);
                let (successes, failures) = (inner.successes, inner.failures);
                let total = successes + failures;
                if total >= u64::from(self.config.min_requests)
                    && failures as f64 / total as f64 >= self.config.failure_rate
                {
                    self.open(&mut inner, now);
                }
            }
            Phase::Open { .. } => {}
            Phase::HalfOpen { issued, succeeded } => {
                if !success {
                    self.open(&mut inner, now);
                } else if succeeded + 1 >= self.config.half_open_probes {
                    inner.phase = Phase::Closed;
                    inner.generation += 1;
                    inner.reset_window();
                } else {
                    inner.phase = Phase::HalfOpen {
                        issued,
                        succeeded: succeeded + 1,
                    };
                }
            }
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        inner.phase = Phase::Open {
            until: now + self.config.open_for,
        };
        inner.generation += 1;
    }

    fn expire_open(inner: &mut Inner, now: Instant) {
        if let Phase::Open { until } = inner.phase
            && now >= until
        {
            inner.phase = Phase::HalfOpen {
                issued: 0,
                succeeded: 0,
            };
            inner.generation += 1;
        }
    }

    fn bucket_index(&self, inner: &Inner, now: Instant) -> u64 {
        // u64 nanoseconds (584 years) keep the division off the slow u128 path.
        let since = u64::try_from(now.saturating_duration_since(inner.epoch).as_nanos())
            .unwrap_or(u64::MAX);
        since / self.bucket_len_nanos
    }

    fn count(&self, inner: &mut Inner, success: bool, now: Instant) {
        let index = self.bucket_index(inner, now);
        inner.advance(index);
        // A call reported late (time before the ring's head) counts in the head bucket.
        let slot = (inner.current % inner.buckets.len() as u64) as usize;
        if success {
            inner.buckets[slot].successes += 1;
            inner.successes += 1;
        } else {
            inner.buckets[slot].failures += 1;
            inner.failures += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            failure_rate: 0.5,
            min_requests: 10,
            window: Duration::from_secs(10),
            buckets: 10,
            open_for: Duration::from_secs(5),
            half_open_probes: 2,
        }
    }

    fn call(breaker: &CircuitBreaker, ok: bool, now: Instant) -> bool {
        match breaker.try_acquire(now) {
            Ok(permit) => {
                breaker.record(permit, ok, now);
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn opens_only_past_the_minimum_request_count() {
        let start = Instant::now();
        let breaker = CircuitBreaker::new(config(), start).unwrap();
        for _ in 0..9 {
            assert!(call(&breaker, false, start));
        }
        assert_eq!(breaker.state(start), CircuitState::Closed);
        assert!(call(&breaker, false, start));
        assert_eq!(breaker.state(start), CircuitState::Open);
        let refused = breaker
            .try_acquire(start + Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(4));
    }

    #[test]
    fn failures_that_slid_out_of_the_window_do_not_count() {
        let start = Instant::now();
        let breaker = CircuitBreaker::new(config(), start).unwrap();
        for _ in 0..9 {
            call(&breaker, false, start);
        }
        let later = start + Duration::from_secs(11);
        for _ in 0..9 {
            call(&breaker, true, later);
        }
        call(&breaker, false, later);
        assert_eq!(breaker.state(later), CircuitState::Closed);
    }

    #[test]
    fn the_oldest_bucket_leaves_the_window_as_time_moves() {
        let start = Instant::now();
        let breaker = CircuitBreaker::new(config(), start).unwrap();
        for _ in 0..6 {
            call(&breaker, false, start);
        }
        // 10.5 s later the first bucket has slid out: 4 failures of 10 calls, under 50%.
        let later = start + Duration::from_millis(10_500);
        for i in 0..10 {
            call(&breaker, i >= 4, later);
        }
        assert_eq!(breaker.state(later), CircuitState::Closed);
        // Within the window they would have counted: 6 + 4 failures of 16 calls.
        let breaker = CircuitBreaker::new(config(), start).unwrap();
        for _ in 0..6 {
            call(&breaker, false, start);
        }
        let soon = start + Duration::from_millis(9_500);
        for i in 0..10 {
            call(&breaker, i >= 4, soon);
        }
        assert_eq!(breaker.state(soon), CircuitState::Open);
    }

    #[test]
    fn below_the_failure_rate_stays_closed() {
        let start = Instant::now();
        let breaker = CircuitBreaker::new(config(), start).unwrap();
        for i in 0..100 {
            call(&breaker, i % 3 != 0, start + Duration::from_millis(i * 50));
        }
        assert_eq!(
            breaker.state(start + Duration::from_secs(5)),
            CircuitState::Closed
        );
    }

    #[test]
    fn half_open_probes_close_or_reopen() {
        let start = Instant::now();
        let breaker = CircuitBreaker::new(config(), start).unwrap();
        for _ in 0..10 {
            call(&breaker, false, start);
        }
        let probe_time = start + Duration::from_secs(5);
        assert_eq!(breaker.state(probe_time), CircuitState::HalfOpen);
        let first = breaker.try_acquire(probe_time).unwrap();
        let second = breaker.try_acquire(probe_time).unwrap();
        assert!(breaker.try_acquire(probe_time).is_err(), "only two probes");
        breaker.record(first, true, probe_time);
        breaker.record(second, false, probe_time);
        assert_eq!(breaker.state(probe_time), CircuitState::Open);

        let retry = probe_time + Duration::from_secs(5);
        assert!(call(&breaker, true, retry));
        assert!(call(&breaker, true, retry));
        assert_eq!(breaker.state(retry), CircuitState::Closed);
        // The window was reset: one failure does not reopen it.
        assert!(call(&breaker, false, retry));
        assert_eq!(breaker.state(retry), CircuitState::Closed);
    }

    #[test]
    fn a_call_from_before_the_trip_does_not_count_after_it() {
        let start = Instant::now();
        let breaker = CircuitBreaker::new(config(), start).unwrap();
        let slow = breaker.try_acquire(start).unwrap();
        for _ in 0..10 {
            call(&breaker, false, start);
        }
        let probe_time = start + Duration::from_secs(5);
        let probe = breaker.try_acquire(probe_time).unwrap();
        breaker.record(slow, true, probe_time);
        breaker.record(probe, true, probe_time);
        assert_eq!(breaker.state(probe_time), CircuitState::HalfOpen);
    }

    #[test]
    fn bad_settings_are_rejected() {
        let bad = BreakerConfig {
            failure_rate: 1.5,
            ..config()
        };
        assert!(CircuitBreaker::new(bad, Instant::now()).is_err());
    }
}
