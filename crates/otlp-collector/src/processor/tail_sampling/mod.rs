//! The `tail_sampling` processor: otelcol's config and semantics, on `otlp_sampling`'s engine.
//!
//! Spans are held per trace until `decision_wait` after the trace's first span, then the policies decide; late
//! spans follow the cached decision. What is not sampled, and what the engine evicts to stay within `num_traces`
//! (and `max_buffered_bytes`), is counted in `otelcol_processor_dropped_spans` with the engine's reason.
//!
//! Sampled spans leave as bytes: the engine writes the records it buffered (as received) between their resource's
//! and scope's encoded headers, so an `otlp` exporter sends them without encoding them again and the file exporters
//! read them in place. Encoding decoded spans back cost as much CPU as the decoding the policies need.

use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::{Counter, DropCounter, Telemetry};
use crate::wait::{Changed, Deadline, Driver, Outstanding};
use crate::{Batch, Signal};
use otlp_model::ExportTraceServiceRequest;
use otlp_sampling::tail::{Decisions, ReleaseFormat, TailSampler, TailSamplingConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

mod handover;
mod ottl_condition;

use handover::HandOver;
use ottl_condition::OttlConditions;

/// The `tail_sampling` processor type (traces only).
pub struct Factory;

impl Component for Factory {
    type Config = TailSamplingConfig;
    const TYPE: &'static str = "tail_sampling";

    /// Checks the config the way starting would, so a bad policy is a config error, not a start failure.
    fn validate(&self, config: &TailSamplingConfig) -> Result<(), Invalid> {
        TailSampler::with_conditions(config.clone(), &OttlConditions)
            .map(|_| ())
            .map_err(|e| Invalid::from(e.to_string()))
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    fn build(
        &self,
        config: &TailSamplingConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let processor =
            TailSamplingProcessor::start(context.id, config.clone(), context.telemetry, next)?;
        Ok(Arc::new(processor))
    }
}

/// Released spans waiting for the next stage beyond this many make the processor refuse new data, so a blocked
/// exporter pushes back on clients instead of growing this buffer.
const OUTBOX_CAPACITY: usize = 65_536;

/// Decisions are due `decision_wait` after a trace starts; ticking at a tenth of that keeps them within 10% of
/// due, and this bound keeps short waits from spinning.
const SHORTEST_TICK: Duration = Duration::from_millis(5);

/// A tick hands all it released to the next stage at once, so a longer tick means a bigger burst: at 200 ms (a
/// tenth of a 2 s wait) a tick under `loadgen --max` released about a dozen 1 MB requests, more than the
/// sampler's pool of request buffers holds, and the kernel faulted in fresh pages for the rest. Measured on the
/// release binary, tail-sampling config, `decision_wait: 2s`, five alternating pairs: minor page faults per span
/// 0.084–0.089 with 200 ms ticks, 0.019–0.023 with 50 ms; CPU-seconds per million spans 2.46–3.37 (median 2.87)
/// against 2.28–3.17 (median 2.54); peak resident memory 118–126 MB against 107–117 MB. Counting only the send,
/// as the collector_e2e bench does (seven more pairs), the medians were 2.70 and 2.62: less than the faults
/// suggest on a host this noisy. The load generator's p99 latency rose from 3.0–3.8 to 5.1–5.6 ms (more, shorter
/// holds of the engine) and its worst fell from 31–37 to 11–15 ms. An idle sampler wakes 20 times a second.
const LONGEST_TICK: Duration = Duration::from_millis(50);

struct Shared {
    id: String,
    engine: HandOver<TailSampler, Batch>,
    outbox: parking_lot::Mutex<Batch>,
    /// Released spans in the outbox or being handed to the next stage: what a flush waits for.
    released: Outstanding,
    wake: Notify,
    /// Told whenever the outbox is emptied, for stages waiting to offer more.
    room: Changed,
    closing: AtomicBool,
    /// Set by shutdown once every pending trace is decided into the outbox. The driver stops only after this
    /// (and an empty outbox): stopping on `closing` alone could race the final decisions and strand them.
    decided_all: AtomicBool,
    deadline: Deadline,
    tick: Duration,
    next: Arc<dyn Consumer>,
    dropped: DropCounter,
    /// Traces an `ottl_condition` policy could not judge (`error_mode: propagate`).
    condition_errors: Counter,
}

impl Shared {
    /// Ingests one batch that arrived at `now`: encoded requests as received, decoded ones cleaned first.
    fn ingest(&self, engine: &mut TailSampler, batch: Batch, now: std::time::Instant) {
        let (signal, items) = (batch.signal(), batch.item_count());
        if let Some(requests) = batch.encoded() {
            // Spans stay as received until their trace is decided; only then are they decoded.
            for request in requests {
                match engine.ingest_encoded(request, now) {
                    Ok(decisions) => self.absorb(decisions),
                    // The receiver checked these bytes as prost would, so this is not expected; count, never lose
                    // silently.
                    Err(error) => {
                        tracing::warn!(processor = %self.id, %error, "tail_sampling: undecodable request");
                        let spans =
                            otlp_model::wire::scan(signal, request).map_or(0, |scan| scan.items);
                        self.dropped.add(signal, spans, "malformed");
                    }
                }
            }
            return;
        }
        match batch
            .into_request()
            .into_request::<ExportTraceServiceRequest>()
        {
            Ok(mut request) => {
                // A processor before this one may have left spans a receiver would have refused; released as bytes
                // they would reach exporters that read encoded spans as checked.
                if let Some(rejected) = otlp_model::OtlpRequest::remove_invalid(&mut request) {
                    self.dropped
                        .add(signal, rejected.items as usize, "invalid_ids");
                }
                let decisions = engine.ingest(request.resource_spans, now);
                self.absorb(decisions);
            }
            // Config validation keeps tail_sampling out of metrics and logs pipelines; count, never lose.
            Err(_) => self.dropped.add(signal, items, "unsupported_signal"),
        }
    }

    /// Runs `work` on the engine once every batch offered before it is ingested.
    fn with_engine<R>(&self, work: impl FnOnce(&mut TailSampler) -> R) -> R {
        self.engine
            .with(&|engine, batch, now| self.ingest(engine, batch, now), work)
    }

    /// Counts the engine's drops and queues its released spans for the next stage.
    fn absorb(&self, decisions: Decisions) {
        if decisions.condition_errors > 0 {
            self.condition_errors.add(decisions.condition_errors);
        }
        for (reason, spans) in decisions.dropped.iter() {
            self.dropped
                .add(Signal::Traces, spans as usize, reason.as_str());
        }
        if decisions.released_spans > 0 {
            let mut outbox = self.outbox.lock();
            for request in decisions.released_encoded {
                // The engine releases encoded (set in `start`); its bytes are records of requests the receivers
                // checked as `Batch::from_encoded` asks, or of decoded spans cleaned in `consume`.
                let released =
                    Batch::from_encoded(Signal::Traces, request.bytes, request.spans as usize);
                self.released.add(released.item_count());
                // Both are traces batches, so append cannot hand anything back.
                let _ = outbox.append(released);
            }
            drop(outbox);
            self.wake.notify_one();
        }
    }
}

struct TailSamplingProcessor {
    shared: Arc<Shared>,
    driver: Driver,
}

impl TailSamplingProcessor {
    fn start(
        id: &str,
        config: TailSamplingConfig,
        telemetry: &Telemetry,
        next: Arc<dyn Consumer>,
    ) -> Result<Self, String> {
        let tick = (config.decision_wait / 10).clamp(SHORTEST_TICK, LONGEST_TICK);
        let engine = TailSampler::with_conditions(config, &OttlConditions)
            .map_err(|e| e.to_string())?
            .with_release_format(ReleaseFormat::Encoded);
        let shared = Arc::new(Shared {
            id: id.to_string(),
            engine: HandOver::new(engine),
            outbox: parking_lot::Mutex::new(Batch::empty(Signal::Traces)),
            released: Outstanding::new(),
            wake: Notify::new(),
            room: Changed::new(),
            closing: AtomicBool::new(false),
            decided_all: AtomicBool::new(false),
            deadline: Deadline::new(),
            tick,
            next,
            dropped: DropCounter::new(telemetry, "otelcol_processor_dropped", "processor", id),
            condition_errors: telemetry.counter(
                "otelcol_processor_tail_sampling_sampling_policy_evaluation_error",
                "Times an ottl_condition policy could not judge a trace (error_mode: propagate) and did not sample it.",
                &[("processor", id)],
            ),
        });
        let reader = Arc::downgrade(&shared);
        telemetry.gauge(
            "otelcol_processor_tail_sampling_buffered_spans",
            "Spans held by the tail sampler until their trace is decided.",
            &[("processor", id)],
            move || {
                reader
                    .upgrade()
                    .map_or(0, |s| s.engine.peek(TailSampler::buffered_spans))
            },
        );
        let driver = Driver::spawn(drive(shared.clone()));
        Ok(TailSamplingProcessor { shared, driver })
    }
}

/// Decides due traces on every tick and hands what is released to the next stage.
async fn drive(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(shared.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let decisions = shared.with_engine(|engine| engine.tick(std::time::Instant::now()));
                shared.absorb(decisions);
            }
            () = shared.wake.notified() => {}
        }
        let outgoing = std::mem::replace(&mut *shared.outbox.lock(), Batch::empty(Signal::Traces));
        shared.room.notify();
        if !outgoing.is_empty() {
            let n = outgoing.item_count();
            deliver(
                shared.next.as_ref(),
                outgoing,
                &shared.deadline,
                &shared.dropped,
                &shared.id,
            )
            .await;
            shared.released.sub(n);
        }
        if shared.decided_all.load(Ordering::SeqCst) && shared.outbox.lock().is_empty() {
            return;
        }
    }
}

