//! The `resource` processor: otelcol's `attributes` actions (`insert`, `update`, `upsert`, `delete`, `hash`,
//! `extract`, `convert`) on every resource's attributes, run by `otlp_ottl`'s [`ResourceProcessor`].

use super::ottl::{OttlSettings, describe};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::{AnyRequest, Batch};
use otlp_ottl::actions::{ClientInfo, ResourceConfig, ResourceProcessor};
use otlp_ottl::validate::ProcessorKind;
use std::sync::Arc;
use tokio::time::Instant;

/// The `resource` processor type (traces, metrics and logs).
pub struct Factory;

impl Component for Factory {
    type Config = OttlSettings<ResourceConfig>;
    const TYPE: &'static str = "resource";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        config.check(ProcessorKind::Resource)
    }
}

impl ProcessorFactory for Factory {
    fn build(
        &self,
        config: &Self::Config,
        _context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        Ok(Arc::new(ResourceStage::new(
            ResourceProcessor::new(config.require()?).map_err(describe)?,
            next,
        )))
    }
}

/// Runs a compiled `resource` processor on every batch; `resourcedetection` builds one from what it detects.
pub(super) struct ResourceStage {
    processor: ResourceProcessor,
    client: ClientInfo,
    next: Arc<dyn Consumer>,
}

impl ResourceStage {
    pub(super) fn new(processor: ResourceProcessor, next: Arc<dyn Consumer>) -> Self {
        ResourceStage {
            processor,
            client: ClientInfo::default(),
            next,
        }
    }
}

impl Consumer for ResourceStage {
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
