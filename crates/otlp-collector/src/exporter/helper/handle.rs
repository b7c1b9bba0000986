//! One exporter serving one signal: its queue, the consumers draining it, retries, and the self-metrics.

use super::super::{Attempt, DynExport, ExportError, Exporter, Settled};
use super::HelperSettings;
use super::batcher::Batcher;
use super::breaker::Breaker;
use super::durable;
use super::outage::Outage;
use super::queue::{Queue, Taken};
use super::timeout::send_within;
use crate::component::StorageDirectory;
use crate::telemetry::{Counter, DropCounter, Histogram, Telemetry};
use crate::{Batch, Error, Signal};
use rand::Rng;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The shortest wait before a batch whose retries ran out goes back into a persistent queue.
const REQUEUE_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

pub(super) struct Counters {
    /// How long each send attempt took, in milliseconds, failed ones included.
    pub(super) send_latency: Histogram,
    pub(super) sent: Counter,
    pub(super) send_failed: DropCounter,
    pub(super) enqueue_failed: Counter,
    /// Items of a persistent queue whose retries ran out and that went back into it.
    requeued: Counter,
}

/// Items of one batch the helper gave up on, and why.
pub(crate) struct Undelivered {
    pub(crate) error: ExportError,
    /// The batch's items that were neither sent nor rejected by a destination.
    pub(crate) items: usize,
}

/// Batches being sent by the consumers, so that a shutdown cutting them short counts what their attempts settled
/// (parts already delivered) as sent, not lost.
#[derive(Default)]
struct InFlight {
    next: u64,
    attempts: std::collections::HashMap<u64, Arc<dyn Attempt>>,
}

/// One exporter serving one signal.
pub(crate) struct ExporterHandle {
    pub(crate) id: String,
    pub(super) signal: Signal,
    export: Arc<dyn DynExport>,
    pub(super) settings: HelperSettings,
    pub(super) counters: Counters,
    /// `None` when the queue is disabled: batches are then sent while the client waits.
    pub(super) queue: Option<Queue>,
    /// Stops calling a backend that fails too often, when the exporter asks for it.
    breaker: Option<Breaker>,
    /// After a failed send without a queue, when a refused batch is worth offering again.
    pub(super) retry_not_before: parking_lot::Mutex<Option<Instant>>,
    workers: parking_lot::Mutex<Vec<JoinHandle<()>>>,
    in_flight: parking_lot::Mutex<InFlight>,
    outage: Outage,
}

impl ExporterHandle {
    /// The handle of exporter `id` for `signal`; with `storage`, its queue is kept on disk there (and what an
    /// earlier run left in it is queued first).
    pub(crate) fn new(
        id: &str,
        signal: Signal,
        exporter: &Exporter,
        storage: Option<&StorageDirectory>,
        telemetry: &Telemetry,
    ) -> Result<Arc<Self>, Error> {
        let unit = signal.item_unit();
        let labels = [("exporter", id)];
        let counters = Counters {
            send_latency: telemetry.histogram(
                "otelcol_exporter_send_latency",
                "Time each send attempt took, in milliseconds (failed attempts included).",
                &labels,
                &crate::telemetry::LATENCY_BUCKETS_MS,
            ),
            sent: telemetry.counter(
                &format!("otelcol_exporter_sent_{unit}"),
                &format!("Number of {} successfully sent to destination.", unit.replace('_', " ")),
                &labels,
            ),
            send_failed: DropCounter::new(telemetry, "otelcol_exporter_send_failed", "exporter", id),
            enqueue_failed: telemetry.counter(
                &format!("otelcol_exporter_enqueue_failed_{unit}"),
                &format!(
                    "Number of {} refused because the sending queue was full (the client was told to retry).",
                    unit.replace('_', " ")
                ),
                &labels,
            ),
            requeued: telemetry.counter(
                &format!("otelcol_exporter_queue_requeued_{unit}"),
                &format!(
                    "Number of {} of the persistent queue whose retries ran out and that were queued again.",
                    unit.replace('_', " ")
                ),
                &labels,
            ),
        };
        let settings = exporter.settings.clone();
        let queue = if settings.queue.enabled {
            let queue = match storage {
                Some(storage) => durable::open(id, signal, storage, &settings.queue, telemetry)?,
                None => Queue::new(settings.queue.queue_size, settings.queue.sizer),
            };
            register_queue_metrics(telemetry, id, signal, &queue, settings.queue.queue_size);
            Some(queue)
        } else {
            None
        };
        let breaker = Breaker::new(&exporter.settings.circuit_breaker, telemetry, &labels);
        Ok(Arc::new(ExporterHandle {
            breaker,
            id: id.to_string(),
            signal,
            export: exporter.export.clone(),
            settings,
            counters,
            queue,
            retry_not_before: parking_lot::Mutex::new(None),
            workers: parking_lot::Mutex::new(Vec::new()),
            in_flight: parking_lot::Mutex::new(InFlight::default()),
            outage: Outage::default(),
        }))
    }

