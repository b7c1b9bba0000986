//! Which priority level of a `failover` connector takes the next batch, and when a level that failed is tried
//! again (a probe).
//!
//! Batches go to the current level, the first in priority order that has not failed since it was last tried. A
//! level that fails a batch hands the current level to the one after it. Levels above the current one are probed
//! with real batches, one level at a time: a cycle starts `retry_interval` after the level was left (or after the
//! cycle before it started) and probes each level above the current one from the top, `retry_gap` apart. A probe
//! that takes its batch makes its level current again; one that fails sends the batch on to the current level
//! and counts against its level's `max_retries`, after which that level is not probed again.
//!
//! Time is passed in, so that the decisions can be tested without a clock.

use std::time::Duration;
use tokio::time::Instant;

/// How often levels above the current one are probed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// From the start of one cycle of probes to the start of the next.
    pub(super) retry_interval: Duration,
    /// Between two probes of one cycle.
    pub(super) retry_gap: Duration,
    /// Failed probes after which a level is no longer probed; `None`: no limit.
    pub(super) max_retries: Option<u32>,
}

/// The next probe: when it is due, and of which level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    due: Instant,
    level: usize,
    cycle_started: Instant,
}

/// Where the batch about to be offered goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Route {
    /// A level above the current one to probe with this batch; the batch goes on to `current` if it fails.
    pub(super) probe: Option<usize>,
    /// The current level.
    pub(super) current: usize,
}

/// The state of one connector's levels.
#[derive(Debug)]
pub(super) struct Levels {
    timing: Timing,
    count: usize,
    current: usize,
    failed_probes: Vec<u32>,
    next_probe: Option<Probe>,
    /// A probe is under way: the batches offered meanwhile go to the current level.
    probing: bool,
}

impl Levels {
    /// `count` levels (at least one), the first current.
    pub(super) fn new(count: usize, timing: Timing) -> Self {
        Levels {
            timing,
            count: count.max(1),
            current: 0,
            failed_probes: vec![0; count.max(1)],
            next_probe: None,
            probing: false,
        }
    }

    /// The current level.
    pub(super) fn current(&self) -> usize {
        self.current
    }

    /// Where a batch offered at `now` goes: to the current level, after a probe if one is due (and none is under
    /// way). A probe handed out here must be answered with [`probed`](Self::probed).
    pub(super) fn route(&mut self, now: Instant) -> Route {
        let probe = match self.next_probe {
            Some(probe) if !self.probing && now >= probe.due => {
                self.probing = true;
                Some(probe.level)
            }
            _ => None,
        };
        Route {
            probe,
            current: self.current,
        }
    }

    /// Level `level` refused a batch at `now`; the level to offer it to next, `None` when `level` is the last.
    /// Only a refusal by the current level moves the current level down: a batch another task offered to a level
    /// that has been left since says nothing new. The last level stays current when it fails: there is nothing to
    /// fall back to, and it is where the refused batches are offered again.
    pub(super) fn failed(&mut self, level: usize, now: Instant) -> Option<usize> {
        if level == self.current && level + 1 < self.count {
            self.current += 1;
            if self.next_probe.is_none() {
                self.start_cycle(now);
            }
        }
        (level + 1 < self.count).then(|| self.current.max(level + 1))
    }

    /// The probe of `level` at `now` took its batch (`took`) or refused it.
    pub(super) fn probed(&mut self, level: usize, took: bool, now: Instant) {
        self.probing = false;
        let Some(probe) = self.next_probe.filter(|probe| probe.level == level) else {
            return;
        };
        if took {
            self.failed_probes[level] = 0;
            self.current = self.current.min(level);
            self.next_probe = None;
            self.start_cycle(now);
            return;
        }
        self.failed_probes[level] = self.failed_probes[level].saturating_add(1);
        self.next_probe = match self.probeable(level + 1) {
            Some(next) => Some(Probe {
                due: now + self.timing.retry_gap,
                level: next,
                cycle_started: probe.cycle_started,
            }),
            None => self.probeable(0).map(|first| {
                let due = (probe.cycle_started + self.timing.retry_interval)
                    .max(now + self.timing.retry_gap);
                Probe {
                    due,
                    level: first,
                    cycle_started: due,
                }
            }),
        };
    }

    /// Plans a cycle of probes starting `retry_interval` after `now`, if a level above the current one may still
    /// be probed.
    fn start_cycle(&mut self, now: Instant) {
        let due = now + self.timing.retry_interval;
        self.next_probe = self.probeable(0).map(|level| Probe {
            due,
            level,
            cycle_started: due,
        });
    }

