//! The `probabilistic_sampler` processor: otelcol's modes (`hash_seed`, `proportional`, `equalizing`) and settings,
//! on `otlp_sampling`'s sampler, for traces and logs. In `proportional` and `equalizing` modes the kept spans carry
//! the OpenTelemetry `ot=th:…` threshold, so downstream estimates stay unbiased.
//!
//! Traces that arrive as received requests (an encoded batch) are sampled in their bytes: the trace-id column is
//! decided at once, the kept spans are copied and only a changed tracestate is encoded, and the batch stays
//! encoded for the exporters. A batch a processor before this one has decoded, and every logs batch, is sampled on
//! the decoded request; both ways give the same spans and the same counts.

use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::telemetry::DropCounter;
use crate::{AnyRequest, Batch, Signal};
use bytes::Bytes;
use otlp_sampling::probabilistic::{
    ProbabilisticSampler, ProbabilisticSamplerConfig, SampleCounts,
};
use std::sync::Arc;
use tokio::time::Instant;

/// Samples `batch` as the processor does, without a pipeline around it: encoded traces in their bytes (the batch
/// stays encoded), anything else on the decoded request. Returns the counts, or `None` for a metrics batch, which
/// the processor does not take.
pub fn sample_batch(sampler: &ProbabilisticSampler, batch: &mut Batch) -> Option<SampleCounts> {
    if batch.signal() == Signal::Traces
        && let Some(counts) = sample_encoded_traces(sampler, batch)
    {
        return Some(counts);
    }
    batch.edit(|request| sample_decoded(sampler, request))
}

/// Samples the requests of an encoded traces batch in their bytes and puts the results back into the batch; `None`
/// when the batch is not encoded or a request does not parse (the receivers' scan makes that unreachable), with the
/// batch unchanged.
fn sample_encoded_traces(
    sampler: &ProbabilisticSampler,
    batch: &mut Batch,
) -> Option<SampleCounts> {
    let requests = batch.encoded()?;
    let mut counts = SampleCounts::default();
    let mut sampled = Vec::with_capacity(requests.len());
    // One buffer for every request, each result copied out at its exact size: a buffer per request sized for the
    // input would hold the dropped spans' share of memory for as long as the batch lives.
    let mut out = Vec::new();
    for request in requests {
        out.clear();
        match sampler.sample_encoded_traces(request, &mut out) {
            Ok(request_counts) => {
                counts.kept += request_counts.kept;
                counts.dropped_not_sampled += request_counts.dropped_not_sampled;
                counts.dropped_invalid += request_counts.dropped_invalid;
                if request_counts.kept > 0 {
                    sampled.push((Bytes::copy_from_slice(&out), request_counts.kept as usize));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "an encoded traces request did not parse for sampling; sampling it decoded");
                return None;
            }
        }
    }
    batch.replace_encoded(sampled);
    Some(counts)
}

fn sample_decoded(
    sampler: &ProbabilisticSampler,
    request: &mut AnyRequest,
) -> Option<SampleCounts> {
    match request {
        AnyRequest::Traces(traces) => Some(sampler.sample_traces(&mut traces.resource_spans)),
        AnyRequest::Logs(logs) => Some(sampler.sample_logs(&mut logs.resource_logs)),
        // Config validation keeps this processor out of metrics pipelines.
        AnyRequest::Metrics(_) => None,
    }
}

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

impl Consumer for ProbabilisticSamplerProcessor {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        // A refused batch goes back as it arrived, and its drops are counted only once the rest is taken: a stage
        // that holds the batch offers it again, and sampling a sampled batch again in `proportional` mode would
        // multiply the probabilities and count the drops twice. Keeping the original is a reference count for a
        // received (encoded) batch, a copy only for one a processor before this one decoded.
        let signal = batch.signal();
        let original = batch.clone();
        let mut sampled = batch;
        let counts = sample_batch(&self.sampler, &mut sampled);
        let count_drops = move |dropped: &DropCounter| {
            if let Some(counts) = counts {
                dropped.add(signal, counts.dropped_not_sampled as usize, "not_sampled");
                dropped.add(
                    signal,
                    counts.dropped_invalid as usize,
                    "invalid_sampling_information",
                );
            }
        };
        if sampled.is_empty() {
            count_drops(&self.dropped);
            return Box::pin(async { Ok(()) });
        }
        Box::pin(async move {
            match self.next.consume(sampled).await {
                Err(Refused {
                    refusal,
                    batch: Some(_),
                }) => Err(Refused::returning(refusal, original)),
                // Taken, or taken and accounted for by the next stage: the spans not kept are this stage's to count.
                taken => {
                    count_drops(&self.dropped);
                    taken
                }
            }
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::capture::{Capture, with_context};
    use crate::telemetry::Telemetry;
    use prost::Message;
    use std::sync::atomic::Ordering;

    /// A full next stage hands the batch back; the stage holding it offers it again once there is room. The second
    /// offer must be sampled as the first would have been, once: the same spans with the same threshold, and the
    /// drops counted once.
    #[tokio::test]
    async fn a_batch_refused_downstream_goes_back_unsampled_and_is_counted_once() {
        for encoded in [true, false] {
            let telemetry = Telemetry::new();
            let capture = Arc::new(Capture::default());
            let next: Arc<dyn Consumer> = capture.clone();
            let config: ProbabilisticSamplerConfig =
                serde_norway::from_str("{ mode: proportional, sampling_percentage: 25 }").unwrap();
            let stage = with_context(
                "probabilistic_sampler",
                Signal::Traces,
                &telemetry,
                |context| Factory.build(&config, context, next).unwrap(),
            );
            let request = otlp_testkit::Generator::new(9).traces(400);
            let batch = if encoded {
                let bytes = request.encode_to_vec();
                let items = otlp_model::wire::scan(Signal::Traces, &bytes)
                    .unwrap()
                    .items;
                Batch::from_encoded(Signal::Traces, bytes.into(), items)
            } else {
                Batch::new(request.clone())
            };

            capture.full_for.store(1, Ordering::Relaxed);
            let Err(refused) = stage.consume(batch.clone()).await else {
                panic!("the next stage is full");
            };
            let back = refused.batch.expect("handed back");
            assert_eq!(back, batch, "handed back as it arrived");
            let dropped = |reason| {
                telemetry.value(
                    "otelcol_processor_dropped_spans",
                    &[("processor", "probabilistic_sampler"), ("reason", reason)],
                )
            };
            assert_eq!(
                dropped("not_sampled"),
                None,
                "nothing counted for a refused batch"
            );

            stage.consume(back).await.unwrap();
            let once = ProbabilisticSampler::new(config.clone()).unwrap();
            let mut expected = request.clone();
            let counts = once.sample_traces(&mut expected.resource_spans);
            let taken = capture.batches.lock().clone();
            assert_eq!(taken.len(), 1);
            assert_eq!(
                taken[0].get::<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>(),
                Some(&expected),
                "sampled once"
            );
            assert_eq!(dropped("not_sampled"), Some(counts.dropped_not_sampled));
        }
    }
}
