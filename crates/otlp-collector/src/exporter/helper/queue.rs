//! The sending queue: batches wait here for the exporter's consumers, bounded in batches, items or encoded bytes
//! (otelcol's `sizer`) and, when it is persistent (`storage`), in bytes on disk.
//!
//! Capacity is a semaphore rather than the channel's own bound so that a pipeline can reserve a slot in every
//! exporter's queue before it commits a batch to any of them. A persistent queue reserves its room on disk at the
//! same time, and writes the batch there before the batch is queued in memory: what the client was told is
//! accepted survives a crash, and is acknowledged on disk only once the exporter delivered it or gave up on it
//! for good ([`persistent`](super::persistent)).

use super::batcher::QueueBatchConfig;
use super::persistent::{Reservation, Store};
use crate::Batch;
use crate::exporter::ExportError;
use crate::wait::Outstanding;
use bytes::Bytes;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// otelcol's `sending_queue` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Queue batches and send them from background consumers (`true`), or send while the client waits.
    pub enabled: bool,
    /// How many batches are sent at once.
    pub num_consumers: usize,
    /// How much the queue holds, counted by `sizer`; when it is full, receivers refuse with a retryable error.
    pub queue_size: usize,
    /// What `queue_size` counts: batches (`requests`, the default), spans, data points or log records
    /// (`items`), or the batches' size encoded as OTLP protobuf (`bytes`).
    pub sizer: Sizer,
    /// The storage extension (`file_storage`, `file_storage/name`) whose directory keeps the queue on disk, so
    /// that what was accepted survives a restart or a crash; in memory when absent (the default).
    pub storage: Option<String>,
    /// An otlp-suite addition: with `storage`, the bound on the queue's files in bytes (default 1 GiB); when it
    /// is reached, receivers refuse with the same retryable error as for a full `queue_size`.
    pub storage_max_bytes: u64,
    /// When the queue is full (`queue_size`, or `storage_max_bytes` on disk), hold the caller until there is room
    /// instead of refusing its data (default `false`, as in otelcol).
    pub block_on_overflow: bool,
    /// Hold the caller until the exporter is done with its data (delivered, or given up on) and answer it with
    /// that outcome, instead of once the data is queued (default `false`, as in otelcol). Not with `storage`.
    pub wait_for_result: bool,
    /// Merge queued batches before sending them, and split large ones (otelcol's `sending_queue.batch`; off
    /// unless given, `batch: {}` takes the defaults).
    pub batch: Option<QueueBatchConfig>,
}

/// What a queue's `queue_size` counts (otelcol's `sizer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sizer {
    /// Batches, whatever they hold.
    #[default]
    Requests,
    /// Spans, data points or log records.
    Items,
    /// The batches' size encoded as OTLP protobuf, received bytes as they came: a bound on the queue's memory
    /// that does not depend on how large clients' requests are.
    Bytes,
}

impl Sizer {
    /// The size of `batch` in this sizer's units.
    pub fn size_of(self, batch: &Batch) -> usize {
        match self {
            Sizer::Requests => 1,
            Sizer::Items => batch.item_count(),
            Sizer::Bytes => batch.encoded_len(),
        }
    }

    /// The name the config gives it.
    pub fn name(self) -> &'static str {
        match self {
            Sizer::Requests => "requests",
            Sizer::Items => "items",
            Sizer::Bytes => "bytes",
        }
    }
}

/// The default bound of a persistent queue on disk.
const DEFAULT_STORAGE_MAX_BYTES: u64 = 1 << 30;

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            sizer: Sizer::Requests,
            storage: None,
            storage_max_bytes: DEFAULT_STORAGE_MAX_BYTES,
            block_on_overflow: false,
            wait_for_result: false,
            batch: None,
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
        if self.storage.is_some() && !self.enabled {
            return Err("sending_queue.storage needs an enabled queue (enabled: true)".into());
        }
        if self.storage.is_some() && self.storage_max_bytes == 0 {
            return Err("sending_queue.storage_max_bytes must be positive".into());
        }
        // As otelcol refuses it: a persistent queue gives up on a batch only when the destination refuses it for
        // good, and puts it back on disk when its retries run out, so there may be no outcome to wait for; and
        // a caller answered only after delivery gains nothing from the disk copy.
        if self.enabled && self.wait_for_result && self.storage.is_some() {
            return Err(
                "sending_queue.wait_for_result is not supported with a persistent queue configured with \
                 `storage` (the disk holds data until it is delivered; there is no result to wait for)"
                    .into(),
            );
        }
        if let Some(batch) = &self.batch {
            if !self.enabled {
                return Err("sending_queue.batch needs an enabled queue (enabled: true)".into());
            }
            batch.validate(self.queue_size, self.sizer)?;
        }
        Ok(())
    }
}

