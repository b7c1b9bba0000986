//! The `forward` connector: hands what one pipeline exports, unchanged, to the pipelines of the same signal that
//! receive from it. otelcol's way to share a receiver's data between pipelines with different processors, or
//! to join several pipelines into one.

use super::{Connect, Targets};
use crate::Batch;
use crate::Signal;
use crate::component::{Component, ConnectorContext, ConnectorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use serde::Deserialize;
use std::sync::Arc;

/// The `forward` connector type.
pub struct Factory;

/// `forward` takes no settings, as in otelcol.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {}

impl Component for Factory {
    type Config = ForwardConfig;
    const TYPE: &'static str = "forward";
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = super::SAME_SIGNAL;

    fn build(
        &self,
        _config: &ForwardConfig,
        _context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        Ok(super::stage(Forward { targets }))
    }
}

struct Forward {
    targets: Targets,
}

impl Connect for Forward {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(self.targets.consume(batch))
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(self.targets.ready(items))
    }
}
