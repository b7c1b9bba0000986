//! Event-driven waiting: a count that can be awaited down to zero, and a deadline that can be set later.
//!
//! Flushes and shutdowns wait for "everything held has moved on" and for "the deadline has come"; both are
//! signalled by whoever changes the state, so nobody polls.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Items held by a stage (queued, buffered or being sent), with a wait for the moment none are left.
#[derive(Debug, Default)]
pub struct Outstanding {
    count: AtomicUsize,
    emptied: Notify,
}

impl Outstanding {
    /// A count of zero.
    pub fn new() -> Self {
        Outstanding::default()
    }

    /// Items now held.
    pub fn get(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// `n` more items are held.
    pub fn add(&self, n: usize) {
        self.count.fetch_add(n, Ordering::SeqCst);
    }

    /// `n` items moved on; wakes the waiters when none are left.
    pub fn sub(&self, n: usize) {
        let before = self.count.fetch_sub(n, Ordering::SeqCst);
        if before == n {
            self.emptied.notify_waiters();
        }
    }

    /// Forgets every item (they were counted elsewhere, e.g. as dropped) and wakes the waiters.
    pub fn clear(&self) -> usize {
        let before = self.count.swap(0, Ordering::SeqCst);
        self.emptied.notify_waiters();
        before
    }

    /// Waits until no item is held or `deadline` passes; true when none is held.
    pub async fn wait_empty(&self, deadline: Instant) -> bool {
        tokio::time::timeout_at(deadline, self.empty())
            .await
            .is_ok()
    }

    /// Resolves once no item is held.
    pub async fn empty(&self) {
        loop {
            let emptied = self.emptied.notified();
            tokio::pin!(emptied);
            // Registered before the check: a `sub` to zero between the check and the await still wakes us.
            emptied.as_mut().enable();
            if self.get() == 0 {
                return;
            }
            emptied.await;
        }
    }
}

/// A shutdown deadline that is unknown until shutdown begins, and can be awaited before then.
#[derive(Debug)]
pub struct Deadline {
    sender: watch::Sender<Option<Instant>>,
}

impl Default for Deadline {
    fn default() -> Self {
        Deadline {
            sender: watch::Sender::new(None),
        }
    }
}

impl Deadline {
    /// No deadline yet.
    pub fn new() -> Self {
        Deadline::default()
    }

    /// Sets the deadline (shutdown has begun).
    pub fn set(&self, deadline: Instant) {
        self.sender.send_replace(Some(deadline));
    }

    /// The deadline, once set.
    pub fn get(&self) -> Option<Instant> {
        *self.sender.borrow()
    }

    /// True once the deadline is set and has passed.
    pub fn has_passed(&self) -> bool {
        self.get()
            .is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// Resolves when the deadline is set and has passed.
    pub async fn reached(&self) {
        let mut receiver = self.sender.subscribe();
        let deadline = match receiver.wait_for(Option::is_some).await {
            Ok(deadline) => *deadline,
            // The sender lives as long as `self`, so this cannot happen while we borrow it.
            Err(_) => return,
        };
        if let Some(deadline) = deadline {
            tokio::time::sleep_until(deadline).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn outstanding_wakes_the_waiter_when_the_last_item_leaves() {
        let held = Arc::new(Outstanding::new());
        held.add(3);
        let waiter = tokio::spawn({
            let held = held.clone();
            async move {
                held.wait_empty(Instant::now() + Duration::from_secs(60))
                    .await
            }
        });
        tokio::task::yield_now().await;
        held.sub(1);
        held.sub(2);
        assert!(waiter.await.unwrap());
        held.add(1);
        assert!(
            !held
                .wait_empty(Instant::now() + Duration::from_millis(10))
                .await,
            "the deadline ends the wait"
        );
        assert_eq!(held.clear(), 1);
        assert!(held.wait_empty(Instant::now()).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_set_later_is_reached() {
        let deadline = Arc::new(Deadline::new());
        assert!(!deadline.has_passed());
        let reached = tokio::spawn({
            let deadline = deadline.clone();
            async move { deadline.reached().await }
        });
        tokio::task::yield_now().await;
        assert!(!reached.is_finished());
        deadline.set(Instant::now() + Duration::from_secs(5));
        reached.await.unwrap();
        assert!(deadline.has_passed());
    }
}
