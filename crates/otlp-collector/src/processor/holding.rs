//! The stage of processors that hold part of what they are given and send it on later (`logdedup`, `interval`,
//! `groupbytrace`): the rest of a batch passes on first, and only once the next stage took it is the held part
//! kept, so that a refusal hands the whole batch back with nothing kept; a task sends what falls due; a flush
//! or shutdown sends everything held first. What is held differs; that is the [`Hold`].

use crate::Batch;
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::DropCounter;
use crate::wait::{Deadline, Driver};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a holding processor keeps and when it lets it go.
pub(crate) trait Hold: Send + Sync + 'static {
    /// The part of a batch to keep.
    type Taken: Send + 'static;

    /// Splits `batch` into what passes on at once (empty when nothing does) and what to keep; a batch the
    /// processor does not hold any of (another signal) comes back as `Err`, to pass on whole.
    fn split(&self, batch: Batch) -> Result<(Batch, Self::Taken), Batch>;

    /// Keeps `taken`; what must go on at once to make room comes back.
    fn hold(&self, taken: Self::Taken) -> Vec<Batch>;

    /// What is due at `now` (everything held, with `None`), as one batch.
    fn due(&self, now: Option<Instant>) -> Option<Batch>;

    /// When something next falls due; `None` while that depends on what comes.
    fn next_due(&self) -> Option<Instant>;

    /// Whether no part of a batch ever passes on at once, so that a refusal cannot happen and the batch need
    /// not be kept to hand back.
    fn holds_everything(&self) -> bool {
        false
    }
}

struct Shared<H> {
    hold: H,
    id: String,
    next: Arc<dyn Consumer>,
    dropped: DropCounter,
    /// Wakes the sender: something was kept (the next due time may be earlier), a shutdown.
    wake: Notify,
    closing: AtomicBool,
    deadline: Deadline,
}

impl<H: Hold> Shared<H> {
    async fn send(&self, batch: Batch) {
        deliver(
            self.next.as_ref(),
            batch,
            &self.deadline,
            &self.dropped,
            &self.id,
        )
        .await;
    }

    async fn send_due(&self, now: Option<Instant>) {
        if let Some(batch) = self.hold.due(now) {
            self.send(batch).await;
        }
    }
}

/// The stage of `hold`, in front of `next`; `dropped` counts what the next stage refuses for good.
pub(crate) fn holding_stage<H: Hold>(
    hold: H,
    id: &str,
    dropped: DropCounter,
    next: Arc<dyn Consumer>,
) -> Arc<dyn Consumer> {
    let shared = Arc::new(Shared {
        hold,
        id: id.to_owned(),
        next,
        dropped,
        wake: Notify::new(),
        closing: AtomicBool::new(false),
        deadline: Deadline::new(),
    });
    Arc::new(Holding {
        sender: Driver::spawn(send_loop(Arc::clone(&shared))),
        shared,
    })
}

async fn send_loop<H: Hold>(shared: Arc<Shared<H>>) {
    loop {
        let due = shared.hold.next_due();
        let sleep = async {
            match due {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shared.wake.notified() => {}
            () = sleep => {}
        }
        if shared.closing.load(Ordering::SeqCst) {
            shared.send_due(None).await;
            return;
        }
        shared.send_due(Some(Instant::now())).await;
    }
}

struct Holding<H> {
    shared: Arc<Shared<H>>,
    sender: Driver,
}

impl<H: Hold> Consumer for Holding<H> {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        if shared.closing.load(Ordering::SeqCst) {
            let refused = Refused::returning(Refusal::shutting_down(&shared.id), batch);
            return Box::pin(async { Err(refused) });
        }
        // Kept to hand back untouched should the next stage refuse what passes on: nothing is kept then either.
        let original = (!shared.hold.holds_everything()).then(|| batch.share());
        let (rest, taken) = match shared.hold.split(batch) {
            Ok(split) => split,
            Err(other) => return shared.next.consume(other),
        };
        Box::pin(async move {
            let mut outcome = Ok(());
            if !rest.is_empty() {
                match shared.next.consume(rest).await {
                    Ok(()) => {}
                    Err(Refused {
                        refusal,
                        batch: Some(back),
                    }) => return Err(Refused::returning(refusal, original.unwrap_or(back))),
                    Err(taken) => outcome = Err(taken),
                }
            }
            let at_once = shared.hold.hold(taken);
            shared.wake.notify_one();
            for batch in at_once {
                shared.send(batch).await;
            }
            outcome
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        self.shared.next.ready(items)
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.shared.send_due(None).await;
            self.shared.next.flush(deadline).await;
        })
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            shared.deadline.set(deadline);
            shared.closing.store(true, Ordering::SeqCst);
            shared.wake.notify_one();
            self.sender.stop(deadline).await;
            shared.next.shutdown(deadline).await;
        })
    }
}
