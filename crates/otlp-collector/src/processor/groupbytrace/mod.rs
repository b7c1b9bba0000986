//! The `groupbytrace` processor (otelcol-contrib's): the spans of each trace gathered for `wait_duration` from its
//! first span, then sent on together, so that what follows (a per-trace decision, a per-trace metric) sees whole
//! traces.
//!
//! ```yaml
//! processors:
//!   groupbytrace:
//!     wait_duration: 10s
//!     num_traces: 100000
//! ```
//!
//! Spans of a trace already sent on start a new wait, as otelcol's. At most `num_traces` traces wait: when one more
//! comes, the oldest is sent on at once, counted in `otelcol_processor_groupbytrace_traces_evicted` (otelcol
//! deletes it; here nothing is lost). The traces falling due together go on in one batch, each whole in it, where
//! otelcol sends each alone. Spans without a trace id pass on at once. What waits when the collector stops or
//! flushes is sent first. `num_workers` is taken and has no effect: one task sends, and gathering is a map insert.

mod traces;

use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::de;
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::DropCounter;
use crate::wait::{Deadline, Driver};
use crate::{AnyRequest, Batch, Signal};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use traces::Traces;

/// The `groupbytrace` processor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupByTraceConfig {
    /// How long a trace waits for its spans, from its first.
    #[serde(deserialize_with = "de::duration")]
    pub wait_duration: Duration,
    /// The most traces waiting at once.
    pub num_traces: usize,
    /// otelcol's worker count; taken, without effect.
    pub num_workers: usize,
}

impl Default for GroupByTraceConfig {
    fn default() -> Self {
        GroupByTraceConfig {
            wait_duration: Duration::from_secs(1),
            num_traces: 1_000_000,
            num_workers: 1,
        }
    }
}

/// The `groupbytrace` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = GroupByTraceConfig;
    const TYPE: &'static str = "groupbytrace";

    fn validate(&self, config: &GroupByTraceConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if config.wait_duration.is_zero() {
            problems.push(Invalid::at("wait_duration", "must be more than 0s"));
        }
        if config.num_traces == 0 {
            problems.push(Invalid::at("num_traces", "must be at least 1"));
        }
        if config.num_workers == 0 {
            problems.push(Invalid::at("num_workers", "must be at least 1"));
        }
        Invalid::all(problems)
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    fn build(
        &self,
        config: &GroupByTraceConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let shared = Arc::new(Shared {
            id: context.id.to_owned(),
            wait: config.wait_duration,
            most: config.num_traces,
            traces: parking_lot::Mutex::new(Traces::default()),
            evicted: context.telemetry.counter(
                "otelcol_processor_groupbytrace_traces_evicted",
                "Traces sent on before their wait ended, to make room for newer ones.",
                &[("processor", context.id)],
            ),
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            deadline: Deadline::new(),
            dropped: DropCounter::new(
                context.telemetry,
                "otelcol_processor_dropped",
                "processor",
                context.id,
            ),
            next,
        });
        Ok(Arc::new(GroupByTrace {
            sender: Driver::spawn(send_loop(shared.clone())),
            shared,
        }))
    }
}

struct Shared {
    id: String,
    wait: Duration,
    most: usize,
    traces: parking_lot::Mutex<Traces>,
    evicted: crate::telemetry::Counter,
    wake: Notify,
    closing: AtomicBool,
    deadline: Deadline,
    dropped: DropCounter,
    next: Arc<dyn Consumer>,
}

impl Shared {
    /// Sends on the traces due by `now` (all of them with `None`).
    async fn send_due(&self, now: Option<Instant>) {
        let (request, traces) = self.traces.lock().take_due(now);
        if traces > 0 {
            self.send(request).await;
        }
    }

    async fn send(&self, request: ExportTraceServiceRequest) {
        deliver(
            self.next.as_ref(),
            Batch::new(request),
            &self.deadline,
            &self.dropped,
            &self.id,
        )
        .await;
    }
}

async fn send_loop(shared: Arc<Shared>) {
    loop {
        let due = shared.traces.lock().next_due();
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

struct GroupByTrace {
    shared: Arc<Shared>,
    sender: Driver,
}

impl Consumer for GroupByTrace {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        if shared.closing.load(Ordering::SeqCst) {
            let refused = Refused::returning(Refusal::shutting_down(&shared.id), batch);
            return Box::pin(async { Err(refused) });
        }
        // Kept to hand back untouched should the next stage refuse the spans passing on: nothing is gathered then.
        let original = batch.share();
        let mut rest = match batch.into_request() {
            AnyRequest::Traces(request) => request,
            other => return shared.next.consume(Batch::from(other)),
        };
        let parts = traces::split(&mut rest);
        Box::pin(async move {
            let mut outcome = Ok(());
            if !rest.resource_spans.is_empty() {
                match shared.next.consume(Batch::new(rest)).await {
                    Ok(()) => {}
                    Err(Refused {
                        refusal,
                        batch: Some(_),
                    }) => return Err(Refused::returning(refusal, original)),
                    Err(taken) => outcome = Err(taken),
                }
            }
            let mut evicted = Vec::new();
            let first_waiting = {
                let mut traces = shared.traces.lock();
                let was_empty = traces.len() == 0;
                let due = Instant::now() + shared.wait;
                for (id, resource, scope, spans) in parts {
                    traces.add(id, &resource, &scope, spans, due);
                    if traces.len() > shared.most
                        && let Some(oldest) = traces.take_oldest()
                    {
                        evicted.push(oldest);
                    }
                }
                was_empty && traces.len() > 0
            };
            if first_waiting {
                // The sender sleeps without a deadline while nothing waits.
                shared.wake.notify_one();
            }
            shared.evicted.add(evicted.len() as u64);
            for request in evicted {
                shared.send(request).await;
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

#[cfg(test)]
mod tests;