/// The outcome of exporting one queued batch, for a caller that waits for it (`wait_for_result`).
pub(crate) type Outcome = Result<(), ExportError>;

/// Where the outcome of a queued batch goes; dropped unanswered when the batch is abandoned (a shutdown).
pub(crate) type Waiter = tokio::sync::oneshot::Sender<Outcome>;

/// A reserved place in the queue (and, for a persistent queue, room on disk for the batch, encoded), held until
/// the batch is taken off it.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    stored: Option<(Reservation, Bytes)>,
}

/// Why a batch was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// What is queued reached `queue_size`.
    Capacity,
    /// The files of a persistent queue reached `storage_max_bytes`.
    Bytes,
}

struct Queued {
    batch: Arc<Batch>,
    /// The batch's record in a persistent queue.
    record: Option<u64>,
    /// `None` for batches replayed from disk or queued again after their retries ran out.
    _slot: Option<Slot>,
    /// The caller waiting for the batch's outcome (`wait_for_result`).
    waiter: Option<Waiter>,
}

/// A batch taken off the queue by a consumer, to be [`finished`](Queue::finish) or [`requeued`](Queue::requeue).
pub(crate) struct Taken {
    pub(crate) batch: Arc<Batch>,
    record: Option<u64>,
    waiter: Option<Waiter>,
}

impl Taken {
    /// True when the batch is kept on disk until it is finished.
    pub(crate) fn is_durable(&self) -> bool {
        self.record.is_some()
    }
}

/// What an abandoned queue held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Abandoned {
    /// Items held only in memory: lost.
    pub(crate) lost: usize,
    /// Items kept on disk, replayed on the next start.
    pub(crate) kept: usize,
}

/// A bounded queue of batches, with the items it holds counted until they are sent.
pub(crate) struct Queue {
    tx: async_channel::Sender<Queued>,
    rx: async_channel::Receiver<Queued>,
    /// One permit per unit of `sizer`, `capacity` in all.
    slots: Arc<Semaphore>,
    sizer: Sizer,
    capacity: u32,
    /// Units the last refused batch needed, which [`room`](Self::room) waits for.
    wanted: AtomicU32,
    /// The files of a persistent queue.
    store: Option<Arc<Store>>,
    /// Items queued or being sent: what a flush waits for.
    held: Outstanding,
    /// Items waiting in the queue (not yet taken by a consumer), for the self-metric.
    queued_items: Arc<AtomicUsize>,
    /// Items held that are on disk (queued or being sent).
    durable_items: AtomicUsize,
}

impl Queue {
    /// A queue in memory holding `capacity` units of `sizer` (at most `u32::MAX`, 4 GiB in bytes).
    pub(crate) fn new(capacity: usize, sizer: Sizer) -> Self {
        let (tx, rx) = async_channel::unbounded();
        let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        Queue {
            tx,
            rx,
            slots: Arc::new(Semaphore::new(capacity as usize)),
            sizer,
            capacity,
            wanted: AtomicU32::new(1),
            store: None,
            held: Outstanding::new(),
            queued_items: Arc::new(AtomicUsize::new(0)),
            durable_items: AtomicUsize::new(0),
        }
    }

    /// A persistent queue on `store`, starting with the batches `replay` recovered from it (with their
    /// records), ahead of anything new.
    pub(crate) fn persistent(
        capacity: usize,
        sizer: Sizer,
        store: Arc<Store>,
        replay: Vec<(u64, Batch)>,
    ) -> Self {
        let mut queue = Queue::new(capacity, sizer);
        queue.store = Some(store);
        for (record, batch) in replay {
            let n = batch.item_count();
            queue.count_in(n, true);
            // The channel is unbounded and nobody has closed it yet.
            let _ = queue.tx.try_send(Queued {
                batch: Arc::new(batch),
                record: Some(record),
                _slot: None,
                waiter: None,
            });
        }
        queue
    }

