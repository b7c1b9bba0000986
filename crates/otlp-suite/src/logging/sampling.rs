//! zap's sampler as a per-layer filter: per call site and per tick, the first `initial` events pass, then every
//! `thereafter`-th. zap counts by level and message text; a tracing call site has one level and one message
//! template, so counting by call site is the same for constant messages, and does not let a message that embeds
//! a value (`"{} spans"`) escape sampling by being new text every time.

use otlp_collector::telemetry::logs::LogSampling;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::callsite::Identifier;
use tracing::{Event, Metadata};
use tracing_subscriber::layer::{Context, Filter};

/// The count of one call site in its current tick.
struct Count {
    /// When the tick ends, from the sampler's epoch.
    resets_at: Duration,
    events: u64,
}

/// Keeps or drops each event as zap's sampler does.
pub(crate) struct Sampler {
    settings: LogSampling,
    epoch: Instant,
    counts: Mutex<HashMap<Identifier, Count>>,
}

impl Sampler {
    pub(crate) fn new(settings: LogSampling) -> Self {
        Sampler {
            settings,
            epoch: Instant::now(),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the event of `callsite` at `now` (since the epoch) is written.
    fn keep(&self, callsite: Identifier, now: Duration) -> bool {
        // A panic while the lock was held left the counts as they were: they are still counts.
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(callsite).or_insert(Count {
            resets_at: Duration::ZERO,
            events: 0,
        });
        if now >= count.resets_at {
            count.resets_at = now + self.settings.tick;
            count.events = 0;
        }
        count.events += 1;
        let LogSampling {
            initial,
            thereafter,
            ..
        } = self.settings;
        count.events <= initial
            || (thereafter > 0 && (count.events - initial).is_multiple_of(thereafter))
    }
}

impl<S> Filter<S> for Sampler {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        self.keep(event.metadata().callsite(), self.epoch.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::callsite::Callsite;
    use tracing::subscriber::Interest;

    /// Not zero-sized: two statics of a zero-sized type may share an address, and a call site is its address.
    struct Site(#[expect(dead_code, reason = "only gives the static a size")] u8);

    impl Callsite for Site {
        fn set_interest(&self, _: Interest) {}

        fn metadata(&self) -> &Metadata<'_> {
            unimplemented!("only its identity is used")
        }
    }

    static A: Site = Site(0);
    static B: Site = Site(1);

    fn kept(sampler: &Sampler, site: &'static Site, events: u64, at: Duration) -> Vec<u64> {
        (1..=events)
            .filter(|_| sampler.keep(Identifier(site), at))
            .collect()
    }

    #[test]
    fn the_first_initial_then_every_thereafter_th_per_call_site_and_tick() {
        let tick = Duration::from_secs(10);
        let sampler = Sampler::new(LogSampling {
            tick,
            initial: 3,
            thereafter: 10,
        });
        let mut kept_a = Vec::new();
        for n in 1..=25 {
            if sampler.keep(Identifier(&A), Duration::from_secs(1)) {
                kept_a.push(n);
            }
        }
        assert_eq!(kept_a, [1, 2, 3, 13, 23]);
        assert_eq!(
            kept(&sampler, &B, 4, Duration::from_secs(2)).len(),
            3,
            "another call site has its own count"
        );
        // The tick that began at 1 s ends at 11 s: the count starts again.
        assert_eq!(kept(&sampler, &A, 5, Duration::from_secs(11)).len(), 3);
    }

    #[test]
    fn thereafter_zero_drops_everything_after_initial() {
        let sampler = Sampler::new(LogSampling {
            tick: Duration::from_secs(10),
            initial: 2,
            thereafter: 0,
        });
        assert_eq!(kept(&sampler, &A, 50, Duration::ZERO).len(), 2);
    }
}
