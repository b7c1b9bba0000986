//! Last stages for processor and connector unit tests: one keeps what it is given, one takes and fails.

use crate::Batch;
use crate::Signal;
use crate::component::{ProcessorContext, SharedState};
use crate::id::PipelineId;
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused};
use crate::telemetry::Telemetry;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::time::Instant;

/// Takes every batch and keeps it, after refusing the first `full_for` batches as a full stage does (backpressure,
/// the batch handed back).
#[derive(Default)]
pub(crate) struct Capture {
    pub(crate) batches: Mutex<Vec<Batch>>,
    pub(crate) full_for: AtomicUsize,
}

impl Consumer for Capture {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let full = self
            .full_for
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if full {
            let refused = Refused::returning(Refusal::backpressure("capture: full"), batch);
            return Box::pin(async { Err(refused) });
        }
        self.batches.lock().push(batch);
        Box::pin(async { Ok(()) })
    }

    fn ready(&self, _items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn flush(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn shutdown(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Takes every batch, counts its items, and fails with it: a stage that accounted for what it was given (an
/// exporter that waits for the result of its send).
#[derive(Default)]
pub(crate) struct TakesAndFails(pub(crate) AtomicUsize);

impl Consumer for TakesAndFails {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        self.0.fetch_add(batch.item_count(), Ordering::Relaxed);
        Box::pin(async {
            Err(Refused {
                refusal: Refusal::permanent("rejected downstream"),
                batch: None,
            })
        })
    }

    fn ready(&self, _items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn flush(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn shutdown(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Runs `test` with a build context for processor `id` in a pipeline of `signal`.
pub(crate) fn with_context<T>(
    id: &str,
    signal: Signal,
    telemetry: &Telemetry,
    test: impl FnOnce(ProcessorContext<'_>) -> T,
) -> T {
    let pipeline = PipelineId { signal, name: None };
    let shared = SharedState::default();
    test(ProcessorContext {
        id,
        pipeline: &pipeline,
        telemetry,
        shared: &shared,
    })
}