    fn count_in(&self, n: usize, durable: bool) {
        self.held.add(n);
        self.queued_items.fetch_add(n, Ordering::SeqCst);
        if durable {
            self.durable_items.fetch_add(n, Ordering::SeqCst);
        }
    }

    /// Reserves a place for `batch` (and, for a persistent queue, its room on disk), or says why the queue is
    /// full. A batch larger than the whole capacity is taken only into an empty queue, so that it is not refused
    /// forever.
    pub(crate) fn try_reserve(&self, batch: &Batch) -> Result<Slot, Full> {
        let units = self.units(batch);
        let permit = self
            .slots
            .clone()
            .try_acquire_many_owned(units)
            .map_err(|_| {
                self.wanted.store(units, Ordering::SeqCst);
                Full::Capacity
            })?;
        let stored = match &self.store {
            Some(store) => {
                let encoded = super::stored::encode(batch);
                let room = store.try_reserve(encoded.len()).ok_or(Full::Bytes)?;
                Some((room, encoded))
            }
            None => None,
        };
        Ok(Slot {
            _permit: permit,
            stored,
        })
    }

    /// Resolves when there is room for the last batch refused for lack of it, in the queue and on disk (neither
    /// is kept: the caller reserves them when it offers its batch again).
    pub(crate) async fn room(&self) {
        if let Ok(permit) = self
            .slots
            .acquire_many(self.wanted.load(Ordering::SeqCst))
            .await
        {
            drop(permit);
        }
        if let Some(store) = &self.store {
            store.room().await;
        }
    }

    /// Queues a batch in its reserved place (writing it to disk first, for a persistent queue), with the caller
    /// waiting for its outcome if any; hands it back when the queue is closed (shutting down), dropping `waiter`.
    pub(crate) fn push(
        &self,
        mut slot: Slot,
        batch: Arc<Batch>,
        waiter: Option<Waiter>,
    ) -> Result<(), Arc<Batch>> {
        if self.tx.is_closed() {
            return Err(batch);
        }
        let record = match (&self.store, slot.stored.take()) {
            (Some(store), Some((room, encoded))) => match store.append(room, &encoded) {
                Ok(record) => Some(record),
                Err(error) => {
                    // The batch is still delivered; only a crash before it is would lose it.
                    tracing::error!(%error, items = batch.item_count(),
                        "cannot write a batch to the persistent queue; it is queued in memory only");
                    None
                }
            },
            _ => None,
        };
        let n = batch.item_count();
        self.count_in(n, record.is_some());
        let queued = Queued {
            batch,
            record,
            _slot: Some(slot),
            waiter,
        };
        self.tx.try_send(queued).map_err(|closed| {
            let Queued { batch, record, .. } = closed.into_inner();
            self.queued_items.fetch_sub(n, Ordering::SeqCst);
            // The caller counts the batch as lost: it must not come back after a restart either.
            self.settle(n, record);
            batch
        })
    }

    /// Permits `batch` takes: its size, at least one, at most the whole capacity.
    fn units(&self, batch: &Batch) -> u32 {
        let size = u32::try_from(self.sizer.size_of(batch)).unwrap_or(u32::MAX);
        size.clamp(1, self.capacity.max(1))
    }

    /// Takes the next batch, freeing its place; `None` once the queue is closed and empty. Its items stay
    /// counted as held until it is [`finish`](Self::finish)ed or [`requeue`](Self::requeue)d.
    pub(crate) async fn pop(&self) -> Option<Taken> {
        let Queued {
            batch,
            record,
            waiter,
            ..
        } = self.rx.recv().await.ok()?;
        self.queued_items
            .fetch_sub(batch.item_count(), Ordering::SeqCst);
        Some(Taken {
            batch,
            record,
            waiter,
        })
    }

    /// A batch taken by [`pop`](Self::pop) was delivered: its record on disk is acknowledged, its items are no
    /// longer held, and a caller waiting for it is told.
    pub(crate) fn finish(&self, taken: Taken) {
        self.conclude(taken, Ok(()));
    }

    /// A batch taken by [`pop`](Self::pop) was given up on (and counted as failed by the caller): as
    /// [`finish`](Self::finish), and a caller waiting for it gets `error`.
    pub(crate) fn fail(&self, taken: Taken, error: ExportError) {
        self.conclude(taken, Err(error));
    }