    /// The first level from `from` on, above the current one, that has probes left.
    fn probeable(&self, from: usize) -> Option<usize> {
        (from..self.current).find(|&level| {
            self.timing
                .max_retries
                .is_none_or(|max| self.failed_probes[level] < max)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(60);
    const GAP: Duration = Duration::from_secs(10);

    fn levels(count: usize, max_retries: Option<u32>) -> Levels {
        Levels::new(
            count,
            Timing {
                retry_interval: INTERVAL,
                retry_gap: GAP,
                max_retries,
            },
        )
    }

    fn no_probe(current: usize) -> Route {
        Route {
            probe: None,
            current,
        }
    }

    fn probe(level: usize, current: usize) -> Route {
        Route {
            probe: Some(level),
            current,
        }
    }

    #[test]
    fn a_failed_level_hands_over_to_the_next_and_a_late_report_of_it_changes_nothing() {
        let t0 = Instant::now();
        let mut levels = levels(3, Some(10));
        assert_eq!(levels.route(t0), no_probe(0));
        assert_eq!(levels.failed(0, t0), Some(1));
        assert_eq!(levels.route(t0), no_probe(1));
        // Another task's batch, offered to level 0 before it was left, fails there too: it goes to level 1,
        // which has not failed.
        assert_eq!(levels.failed(0, t0), Some(1));
        assert_eq!(levels.current(), 1);
        // The last level stays current when it fails; nothing comes after it.
        assert_eq!(levels.failed(1, t0), Some(2));
        assert_eq!(levels.failed(2, t0), None);
        assert_eq!(levels.current(), 2);
    }

    #[test]
    fn a_probe_after_retry_interval_that_takes_its_batch_makes_its_level_current_again() {
        let t0 = Instant::now();
        let mut levels = levels(2, Some(10));
        levels.failed(0, t0);
        assert_eq!(
            levels.route(t0 + INTERVAL - Duration::from_millis(1)),
            no_probe(1)
        );
        assert_eq!(levels.route(t0 + INTERVAL), probe(0, 1));
        // One probe at a time: batches offered while it is under way go to the current level.
        assert_eq!(levels.route(t0 + INTERVAL), no_probe(1));
        levels.probed(0, true, t0 + INTERVAL);
        assert_eq!(levels.current(), 0);
        // Nothing above level 0 is left to probe.
        assert_eq!(levels.route(t0 + 10 * INTERVAL), no_probe(0));
    }

    #[test]
    fn a_cycle_probes_each_level_above_the_current_one_retry_gap_apart_then_waits_for_the_next_cycle()
     {
        let t0 = Instant::now();
        let mut levels = levels(3, Some(10));
        levels.failed(0, t0);
        levels.failed(1, t0);
        let cycle = t0 + INTERVAL;
        assert_eq!(levels.route(cycle), probe(0, 2));
        levels.probed(0, false, cycle);
        assert_eq!(
            levels.route(cycle + GAP - Duration::from_millis(1)),
            no_probe(2)
        );
        assert_eq!(levels.route(cycle + GAP), probe(1, 2));
        levels.probed(1, false, cycle + GAP);
        // The next cycle starts `retry_interval` after this one did, from the top.
        assert_eq!(
            levels.route(cycle + INTERVAL - Duration::from_millis(1)),
            no_probe(2)
        );
        assert_eq!(levels.route(cycle + INTERVAL), probe(0, 2));
        levels.probed(0, false, cycle + INTERVAL);
        assert_eq!(levels.route(cycle + INTERVAL + GAP), probe(1, 2));
        // Level 1 is back; level 0 is probed again a cycle later.
        levels.probed(1, true, cycle + INTERVAL + GAP);
        assert_eq!(levels.current(), 1);
        assert_eq!(levels.route(cycle + INTERVAL + GAP + INTERVAL), probe(0, 1));
    }

    #[test]
    fn a_level_is_not_probed_again_after_max_retries_failed_probes_unless_there_is_no_limit() {
        for (max_retries, probes) in [(Some(2), 2), (None, 5)] {
            let t0 = Instant::now();
            let mut levels = levels(2, max_retries);
            levels.failed(0, t0);
            let mut now = t0;
            let mut probed = 0;
            for _ in 0..5 {
                now += INTERVAL;
                if levels.route(now).probe == Some(0) {
                    probed += 1;
                    levels.probed(0, false, now);
                }
            }
            assert_eq!(probed, probes, "{max_retries:?}");
            assert_eq!(levels.current(), 1);
        }
    }

    #[test]
    fn a_probe_that_took_its_batch_resets_its_count_of_failed_probes() {
        let t0 = Instant::now();
        let mut levels = levels(2, Some(2));
        levels.failed(0, t0);
        let mut now = t0 + INTERVAL;
        assert_eq!(levels.route(now).probe, Some(0));
        levels.probed(0, false, now);
        now += INTERVAL;
        assert_eq!(levels.route(now).probe, Some(0));
        levels.probed(0, true, now);
        // Left again, level 0 has its two probes again.
        levels.failed(0, now);
        for _ in 0..2 {
            now += INTERVAL;
            assert_eq!(levels.route(now).probe, Some(0));
            levels.probed(0, false, now);
        }
        now += INTERVAL;
        assert_eq!(levels.route(now).probe, None);
    }
}
