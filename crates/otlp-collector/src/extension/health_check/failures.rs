//! `check_collector_pipeline`: how many exporter failures fell within the last `interval`.
//!
//! otelcol kept one entry per exporter-failure report and dropped those older than `interval` every second; its
//! README warns the feature does not work as expected (the reports were OpenCensus view exports, not failures).
//! The documented meaning is kept here over our own counts: a running total of failures is sampled every second,
//! and the failures within the window are the rise of that total since the window's start.

use crate::Signal;
use crate::telemetry::Telemetry;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A running count of exporter failures: it never decreases while the collector runs.
pub(crate) trait FailureCount: Send + Sync + 'static {
    /// The failures so far.
    fn failures(&self) -> u64;
}

impl<F: Fn() -> u64 + Send + Sync + 'static> FailureCount for F {
    fn failures(&self) -> u64 {
        self()
    }
}

/// The items every exporter gave up on, whatever the reason (`otelcol_exporter_send_failed_<items>`, all signals).
pub(crate) fn exporter_send_failures(telemetry: Telemetry) -> impl FailureCount {
    let names =
        Signal::ALL.map(|signal| format!("otelcol_exporter_send_failed_{}", signal.item_unit()));
    move || names.iter().map(|name| telemetry.total(name)).sum()
}

/// How often the count is sampled, at most: a failure is dated to within this of when it happened.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The rises of a failure count over the last `interval`.
#[derive(Debug)]
pub(crate) struct FailureWindow {
    interval: Duration,
    /// The count as the window starts.
    before: u64,
    /// The count as it rose, each with when the rise was seen; oldest first, at least [`SAMPLE_EVERY`] apart, so
    /// there are at most `interval / SAMPLE_EVERY` of them, however often the count is read.
    rises: VecDeque<(Instant, u64)>,
    latest: u64,
}

impl FailureWindow {
    /// A window over `interval` that counts from `total`, the count now.
    pub(crate) fn new(interval: Duration, total: u64) -> Self {
        FailureWindow {
            interval,
            before: total,
            rises: VecDeque::new(),
            latest: total,
        }
    }

    /// Takes the count `total` as seen at `now`.
    pub(crate) fn observe(&mut self, now: Instant, total: u64) {
        if total < self.latest {
            // Counts never decrease; one that did was replaced (a registry built anew), and nothing before it can
            // be compared with it.
            *self = FailureWindow::new(self.interval, total);
            return;
        }
        if total > self.latest {
            match self.rises.back_mut() {
                // Merged into the previous rise, so it leaves the window up to one sample period early: the bound
                // on entries is worth more than that second.
                Some((at, count)) if now.saturating_duration_since(*at) < SAMPLE_EVERY => {
                    *count = total
                }
                _ => self.rises.push_back((now, total)),
            }
            self.latest = total;
        }
        while let Some(&(at, count)) = self.rises.front() {
            if now.saturating_duration_since(at) < self.interval {
                break;
            }
            self.before = count;
            self.rises.pop_front();
        }
    }

    /// The failures seen within the window.
    pub(crate) fn failures(&self) -> u64 {
        self.latest - self.before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_rises_within_the_interval() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        // Failures before the extension started are not its business.
        let mut window = FailureWindow::new(Duration::from_secs(60), 100);
        assert_eq!(window.failures(), 0);
        window.observe(at(10), 103);
        window.observe(at(30), 110);
        assert_eq!(window.failures(), 10);
        window.observe(at(69), 110);
        assert_eq!(window.failures(), 10);
        // The 3 seen at 10 s leave the window at 70 s, the 7 seen at 30 s at 90 s.
        window.observe(at(70), 110);
        assert_eq!(window.failures(), 7);
        window.observe(at(90), 111);
        assert_eq!(window.failures(), 1);
        window.observe(at(200), 111);
        assert_eq!(window.failures(), 0);
    }

    #[test]
    fn frequent_reads_keep_one_entry_per_sample_period() {
        let start = Instant::now();
        let mut window = FailureWindow::new(Duration::from_secs(10), 0);
        for step in 0..1000_u64 {
            window.observe(start + Duration::from_millis(step * 10), step);
        }
        assert!(window.rises.len() <= 11, "{}", window.rises.len());
        assert_eq!(window.failures(), 999);
    }

    #[test]
    fn a_count_that_goes_back_starts_over() {
        let start = Instant::now();
        let mut window = FailureWindow::new(Duration::from_secs(60), 50);
        window.observe(start, 60);
        window.observe(start + Duration::from_secs(1), 5);
        assert_eq!(window.failures(), 0);
        window.observe(start + Duration::from_secs(2), 8);
        assert_eq!(window.failures(), 3);
    }

    #[test]
    fn the_registry_count_sums_every_signal_and_reason() {
        let telemetry = Telemetry::new();
        let count = exporter_send_failures(telemetry.clone());
        assert_eq!(count.failures(), 0);
        telemetry
            .counter(
                "otelcol_exporter_send_failed_spans",
                "",
                &[("exporter", "a"), ("reason", "retries_exhausted")],
            )
            .add(4);
        telemetry
            .counter(
                "otelcol_exporter_send_failed_log_records",
                "",
                &[("exporter", "b"), ("reason", "permanent_error")],
            )
            .add(2);
        telemetry
            .counter("otelcol_exporter_sent_spans", "", &[("exporter", "a")])
            .add(100);
        assert_eq!(count.failures(), 6);
    }
}
