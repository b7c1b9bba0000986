//! The `probabilistic_sampler` processor: otelcol's modes (`hash_seed`, `proportional`, `equalizing`) and settings,
//! on `otlp_sampling`'s sampler, for traces and logs. In `proportional` and `equalizing` modes the kept spans carry
//! the OpenTelemetry `ot=th:…` threshold, so downstream estimates stay unbiased.

use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::telemetry::DropCounter;
use crate::{AnyRequest, Batch, Signal};
use otlp_sampling::probabilistic::{
    ProbabilisticSampler, ProbabilisticSamplerConfig, SampleCounts,
};
use std::sync::Arc;
use tokio::time::Instant;

/// The `probabilistic_sampler` processor type (traces and logs).
pub struct Factory;

impl Component for Factory {
    type Config = ProbabilisticSamplerConfig;
    const TYPE: &'static str = "probabilistic_sampler";

    fn validate(&self, config: &ProbabilisticSamplerConfig) -> Result<(), Invalid> {
        ProbabilisticSampler::new(config.clone())
            .map(|_| ())
            .map_err(|e| Invalid::from(e.to_string()))
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Logs];

    fn build(
        &self,
        config: &ProbabilisticSamplerConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        Ok(Arc::new(ProbabilisticSamplerProcessor {
            sampler: ProbabilisticSampler::new(config.clone()).map_err(|e| e.to_string())?,
            dropped: DropCounter::new(
                context.telemetry,
                "otelcol_processor_dropped",
                "processor",
                context.id,
            ),
            next,
        }))
    }
}

struct ProbabilisticSamplerProcessor {
    sampler: ProbabilisticSampler,
    dropped: DropCounter,
    next: Arc<dyn Consumer>,
}

impl ProbabilisticSamplerProcessor {
    fn sample(&self, request: &mut AnyRequest) -> Option<SampleCounts> {
        match request {
            AnyRequest::Traces(traces) => {
                Some(self.sampler.sample_traces(&mut traces.resource_spans))
            }
            AnyRequest::Logs(logs) => Some(self.sampler.sample_logs(&mut logs.resource_logs)),
            // Config validation keeps this processor out of metrics pipelines.
            AnyRequest::Metrics(_) => None,
        }
    }
}

impl Consumer for ProbabilisticSamplerProcessor {
    fn consume(&self, mut batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        // Decisions depend only on the data (trace id, threshold, attributes), so a batch handed back after a
        // refusal and offered again is sampled the same way.
        let signal = batch.signal();
        if let Some(counts) = batch.edit(|request| self.sample(request)) {
            self.dropped
                .add(signal, counts.dropped_not_sampled as usize, "not_sampled");
            self.dropped.add(
                signal,
                counts.dropped_invalid as usize,
                "invalid_sampling_information",
            );
        }
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
