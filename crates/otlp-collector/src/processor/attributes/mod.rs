//! The `attributes` processor: otelcol's `actions` (`insert`, `update`, `upsert`, `delete`, `hash`, `extract`,
//! `convert`) on span, log record and data point attributes, for the items `include`/`exclude` select, run by
//! `otlp_ottl`'s [`AttributesProcessor`].
//!
//! Actions that read the client's context (`from_context`) see no client metadata: batches do not carry it.

use super::ottl::{OttlSettings, describe, ottl_signal};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::{AnyRequest, Batch, Signal};
use otlp_ottl::actions::{AttributesConfig, AttributesProcessor, ClientInfo};
use otlp_ottl::validate::ProcessorKind;
use std::sync::Arc;
use tokio::time::Instant;

/// The `attributes` processor type (traces, metrics and logs).
pub struct Factory;

impl Component for Factory {
    type Config = OttlSettings<AttributesConfig>;
    const TYPE: &'static str = "attributes";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        config.check(ProcessorKind::Attributes)
    }
}

impl ProcessorFactory for Factory {
    fn validate_for(&self, config: &Self::Config, signal: Signal) -> Result<(), Invalid> {
        config.check_for(ProcessorKind::Attributes, signal)
    }

    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let processor = AttributesProcessor::new(config.require()?, ottl_signal(context.signal()))
            .map_err(|error| format!("in a {} pipeline: {}", context.signal(), describe(error)))?;
        Ok(Arc::new(AttributesStage {
            processor,
            client: ClientInfo::default(),
            next,
        }))
    }
}

struct AttributesStage {
    processor: AttributesProcessor,
    client: ClientInfo,
    next: Arc<dyn Consumer>,
}

impl Consumer for AttributesStage {
    fn consume(&self, mut batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        batch.edit(|request| match request {
            AnyRequest::Traces(traces) => self.processor.process_traces(traces, &self.client),
            AnyRequest::Metrics(metrics) => self.processor.process_metrics(metrics, &self.client),
            AnyRequest::Logs(logs) => self.processor.process_logs(logs, &self.client),
        });
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
