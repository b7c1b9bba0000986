//! Exporters, and otelcol's exporter helper around each: a bounded sending queue drained by a pool of consumers,
//! retry with exponential backoff, and per-attempt timeouts.

pub(crate) mod arrow_file;
pub(crate) mod arrow_flight;
pub(crate) mod debug;
pub(crate) mod file;
pub(crate) mod otlp;

use crate::config::de;
use crate::pipeline::{BoxFuture, Consumer, Refusal, RefusalKind, Refused};
use crate::telemetry::{Counter, DropCounter, Telemetry};
use crate::{Batch, Signal};
use rand::Rng;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What came of one export attempt that did not fail as a whole.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    /// Items the backend refused while accepting the rest (OTLP partial success).
    pub(crate) rejected: usize,
    /// The backend's explanation for `rejected`.
    pub(crate) message: String,
}

/// Why an export attempt failed.
#[derive(Debug, Clone)]
pub(crate) enum ExportError {
    /// Worth trying again, after `retry_after` if the backend said so.
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Trying again cannot help (bad data, bad credentials, a 4xx).
    Permanent { message: String },
}

impl ExportError {
    pub(crate) fn retryable(message: impl Into<String>) -> Self {
        ExportError::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        ExportError::Permanent {
            message: message.into(),
        }
    }

    fn message(&self) -> &str {
        match self {
            ExportError::Retryable { message, .. } | ExportError::Permanent { message } => message,
        }
    }
}

/// A destination for batches of any signal. One instance serves every pipeline that names the exporter.
pub(crate) trait Export: Send + Sync + 'static {
    /// Sends one batch. It is shared (`Arc`) because one batch goes to every exporter of a pipeline, and an
    /// exporter may need to move it to a blocking thread.
    fn export<'a>(&'a self, batch: &'a Arc<Batch>)
    -> BoxFuture<'a, Result<Delivered, ExportError>>;

    /// Makes everything exported so far durable (files: flush and sync). Called once at shutdown.
    fn flush(&self) -> BoxFuture<'_, Result<(), ExportError>> {
        Box::pin(async { Ok(()) })
    }
}

/// otelcol's `sending_queue` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Queue batches and send them from background consumers (`true`), or send while the client waits.
    pub enabled: bool,
    /// How many batches are sent at once.
    pub num_consumers: usize,
    /// How many batches the queue holds; when it is full, receivers refuse with a retryable error.
    pub queue_size: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
        }
    }
}

/// otelcol's `retry_on_failure` settings: exponential backoff with jitter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retry retryable failures at all.
    pub enabled: bool,
    /// Wait before the first retry.
    #[serde(deserialize_with = "de::duration")]
    pub initial_interval: Duration,
    /// Each wait is randomised by ± this fraction.
    pub randomization_factor: f64,
    /// Each wait is this many times the previous one.
    pub multiplier: f64,
    /// No wait is longer than this.
    #[serde(deserialize_with = "de::duration")]
    pub max_interval: Duration,
    /// Give up on a batch after trying for this long (0: never).
    #[serde(deserialize_with = "de::duration")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            enabled: true,
            initial_interval: Duration::from_secs(5),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.randomization_factor) {
            return Err("retry_on_failure.randomization_factor must be between 0 and 1".into());
        }
        if self.multiplier < 1.0 || !self.multiplier.is_finite() {
            return Err("retry_on_failure.multiplier must be at least 1".into());
        }
        Ok(())
    }
}

impl QueueConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.enabled && (self.queue_size == 0 || self.num_consumers == 0) {
            return Err(
                "sending_queue.queue_size and sending_queue.num_consumers must be positive".into(),
            );
        }
        Ok(())
    }
}

/// The exporter helper settings shared by the network exporters.
#[derive(Debug, Clone)]
pub(crate) struct HelperSettings {
    pub(crate) queue: QueueConfig,
    pub(crate) retry: RetryConfig,
    pub(crate) timeout: Duration,
}

struct Counters {
    sent: Counter,
    send_failed: DropCounter,
    enqueue_failed: Counter,
}

/// One exporter serving one signal: the queue, its consumers and the counters.
pub(crate) struct ExporterHandle {
    id: String,
    signal: Signal,
    export: Arc<dyn Export>,
    settings: HelperSettings,
    counters: Arc<Counters>,
    queue: Option<Queue>,
}

