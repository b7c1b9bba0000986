//! The sending queue: batches wait here for the exporter's consumers, bounded in batches.
//!
//! Capacity is a semaphore rather than the channel's own bound so that a pipeline can reserve a slot in every
//! exporter's queue before it commits a batch to any of them.

use crate::Batch;
use crate::wait::Outstanding;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// otelcol's `sending_queue` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Queue batches and send them from background consumers (`true`), or send while the client waits.
    pub enabled: bool,
    /// How many batches are sent at once.
    pub num_consumers: usize,
    /// How many batches the queue holds; when it is full, receivers refuse with a retryable error.
    pub queue_size: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
        }
    }
}

impl QueueConfig {
    /// Checks that an enabled queue can hold and send something.
    pub fn validate(&self) -> Result<(), String> {
        if self.enabled && (self.queue_size == 0 || self.num_consumers == 0) {
            return Err(
                "sending_queue.queue_size and sending_queue.num_consumers must be positive".into(),
            );
        }
        Ok(())
    }
}

/// A reserved place in the queue, held until the batch is taken off it.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
}

struct Queued {
    batch: Arc<Batch>,
    _slot: Slot,
}

/// A bounded queue of batches, with the items it holds counted until they are sent.
pub(crate) struct Queue {
    tx: async_channel::Sender<Queued>,
    rx: async_channel::Receiver<Queued>,
    slots: Arc<Semaphore>,
    /// Items queued or being sent: what a flush waits for.
    held: Outstanding,
    /// Items waiting in the queue (not yet taken by a consumer), for the self-metric.
    queued_items: Arc<AtomicUsize>,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, rx) = async_channel::unbounded();
        Queue {
            tx,
            rx,
            slots: Arc::new(Semaphore::new(capacity)),
            held: Outstanding::new(),
            queued_items: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Reserves a place, or `None` when the queue is full.
    pub(crate) fn try_reserve(&self) -> Option<Slot> {
        self.slots
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| Slot { _permit: permit })
    }

    /// Resolves when a place is free (it is not kept: the caller reserves it when it offers its batch again).
    pub(crate) async fn room(&self) {
        if let Ok(permit) = self.slots.acquire().await {
            drop(permit);
        }
    }

    /// Queues a batch in its reserved place; hands it back when the queue is closed (shutting down).
    pub(crate) fn push(&self, slot: Slot, batch: Arc<Batch>) -> Result<(), Arc<Batch>> {
        let n = batch.item_count();
        self.held.add(n);
        self.queued_items.fetch_add(n, Ordering::SeqCst);
        self.tx
            .try_send(Queued { batch, _slot: slot })
            .map_err(|closed| {
                let Queued { batch, .. } = closed.into_inner();
                self.queued_items.fetch_sub(n, Ordering::SeqCst);
                self.held.sub(n);
                batch
            })
    }

    /// Takes the next batch, freeing its place; `None` once the queue is closed and empty. Its items stay
    /// counted as held until [`sent`](Self::sent).
    pub(crate) async fn pop(&self) -> Option<Arc<Batch>> {
        let Queued { batch, _slot } = self.rx.recv().await.ok()?;
        self.queued_items
            .fetch_sub(batch.item_count(), Ordering::SeqCst);
        Some(batch)
    }

    /// `items` taken by [`pop`](Self::pop) are done with (sent or counted as failed).
    pub(crate) fn sent(&self, items: usize) {
        self.held.sub(items);
    }

    /// Stops taking batches; consumers drain what is queued, then `pop` returns `None`.
    pub(crate) fn close(&self) {
        self.tx.close();
    }

    /// Empties the queue without sending (a shutdown cut short) and forgets in-flight items; returns every item
    /// that was queued or in flight, for the caller to count as lost.
    pub(crate) fn abandon(&self) -> usize {
        while let Ok(queued) = self.rx.try_recv() {
            self.queued_items
                .fetch_sub(queued.batch.item_count(), Ordering::SeqCst);
        }
        self.held.clear()
    }

    /// Items queued or being sent.
    pub(crate) fn held(&self) -> &Outstanding {
        &self.held
    }

    /// Reads the number of batches waiting, for the self-metric (which outlives no queue: it holds a receiver).
    pub(crate) fn len_reader(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let rx = self.rx.clone();
        move || rx.len()
    }

    /// Items waiting (not yet taken by a consumer), for the self-metric.
    pub(crate) fn queued_items(&self) -> Arc<AtomicUsize> {
        self.queued_items.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlp_model::Signal;
    use std::time::Duration;
    use tokio::time::Instant;

    fn batch(items: usize) -> Arc<Batch> {
        let mut batch = Batch::empty(Signal::Logs);
        for _ in 0..items {
            let one = opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest {
                resource_logs: vec![opentelemetry_proto::tonic::logs::v1::ResourceLogs {
                    scope_logs: vec![opentelemetry_proto::tonic::logs::v1::ScopeLogs {
                        log_records: vec![Default::default()],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            batch.append(Batch::new(one)).unwrap();
        }
        Arc::new(batch)
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_is_in_batches_and_held_items_are_counted_until_sent() {
        let queue = Queue::new(2);
        let first = queue.try_reserve().unwrap();
        let second = queue.try_reserve().unwrap();
        assert!(queue.try_reserve().is_none(), "full after two reservations");
        queue.push(first, batch(3)).unwrap();
        queue.push(second, batch(4)).unwrap();
        assert_eq!((queue.len_reader()(), queue.held().get()), (2, 7));

        let taken = queue.pop().await.unwrap();
        assert_eq!(taken.item_count(), 3);
        assert!(queue.try_reserve().is_some(), "popping frees a place");
        assert_eq!(queue.held().get(), 7, "in flight until sent");
        queue.sent(3);
        assert!(
            !queue
                .held()
                .wait_empty(Instant::now() + Duration::from_millis(5))
                .await
        );
        let _ = queue.pop().await.unwrap();
        queue.sent(4);
        assert!(queue.held().wait_empty(Instant::now()).await);
    }

    #[tokio::test(start_paused = true)]
    async fn room_waits_for_a_free_place() {
        let queue = Arc::new(Queue::new(1));
        let slot = queue.try_reserve().unwrap();
        queue.push(slot, batch(1)).unwrap();
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let _ = queue.pop().await;
        waiter.await.unwrap();
    }

    #[tokio::test]
    async fn a_closed_queue_hands_batches_back_and_drains() {
        let queue = Queue::new(4);
        let slot = queue.try_reserve().unwrap();
        queue.push(slot, batch(2)).unwrap();
        queue.close();
        let refused = queue
            .push(queue.try_reserve().unwrap(), batch(5))
            .unwrap_err();
        assert_eq!(refused.item_count(), 5);
        assert_eq!(queue.held().get(), 2, "the refused batch is not held");
        assert!(queue.pop().await.is_some());
        assert!(queue.pop().await.is_none(), "closed and empty");
        assert_eq!(queue.abandon(), 2, "the popped batch was never marked sent");
    }
}
