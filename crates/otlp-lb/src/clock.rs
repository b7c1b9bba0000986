//! Time as the balancer sees it: nanoseconds on a monotonic clock that tests can drive.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock in nanoseconds since an arbitrary epoch. Ejection times, EWMA decay and
/// retry budgets read it; a [`ManualClock`] makes them deterministic in tests and simulations.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Nanoseconds since the clock's epoch; never decreases.
    fn now_nanos(&self) -> u64;
}

/// The system's monotonic clock ([`Instant`]), counted from when it was created.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    epoch: Instant,
}

impl SystemClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told to: for tests and discrete-event simulations.
///
/// ```
/// use std::time::Duration;
/// use otlp_lb::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_millis(5));
/// assert_eq!(clock.now_nanos(), 5_000_000);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the clock to `nanos`, if that is not in its past (it never goes back).
    pub fn set_nanos(&self, nanos: u64) {
        self.nanos.fetch_max(nanos, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

/// Reads the clock at most once per pick: the healthy path never reads it at all.
pub(crate) struct LazyNow<'a> {
    clock: &'a dyn Clock,
    now: std::cell::Cell<Option<u64>>,
}

impl<'a> LazyNow<'a> {
    pub(crate) fn new(clock: &'a dyn Clock) -> Self {
        Self {
            clock,
            now: std::cell::Cell::new(None),
        }
    }

    pub(crate) fn get(&self) -> u64 {
        if let Some(now) = self.now.get() {
            return now;
        }
        let now = self.clock.now_nanos();
        self.now.set(Some(now));
        now
    }
}

/// A duration in whole nanoseconds, saturating.
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
