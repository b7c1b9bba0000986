//! The `span` processor (otelcol-contrib's `spanprocessor`, traces only): spans renamed from their attributes,
//! attributes extracted from their names, their status set, for the spans `include`/`exclude` select; run by
//! `otlp_ottl`'s [`SpanProcessor`].

use super::ottl::{OttlSettings, describe};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::{AnyRequest, Batch, Signal};
use otlp_ottl::actions::{SpanConfig, SpanProcessor};
use otlp_ottl::validate::ProcessorKind;
use std::sync::Arc;
use tokio::time::Instant;

/// The `span` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = OttlSettings<SpanConfig>;
    const TYPE: &'static str = "span";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        config.check(ProcessorKind::Span)
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    fn build(
        &self,
        config: &Self::Config,
        _context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let processor = SpanProcessor::new(config.require()?).map_err(describe)?;
        Ok(Arc::new(SpanStage { processor, next }))
    }
}

struct SpanStage {
    processor: SpanProcessor,
    next: Arc<dyn Consumer>,
}

impl Consumer for SpanStage {
    fn consume(&self, mut batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        batch.edit(|request| {
            if let AnyRequest::Traces(traces) = request {
                self.processor.process_traces(traces);
            }
        });
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
