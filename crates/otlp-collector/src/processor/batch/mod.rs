//! The `batch` processor: gathers small requests into batches of `send_batch_size` items (split at
//! `send_batch_max_size`, else whole requests), or whatever arrived within `timeout`, as otelcol's does.
//!
//! Unlike otelcol's, its buffer is bounded: while the next stage refuses (its queues are full) the processor keeps
//! the batch, waits for the next stage to have room, and refuses new data once its own buffer is full, so
//! backpressure reaches the client instead of data being dropped.
//!
//! With `metadata_keys`, each client (each distinct combination of those keys' values in its request metadata) is
//! batched apart and its batches keep those values, for `headers_setter` and other readers of a batch's client.

mod config;
mod shards;

pub use config::BatchConfig;

use shards::{Shards, Untaken};

use crate::Batch;
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::DropCounter;
use crate::wait::{Changed, Deadline, Driver, Outstanding};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The `batch` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = BatchConfig;
    const TYPE: &'static str = "batch";

    fn validate(&self, config: &BatchConfig) -> Result<(), Invalid> {
        Ok(config.validate()?)
    }
}

impl ProcessorFactory for Factory {
    fn build(
        &self,
        config: &BatchConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        Ok(Arc::new(BatchProcessor::start(
            config.clone(),
            &context,
            next,
        )))
    }
}

struct Shared {
    id: String,
    config: BatchConfig,
    capacity: usize,
    pending: parking_lot::Mutex<Shards>,
    /// Items in `pending`, for the self-metric.
    pending_items: Arc<AtomicUsize>,
    /// Items in `pending` or being handed to the next stage: what a flush waits for.
    held: Outstanding,
    /// Wakes the flusher: a full batch, a flush, a shutdown.
    wake: Notify,
    /// Told whenever items leave `pending`, for stages waiting to offer more.
    room: Changed,
    closing: AtomicBool,
    /// Set by `flush`: send whatever is pending now, whatever its size.
    flush_requested: AtomicBool,
    /// Flushes in progress: while any is, every arrival is sent on at once rather than at the timeout.
    flushing: AtomicUsize,
    deadline: Deadline,
    next: Arc<dyn Consumer>,
    dropped: DropCounter,
}

impl Shared {
    fn has_room_for(&self, pending: &Shards, items: usize) -> bool {
        // An empty buffer takes any batch, so one request larger than the buffer is not refused forever.
        pending.is_empty() || pending.item_count() + items <= self.capacity
    }
}

struct BatchProcessor {
    shared: Arc<Shared>,
    flusher: Driver,
}

impl BatchProcessor {
    fn start(config: BatchConfig, context: &ProcessorContext<'_>, next: Arc<dyn Consumer>) -> Self {
        let signal = context.signal();
        let pending_items = Arc::new(AtomicUsize::new(0));
        let reader = pending_items.clone();
        let pipeline = context.pipeline.to_string();
        context.telemetry.gauge(
            &format!("otelcol_processor_batch_pending_{}", signal.item_unit()),
            "Items waiting in a batch processor to be sent on.",
            &[("processor", context.id), ("pipeline", &pipeline)],
            move || reader.load(Ordering::Relaxed) as u64,
        );
        let shared = Arc::new(Shared {
            id: context.id.to_string(),
            capacity: config.buffer_capacity(),
            config,
            pending: parking_lot::Mutex::new(Shards::new(signal)),
            pending_items,
            held: Outstanding::new(),
            wake: Notify::new(),
            room: Changed::new(),
            closing: AtomicBool::new(false),
            flush_requested: AtomicBool::new(false),
            flushing: AtomicUsize::new(0),
            deadline: Deadline::new(),
            next,
            dropped: DropCounter::new(
                context.telemetry,
                "otelcol_processor_dropped",
                "processor",
                context.id,
            ),
        });
        BatchProcessor {
            flusher: Driver::spawn(flush_loop(shared.clone())),
            shared,
        }
    }
}