impl Consumer for TailSamplingProcessor {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        let result = if shared.closing.load(Ordering::SeqCst) {
            Err(Refused::returning(
                Refusal::shutting_down(&shared.id),
                batch,
            ))
        } else if shared.outbox.lock().item_count() >= OUTBOX_CAPACITY {
            Err(Refused::returning(
                Refusal::backpressure(format!(
                    "{}: sampled spans are waiting for the next stage",
                    shared.id
                )),
                batch,
            ))
        } else {
            let spans = batch.item_count();
            shared.engine.offer(
                batch,
                spans,
                std::time::Instant::now(),
                &|engine, batch, now| shared.ingest(engine, batch, now),
            );
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn ready(&self, _items: usize) -> BoxFuture<'_, ()> {
        let shared = &self.shared;
        Box::pin(shared.room.wait_until(move || {
            shared.closing.load(Ordering::SeqCst)
                || shared.outbox.lock().item_count() < OUTBOX_CAPACITY
        }))
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        // Undecided traces stay: deciding them early would change what the policies see. Released spans go on.
        Box::pin(async move {
            self.shared.wake.notify_one();
            self.shared.released.wait_empty(deadline).await;
            self.shared.next.flush(deadline).await;
        })
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            shared.deadline.set(deadline);
            shared.closing.store(true, Ordering::SeqCst);
            shared.room.notify();
            // Traces still waiting are decided now rather than lost: their policies see what has arrived. Unless the
            // config says a decision on part of a trace is worse than none.
            let decisions = shared.with_engine(|engine| {
                if engine.config().drop_pending_traces_on_shutdown {
                    engine.drop_pending()
                } else {
                    engine.flush(std::time::Instant::now())
                }
            });
            shared.absorb(decisions);
            shared.decided_all.store(true, Ordering::SeqCst);
            shared.wake.notify_one();
            self.driver.stop(deadline).await;
            let left = std::mem::replace(&mut *shared.outbox.lock(), Batch::empty(Signal::Traces));
            shared
                .dropped
                .add(Signal::Traces, left.item_count(), "shutdown");
            shared.released.clear();
            shared.next.shutdown(deadline).await;
        })
    }
}
