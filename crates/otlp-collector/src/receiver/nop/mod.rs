//! The `nop` receiver (otelcol's): receives nothing.
//!
//! ```yaml
//! receivers:
//!   nop:
//! ```
//!
//! A pipeline needs a receiver; this one keeps a pipeline in the config, ready to be given a real receiver or
//! fed by a connector later, without opening a port.

use super::RunningReceiver;
use crate::Error;
use crate::component::{Component, ReceiverContext, ReceiverFactory};
use serde::Deserialize;

/// The `nop` receiver type.
pub struct Factory;

/// The `nop` receiver's settings: none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NopReceiverConfig {}

impl Component for Factory {
    type Config = NopReceiverConfig;
    const TYPE: &'static str = "nop";
}

impl ReceiverFactory for Factory {
    async fn start(
        &self,
        _config: &NopReceiverConfig,
        _context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        Ok(RunningReceiver::new(shutdown))
    }
}