    /// Starts the queue consumers. Separate from `new` so that nothing runs until the whole graph is built.
    pub(crate) fn start(self: &Arc<Self>) {
        self.export.start();
        if self.queue.is_none() {
            return;
        }
        let batcher = self
            .settings
            .queue
            .batch
            .clone()
            .map(|config| Arc::new(Batcher::new(config)));
        let mut workers = self.workers.lock();
        for _ in 0..self.settings.queue.num_consumers {
            let this = Arc::clone(self);
            let batcher = batcher.clone();
            workers.push(tokio::spawn(async move {
                let Some(queue) = &this.queue else { return };
                // `pop` (and `gather`) end once the queue is closed and empty: that is the end of a drained
                // shutdown.
                match batcher {
                    None => {
                        while let Some(taken) = queue.pop().await {
                            this.deliver(queue, taken).await;
                        }
                    }
                    Some(batcher) => {
                        while let Some(gathered) = batcher.gather(queue).await {
                            this.deliver_gathered(queue, &batcher, gathered).await;
                        }
                    }
                }
            }));
        }
    }

    /// Sends one batch taken off the queue and settles it there.
    async fn deliver(&self, queue: &Queue, taken: Taken) {
        let Err(undelivered) = self.send_with_retry(&taken.batch).await else {
            queue.finish(taken);
            return;
        };
        let retryable = matches!(undelivered.error, ExportError::Retryable { .. });
        if !(retryable && taken.is_durable()) {
            self.count_failure(undelivered.items, &undelivered.error);
            queue.fail(taken, undelivered.error);
            return;
        }
        self.pause_before_requeue(undelivered.items, undelivered.error.message())
            .await;
        self.requeue(queue, taken);
    }

    /// Sends what a consumer gathered (merged, and split at `max_size`), part after part, and settles each batch
    /// taken off the queue: finished once all its items were sent, given up on (or, kept on disk and the failure
    /// retryable, queued again whole) otherwise.
    async fn deliver_gathered(&self, queue: &Queue, batcher: &Batcher, mut gathered: Vec<Taken>) {
        if gathered.len() == 1 && !batcher.splits(&gathered[0].batch) {
            if let Some(taken) = gathered.pop() {
                self.deliver(queue, taken).await;
            }
            return;
        }
        let mut sent = 0;
        let mut undelivered = 0;
        let mut failure = None;
        for part in batcher.assemble(&gathered) {
            let n = part.item_count();
            if failure.is_some() {
                undelivered += n;
                continue;
            }
            match self.send_with_retry(&Arc::new(part)).await {
                Ok(()) => sent += n,
                Err(part) => {
                    undelivered += part.items;
                    failure = Some(part.error);
                }
            }
        }
        let Some(error) = failure else {
            gathered.into_iter().for_each(|taken| queue.finish(taken));
            return;
        };
        // The parts go out in the order the batches were taken, so the first `sent` items are the delivered ones.
        let mut end = 0;
        let (done, unsent): (Vec<Taken>, Vec<Taken>) = gathered.into_iter().partition(|taken| {
            end += taken.batch.item_count();
            end <= sent
        });
        done.into_iter().for_each(|taken| queue.finish(taken));
        let retryable = matches!(error, ExportError::Retryable { .. });
        let (kept, lost): (Vec<Taken>, Vec<Taken>) = unsent
            .into_iter()
            .partition(|taken| retryable && taken.is_durable());
        let kept_items: usize = kept.iter().map(|taken| taken.batch.item_count()).sum();
        if !lost.is_empty() {
            // What the attempts settled of a batch that goes back whole was counted as sent; the rest of the
            // undelivered items belong to the batches given up on.
            self.count_failure(undelivered.saturating_sub(kept_items), &error);
            lost.into_iter()
                .for_each(|taken| queue.fail(taken, error.clone()));
        }
        if !kept.is_empty() {
            self.pause_before_requeue(kept_items, error.message()).await;
            kept.into_iter()
                .for_each(|taken| self.requeue(queue, taken));
        }
    }

