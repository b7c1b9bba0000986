//! The end of a pipeline: every batch goes to every exporter of the pipeline, or to none.

use super::super::ExportError;
use super::handle::ExporterHandle;
use super::queue::Full;
use crate::Batch;
use crate::pipeline::{BoxFuture, Consumer, Refusal, RefusalKind, Refused};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long a client is told to wait after an exporter without a queue failed while it waited.
const SYNC_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Hands each batch to every exporter of one pipeline.
pub(crate) struct ExporterFanout {
    exporters: Vec<Arc<ExporterHandle>>,
}

impl ExporterFanout {
    pub(crate) fn new(exporters: Vec<Arc<ExporterHandle>>) -> Self {
        ExporterFanout { exporters }
    }
}

impl Consumer for ExporterFanout {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            // Reserve a slot in every queue first, so a full queue refuses the batch for all exporters and the
            // client's retry does not duplicate data into the ones that had room.
            let reserved = loop {
                let mut reserved = Vec::with_capacity(self.exporters.len());
                let mut full_at = None;
                for exporter in &self.exporters {
                    let Some(queue) = &exporter.queue else {
                        continue;
                    };
                    match queue.try_reserve(&batch) {
                        Ok(slot) => reserved.push((exporter, queue, slot)),
                        Err(full) => {
                            full_at = Some((exporter, queue, full));
                            break;
                        }
                    }
                }
                let Some((exporter, queue, full)) = full_at else {
                    break reserved;
                };
                if exporter.settings.queue.block_on_overflow {
                    // The caller waits for room (a client that hangs up cancels the wait). The places taken in
                    // the other queues are given back first: held while waiting, they could be the room that
                    // another pipeline, reserving in another order, waits for, and neither would move.
                    drop(reserved);
                    queue.room().await;
                    continue;
                }
                exporter
                    .counters
                    .enqueue_failed
                    .add(batch.item_count() as u64);
                let bound = match full {
                    Full::Capacity => "",
                    Full::Bytes => " (storage_max_bytes on disk)",
                };
                return Err(Refused::returning(
                    Refusal::backpressure(format!(
                        "sending queue of exporter {} is full{bound}",
                        exporter.id
                    )),
                    batch,
                ));
            };
            // Exporters without a queue send while the client waits; their failure is the client's to retry.
            let batch = Arc::new(batch);
            for exporter in self.exporters.iter().filter(|e| e.queue.is_none()) {
                if let Err(undelivered) = exporter.send_with_retry(&batch).await {
                    exporter.count_handed_back(undelivered.items, &undelivered.error);
                    *exporter.retry_not_before.lock() = Some(Instant::now() + SYNC_RETRY_AFTER);
                    // Nothing was queued yet, so this is the only reference and no copy is made.
                    let batch = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
                    let mut refusal = refusal_for(&exporter.id, &undelivered.error);
                    refusal.retry_after = SYNC_RETRY_AFTER;
                    return Err(Refused::returning(refusal, batch));
                }
            }
            let mut waiting = Vec::new();
            for (exporter, queue, slot) in reserved {
                let waiter = exporter.settings.queue.wait_for_result.then(|| {
                    let (tx, rx) = oneshot::channel();
                    waiting.push((exporter, rx));
                    tx
                });
                if let Err(lost) = queue.push(slot, Arc::clone(&batch), waiter) {
                    // Only a shutdown closes the queue, and receivers stop (or, kept across a reload, pause)
                    // before pipelines drain: this batch arrived in between, so it is counted rather than lost
                    // silently.
                    exporter.counters.send_failed.add(
                        exporter.signal,
                        lost.item_count(),
                        "shutdown",
                    );
                    tracing::error!(exporter = %exporter.id, items = lost.item_count(),
                        "a batch reached an exporter after its queue closed");
                }
            }
            // `wait_for_result`: the batch is in every queue, and the exporters that asked for it answer once they
            // are done with it (their consumers send in parallel, so waiting in turn costs nothing). The batch is
            // theirs now and they counted a failure: it is not handed back.
            for (exporter, outcome) in waiting {
                let refusal = match outcome.await {
                    Ok(Ok(())) => continue,
                    Ok(Err(error)) => refusal_for(&exporter.id, &error),
                    // Dropped unanswered: the queue closed before the batch was in it, or a shutdown abandoned
                    // it; either way it was counted as dropped (`shutdown`).
                    Err(_) => Refusal::shutting_down(&format!("exporter {}", exporter.id)),
                };
                return Err(Refused {
                    refusal,
                    batch: None,
                });
            }
            Ok(())
        })
    }

    fn ready(&self, _items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for exporter in &self.exporters {
                match &exporter.queue {
                    Some(queue) => queue.room().await,
                    None => {
                        let not_before = *exporter.retry_not_before.lock();
                        if let Some(not_before) = not_before {
                            // The destination failed while a client waited: offering again before its retry
                            // time would only fail again.
                            tokio::time::sleep_until(not_before).await;
                        }
                    }
                }
            }
        })
    }

    fn flush(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        // Exporters are shared between pipelines; the service waits for their queues once every pipeline flushed.
        Box::pin(async {})
    }

    fn shutdown(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        // Exporters are shared between pipelines; the service shuts them down once every pipeline has drained.
        Box::pin(async {})
    }
}

/// How a client is answered for data an exporter gave up on: retryable failures (retries ran out) as unavailable,
/// after the destination's hint if it gave one, permanent ones as such.
fn refusal_for(id: &str, error: &ExportError) -> Refusal {
    let (kind, retry_after) = match error {
        ExportError::Retryable { retry_after, .. } => (
            RefusalKind::Unavailable,
            retry_after.unwrap_or(SYNC_RETRY_AFTER),
        ),
        ExportError::Permanent { .. } | ExportError::TooLarge { .. } => {
            (RefusalKind::Permanent, Duration::ZERO)
        }
    };
    Refusal {
        kind,
        retry_after,
        message: format!("exporter {id}: {}", error.message()),
    }
}
