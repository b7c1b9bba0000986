//! Retrying: exponential backoff with full jitter, a retry budget that caps retries at a
//! share of requests, and (with the `tokio` feature) failover that sends each retry to the
//! next candidate endpoint.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::clock::{Clock, SystemClock, nanos};
use crate::rng::Rng;
use crate::{Error, Result};

/// Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): retry
/// `k` (from 0) waits a uniformly random time in `[0, min(max, initial × multiplier^k)]`, so
/// clients that failed together do not retry together.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait. Default 100 ms.
    pub initial: Duration,
    /// The largest ceiling. Default 5 s.
    pub max: Duration,
    /// Growth of the ceiling per retry (≥ 1). Default 2.
    pub multiplier: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            multiplier: 2.0,
        }
    }
}

impl Backoff {
    /// Checks that `multiplier` ≥ 1 and `initial` ≤ `max`.
    pub fn validate(&self) -> Result<()> {
        if !(self.multiplier >= 1.0 && self.multiplier.is_finite()) {
            return Err(Error::InvalidConfig {
                what: "multiplier",
                reason: format!("{} must be a number ≥ 1", self.multiplier),
            });
        }
        if self.initial > self.max {
            return Err(Error::InvalidConfig {
                what: "max",
                reason: "must be at least the initial interval".to_owned(),
            });
        }
        Ok(())
    }

    /// The most retry `retry` (from 0) waits: `min(max, initial × multiplier^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let grown = self.initial.as_secs_f64() * self.multiplier.powf(f64::from(retry));
        if grown.is_finite() && grown < self.max.as_secs_f64() {
            Duration::from_secs_f64(grown)
        } else {
            self.max
        }
    }

    /// Retry `retry`'s wait for a uniformly random `random`: a point in `[0, ceiling]`.
    pub fn delay(&self, retry: u32, random: u64) -> Duration {
        let ceiling = nanos(self.ceiling(retry));
        let fraction = (random >> 11) as f64 / (1_u64 << 53) as f64;
        Duration::from_nanos((ceiling as f64 * fraction) as u64)
    }
}

/// Slots the budget's time window is split into, as tower's `TpsBudget` does.
const SLOTS: usize = 10;
/// Tokens are counted in thousandths, so a 20% ratio deposits 200 per request.
const UNIT: i64 = 1000;

/// A retry budget: each request deposits `retry_ratio` of a retry, each retry withdraws a
/// whole one, and deposits expire after `ttl`; `min_per_second × ttl` retries are always
/// allowed on top, so a quiet client can still retry. This caps retries at a share of recent
/// traffic, so an outage does not multiply the load (Finagle's `RetryBudget`, tower's
/// `TpsBudget`).
///
/// ```
/// use std::time::Duration;
/// use otlp_lb::retry::RetryBudget;
///
/// let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.2)?;
/// for _ in 0..10 {
///     budget.deposit();
/// }
/// assert!(budget.withdraw());
/// assert!(budget.withdraw());
/// assert!(!budget.withdraw()); // 20% of 10 requests is 2 retries
/// # Ok::<(), otlp_lb::Error>(())
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    clock: Arc<dyn Clock>,
    deposit: i64,
    reserve: i64,
    slot_nanos: u64,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    /// Net tokens (thousandths) per slot; `current` is the slot being written.
    slots: [i64; SLOTS],
    current: usize,
    /// When the current slot started.
    current_start: u64,
}

impl RetryBudget {
    /// A budget over `ttl` (1 s to 60 s), with `min_per_second` retries always allowed and
    /// `retry_ratio` (0 to 1000) retries earned per request, on the system clock.
    pub fn new(ttl: Duration, min_per_second: u32, retry_ratio: f64) -> Result<Self> {
        Self::with_clock(
            ttl,
            min_per_second,
            retry_ratio,
            Arc::new(SystemClock::new()),
        )
    }