    /// A persistent queue gives up on a batch only when the destination refuses it for good: the disk is where
    /// data waits out an outage (bounded by storage_max_bytes). One more backoff at the longest interval first,
    /// so that a batch without retries does not spin.
    async fn pause_before_requeue(&self, items: usize, error: &str) {
        tracing::warn!(exporter = %self.id, signal = %self.signal, items, error,
            "retries ran out; the batch goes back into the persistent queue");
        tokio::time::sleep(self.settings.retry.max_interval.max(REQUEUE_PAUSE)).await;
    }

    fn requeue(&self, queue: &Queue, taken: Taken) {
        let n = taken.batch.item_count();
        self.counters.requeued.add(n as u64);
        if !queue.requeue(taken) {
            tracing::info!(exporter = %self.id, items = n,
                "shutting down: the batch stays in the persistent queue for the next start");
        }
    }

    /// Counts items given up on: nothing will send them.
    pub(super) fn count_failure(&self, items: usize, error: &ExportError) {
        self.count_send_failed(items, error);
        tracing::error!(exporter = %self.id, signal = %self.signal, items, error = error.message(),
            "exporting failed; the data is dropped");
    }

    /// Counts items a send without a queue failed to deliver while the caller waited. They go back to the caller,
    /// for the client to send again or a `failover` connector to offer elsewhere: not dropped here.
    pub(super) fn count_handed_back(&self, items: usize, error: &ExportError) {
        self.count_send_failed(items, error);
        tracing::warn!(exporter = %self.id, signal = %self.signal, items, error = error.message(),
            "exporting failed; the data goes back to the caller (no sending queue)");
    }

    fn count_send_failed(&self, items: usize, error: &ExportError) {
        let reason = match error {
            ExportError::Retryable { .. } => "retries_exhausted",
            ExportError::Permanent { .. } | ExportError::TooLarge { .. } => "permanent_error",
        };
        self.counters.send_failed.add(self.signal, items, reason);
    }

    /// Sends the batch with the retry policy ([`Self::send_whole_with_retry`]); a batch the destination refuses as
    /// too large is sent again in halves, each halved again as needed, until a single item is too large. The
    /// halves go in order and a failed one ends the batch, so that, as for any failure, the items delivered are
    /// the first ones.
    pub(super) async fn send_with_retry(&self, batch: &Arc<Batch>) -> Result<(), Undelivered> {
        let n = batch.item_count();
        match self.send_whole_with_retry(batch).await {
            Err(Undelivered {
                error: ExportError::TooLarge { message },
                items,
            }) if items == n && n > 1 => {
                tracing::info!(exporter = %self.id, signal = %self.signal, items = n, error = %message,
                    "the destination refused the batch as too large; sending it in halves");
                let mut back = batch.share();
                let front = back.split_front(n / 2);
                let front_items = front.item_count();
                if let Err(failed) = Box::pin(self.send_with_retry(&Arc::new(front))).await {
                    return Err(Undelivered {
                        error: failed.error,
                        items: failed.items + (n - front_items),
                    });
                }
                Box::pin(self.send_with_retry(&Arc::new(back))).await
            }
            other => other,
        }
    }

