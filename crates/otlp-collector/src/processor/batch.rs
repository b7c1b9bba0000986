//! The `batch` processor: gathers small requests into batches of `send_batch_size` items (split at
//! `send_batch_max_size`), or whatever arrived within `timeout`, as otelcol's does.
//!
//! Unlike otelcol's, its buffer is bounded: while the next stage refuses (its queues are full) the processor keeps
//! the batch, retries, and refuses new data once its buffer is full, so backpressure reaches the client instead of
//! data being dropped.

use crate::config::de;
use crate::pipeline::{BoxFuture, Consumer, Refusal, RefusalKind, Refused, deliver};
use crate::telemetry::{DropCounter, Telemetry};
use crate::{Batch, Signal};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The `batch` processor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Send as soon as this many items are waiting.
    pub send_batch_size: usize,
    /// Never send more than this many items at once (0: no limit).
    pub send_batch_max_size: usize,
    /// Send whatever is waiting after this long.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            send_batch_size: 8192,
            send_batch_max_size: 0,
            timeout: Duration::from_millis(200),
        }
    }
}

impl BatchConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.send_batch_max_size > 0 && self.send_batch_max_size < self.send_batch_size {
            return Err("send_batch_max_size must be 0 or at least send_batch_size".into());
        }
        Ok(())
    }

    /// How many items may wait in the processor before it refuses more: room for several full batches, so that
    /// a short stall downstream is absorbed without refusing clients.
    fn buffer_capacity(&self) -> usize {
        let batch = self.send_batch_size.max(self.send_batch_max_size).max(1);
        batch.saturating_mul(8)
    }

    fn chunk(&self) -> usize {
        if self.send_batch_max_size == 0 {
            usize::MAX
        } else {
            self.send_batch_max_size
        }
    }
}

struct Shared {
    id: String,
    config: BatchConfig,
    capacity: usize,
    pending: parking_lot::Mutex<Batch>,
    pending_items: Arc<AtomicUsize>,
    wake: Notify,
    closing: AtomicBool,
    /// Set by `flush`: send whatever is pending now, whatever its size.
    flush_requested: AtomicBool,
    /// Items taken from `pending` and not yet accepted by the next stage.
    sending: AtomicUsize,
    hard_deadline: parking_lot::Mutex<Option<Instant>>,
    next: Arc<dyn Consumer>,
    dropped: DropCounter,
}

