//! The `span` processor (otelcol-contrib's `spanprocessor`, traces only): spans renamed from their attributes,
//! attributes extracted from their names, their status set, for the spans `include`/`exclude` select; run by
//! `otlp_ottl`'s [`SpanProcessor`].

use super::in_place::{InPlace, in_place_stage};
use super::ottl::{OttlSettings, describe};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch, Signal};
use otlp_ottl::actions::{SpanConfig, SpanProcessor};
use otlp_ottl::validate::ProcessorKind;
use std::sync::Arc;

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
        Ok(in_place_stage(SpanStage { processor }, next))
    }
}

struct SpanStage {
    processor: SpanProcessor,
}

impl InPlace for SpanStage {
    fn apply(&self, batch: &mut Batch) {
        batch.edit(|request| {
            if let AnyRequest::Traces(traces) = request {
                self.processor.process_traces(traces);
            }
        });
    }
}