    /// Prepares the batch once and sends it with the retry policy; counts what was sent and what the backend
    /// rejected in part. On failure, says how many items are left undelivered (all of them, unless the exporter
    /// settled parts of the batch before giving up: those are counted here as sent or rejected).
    async fn send_whole_with_retry(&self, batch: &Arc<Batch>) -> Result<(), Undelivered> {
        let n = batch.item_count();
        let attempt = self
            .export
            .prepare(batch)
            .map_err(|error| Undelivered { error, items: n })?;
        let key = {
            let mut in_flight = self.in_flight.lock();
            in_flight.next += 1;
            let key = in_flight.next;
            in_flight.attempts.insert(key, Arc::clone(&attempt));
            key
        };
        let result = self.retry(attempt.as_ref(), n).await;
        // No await from here to the caller's `queue.finish`: a shutdown aborting this task either finds the attempt
        // registered (and counts what it settled) or finds its items no longer held.
        self.in_flight.lock().attempts.remove(&key);
        result.map_err(|error| {
            let settled = attempt.settled();
            self.count_settled(settled, n);
            Undelivered {
                error,
                items: n.saturating_sub(settled.sent + settled.rejected),
            }
        })
    }

    async fn retry(&self, attempt: &dyn Attempt, n: usize) -> Result<(), ExportError> {
        let retry = &self.settings.retry;
        let started = Instant::now();
        let mut backoff = retry.start();
        loop {
            let outcome = match self.breaker.as_ref().map(Breaker::try_acquire) {
                // Open: this attempt fails at once, without calling the backend, and waits for the first probe.
                Some(Err(until_probe)) => Err(ExportError::Retryable {
                    message: "circuit breaker open: the backend failed too often".into(),
                    retry_after: Some(until_probe.max(Duration::from_millis(10))),
                }),
                permit => {
                    let attempt_started = Instant::now();
                    let outcome = send_within(self.settings.timeout, attempt).await;
                    self.counters
                        .send_latency
                        .record(attempt_started.elapsed().as_secs_f64() * 1000.0);
                    if let (Some(breaker), Some(Ok(permit))) = (&self.breaker, permit) {
                        let reached = !matches!(outcome, Err(ExportError::Retryable { .. }));
                        breaker.record(permit, reached);
                    }
                    outcome
                }
            };
            let error = match outcome {
                Ok(delivered) => {
                    if let Some(failed_attempts) = self.outage.succeeded() {
                        tracing::info!(exporter = %self.id, signal = %self.signal, failed_attempts,
                            "the destination takes data again");
                    }
                    let rejected = delivered.rejected.min(n);
                    self.counters.sent.add((n - rejected) as u64);
                    if rejected > 0 {
                        self.counters.send_failed.add(
                            self.signal,
                            rejected,
                            "rejected_by_destination",
                        );
                        tracing::warn!(exporter = %self.id, rejected, message = %delivered.message,
                            "the destination rejected part of a batch");
                    }
                    return Ok(());
                }
                Err(error) => error,
            };
            let outage_starts =
                matches!(error, ExportError::Retryable { .. }) && self.outage.failed();
            let jitter = rand::rng().random_range(-1.0..=1.0);
            let message = error.message().to_owned();
            let wait = retry.after_failure(&mut backoff, error, started.elapsed(), jitter)?;
            if outage_starts {
                tracing::warn!(exporter = %self.id, signal = %self.signal, error = %message, ?wait,
                    "export failed; retrying (until a send succeeds, further failures are logged at debug level)");
            } else {
                tracing::debug!(exporter = %self.id, error = %message, ?wait, "export failed; retrying");
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts the parts of an unfinished batch of `n` items that its attempts settled.
    fn count_settled(&self, settled: Settled, n: usize) {
        let sent = settled.sent.min(n);
        let rejected = settled.rejected.min(n - sent);
        self.counters.sent.add(sent as u64);
        self.counters
            .send_failed
            .add(self.signal, rejected, "rejected_by_destination");
    }

    /// Waits until this exporter's queue is empty and nothing is being sent, or `deadline`; true when drained.
    async fn drained(&self, deadline: Instant) -> bool {
        match &self.queue {
            Some(queue) => queue.held().wait_empty(deadline).await,
            None => true,
        }
    }

    /// Closes the queue, lets the consumers drain it until `deadline`, then counts what is left as dropped.
    async fn shutdown(&self, deadline: Instant) {
        if let Some(queue) = &self.queue {
            queue.close();
            let mut workers: Vec<JoinHandle<()>> = std::mem::take(&mut *self.workers.lock());
            let drained =
                tokio::time::timeout_at(deadline, futures::future::join_all(workers.iter_mut()))
                    .await;
            if drained.is_err() {
                // Consumers that finished were polled to completion above, and must not be polled again.
                let unfinished: Vec<JoinHandle<()>> =
                    workers.into_iter().filter(|w| !w.is_finished()).collect();
                for worker in &unfinished {
                    worker.abort();
                }
                // Aborted tasks end at their next await; once they have, no attempt changes what it settled.
                futures::future::join_all(unfinished).await;
                let settled: Vec<Settled> = std::mem::take(&mut self.in_flight.lock().attempts)
                    .into_values()
                    .map(|attempt| attempt.settled())
                    .collect();
                let abandoned = queue.abandon();
                if abandoned.kept > 0 {
                    tracing::info!(exporter = %self.id, signal = %self.signal, items = abandoned.kept,
                        "shutdown deadline reached: these items stay in the persistent queue for the next start");
                }
                let mut lost = abandoned.lost;
                for settled in settled {
                    let done = (settled.sent + settled.rejected).min(lost);
                    self.count_settled(settled, done);
                    lost -= done;
                }
                self.counters.send_failed.add(self.signal, lost, "shutdown");
                tracing::error!(exporter = %self.id, signal = %self.signal, items = lost,
                    "shutdown deadline reached: these items could not be delivered");
            }
        }
        self.flush_export().await;
        self.export.shutdown().await;
    }

    /// Where the exporter serves, when it does.
    pub(crate) fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.export.local_addr()
    }

    async fn flush_export(&self) {
        if let Err(e) = self.export.flush().await {
            tracing::error!(exporter = %self.id, error = e.message(), "flushing failed");
        }
    }
}

fn register_queue_metrics(
    telemetry: &Telemetry,
    id: &str,
    signal: Signal,
    queue: &Queue,
    capacity: usize,
) {
    let labels = [("exporter", id), ("data_type", signal.as_str())];
    let size = queue.size_reader();
    telemetry.gauge(
        "otelcol_exporter_queue_size",
        "Current size of the sending queue, in the units of its sizer (batches by default).",
        &labels,
        move || size() as u64,
    );
    telemetry.gauge(
        "otelcol_exporter_queue_capacity",
        "Fixed capacity of the sending queue, in the units of its sizer (batches by default).",
        &labels,
        move || capacity as u64,
    );
    let unit = signal.item_unit();
    let items = queue.queued_items();
    telemetry.gauge(
        &format!("otelcol_exporter_queue_{unit}"),
        &format!(
            "Current number of {} in the sending queue.",
            unit.replace('_', " ")
        ),
        &[("exporter", id)],
        move || items.load(Ordering::Relaxed) as u64,
    );
}

/// Waits until every exporter has sent what it holds (until `deadline`), then makes it durable; true when
/// everything was delivered.
pub(crate) async fn flush_all(exporters: &[Arc<ExporterHandle>], deadline: Instant) -> bool {
    let drained = futures::future::join_all(exporters.iter().map(|e| e.drained(deadline))).await;
    for exporter in exporters {
        exporter.flush_export().await;
    }
    drained.into_iter().all(|d| d)
}

/// Shuts down every exporter, each draining until `deadline`.
pub(crate) async fn shutdown_all(exporters: &[Arc<ExporterHandle>], deadline: Instant) {
    futures::future::join_all(exporters.iter().map(|e| e.shutdown(deadline))).await;
}