    /// The same budget on `clock`.
    pub fn with_clock(
        ttl: Duration,
        min_per_second: u32,
        retry_ratio: f64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&ttl) {
            return Err(Error::InvalidConfig {
                what: "ttl",
                reason: format!("{ttl:?} must be between 1 s and 60 s"),
            });
        }
        if !(0.0..=1000.0).contains(&retry_ratio) {
            return Err(Error::InvalidConfig {
                what: "retry_ratio",
                reason: format!("{retry_ratio} must be between 0 and 1000"),
            });
        }
        let now = clock.now_nanos();
        Ok(Self {
            clock,
            deposit: (retry_ratio * UNIT as f64).round() as i64,
            reserve: i64::from(min_per_second) * ttl.as_secs() as i64 * UNIT,
            slot_nanos: (nanos(ttl) / SLOTS as u64).max(1),
            window: Mutex::new(Window {
                slots: [0; SLOTS],
                current: 0,
                current_start: now,
            }),
        })
    }

    fn with_window<R>(&self, f: impl FnOnce(&mut Window) -> R) -> R {
        let now = self.clock.now_nanos();
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_sub(window.current_start) / self.slot_nanos;
        if elapsed > 0 {
            // Slots older than the window expire, with what they deposited and withdrew.
            for _ in 0..elapsed.min(SLOTS as u64) {
                window.current = (window.current + 1) % SLOTS;
                let current = window.current;
                window.slots[current] = 0;
            }
            window.current_start += elapsed * self.slot_nanos;
        }
        f(&mut window)
    }

    /// Records one request (not a retry).
    pub fn deposit(&self) {
        self.with_window(|window| window.slots[window.current] += self.deposit);
    }

    /// Takes one retry from the budget; false when it is spent.
    pub fn withdraw(&self) -> bool {
        self.with_window(|window| {
            let balance: i64 = self.reserve + window.slots.iter().sum::<i64>();
            if balance >= UNIT {
                window.slots[window.current] -= UNIT;
                true
            } else {
                false
            }
        })
    }

    /// Retries available now.
    pub fn available(&self) -> f64 {
        self.with_window(|window| {
            (self.reserve + window.slots.iter().sum::<i64>()).max(0) as f64 / UNIT as f64
        })
    }
}

/// How `call_with_failover` (with the `tokio` feature) retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry). Default 3.
    pub max_attempts: u32,
    /// Wait between attempts.
    pub backoff: Backoff,
    /// Caps retries at a share of requests, if set (shared by every caller that should
    /// count against one budget).
    pub budget: Option<Arc<RetryBudget>>,
    rng: Arc<Rng>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Backoff::default(),
            budget: None,
            rng: Arc::new(Rng::seeded(Rng::entropy_seed())),
        }
    }
}

impl RetryPolicy {
    /// `max_attempts` attempts (at least 1) with default backoff and no budget.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            ..Self::default()
        }
    }

    /// No retries: one attempt.
    pub fn none() -> Self {
        Self::new(1)
    }

    /// The same policy with `backoff`.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The same policy drawing retries from `budget`.
    #[must_use]
    pub fn with_budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The same policy with a seeded jitter source, for reproducible waits.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = Arc::new(Rng::seeded(seed));
        self
    }

    /// The wait before retry `retry` (from 0), jittered.
    pub fn delay(&self, retry: u32) -> Duration {
        self.backoff.delay(retry, self.rng.next_u64())
    }
}

#[cfg(feature = "tokio")]
mod failover;
#[cfg(feature = "tokio")]
pub use failover::{FailoverError, call_with_failover};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[test]
    fn backoff_ceiling_grows_then_caps_and_jitter_stays_below() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            multiplier: 2.0,
        };
        assert_eq!(backoff.ceiling(0), Duration::from_millis(100));
        assert_eq!(backoff.ceiling(3), Duration::from_millis(800));
        assert_eq!(backoff.ceiling(4), Duration::from_secs(1));
        assert_eq!(backoff.ceiling(1000), Duration::from_secs(1));
        let mut state = 3_u64;
        let mut longest = Duration::ZERO;
        for _ in 0..1000 {
            state = crate::key::mix64(state);
            let delay = backoff.delay(2, state);
            assert!(delay <= Duration::from_millis(400));
            longest = longest.max(delay);
        }
        // Full jitter spreads over the whole range, not just near the ceiling.
        assert!(longest > Duration::from_millis(390));
        assert_eq!(backoff.delay(2, 0), Duration::ZERO);
    }

    #[test]
    fn budget_deposits_expire_after_ttl() {
        let clock = Arc::new(ManualClock::new());
        let budget =
            RetryBudget::with_clock(Duration::from_secs(10), 0, 0.5, clock.clone()).unwrap();
        for _ in 0..4 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 2.0);
        clock.advance(Duration::from_secs(5));
        assert!(budget.withdraw());
        clock.advance(Duration::from_secs(6));
        // The deposits (slot 0) expired; the withdrawal (slot 5) has not.
        assert_eq!(budget.available(), 0.0);
        assert!(!budget.withdraw());
    }

    #[test]
    fn budget_reserve_allows_retries_without_traffic() {
        let budget = RetryBudget::new(Duration::from_secs(2), 1, 0.0).unwrap();
        assert!(budget.withdraw());
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        assert!(RetryBudget::new(Duration::ZERO, 1, 0.1).is_err());
    }
}
