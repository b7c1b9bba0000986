//! Processors that change each batch where it stands and hold nothing between batches' passage (`attributes`,
//! `resource`, `span`, `redaction`, `groupbyattrs`, the temporality converters): the stage around them is the same
//! for all, so it is written once here.

use crate::Batch;
use crate::pipeline::{BoxFuture, Consumer, Refused};
use std::sync::Arc;
use tokio::time::Instant;

/// A processor that changes a batch in place (decoding it if it must).
pub(crate) trait InPlace: Send + Sync + 'static {
    /// Changes `batch`; it may leave it empty.
    fn apply(&self, batch: &mut Batch);
}

/// The stage of an [`InPlace`] processor: a batch left empty goes no further, and readiness, flushes and shutdowns
/// are the next stage's, since the processor holds nothing.
struct InPlaceStage<P> {
    processor: P,
    next: Arc<dyn Consumer>,
}

/// `processor` as a stage in front of `next`.
pub(crate) fn in_place_stage<P: InPlace>(
    processor: P,
    next: Arc<dyn Consumer>,
) -> Arc<dyn Consumer> {
    Arc::new(InPlaceStage { processor, next })
}

impl<P: InPlace> Consumer for InPlaceStage<P> {
    fn consume(&self, mut batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        self.processor.apply(&mut batch);
        if batch.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        self.next.consume(batch)
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        self.next.ready(items)
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.next.flush(deadline)
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.next.shutdown(deadline)
    }
}
