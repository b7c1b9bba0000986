//! How batches move: the [`Consumer`] contract between stages, and the refusals that carry backpressure from a
//! full exporter queue all the way back to the client.
//!
//! A consumer does not wait for room: when it is full it refuses at once and hands the batch back, so a receiver can
//! answer "retry later" and a batching processor can hold on to what it has. Nothing is buffered without bound.
//! The exceptions are the operator's choice, per exporter: `sending_queue.block_on_overflow` makes the exporters'
//! fan-out hold the caller until its queue has room, and `sending_queue.wait_for_result` until the export is done
//! (a failure then comes back as a refusal whose batch the exporter already counted).

use crate::Batch;
use crate::telemetry::DropCounter;
use crate::wait::Deadline;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Instant;

/// A boxed, sendable future; consumers are called through trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a refusal should be answered to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Full for now (queues, batch buffer): gRPC `RESOURCE_EXHAUSTED` with `RetryInfo`, HTTP 429 with
    /// `Retry-After`.
    Backpressure,
    /// Not taking data (memory limit reached, shutting down): gRPC `UNAVAILABLE`, HTTP 503 with `Retry-After`.
    Unavailable,
    /// The data can never be taken (an exporter rejected it permanently): gRPC `INVALID_ARGUMENT`, HTTP 400.
    Permanent,
}

/// Why a stage did not take a batch.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// How to answer the client.
    pub kind: RefusalKind,
    /// When the client should try again.
    pub retry_after: Duration,
    /// Which component refused and why, for the client's error message.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            RefusalKind::Permanent => write!(f, "refused: {}", self.message),
            _ => write!(
                f,
                "refused for now, retry in {:?}: {}",
                self.retry_after, self.message
            ),
        }
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// The data can never be taken.
    pub fn permanent(message: impl Into<String>) -> Self {
        Refusal {
            kind: RefusalKind::Permanent,
            retry_after: Duration::ZERO,
            message: message.into(),
        }
    }

    /// The stage is shutting down: retry against another collector, or this one once restarted.
    pub fn shutting_down(component: &str) -> Self {
        Refusal::unavailable(
            format!("{component}: shutting down"),
            Duration::from_secs(5),
        )
    }

    /// Full for now: retry in a second.
    pub fn backpressure(message: impl Into<String>) -> Self {
        Refusal {
            kind: RefusalKind::Backpressure,
            retry_after: Duration::from_secs(1),
            message: message.into(),
        }
    }

    /// Not taking data for now: retry after `retry_after`.
    pub fn unavailable(message: impl Into<String>, retry_after: Duration) -> Self {
        Refusal {
            kind: RefusalKind::Unavailable,
            retry_after,
            message: message.into(),
        }
    }
}

/// A refused batch. `batch` is the data handed back untouched, or `None` when the stage consumed it while failing
/// (and has accounted for it).
#[derive(Debug)]
pub struct Refused {
    /// How the client should be answered.
    pub refusal: Refusal,
    /// The batch, handed back untouched; `None` when the stage took it and accounted for it.
    pub batch: Option<Batch>,
}

impl Refused {
    /// A refusal that hands the batch back untouched.
    pub fn returning(refusal: Refusal, batch: Batch) -> Self {
        Refused {
            refusal,
            batch: Some(batch),
        }
    }
}

/// A stage that takes batches: a processor, or the fan-out to a pipeline's exporters.
///
/// Accounting contract: on `Ok` the consumer owns the items and answers for every one of them (exported, queued
/// or counted as dropped); on `Err` with the batch handed back, it has counted nothing.
pub trait Consumer: Send + Sync + 'static {
    /// Offers a batch; does not wait for room, except at an exporter whose queue asks to (`block_on_overflow`).
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>>;

    /// Resolves when a batch of `items` items, refused for lack of room, might now be taken: a stage that holds
    /// data waits until it has room for them, one that passes data on waits for its own condition and then asks
    /// the next stage. A stage holding a refused batch waits on this instead of retrying on a timer.
    fn ready(&self, items: usize) -> BoxFuture<'_, ()>;

    /// Stops taking data, hands everything held to the next stage and shuts it down, all before `deadline`;
    /// whatever is still held then is counted as dropped.
    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()>;

    /// Hands everything it holds to the next stage now, waits (until `deadline` at most) until the next stage has
    /// taken it, then flushes the next stage. Unlike `shutdown`, the stage keeps running.
    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()>;
}

/// Hands a batch held by a processor to the next stage. While the next stage refuses for lack of room it waits
/// for the stage to be [ready](Consumer::ready) and offers the batch again, until `deadline` is set and reached;
/// then, or on a permanent refusal, it counts the batch as dropped by `component`.
pub async fn deliver(
    next: &dyn Consumer,
    batch: Batch,
    deadline: &Deadline,
    dropped: &DropCounter,
    component: &str,
) {
    let mut batch = batch;
    loop {
        match next.consume(batch).await {
            Ok(()) | Err(Refused { batch: None, .. }) => return,
            Err(Refused {
                batch: Some(back),
                refusal,
            }) => {
                if refusal.kind == RefusalKind::Permanent {
                    dropped.add(back.signal(), back.item_count(), "refused_downstream");
                    tracing::error!(%component, items = back.item_count(), error = %refusal.message,
                        "the next stage refused a batch permanently; it is dropped");
                    return;
                }
                if deadline.has_passed() {
                    dropped.add(back.signal(), back.item_count(), "shutdown");
                    tracing::error!(%component, items = back.item_count(),
                        "shutdown deadline reached while the next stage was full: these items were not delivered");
                    return;
                }
                let items = back.item_count();
                batch = back;
                tokio::select! {
                    () = next.ready(items) => {}
                    () = deadline.reached() => {}
                }
            }
        }
    }
}