async fn flush_loop(shared: Arc<Shared>) {
    let timeout = shared.config.timeout;
    let mut deadline = Instant::now() + timeout;
    loop {
        if timeout.is_zero() {
            shared.wake.notified().await;
        } else {
            tokio::select! {
                () = shared.wake.notified() => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
        let closing = shared.closing.load(Ordering::SeqCst);
        let forced = shared.flush_requested.swap(false, Ordering::SeqCst)
            || shared.flushing.load(Ordering::SeqCst) > 0;
        let timed_out = forced || timeout.is_zero() || Instant::now() >= deadline;
        loop {
            let chunk = {
                let mut pending = shared.pending.lock();
                let Some(chunk) = pending.take_next(&shared.config, timed_out || closing) else {
                    break;
                };
                shared
                    .pending_items
                    .store(pending.item_count(), Ordering::Relaxed);
                chunk
            };
            shared.room.notify();
            let n = chunk.item_count();
            deliver(
                shared.next.as_ref(),
                chunk,
                &shared.deadline,
                &shared.dropped,
                &shared.id,
            )
            .await;
            shared.held.sub(n);
        }
        if timed_out {
            deadline = Instant::now() + timeout;
        }
        if closing && shared.pending.lock().is_empty() {
            return;
        }
    }
}

impl Consumer for BatchProcessor {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        let result = if shared.closing.load(Ordering::SeqCst) {
            Err(Refused::returning(
                Refusal::shutting_down(&shared.id),
                batch,
            ))
        } else {
            let mut pending = shared.pending.lock();
            let n = batch.item_count();
            if !shared.has_room_for(&pending, n) {
                Err(Refused::returning(
                    Refusal::backpressure(format!(
                        "{}: buffer full while the next stage is busy",
                        shared.id
                    )),
                    batch,
                ))
            } else {
                match pending.add(batch, &shared.config) {
                    Ok(its_batch) => {
                        shared.held.add(n);
                        shared
                            .pending_items
                            .store(pending.item_count(), Ordering::Relaxed);
                        if its_batch >= shared.config.send_batch_size
                            || shared.config.timeout.is_zero()
                            || shared.flushing.load(Ordering::SeqCst) > 0
                        {
                            shared.wake.notify_one();
                        }
                        Ok(())
                    }
                    Err(Untaken::TooManyClients(batch)) => Err(Refused::returning(
                        Refusal::backpressure(format!(
                            "{}: {} clients of distinct metadata_keys values are being batched \
                             (metadata_cardinality_limit)",
                            shared.id, shared.config.metadata_cardinality_limit
                        )),
                        batch,
                    )),
                    Err(Untaken::OtherSignal(other)) => {
                        let message = format!(
                            "{}: {} data sent to a {} pipeline",
                            shared.id,
                            other.signal(),
                            pending.signal()
                        );
                        Err(Refused::returning(Refusal::permanent(message), other))
                    }
                }
            }
        };
        Box::pin(async move { result })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        let shared = &self.shared;
        Box::pin(shared.room.wait_until(move || {
            shared.closing.load(Ordering::SeqCst)
                || shared.has_room_for(&shared.pending.lock(), items)
        }))
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            shared.flushing.fetch_add(1, Ordering::SeqCst);
            shared.flush_requested.store(true, Ordering::SeqCst);
            shared.wake.notify_one();
            shared.held.wait_empty(deadline).await;
            shared.flushing.fetch_sub(1, Ordering::SeqCst);
            shared.next.flush(deadline).await;
        })
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            shared.deadline.set(deadline);
            shared.closing.store(true, Ordering::SeqCst);
            shared.wake.notify_one();
            shared.room.notify();
            self.flusher.stop(deadline).await;
            let (signal, left) = {
                let mut pending = shared.pending.lock();
                (pending.signal(), pending.clear())
            };
            if left > 0 {
                shared.dropped.add(signal, left, "shutdown");
                tracing::error!(processor = %shared.id, items = left,
                    "shutdown deadline reached: these items were not delivered");
            }
            shared.held.clear();
            shared.pending_items.store(0, Ordering::Relaxed);
            shared.next.shutdown(deadline).await;
        })
    }
}