/// A bounded queue drained by several consumers. Capacity is a semaphore rather than the channel's own bound so
/// that a pipeline can reserve a slot in every exporter's queue before it commits a batch to any of them.
struct Queue {
    tx: async_channel::Sender<Queued>,
    rx: async_channel::Receiver<Queued>,
    slots: Arc<Semaphore>,
    /// Items currently inside an export call, so that a shutdown cut short can say how many it lost.
    in_flight: Arc<AtomicUsize>,
    queued_items: Arc<AtomicUsize>,
    workers: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

/// A queued batch holds its slot until a consumer takes it off the queue.
struct Queued {
    batch: Arc<Batch>,
    _slot: OwnedSemaphorePermit,
}

impl ExporterHandle {
    pub(crate) fn new(
        id: &str,
        signal: Signal,
        export: Arc<dyn Export>,
        settings: HelperSettings,
        telemetry: &Telemetry,
    ) -> Arc<Self> {
        let unit = signal.item_unit();
        let labels = [("exporter", id)];
        let counters = Arc::new(Counters {
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
        });
        let queue = settings.queue.enabled.then(|| {
            let (tx, rx) = async_channel::unbounded();
            let queue = Queue {
                tx,
                rx,
                slots: Arc::new(Semaphore::new(settings.queue.queue_size)),
                in_flight: Arc::new(AtomicUsize::new(0)),
                queued_items: Arc::new(AtomicUsize::new(0)),
                workers: parking_lot::Mutex::new(Vec::new()),
            };
            let labels = [("exporter", id), ("data_type", signal.as_str())];
            let rx = queue.rx.clone();
            telemetry.gauge(
                "otelcol_exporter_queue_size",
                "Current number of batches in the sending queue.",
                &labels,
                move || rx.len() as u64,
            );
            let capacity = settings.queue.queue_size as u64;
            telemetry.gauge(
                "otelcol_exporter_queue_capacity",
                "Fixed capacity of the sending queue, in batches.",
                &labels,
                move || capacity,
            );
            let queued = queue.queued_items.clone();
            telemetry.gauge(
                &format!("otelcol_exporter_queue_{unit}"),
                &format!(
                    "Current number of {} in the sending queue.",
                    unit.replace('_', " ")
                ),
                &[("exporter", id)],
                move || queued.load(Ordering::Relaxed) as u64,
            );
            queue
        });
        Arc::new(ExporterHandle {
            id: id.to_string(),
            signal,
            export,
            settings,
            counters,
            queue,
        })
    }

    /// Starts the queue consumers. Separate from `new` so that nothing runs until the whole graph is built.
    pub(crate) fn start(self: &Arc<Self>) {
        let Some(queue) = &self.queue else { return };
        let mut workers = queue.workers.lock();
        for _ in 0..self.settings.queue.num_consumers {
            let this = Arc::clone(self);
            let rx = queue.rx.clone();
            workers.push(tokio::spawn(async move {
                // recv fails once the queue is closed and empty: that is the end of a drained shutdown.
                while let Ok(Queued { batch, _slot }) = rx.recv().await {
                    drop(_slot);
                    this.send_queued(batch).await;
                }
            }));
        }
    }

    async fn send_queued(&self, batch: Arc<Batch>) {
        let Some(queue) = &self.queue else { return };
        let n = batch.item_count();
        queue.in_flight.fetch_add(n, Ordering::SeqCst);
        queue.queued_items.fetch_sub(n, Ordering::SeqCst);
        if let Err(e) = self.send_with_retry(&batch).await {
            self.counters
                .send_failed
                .add(self.signal, n, failure_reason(&e));
            tracing::error!(exporter = %self.id, signal = %self.signal, items = n, error = e.message(),
                "exporting failed; the data is dropped");
        }
        queue.in_flight.fetch_sub(n, Ordering::SeqCst);
    }

