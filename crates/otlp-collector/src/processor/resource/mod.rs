//! The `resource` processor: otelcol's `attributes` actions (`insert`, `update`, `upsert`, `delete`, `hash`,
//! `extract`, `convert`) on every resource's attributes, run by `otlp_ottl`'s [`ResourceProcessor`].

use super::in_place::{InPlace, in_place_stage};
use super::ottl::{OttlSettings, describe};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch, client};
use otlp_ottl::actions::{ResourceConfig, ResourceProcessor};
use otlp_ottl::validate::ProcessorKind;
use std::sync::Arc;

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
        Ok(in_place_stage(
            ResourceStage::new(ResourceProcessor::new(config.require()?).map_err(describe)?),
            next,
        ))
    }
}

/// Runs a compiled `resource` processor on every batch; `resourcedetection` builds one from what it detects.
pub(super) struct ResourceStage {
    processor: ResourceProcessor,
}

impl ResourceStage {
    pub(super) fn new(processor: ResourceProcessor) -> Self {
        ResourceStage { processor }
    }
}

impl InPlace for ResourceStage {
    /// Runs the actions; `from_context` reads the batch's client (`include_metadata`).
    fn apply(&self, batch: &mut Batch) {
        let client = batch.shared_client();
        let client = client.as_deref().unwrap_or(&client::UNKNOWN);
        batch.edit(|request| match request {
            AnyRequest::Traces(traces) => self.processor.process_traces(traces, client),
            AnyRequest::Metrics(metrics) => self.processor.process_metrics(metrics, client),
            AnyRequest::Logs(logs) => self.processor.process_logs(logs, client),
        });
    }
}
