//! The end of a pipeline: every batch goes to every exporter of the pipeline, or to none.

use super::super::ExportError;
use super::handle::ExporterHandle;
use super::queue::Full;
use crate::Batch;
use crate::pipeline::{BoxFuture, Consumer, Refusal, RefusalKind, Refused};
use std::sync::Arc;
use std::time::Duration;
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
            let mut reserved = Vec::with_capacity(self.exporters.len());
            for exporter in &self.exporters {
                let Some(queue) = &exporter.queue else {
                    continue;
                };
                match queue.try_reserve(&batch) {
                    Ok(slot) => reserved.push((exporter, queue, slot)),
                    Err(full) => {
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
                    }
                }
            }
            // Exporters without a queue send while the client waits; their failure is the client's to retry.
            let batch = Arc::new(batch);
            for exporter in self.exporters.iter().filter(|e| e.queue.is_none()) {
                if let Err(undelivered) = exporter.send_with_retry(&batch).await {
                    exporter.count_failure(undelivered.items, &undelivered.error);
                    let e = undelivered.error;
                    let kind = match e {
                        ExportError::Retryable { .. } => RefusalKind::Unavailable,
                        ExportError::Permanent { .. } => RefusalKind::Permanent,
                    };
                    *exporter.retry_not_before.lock() = Some(Instant::now() + SYNC_RETRY_AFTER);
                    // Nothing was queued yet, so this is the only reference and no copy is made.
                    let batch = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
                    return Err(Refused::returning(
                        Refusal {
                            kind,
                            retry_after: SYNC_RETRY_AFTER,
                            message: format!("exporter {}: {}", exporter.id, e.message()),
                        },
                        batch,
                    ));
                }
            }
            for (exporter, queue, slot) in reserved {
                if let Err(lost) = queue.push(slot, Arc::clone(&batch)) {
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