    /// Exports with otelcol's retry semantics; counts what was sent and what the backend rejected in part.
    async fn send_with_retry(&self, batch: &Arc<Batch>) -> Result<(), ExportError> {
        let retry = &self.settings.retry;
        let started = Instant::now();
        let mut interval = retry.initial_interval;
        loop {
            let attempt =
                tokio::time::timeout(self.settings.timeout, self.export.export(batch)).await;
            let error = match attempt {
                Ok(Ok(delivered)) => {
                    let n = batch.item_count();
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
                Ok(Err(e)) => e,
                Err(_) => ExportError::retryable(format!(
                    "no answer within the timeout of {:?}",
                    self.settings.timeout
                )),
            };
            let ExportError::Retryable { retry_after, .. } = &error else {
                return Err(error);
            };
            if !retry.enabled {
                return Err(error);
            }
            let jitter = if retry.randomization_factor > 0.0 {
                rand::rng().random_range(-retry.randomization_factor..=retry.randomization_factor)
            } else {
                0.0
            };
            let backoff = interval.mul_f64(1.0 + jitter);
            // A throttling hint from the destination replaces our own schedule, as in otelcol.
            let wait = retry_after.unwrap_or(backoff);
            if !retry.max_elapsed_time.is_zero()
                && started.elapsed() + wait > retry.max_elapsed_time
            {
                return Err(ExportError::permanent(format!(
                    "gave up after {:?} of retries: {}",
                    started.elapsed(),
                    error.message()
                )));
            }
            tracing::debug!(exporter = %self.id, error = error.message(), ?wait, "export failed; retrying");
            tokio::time::sleep(wait).await;
            interval = interval.mul_f64(retry.multiplier).min(retry.max_interval);
        }
    }

    /// Closes the queue, lets the consumers drain it until `deadline`, then counts what is left as dropped.
    async fn shutdown(&self, deadline: Instant) {
        if let Some(queue) = &self.queue {
            queue.tx.close();
            let workers: Vec<JoinHandle<()>> = std::mem::take(&mut *queue.workers.lock());
            let abort_handles: Vec<_> = workers.iter().map(JoinHandle::abort_handle).collect();
            let drained =
                tokio::time::timeout_at(deadline, futures::future::join_all(workers)).await;
            if drained.is_err() {
                for handle in abort_handles {
                    handle.abort();
                }
                let mut lost = queue.in_flight.swap(0, Ordering::SeqCst);
                while let Ok(queued) = queue.rx.try_recv() {
                    lost += queued.batch.item_count();
                    queue
                        .queued_items
                        .fetch_sub(queued.batch.item_count(), Ordering::SeqCst);
                }
                self.counters.send_failed.add(self.signal, lost, "shutdown");
                tracing::error!(exporter = %self.id, signal = %self.signal, items = lost,
                    "shutdown deadline reached: these items could not be delivered");
            }
        }
        if let Err(e) = self.export.flush().await {
            tracing::error!(exporter = %self.id, error = e.message(), "flushing at shutdown failed");
        }
    }
}

fn failure_reason(error: &ExportError) -> &'static str {
    match error {
        ExportError::Retryable { .. } => "retries_exhausted",
        ExportError::Permanent { .. } => "permanent_error",
    }
}

/// The end of a pipeline: every batch goes to every exporter, or to none.
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
            let mut permits = Vec::with_capacity(self.exporters.len());
            for exporter in &self.exporters {
                let Some(queue) = &exporter.queue else {
                    continue;
                };
                match queue.slots.clone().try_acquire_owned() {
                    Ok(slot) => permits.push((exporter, queue, slot)),
                    Err(_) => {
                        exporter
                            .counters
                            .enqueue_failed
                            .add(batch.item_count() as u64);
                        return Err(Refused::returning(
                            Refusal::backpressure(format!(
                                "sending queue of exporter {} is full",
                                exporter.id
                            )),
                            batch,
                        ));
                    }
                }
            }
            // Exporters without a queue send while the client waits; their failure is the client's to retry.
            let n = batch.item_count();
            let batch = Arc::new(batch);
            for exporter in self.exporters.iter().filter(|e| e.queue.is_none()) {
                if let Err(e) = exporter.send_with_retry(&batch).await {
                    exporter
                        .counters
                        .send_failed
                        .add(exporter.signal, n, failure_reason(&e));
                    let kind = match e {
                        ExportError::Retryable { .. } => RefusalKind::Unavailable,
                        ExportError::Permanent { .. } => RefusalKind::Permanent,
                    };
                    // Nothing was queued yet, so this is the only reference and no copy is made.
                    let batch = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
                    return Err(Refused::returning(
                        Refusal {
                            kind,
                            retry_after: Duration::from_secs(1),
                            message: format!("exporter {}: {}", exporter.id, e.message()),
                        },
                        batch,
                    ));
                }
            }
            for (exporter, queue, slot) in permits {
                queue.queued_items.fetch_add(n, Ordering::SeqCst);
                let item = Queued {
                    batch: Arc::clone(&batch),
                    _slot: slot,
                };
                if let Err(closed) = queue.tx.try_send(item) {
                    // Only a shutdown closes the queue, and receivers stop before pipelines drain: this batch
                    // arrived in between, so it is counted rather than lost silently.
                    let lost = closed.into_inner().batch.item_count();
                    queue.queued_items.fetch_sub(lost, Ordering::SeqCst);
                    exporter
                        .counters
                        .send_failed
                        .add(exporter.signal, lost, "shutdown");
                    tracing::error!(exporter = %exporter.id, items = lost, "a batch reached an exporter after its queue closed");
                }
            }
            Ok(())
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

impl ExporterHandle {
    /// Waits until this exporter's queue is empty and nothing is being sent, or `deadline`; true when drained.
    async fn drained(&self, deadline: Instant) -> bool {
        let Some(queue) = &self.queue else {
            return true;
        };
        loop {
            let idle = queue.queued_items.load(Ordering::SeqCst) == 0
                && queue.in_flight.load(Ordering::SeqCst) == 0;
            if idle {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Waits until every exporter has sent what it holds (until `deadline`), then makes it durable; true when
/// everything was delivered.
pub(crate) async fn flush_all(exporters: &[Arc<ExporterHandle>], deadline: Instant) -> bool {
    let drained = futures::future::join_all(exporters.iter().map(|e| e.drained(deadline))).await;
    for exporter in exporters {
        if let Err(e) = exporter.export.flush().await {
            tracing::error!(exporter = %exporter.id, error = e.message(), "flushing failed");
        }
    }
    drained.into_iter().all(|d| d)
}

/// Shuts down every exporter, each draining until `deadline`.
pub(crate) async fn shutdown_all(exporters: &[Arc<ExporterHandle>], deadline: Instant) {
    futures::future::join_all(exporters.iter().map(|e| e.shutdown(deadline))).await;
}
