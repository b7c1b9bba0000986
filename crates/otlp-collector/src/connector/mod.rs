//! Connectors: components that are the exporter of some pipelines and the receiver of others (otelcol's
//! `connectors` section), and how a pipeline hands its batches to them beside its exporters.
//!
//! A pipeline that lists a connector among its exporters offers each batch to the connector, which hands it to
//! the pipelines that list the connector among their receivers ([`Targets`]). Like a receiver feeding several
//! pipelines, a refusal from any of them is answered upstream, and the pipelines that took their copy keep it:
//! offered again, they receive it twice. The service builds the receiving pipelines first and shuts pipelines
//! down in the order data flows, so a connector has somewhere to hand what the pipelines before it drain.

pub mod count;
pub mod forward;
pub mod routing;

use crate::id::PipelineId;
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::{Batch, Signal};
use std::sync::Arc;
use tokio::time::Instant;

/// What a connector does with the batches the pipelines feeding it export; [`stage`] makes it the stage those
/// pipelines end with.
pub trait Connect: Send + Sync + 'static {
    /// Takes a batch, as [`Consumer::consume`].
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>>;

    /// Resolves when a batch of `items` items might be taken, as [`Consumer::ready`].
    fn ready(&self, items: usize) -> BoxFuture<'_, ()>;
}

/// `connector` as a pipeline stage. A connector holds nothing: the pipelines it hands to are flushed and shut
/// down by the service, after every pipeline that feeds them (which may be several), so flushing or shutting
/// down the stage itself has nothing to do.
pub fn stage(connector: impl Connect) -> Arc<dyn Consumer> {
    Arc::new(Stage(connector))
}

struct Stage<C>(C);

impl<C: Connect> Consumer for Stage<C> {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        self.0.consume(batch)
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        self.0.ready(items)
    }

    fn flush(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn shutdown(&self, _deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// What a connector that hands each signal on as it is joins: traces to traces, metrics to metrics, logs to logs.
pub const SAME_SIGNAL: &[(Signal, Signal)] = &[
    (Signal::Traces, Signal::Traces),
    (Signal::Metrics, Signal::Metrics),
    (Signal::Logs, Signal::Logs),
];

/// The pipelines a connector hands to: those of the signal it produces that list it among their receivers, in
/// the config's order.
#[derive(Clone, Default)]
pub struct Targets {
    pipelines: Vec<(PipelineId, Arc<dyn Consumer>)>,
}

impl std::fmt::Debug for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pipelines.iter().map(|(id, _)| id.to_string()))
            .finish()
    }
}

impl Targets {
    pub(crate) fn new(pipelines: Vec<(PipelineId, Arc<dyn Consumer>)>) -> Self {
        Targets { pipelines }
    }

    /// The pipelines named in `names`, in that order; an error names one that is not among them.
    pub fn only(&self, names: &[String]) -> Result<Targets, String> {
        let pipelines = names
            .iter()
            .map(|name| {
                self.pipelines
                    .iter()
                    .find(|(id, _)| id.to_string() == *name)
                    .cloned()
                    .ok_or_else(|| {
                        format!("pipeline `{name}` does not receive from this connector")
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Targets { pipelines })
    }

    /// True when there is no pipeline to hand to.
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }

    /// The ids of the pipelines, in the config's order.
    pub fn pipelines(&self) -> impl Iterator<Item = &PipelineId> {
        self.pipelines.iter().map(|(id, _)| id)
    }

    /// Offers `batch` to every pipeline, a copy each. The first refusal is the answer; when the first pipeline
    /// refuses, nothing was taken and the batch is handed back.
    pub async fn consume(&self, batch: Batch) -> Result<(), Refused> {
        let Some(last) = self.pipelines.len().checked_sub(1) else {
            return Ok(());
        };
        let mut batch = Some(batch);
        for (i, (_, pipeline)) in self.pipelines.iter().enumerate() {
            let copy = if i == last {
                batch.take()
            } else {
                batch.as_ref().map(Batch::share)
            };
            let Some(copy) = copy else { break };
            pipeline.consume(copy).await?;
        }
        Ok(())
    }

    /// Resolves once every pipeline might take a batch of `items` items.
    pub async fn ready(&self, items: usize) {
        for (_, pipeline) in &self.pipelines {
            pipeline.ready(items).await;
        }
    }
}

/// The end of a pipeline that exports to connectors: each batch goes to the connectors, in the order the
/// pipeline lists them, then to the exporters. Connectors go first because a refusal there hands the batch
/// back before any exporter queued it; a refusal by the exporters after a connector took its copy is answered
/// upstream like a second pipeline's refusal at a receiver. A connector that took the batch and failed with it
/// (and counted it) is answered upstream once the others and the exporters have theirs.
pub(crate) struct ConnectorsThenExporters {
    pub(crate) connectors: Vec<Arc<dyn Consumer>>,
    pub(crate) exporters: Arc<dyn Consumer>,
}

impl Connect for ConnectorsThenExporters {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            // A connector that took its copy and failed with it (it accounted for it) does not keep the batch
            // from the others: they still get theirs, and its refusal is the answer once they have.
            let mut failed = None;
            for connector in &self.connectors {
                match connector.consume(batch.share()).await {
                    Ok(()) => {}
                    Err(Refused {
                        batch: Some(_),
                        refusal,
                    }) => {
                        return Err(Refused::returning(refusal, batch));
                    }
                    Err(refused) => {
                        failed.get_or_insert(refused);
                    }
                }
            }
            let exported = self.exporters.consume(batch).await;
            match failed {
                Some(refused) if exported.is_ok() => Err(refused),
                _ => exported,
            }
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for connector in &self.connectors {
                connector.ready(items).await;
            }
            self.exporters.ready(items).await;
        })
    }
}
