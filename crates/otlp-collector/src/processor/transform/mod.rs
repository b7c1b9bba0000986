//! The `transform` processor: otelcol's `trace_statements`, `metric_statements` and `log_statements` (plain
//! statements, or groups with `context`, `conditions` and `error_mode`), run by `otlp_ottl`'s [`Transform`].
//!
//! Statements compile once, when the pipeline is built. `error_mode` is otelcol's: `ignore` (the default) logs a
//! statement that fails on an item and goes on, `silent` goes on without logging, and `propagate` refuses the
//! whole batch permanently (the client is told why) and hands it back as it arrived, so nothing is half-changed.

use super::ottl::{OttlSettings, describe};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused};
use crate::telemetry::DropCounter;
use crate::{AnyRequest, Batch};
use otlp_ottl::validate::ProcessorKind;
use otlp_ottl::{ErrorMode, StatementsEntry, Transform, TransformConfig};
use std::sync::Arc;
use tokio::time::Instant;

/// The `transform` processor type (traces, metrics and logs).
pub struct Factory;

impl Component for Factory {
    type Config = OttlSettings<TransformConfig>;
    const TYPE: &'static str = "transform";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        config.check(ProcessorKind::Transform)
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
        Ok(Arc::new(TransformProcessor {
            id: context.id.to_string(),
            transform: Transform::new(config).map_err(describe)?,
            propagates: propagates(config),
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

/// Whether any statement may fail the batch: only then is a copy kept to hand back untouched.
fn propagates(config: &TransformConfig) -> bool {
    let group_propagates = |entries: &[StatementsEntry]| {
        entries.iter().any(|entry| match entry {
            StatementsEntry::Statement(_) => config.error_mode == ErrorMode::Propagate,
            StatementsEntry::Group(group) => {
                group.error_mode.unwrap_or(config.error_mode) == ErrorMode::Propagate
            }
        })
    };
    group_propagates(&config.trace_statements)
        || group_propagates(&config.metric_statements)
        || group_propagates(&config.log_statements)
}

struct TransformProcessor {
    id: String,
    transform: Transform,
    propagates: bool,
    dropped: DropCounter,
    next: Arc<dyn Consumer>,
}

impl TransformProcessor {
    fn apply(&self, request: &mut AnyRequest) -> Result<(), otlp_ottl::Error> {
        match request {
            AnyRequest::Traces(traces) => self.transform.apply_traces(traces).map(drop),
            AnyRequest::Metrics(metrics) => self.transform.apply_metrics(metrics).map(drop),
            AnyRequest::Logs(logs) => self.transform.apply_logs(logs).map(drop),
        }
    }
}

impl Consumer for TransformProcessor {
    fn consume(&self, mut batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let signal = batch.signal();
        // A batch with no statements for its signal passes as it is, still encoded.
        if !self.transform.handles(super::ottl::ottl_signal(signal)) {
            return self.next.consume(batch);
        }
        let original = self.propagates.then(|| batch.clone());
        if let Err(error) = batch.edit(|request| self.apply(request)) {
            let refusal = Refusal::permanent(format!("{}: {error}", self.id));
            let refused = match original {
                Some(original) => Refused::returning(refusal, original),
                // Only a `propagate` statement fails a batch, and then a copy was kept; should that ever not hold,
                // the changed batch is accounted for here rather than passed on half-transformed.
                None => {
                    self.dropped
                        .add(signal, batch.item_count(), "transform_error");
                    Refused {
                        refusal,
                        batch: None,
                    }
                }
            };
            return Box::pin(async move { Err(refused) });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::capture::{Capture, with_context};
    use crate::telemetry::Telemetry;
    use crate::{RefusalKind, Signal};

    fn config(yaml: &str) -> TransformConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn a_copy_is_kept_only_when_a_statement_can_fail_the_batch() {
        assert!(!propagates(&config(
            "trace_statements: ['set(span.name, \"x\")']"
        )));
        assert!(propagates(&config(
            "error_mode: propagate\ntrace_statements: ['set(span.name, \"x\")']"
        )));
        assert!(propagates(&config(
            "log_statements: [{context: log, error_mode: propagate, statements: ['set(body, \"x\")']}]"
        )));
        assert!(!propagates(&config(
            "error_mode: propagate\nlog_statements: [{context: log, error_mode: silent, statements: ['set(body, \"x\")']}]"
        )));
    }

    #[tokio::test]
    async fn with_propagate_a_failing_statement_hands_the_batch_back_unchanged() {
        let settings: OttlSettings<TransformConfig> = serde_norway::from_str(
            r#"
error_mode: propagate
trace_statements:
  - set(span.attributes["seen"], true)
  - set(span.attributes["doubled"], span.attributes["app.cart.items"] * 2)
"#,
        )
        .unwrap();
        let telemetry = Telemetry::new();
        let capture = Arc::new(Capture::default());
        let next: Arc<dyn Consumer> = capture.clone();
        let stage = with_context("transform/x", Signal::Traces, &telemetry, |context| {
            Factory.build(&settings, context, next).unwrap()
        });
        // Only some generated spans carry `app.cart.items`: the statement fails on the others.
        let batch = Batch::new(otlp_testkit::Generator::new(21).traces(200));
        let Err(refused) = stage.consume(batch.clone()).await else {
            panic!("the statement fails");
        };
        assert_eq!(refused.refusal.kind, RefusalKind::Permanent);
        assert!(
            refused.refusal.message.starts_with("transform/x: "),
            "{}",
            refused.refusal.message
        );
        assert_eq!(refused.batch, Some(batch));
        assert!(capture.batches.lock().is_empty());

        // Under `ignore` the same batch goes on, with the statements applied where they could be.
        let settings: OttlSettings<TransformConfig> = serde_norway::from_str(
            r#"
trace_statements:
  - set(span.attributes["seen"], true)
"#,
        )
        .unwrap();
        let next: Arc<dyn Consumer> = capture.clone();
        let stage = with_context("transform/x", Signal::Traces, &telemetry, |context| {
            Factory.build(&settings, context, next).unwrap()
        });
        let batch = Batch::new(otlp_testkit::Generator::new(21).traces(200));
        stage.consume(batch).await.unwrap();
        let batches = capture.batches.lock();
        let Some(AnyRequest::Traces(out)) = batches.first().map(|b| b.request()) else {
            panic!("a traces batch went on");
        };
        let spans: Vec<_> = out
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .collect();
        assert_eq!(spans.len(), 200);
        assert!(
            spans
                .iter()
                .all(|s| s.attributes.iter().any(|kv| kv.key == "seen"))
        );
    }
}
