//! The `probabilistic_sampler` processor: otelcol's modes (`hash_seed`, `proportional`, `equalizing`) and settings,
//! on `otlp_sampling`'s sampler, for traces and logs. In `proportional` and `equalizing` modes the kept spans carry
//! the OpenTelemetry `ot=th:…` threshold, so downstream estimates stay unbiased.

use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::telemetry::{DropCounter, Telemetry};
use crate::{Batch, Signal};
use otlp_sampling::probabilistic::{
    ProbabilisticSampler, ProbabilisticSamplerConfig, SampleCounts,
};
use std::sync::Arc;
use tokio::time::Instant;

pub(crate) struct ProbabilisticSamplerProcessor {
    sampler: ProbabilisticSampler,
    dropped: DropCounter,
    next: Arc<dyn Consumer>,
}

impl ProbabilisticSamplerProcessor {
    pub(crate) fn validate(config: &ProbabilisticSamplerConfig) -> Result<(), String> {
        ProbabilisticSampler::new(config.clone())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    pub(crate) fn new(
        id: &str,
        config: ProbabilisticSamplerConfig,
        telemetry: &Telemetry,
        next: Arc<dyn Consumer>,
    ) -> Result<Self, String> {
        Ok(ProbabilisticSamplerProcessor {
            sampler: ProbabilisticSampler::new(config).map_err(|e| e.to_string())?,
            dropped: DropCounter::new(telemetry, "otelcol_processor_dropped", "processor", id),
            next,
        })
    }

    fn count(&self, signal: Signal, counts: SampleCounts) {
        self.dropped
            .add(signal, counts.dropped_not_sampled as usize, "not_sampled");
        self.dropped.add(
            signal,
            counts.dropped_invalid as usize,
            "invalid_sampling_information",
        );
    }
}

impl Consumer for ProbabilisticSamplerProcessor {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        // Decisions depend only on the data (trace id, threshold, attributes), so a batch handed back after a
        // refusal and offered again is sampled the same way.
        let sampled = match batch.signal() {
            Signal::Traces => batch.into_traces().map(|mut request| {
                self.count(
                    Signal::Traces,
                    self.sampler.sample_traces(&mut request.resource_spans),
                );
                Batch::from_traces(request)
            }),
            Signal::Logs => batch.into_logs().map(|mut request| {
                self.count(
                    Signal::Logs,
                    self.sampler.sample_logs(&mut request.resource_logs),
                );
                Batch::from_logs(request)
            }),
            // Config validation keeps this processor out of metrics pipelines.
            Signal::Metrics => Some(batch),
        };
        match sampled {
            Some(batch) if !batch.is_empty() => self.next.consume(batch),
            _ => Box::pin(async { Ok(()) }),
        }
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.next.flush(deadline)
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.next.shutdown(deadline)
    }
}