    fn conclude(&self, taken: Taken, outcome: Outcome) {
        self.settle(taken.batch.item_count(), taken.record);
        if let Some(waiter) = taken.waiter {
            // The caller may have gone (its client hung up): the outcome is then nobody's to hear.
            let _ = waiter.send(outcome);
        }
    }

    fn settle(&self, n: usize, record: Option<u64>) {
        if let (Some(store), Some(record)) = (&self.store, record) {
            if let Err(error) = store.ack(record) {
                // The record stays on disk and is sent again after a restart: a duplicate, never a loss.
                tracing::error!(%error, "cannot acknowledge a batch in the persistent queue");
            }
            self.durable_items.fetch_sub(n, Ordering::SeqCst);
        }
        self.held.sub(n);
    }

    /// Puts a batch kept on disk back at the end of the queue (its retries ran out, but the disk is where it
    /// waits for the destination to come back). Without a place: it was accepted long ago. When the queue is
    /// closed, the batch stays on disk for the next start; false then.
    pub(crate) fn requeue(&self, taken: Taken) -> bool {
        let n = taken.batch.item_count();
        self.queued_items.fetch_add(n, Ordering::SeqCst);
        let queued = Queued {
            batch: taken.batch,
            record: taken.record,
            _slot: None,
            waiter: taken.waiter,
        };
        match self.tx.try_send(queued) {
            Ok(()) => true,
            Err(_) => {
                self.queued_items.fetch_sub(n, Ordering::SeqCst);
                self.durable_items.fetch_sub(n, Ordering::SeqCst);
                self.held.sub(n);
                false
            }
        }
    }

    /// Stops taking batches; consumers drain what is queued, then `pop` returns `None`.
    pub(crate) fn close(&self) {
        self.tx.close();
    }

    /// Empties the queue without sending (a shutdown cut short) and forgets in-flight items; says how many items
    /// that were queued or in flight are lost (for the caller to count) and how many stay on disk.
    pub(crate) fn abandon(&self) -> Abandoned {
        while let Ok(queued) = self.rx.try_recv() {
            self.queued_items
                .fetch_sub(queued.batch.item_count(), Ordering::SeqCst);
        }
        let held = self.held.clear();
        let kept = self.durable_items.swap(0, Ordering::SeqCst);
        Abandoned {
            lost: held.saturating_sub(kept),
            kept,
        }
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

    /// Reads how much is waiting in the units of the queue's sizer, for the self-metric, as otelcol reports it.
    /// In bytes, batches replayed from disk are not counted: they came back without a place in the queue.
    pub(crate) fn size_reader(&self) -> Box<dyn Fn() -> usize + Send + Sync + 'static> {
        match self.sizer {
            Sizer::Requests => Box::new(self.len_reader()),
            Sizer::Items => {
                let items = self.queued_items();
                Box::new(move || items.load(Ordering::Relaxed))
            }
            Sizer::Bytes => {
                let slots = Arc::clone(&self.slots);
                let capacity = self.capacity as usize;
                Box::new(move || capacity.saturating_sub(slots.available_permits()))
            }
        }
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
        let queue = Queue::new(2, Sizer::Requests);
        let first = queue.try_reserve(&batch(3)).unwrap();
        let second = queue.try_reserve(&batch(4)).unwrap();
        assert_eq!(
            queue.try_reserve(&batch(1)).err(),
            Some(Full::Capacity),
            "full after two reservations"
        );
        queue.push(first, batch(3), None).unwrap();
        queue.push(second, batch(4), None).unwrap();
        assert_eq!((queue.len_reader()(), queue.held().get()), (2, 7));

        let taken = queue.pop().await.unwrap();
        assert_eq!(taken.batch.item_count(), 3);
        assert!(!taken.is_durable());
        assert!(
            queue.try_reserve(&batch(1)).is_ok(),
            "popping frees a place"
        );
        assert_eq!(queue.held().get(), 7, "in flight until sent");
        queue.finish(taken);
        assert!(
            !queue
                .held()
                .wait_empty(Instant::now() + Duration::from_millis(5))
                .await
        );
        let taken = queue.pop().await.unwrap();
        queue.finish(taken);
        assert!(queue.held().wait_empty(Instant::now()).await);
    }

