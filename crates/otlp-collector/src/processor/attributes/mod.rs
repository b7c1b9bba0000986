//! The `attributes` processor: otelcol's `actions` (`insert`, `update`, `upsert`, `delete`, `hash`, `extract`,
//! `convert`) on span, log record and data point attributes, for the items `include`/`exclude` select, run by
//! `otlp_ottl`'s [`AttributesProcessor`].
//!
//! Actions that read the client's context (`from_context`: `metadata.<key>`, `client.address`) read what the
//! receiver kept of the batch's client (`include_metadata`), and find nothing where it kept nothing.

use super::in_place::{InPlace, in_place_stage};
use super::ottl::{OttlSettings, describe, ottl_signal};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch, Signal, client};
use otlp_ottl::actions::{AttributesConfig, AttributesProcessor};
use otlp_ottl::validate::ProcessorKind;
use std::sync::Arc;

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
        Ok(in_place_stage(AttributesStage { processor }, next))
    }
}

struct AttributesStage {
    processor: AttributesProcessor,
}

impl InPlace for AttributesStage {
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
