//! Event-driven waiting: a count that can be awaited down to zero, a condition that can be awaited, a deadline that
//! can be set later, and a stage's background task stopped by its deadline.
//!
//! Flushes and shutdowns wait for "everything held has moved on" and for "the deadline has come"; both are
//! signalled by whoever changes the state, so nobody polls.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Items held by a stage (queued, buffered or being sent), with a wait for the moment none are left.
#[derive(Debug, Default)]
pub struct Outstanding {
    count: AtomicUsize,
    emptied: Changed,
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
            self.emptied.notify();
        }
    }

    /// Forgets every item (they were counted elsewhere, e.g. as dropped) and wakes the waiters.
    pub fn clear(&self) -> usize {
        let before = self.count.swap(0, Ordering::SeqCst);
        self.emptied.notify();
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
        self.emptied.wait_until(|| self.get() == 0).await;
    }
}

/// A signal that something changed (room was freed, state moved), and a wait for a condition on it that cannot
/// miss a change between checking and sleeping.
#[derive(Debug, Default)]
pub struct Changed {
    notify: Notify,
}

impl Changed {
    /// Nothing has changed yet.
    pub fn new() -> Self {
        Changed::default()
    }

    /// Wakes every waiter, who checks its condition again.
    pub fn notify(&self) {
        self.notify.notify_waiters();
    }

    /// Resolves once `condition` holds, checking it again after every [`notify`](Self::notify).
    pub async fn wait_until(&self, condition: impl Fn() -> bool) {
        loop {
            let changed = self.notify.notified();
            tokio::pin!(changed);
            // Registered before the check: a change between the check and the await still wakes us.
            changed.as_mut().enable();
            if condition() {
                return;
            }
            changed.await;
        }
    }
}

/// A background task of a stage (a batch flusher, a sampler's driver) that stops by itself once told to.
#[derive(Debug, Default)]
pub struct Driver {
    task: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl Driver {
    /// Runs `task`.
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Self {
        Driver {
            task: parking_lot::Mutex::new(Some(tokio::spawn(task))),
        }
    }

    /// Waits for the task to finish: it honours `deadline` itself, and is aborted if it is still running a
    /// margin later (a next stage stuck beyond its own deadline).
    pub async fn stop(&self, deadline: Instant) {
        let Some(task) = self.task.lock().take() else {
            return;
        };
        let abort = task.abort_handle();
        if tokio::time::timeout_at(deadline + STOP_MARGIN, task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// How long past its deadline a stopping task may run before it is aborted.
const STOP_MARGIN: Duration = Duration::from_millis(500);

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