pub(crate) struct BatchProcessor {
    shared: Arc<Shared>,
    flusher: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl BatchProcessor {
    pub(crate) fn start(
        id: &str,
        pipeline: &str,
        signal: Signal,
        config: BatchConfig,
        telemetry: &Telemetry,
        next: Arc<dyn Consumer>,
    ) -> Self {
        let pending_items = Arc::new(AtomicUsize::new(0));
        let reader = pending_items.clone();
        telemetry.gauge(
            &format!("otelcol_processor_batch_pending_{}", signal.item_unit()),
            "Items waiting in a batch processor to be sent on.",
            &[("processor", id), ("pipeline", pipeline)],
            move || reader.load(Ordering::Relaxed) as u64,
        );
        let shared = Arc::new(Shared {
            id: id.to_string(),
            capacity: config.buffer_capacity(),
            config,
            pending: parking_lot::Mutex::new(Batch::empty(signal)),
            pending_items,
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            flush_requested: AtomicBool::new(false),
            sending: AtomicUsize::new(0),
            hard_deadline: parking_lot::Mutex::new(None),
            next,
            dropped: DropCounter::new(telemetry, "otelcol_processor_dropped", "processor", id),
        });
        let flusher = tokio::spawn(flush_loop(shared.clone()));
        BatchProcessor {
            shared,
            flusher: parking_lot::Mutex::new(Some(flusher)),
        }
    }
}

async fn flush_loop(shared: Arc<Shared>) {
    let timeout = shared.config.timeout;
    let mut deadline = Instant::now() + timeout;
    loop {
        if !timeout.is_zero() {
            tokio::select! {
                () = shared.wake.notified() => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        } else {
            shared.wake.notified().await;
        }
        let closing = shared.closing.load(Ordering::SeqCst);
        let forced = shared.flush_requested.swap(false, Ordering::SeqCst);
        let timed_out = forced || timeout.is_zero() || Instant::now() >= deadline;
        loop {
            let chunk = {
                let mut pending = shared.pending.lock();
                let full = pending.item_count() >= shared.config.send_batch_size;
                if pending.is_empty() || !(full || timed_out || closing) {
                    break;
                }
                let chunk = pending.split_front(shared.config.chunk());
                shared
                    .pending_items
                    .store(pending.item_count(), Ordering::Relaxed);
                // Counted while the lock is held, so `flush` never sees the chunk in neither place.
                shared
                    .sending
                    .fetch_add(chunk.item_count(), Ordering::SeqCst);
                chunk
            };
            let n = chunk.item_count();
            deliver(
                shared.next.as_ref(),
                chunk,
                &shared.hard_deadline,
                &shared.dropped,
                &shared.id,
            )
            .await;
            shared.sending.fetch_sub(n, Ordering::SeqCst);
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
                Refusal::unavailable(
                    format!("{}: shutting down", shared.id),
                    Duration::from_secs(5),
                ),
                batch,
            ))
        } else {
            let mut pending = shared.pending.lock();
            let n = batch.item_count();
            // An empty buffer takes any batch, so one request larger than the buffer is not refused forever.
            if !pending.is_empty() && pending.item_count() + n > shared.capacity {
                Err(Refused::returning(
                    Refusal::backpressure(format!(
                        "{}: buffer full while the next stage is busy",
                        shared.id
                    )),
                    batch,
                ))
            } else {
                match pending.append(batch) {
                    Ok(()) => {
                        shared
                            .pending_items
                            .store(pending.item_count(), Ordering::Relaxed);
                        if pending.item_count() >= shared.config.send_batch_size
                            || shared.config.timeout.is_zero()
                        {
                            shared.wake.notify_one();
                        }
                        Ok(())
                    }
                    Err(other) => Err(Refused::returning(
                        Refusal {
                            kind: RefusalKind::Permanent,
                            retry_after: Duration::ZERO,
                            message: format!(
                                "{}: {} data sent to a {} pipeline",
                                shared.id,
                                other.signal(),
                                pending.signal()
                            ),
                        },
                        other,
                    )),
                }
            }
        };
        Box::pin(async move { result })
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            while Instant::now() < deadline {
                let pending = !shared.pending.lock().is_empty();
                if !pending && shared.sending.load(Ordering::SeqCst) == 0 {
                    break;
                }
                // Asked again on every pass: data that arrives after the flusher took an earlier request must not
                // wait for the batch timeout.
                if pending {
                    shared.flush_requested.store(true, Ordering::SeqCst);
                    shared.wake.notify_one();
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            shared.next.flush(deadline).await;
        })
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            *shared.hard_deadline.lock() = Some(deadline);
            shared.closing.store(true, Ordering::SeqCst);
            shared.wake.notify_one();
            let flusher = self.flusher.lock().take();
            if let Some(flusher) = flusher {
                let abort = flusher.abort_handle();
                // The flusher honours the deadline itself; the margin only guards against a stuck next stage.
                if tokio::time::timeout_at(deadline + Duration::from_millis(500), flusher)
                    .await
                    .is_err()
                {
                    abort.abort();
                }
            }
            let left = std::mem::replace(&mut *shared.pending.lock(), Batch::empty(Signal::Traces));
            if !left.is_empty() {
                shared
                    .dropped
                    .add(left.signal(), left.item_count(), "shutdown");
                tracing::error!(processor = %shared.id, items = left.item_count(),
                    "shutdown deadline reached: these items were not delivered");
            }
            shared.pending_items.store(0, Ordering::Relaxed);
            shared.next.shutdown(deadline).await;
        })
    }
}
