//! The `filter` processor: otelcol's OTTL conditions (`traces.span`, `traces.spanevent`, `traces.resource`,
//! `metrics.metric`, `metrics.datapoint`, `metrics.resource`, `logs.log_record`, `logs.resource`) and its legacy
//! `include`/`exclude` matching (`spans`, `logs`, `metrics`), run by `otlp_ottl`'s [`Filter`]. An item matching
//! any condition of its context (or the legacy settings' verdict) is dropped and counted with reason `filtered`;
//! a batch left empty goes no further.
//!
//! `error_mode` is otelcol's: with `ignore` (the default) or `silent` a condition that fails on an item counts
//! as not matching (logged under `ignore`), with `propagate` the batch is refused permanently and handed back as
//! it arrived.

use super::ottl::{OttlSettings, describe, ottl_signal};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused};
use crate::telemetry::DropCounter;
use crate::{AnyRequest, Batch};
use otlp_ottl::validate::ProcessorKind;
use otlp_ottl::{ErrorMode, Filter, FilterConfig};
use std::sync::Arc;
use tokio::time::Instant;

/// The `filter` processor type (traces, metrics and logs).
pub struct Factory;

impl Component for Factory {
    type Config = OttlSettings<FilterConfig>;
    const TYPE: &'static str = "filter";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        config.check(ProcessorKind::Filter)
    }
}

impl ProcessorFactory for Factory {
    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let config = config.require()?;
        Ok(Arc::new(FilterProcessor {
            id: context.id.to_string(),
            filter: Filter::new(config).map_err(describe)?,
            propagates: config.error_mode == ErrorMode::Propagate,
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

struct FilterProcessor {
    id: String,
    filter: Filter,
    propagates: bool,
    dropped: DropCounter,
    next: Arc<dyn Consumer>,
}

impl FilterProcessor {
    fn apply(&self, request: &mut AnyRequest) -> Result<(), otlp_ottl::Error> {
        match request {
            AnyRequest::Traces(traces) => self.filter.filter_traces(traces).map(drop),
            AnyRequest::Metrics(metrics) => self.filter.filter_metrics(metrics).map(drop),
            AnyRequest::Logs(logs) => self.filter.filter_logs(logs).map(drop),
        }
    }
}

impl Consumer for FilterProcessor {
    fn consume(&self, mut batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let signal = batch.signal();
        // A batch with no conditions for its signal passes as it is, still encoded.
        if !self.filter.handles(ottl_signal(signal)) {
            return self.next.consume(batch);
        }
        let original = self.propagates.then(|| batch.clone());
        let before = batch.item_count();
        let result = batch.edit(|request| self.apply(request));
        if let Err(error) = result {
            let refusal = Refusal::permanent(format!("{}: {error}", self.id));
            let refused = match original {
                Some(original) => Refused::returning(refusal, original),
                // Only `propagate` fails a batch, and then a copy was kept; should that ever not hold, the batch is
                // accounted for here rather than passed on half-filtered.
                None => {
                    self.dropped.add(signal, before, "filter_error");
                    Refused {
                        refusal,
                        batch: None,
                    }
                }
            };
            return Box::pin(async move { Err(refused) });
        }
        // Counted from the batch itself, so an item dropped with its resource, scope or metric counts too.
        self.dropped.add(
            signal,
            before.saturating_sub(batch.item_count()),
            "filtered",
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signal;
    use crate::processor::capture::{Capture, with_context};
    use crate::telemetry::Telemetry;

    fn settings(yaml: &str) -> OttlSettings<FilterConfig> {
        serde_norway::from_str(yaml).unwrap()
    }

    fn build(yaml: &str, telemetry: &Telemetry) -> (Arc<dyn Consumer>, Arc<Capture>) {
        let capture = Arc::new(Capture::default());
        let next: Arc<dyn Consumer> = capture.clone();
        let stage = with_context("filter", Signal::Traces, telemetry, |context| {
            Factory.build(&settings(yaml), context, next).unwrap()
        });
        (stage, capture)
    }

    #[tokio::test]
    async fn an_emptied_batch_goes_no_further_and_its_items_are_counted() {
        let telemetry = Telemetry::new();
        let (stage, capture) = build("traces: { span: ['true'] }", &telemetry);
        let request = otlp_testkit::Generator::new(1).traces(50);
        stage.consume(Batch::new(request)).await.unwrap();
        assert!(capture.batches.lock().is_empty());
        assert_eq!(
            telemetry.value(
                "otelcol_processor_dropped_spans",
                &[("processor", "filter"), ("reason", "filtered")]
            ),
            Some(50)
        );
    }

    #[tokio::test]
    async fn other_signals_pass_as_they_are() {
        let telemetry = Telemetry::new();
        let (stage, capture) = build("traces: { span: ['true'] }", &telemetry);
        let logs = Batch::new(otlp_testkit::Generator::new(1).logs(20));
        stage.consume(logs.clone()).await.unwrap();
        assert_eq!(*capture.batches.lock(), [logs]);
    }

    #[tokio::test]
    async fn with_propagate_a_failing_condition_hands_the_batch_back_as_it_arrived() {
        let telemetry = Telemetry::new();
        // The first condition drops spans before the second fails on a span without the attribute.
        let (stage, capture) = build(
            r#"
error_mode: propagate
traces:
  span:
    - 'kind == SPAN_KIND_CLIENT'
    - 'attributes["not.there"] * 2 > 1'
"#,
            &telemetry,
        );
        let batch = Batch::new(otlp_testkit::Generator::new(1).traces(50));
        let Err(refused) = stage.consume(batch.clone()).await else {
            panic!("the condition fails");
        };
        assert_eq!(refused.refusal.kind, crate::RefusalKind::Permanent);
        assert!(
            refused.refusal.message.starts_with("filter: "),
            "{}",
            refused.refusal.message
        );
        assert_eq!(refused.batch, Some(batch));
        assert!(capture.batches.lock().is_empty());
        assert_eq!(
            telemetry.value(
                "otelcol_processor_dropped_spans",
                &[("processor", "filter"), ("reason", "filtered")]
            ),
            None
        );
    }
}
