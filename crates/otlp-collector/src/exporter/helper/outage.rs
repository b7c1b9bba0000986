//! Whether an exporter's destination is failing, so that an outage is logged once as it starts and once as it
//! ends. Logged per attempt, a dead backend would either fill the log (every batch's every retry) or, at debug
//! level, say nothing until the first batch runs out of retries, five minutes later by default.

use std::sync::atomic::{AtomicU64, Ordering};

/// Failed attempts since the last one that reached the destination; shared by an exporter's consumers.
#[derive(Debug, Default)]
pub(super) struct Outage {
    failed_attempts: AtomicU64,
}

impl Outage {
    /// Counts a failed attempt; true when it is the first since the last success (an outage starts).
    pub(super) fn failed(&self) -> bool {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Counts a successful attempt; the attempts that failed before it, if it ends an outage.
    pub(super) fn succeeded(&self) -> Option<u64> {
        // A load first: the common case (no outage) then writes nothing to the shared line.
        if self.failed_attempts.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let failed = self.failed_attempts.swap(0, Ordering::Relaxed);
        (failed > 0).then_some(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_starts_at_the_first_failure_and_ends_at_the_next_success() {
        let outage = Outage::default();
        assert_eq!(outage.succeeded(), None);
        assert!(outage.failed());
        assert!(!outage.failed());
        assert!(!outage.failed());
        assert_eq!(outage.succeeded(), Some(3));
        assert_eq!(outage.succeeded(), None);
        assert!(outage.failed());
    }
}
