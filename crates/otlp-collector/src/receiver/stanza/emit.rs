//! Handing entries to the pipelines as OTLP requests, waiting while the pipelines are full.

use super::entry::{Entry, request};
use crate::Batch;
use crate::clock::now_nanos;
use crate::pipeline::RefusalKind;
use crate::receiver::{Ingest, ReceiverCounters, shutdown_signal};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The most records handed to the pipelines in one request.
const RECORDS_PER_REQUEST: usize = 1000;

/// The first wait when the pipelines are full; it doubles up to the wait they ask for.
const FIRST_WAIT: Duration = Duration::from_millis(10);

/// Where a receiver's entries go.
pub(crate) struct Emitter {
    id: String,
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
    /// Set when the receiver stops: a hand-over waiting for full pipelines gives up then, rather than outlive
    /// the receiver (a reload's old pipelines answer "shutting down" for ever).
    stopping: watch::Receiver<bool>,
}

impl Emitter {
    pub(crate) fn new(
        id: String,
        ingest: Arc<Ingest>,
        counters: ReceiverCounters,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Emitter {
            id,
            ingest,
            counters,
            stopping,
        }
    }

    /// Hands `entries` over in requests of at most a thousand records. While the pipelines are full this waits
    /// for them, so the receiver reads nothing more (a file keeps the rest, a TCP sender is held back by its
    /// connection), instead of dropping what it read; a permanent refusal drops the records, counted as refused.
    /// When the receiver stops meanwhile, what is left is not handed over.
    pub(crate) async fn emit(&self, mut entries: Vec<Entry>) {
        while !entries.is_empty() {
            let rest = entries.split_off(entries.len().min(RECORDS_PER_REQUEST));
            let request = request(std::mem::replace(&mut entries, rest), now_nanos());
            if !self.submit_waiting(Batch::new(request)).await {
                return;
            }
        }
    }

    /// Hands `batch` over, waiting while the pipelines are full; a permanent refusal drops it, counted as refused.
    /// `false` when the receiver stopped before the pipelines took it.
    pub(crate) async fn submit_waiting(&self, batch: Batch) -> bool {
        let mut wait = FIRST_WAIT;
        loop {
            let refusal = match self.ingest.submit(batch.clone(), &self.counters).await {
                Ok(()) => return true,
                Err(refusal) => refusal,
            };
            if matches!(refusal.kind, RefusalKind::Permanent) {
                tracing::warn!(receiver = %self.id, error = %refusal, "the pipelines refused a batch; dropped");
                return true;
            }
            tracing::debug!(receiver = %self.id, error = %refusal, ?wait, "the pipelines are full; waiting");
            tokio::select! {
                () = shutdown_signal(self.stopping.clone()) => return false,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(refusal.retry_after.max(FIRST_WAIT));
        }
    }
}
