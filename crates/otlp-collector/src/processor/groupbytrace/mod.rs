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

use super::holding::{Hold, holding_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::de;
use crate::pipeline::Consumer;
use crate::telemetry::{Counter, DropCounter};
use crate::{AnyRequest, Batch, Signal};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use traces::{TraceId, Traces};

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
        let hold = GroupHold {
            wait: config.wait_duration,
            most: config.num_traces,
            traces: parking_lot::Mutex::new(Traces::default()),
            evicted: context.telemetry.counter(
                "otelcol_processor_groupbytrace_traces_evicted",
                "Traces sent on before their wait ended, to make room for newer ones.",
                &[("processor", context.id)],
            ),
        };
        let dropped = DropCounter::new(
            context.telemetry,
            "otelcol_processor_dropped",
            "processor",
            context.id,
        );
        Ok(holding_stage(hold, context.id, dropped, next))
    }
}

struct GroupHold {
    wait: Duration,
    most: usize,
    traces: parking_lot::Mutex<Traces>,
    evicted: Counter,
}

/// A trace's spans under one resource and scope.
type Part = (
    TraceId,
    opentelemetry_proto::tonic::trace::v1::ResourceSpans,
    opentelemetry_proto::tonic::trace::v1::ScopeSpans,
    Vec<opentelemetry_proto::tonic::trace::v1::Span>,
);

impl Hold for GroupHold {
    type Taken = Vec<Part>;

    fn split(&self, batch: Batch) -> Result<(Batch, Vec<Part>), Batch> {
        let mut rest = match batch.into_request() {
            AnyRequest::Traces(request) => request,
            other => return Err(Batch::from(other)),
        };
        let parts = traces::split(&mut rest);
        Ok((Batch::new(rest), parts))
    }

    fn hold(&self, parts: Vec<Part>) -> Vec<Batch> {
        let mut evicted = Vec::new();
        let mut traces = self.traces.lock();
        let due = Instant::now() + self.wait;
        for (id, resource, scope, spans) in parts {
            traces.add(id, &resource, &scope, spans, due);
            if traces.len() > self.most
                && let Some(oldest) = traces.take_oldest()
            {
                evicted.push(Batch::new(oldest));
            }
        }
        self.evicted.add(evicted.len() as u64);
        evicted
    }

    fn due(&self, now: Option<Instant>) -> Option<Batch> {
        let (request, traces) = self.traces.lock().take_due(now);
        (traces > 0).then(|| Batch::new(request))
    }

    fn next_due(&self) -> Option<Instant> {
        self.traces.lock().next_due()
    }
}

#[cfg(test)]
mod tests;