    #[tokio::test(start_paused = true)]
    async fn room_waits_for_a_free_place() {
        let queue = Arc::new(Queue::new(1, Sizer::Requests));
        let slot = queue.try_reserve(&batch(1)).unwrap();
        queue.push(slot, batch(1), None).unwrap();
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let _ = queue.pop().await;
        waiter.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn with_the_items_sizer_capacity_is_in_items() {
        let queue = Queue::new(10, Sizer::Items);
        let first = queue.try_reserve(&batch(6)).unwrap();
        assert_eq!(queue.try_reserve(&batch(5)).err(), Some(Full::Capacity));
        let second = queue.try_reserve(&batch(4)).unwrap();
        queue.push(first, batch(6), None).unwrap();
        queue.push(second, batch(4), None).unwrap();
        assert_eq!(queue.size_reader()(), 10);
        assert_eq!(queue.len_reader()(), 2);
        let taken = queue.pop().await.unwrap();
        assert_eq!(queue.size_reader()(), 4, "a batch taken leaves the queue");
        queue.finish(taken);
    }

    #[tokio::test(start_paused = true)]
    async fn in_bytes_room_is_what_the_refused_batch_needs() {
        let (one, three) = (batch(1).encoded_len(), batch(3).encoded_len());
        let queue = Arc::new(Queue::new(one + three + 1, Sizer::Bytes));
        for items in [1, 3] {
            let slot = queue.try_reserve(&batch(items)).unwrap();
            queue.push(slot, batch(items), None).unwrap();
        }
        assert_eq!(queue.size_reader()(), one + three);
        assert_eq!(queue.try_reserve(&batch(3)).err(), Some(Full::Capacity));
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let small = queue.pop().await.unwrap();
        assert_eq!(small.batch.item_count(), 1);
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "the small batch's bytes are not room for the batch that was refused"
        );
        let _large = queue.pop().await.unwrap();
        waiter.await.unwrap();
        assert!(queue.try_reserve(&batch(3)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_larger_than_the_whole_queue_waits_for_an_empty_one() {
        let queue = Queue::new(2, Sizer::Items);
        let slot = queue.try_reserve(&batch(1)).unwrap();
        queue.push(slot, batch(1), None).unwrap();
        assert_eq!(queue.try_reserve(&batch(7)).err(), Some(Full::Capacity));
        let taken = queue.pop().await.unwrap();
        queue.finish(taken);
        let slot = queue.try_reserve(&batch(7)).unwrap();
        assert_eq!(queue.try_reserve(&batch(1)).err(), Some(Full::Capacity));
        queue.push(slot, batch(7), None).unwrap();
        assert_eq!(queue.size_reader()(), 7);
    }

    #[test]
    fn the_sizer_is_read_by_otelcol_names() {
        let config: QueueConfig =
            serde_norway::from_str("sizer: bytes\nqueue_size: 1048576").unwrap();
        assert_eq!((config.sizer, config.queue_size), (Sizer::Bytes, 1 << 20));
        assert_eq!(QueueConfig::default().sizer, Sizer::Requests);
        let typo = serde_norway::from_str::<QueueConfig>("sizer: byte").unwrap_err();
        assert!(
            typo.to_string()
                .contains("expected one of `requests`, `items`, `bytes`"),
            "{typo}"
        );
    }

    #[test]
    fn overflow_and_result_waiting_are_read_by_otelcol_names() {
        let config: QueueConfig =
            serde_norway::from_str("block_on_overflow: true\nwait_for_result: true").unwrap();
        assert!(config.block_on_overflow && config.wait_for_result);
        assert!(config.validate().is_ok());
        let defaults = QueueConfig::default();
        assert!(!defaults.block_on_overflow && !defaults.wait_for_result);
        let persistent = QueueConfig {
            storage: Some("file_storage".into()),
            ..config.clone()
        };
        let error = persistent.validate().unwrap_err();
        assert!(
            error.contains("wait_for_result is not supported"),
            "{error}"
        );
        let blocking_on_disk = QueueConfig {
            wait_for_result: false,
            ..persistent
        };
        assert!(blocking_on_disk.validate().is_ok());
    }

    #[tokio::test]
    async fn a_waiting_caller_hears_how_its_batch_ended() {
        let queue = Queue::new(4, Sizer::Requests);
        let mut outcomes = Vec::new();
        for items in [1, 2, 3] {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let slot = queue.try_reserve(&batch(items)).unwrap();
            queue.push(slot, batch(items), Some(tx)).unwrap();
            outcomes.push(rx);
        }
        let delivered = queue.pop().await.unwrap();
        queue.finish(delivered);
        let refused = queue.pop().await.unwrap();
        queue.fail(refused, ExportError::permanent("bad data"));
        let mut outcomes = outcomes.into_iter();
        assert!(matches!(outcomes.next().unwrap().await, Ok(Ok(()))));
        assert!(matches!(
            outcomes.next().unwrap().await,
            Ok(Err(ExportError::Permanent { .. }))
        ));
        queue.close();
        assert_eq!(queue.abandon(), Abandoned { lost: 3, kept: 0 });
        assert!(
            outcomes.next().unwrap().await.is_err(),
            "an abandoned batch's caller is not left waiting"
        );
    }

    #[tokio::test]
    async fn a_closed_queue_hands_batches_back_and_drains() {
        let queue = Queue::new(4, Sizer::Requests);
        let slot = queue.try_reserve(&batch(2)).unwrap();
        queue.push(slot, batch(2), None).unwrap();
        queue.close();
        let refused = queue
            .push(queue.try_reserve(&batch(5)).unwrap(), batch(5), None)
            .unwrap_err();
        assert_eq!(refused.item_count(), 5);
        assert_eq!(queue.held().get(), 2, "the refused batch is not held");
        assert!(queue.pop().await.is_some());
        assert!(queue.pop().await.is_none(), "closed and empty");
        assert_eq!(
            queue.abandon(),
            Abandoned { lost: 2, kept: 0 },
            "the popped batch was never marked sent"
        );
    }

    fn persistent(dir: &std::path::Path, max_bytes: u64) -> (Queue, Vec<(u64, usize)>) {
        use super::super::persistent::StoreSettings;
        let (store, recovered) = Store::open(&StoreSettings {
            dir: dir.to_path_buf(),
            max_bytes,
            fsync: false,
        })
        .unwrap();
        let replay: Vec<(u64, Batch)> = recovered
            .records
            .into_iter()
            .map(|r| {
                let scan = otlp_model::wire::scan(Signal::Logs, &r.batch).unwrap();
                (
                    r.sequence,
                    Batch::from_encoded(Signal::Logs, r.batch, scan.items),
                )
            })
            .collect();
        let summary = replay.iter().map(|(s, b)| (*s, b.item_count())).collect();
        (
            Queue::persistent(8, Sizer::Requests, store, replay),
            summary,
        )
    }

    #[tokio::test]
    async fn a_persistent_queue_keeps_what_is_not_finished_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (queue, replayed) = persistent(dir.path(), 1 << 20);
        assert!(replayed.is_empty());
        for items in [1, 2, 3] {
            let slot = queue.try_reserve(&batch(items)).unwrap();
            queue.push(slot, batch(items), None).unwrap();
        }
        let first = queue.pop().await.unwrap();
        assert!(first.is_durable());
        queue.finish(first);
        let second = queue.pop().await.unwrap();
        assert_eq!(second.batch.item_count(), 2);
        // Retries ran out: back at the end of the queue, still on disk.
        assert!(queue.requeue(second));
        let third = queue.pop().await.unwrap();
        assert_eq!(third.batch.item_count(), 3);
        queue.close();
        assert!(!queue.requeue(third), "closed: it stays on disk only");
        assert_eq!(
            queue.abandon(),
            Abandoned { lost: 0, kept: 2 },
            "the requeued batch was never finished"
        );
        drop(queue);

        let (_, replayed) = persistent(dir.path(), 1 << 20);
        let items: Vec<usize> = replayed.iter().map(|(_, items)| *items).collect();
        assert_eq!(items, [2, 3], "every batch not finished, in order");
    }

    #[test]
    fn a_persistent_queue_is_full_at_its_byte_bound() {
        let dir = tempfile::tempdir().unwrap();
        let one = batch(1);
        let record = super::super::segment::record_len(one.encoded_len()) as u64;
        let (queue, _) = persistent(dir.path(), 2 * record);
        for _ in 0..2 {
            let slot = queue.try_reserve(&one).unwrap();
            queue.push(slot, Arc::clone(&one), None).unwrap();
        }
        assert_eq!(queue.try_reserve(&one).err(), Some(Full::Bytes));
        assert_eq!(queue.held().get(), 2);
    }
}
