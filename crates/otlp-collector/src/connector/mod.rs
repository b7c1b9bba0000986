//! Connectors: components that are the exporter of some pipelines and the receiver of others (otelcol's
//! `connectors` section), and how a pipeline hands its batches to them beside its exporters.
//!
//! A pipeline that lists a connector among its exporters offers each batch to the connector, which hands it to
//! the pipelines that list the connector among their receivers ([`Targets`]). Like a receiver feeding several
//! pipelines, a refusal from any of them is answered upstream, and the pipelines that took their copy keep it:
//! offered again, they receive it twice. The service builds the receiving pipelines first and shuts pipelines
//! down in the order data flows, so a connector has somewhere to hand what the pipelines before it drain.

pub mod count;
pub mod exceptions;
pub mod failover;
pub mod forward;
mod from_spans;
pub mod otlpjson;
pub mod roundrobin;
pub mod routing;
pub mod servicegraph;
pub mod signaltometrics;
pub mod spanmetrics;
pub mod sum;

use crate::component::Invalid;
use crate::id::PipelineId;
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::{Batch, Signal};
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
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

/// `connector` as a pipeline stage, for a connector that holds nothing: the pipelines it hands to are flushed and
/// shut down by the service, after every pipeline that feeds them (which may be several), so flushing or
/// shutting down the stage itself has nothing to do.
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

/// Offers `batch` to each consumer in turn, a copy each (the last gets the batch itself). A refusal that hands
/// its copy back is answered at once, and the consumers before it keep theirs, as the pipelines of a receiver
/// do: offered again, they receive it twice. A consumer that took its copy and failed with it (and accounted
/// for it) does not keep the batch from the ones after it; its refusal is the answer once they have theirs.
async fn offer_each(consumers: &[&Arc<dyn Consumer>], batch: Batch) -> Result<(), Refused> {
    let mut failed = None;
    let mut batch = Some(batch);
    for (i, consumer) in consumers.iter().enumerate() {
        let copy = if i + 1 < consumers.len() {
            batch.as_ref().map(Batch::share)
        } else {
            batch.take()
        };
        let Some(copy) = copy else { break };
        match consumer.consume(copy).await {
            Ok(()) => {}
            Err(refused @ Refused { batch: Some(_), .. }) => return Err(refused),
            Err(refused) => {
                failed.get_or_insert(refused);
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// The problems of a connector's settings as one message, for `build`: validation reported them when the config
/// was read, so only a program that built the settings itself gets this.
pub(crate) fn settings_error(problems: Vec<Invalid>) -> String {
    problems
        .into_iter()
        .flat_map(|problem| problem.at_path(""))
        .map(|(path, message)| format!("{path}: {message}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Metrics a connector made from one resource's items: under a copy of the resource's attributes and the
/// connector's scope.
pub(crate) fn resource_metrics(
    resource_attributes: Vec<KeyValue>,
    scope_name: &str,
    metrics: Vec<Metric>,
) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(Resource {
            attributes: resource_attributes,
            ..Default::default()
        }),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: scope_name.to_string(),
                ..Default::default()
            }),
            metrics,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The pipelines a connector that makes metrics of what it is given (`spanmetrics`, `servicegraph`) sends them to,
/// as the next stage of [`deliver`](crate::pipeline::deliver): what the connector holds is flushed and shut down by
/// the connector itself, and the pipelines by the service.
pub(crate) struct Handoff(pub(crate) Targets);

impl Consumer for Handoff {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(self.0.consume(batch))
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(self.0.ready(items))
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

    /// Offers `batch` to every pipeline, a copy each. A refusal that hands the batch back is answered at once
    /// (the pipelines before it keep their copies); a pipeline that took its copy and failed with it is answered
    /// once the pipelines after it have theirs.
    pub async fn consume(&self, batch: Batch) -> Result<(), Refused> {
        let pipelines: Vec<&Arc<dyn Consumer>> = self
            .pipelines
            .iter()
            .map(|(_, pipeline)| pipeline)
            .collect();
        offer_each(&pipelines, batch).await
    }

    /// Offers `made`, what a connector made of `offered` (counts, metrics), as [`Self::consume`], from the client
    /// `offered` came from; a refusal that hands `made` back hands back `offered` instead, so that offering it
    /// again makes `made` once.
    pub async fn consume_made_of(&self, made: Batch, offered: Batch) -> Result<(), Refused> {
        let made = made.with_client(offered.shared_client());
        self.consume(made).await.map_err(|refused| Refused {
            refusal: refused.refusal,
            batch: refused.batch.map(|_| offered),
        })
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
/// upstream like a second pipeline's refusal at a receiver (`offer_each`). Flushing and shutting down reach the
/// connectors, so that one holding what it aggregated (`spanmetrics`) sends it before the pipelines it feeds,
/// which the service flushes and shuts down after this one.
pub(crate) struct ConnectorsThenExporters {
    pub(crate) connectors: Vec<Arc<dyn Consumer>>,
    pub(crate) exporters: Arc<dyn Consumer>,
}

impl Consumer for ConnectorsThenExporters {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let consumers: Vec<&Arc<dyn Consumer>> =
                self.connectors.iter().chain([&self.exporters]).collect();
            offer_each(&consumers, batch).await
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

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for consumer in self.connectors.iter().chain([&self.exporters]) {
                consumer.flush(deadline).await;
            }
        })
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for consumer in self.connectors.iter().chain([&self.exporters]) {
                consumer.shutdown(deadline).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::capture::{Capture, TakesAndFails};
    use std::sync::atomic::Ordering;

    fn batch() -> Batch {
        Batch::new(otlp_testkit::Generator::new(5).traces(12))
    }

    fn captured(capture: &Capture) -> usize {
        capture.batches.lock().iter().map(Batch::item_count).sum()
    }

    #[tokio::test]
    async fn a_consumer_that_took_its_copy_and_failed_does_not_keep_the_batch_from_the_others() {
        let (first, last) = (Arc::new(Capture::default()), Arc::new(Capture::default()));
        let failing = Arc::new(TakesAndFails::default());
        let consumers: [Arc<dyn Consumer>; 3] = [first.clone(), failing.clone(), last.clone()];
        let refused = offer_each(&consumers.iter().collect::<Vec<_>>(), batch())
            .await
            .unwrap_err();
        assert!(refused.batch.is_none());
        assert_eq!(refused.refusal.message, "rejected downstream");
        assert_eq!(
            (
                captured(&first),
                failing.0.load(Ordering::Relaxed),
                captured(&last)
            ),
            (12, 12, 12)
        );
    }

    #[tokio::test]
    async fn a_refusal_that_hands_the_batch_back_is_answered_at_once() {
        let (first, full, last) = (
            Arc::new(Capture::default()),
            Arc::new(Capture::default()),
            Arc::new(Capture::default()),
        );
        full.full_for.store(1, Ordering::Relaxed);
        let consumers: [Arc<dyn Consumer>; 3] = [first.clone(), full.clone(), last.clone()];
        let refused = offer_each(&consumers.iter().collect::<Vec<_>>(), batch())
            .await
            .unwrap_err();
        assert_eq!(refused.batch.map(|b| b.item_count()), Some(12));
        // The one before keeps its copy; the one after was not offered any.
        assert_eq!(
            (captured(&first), captured(&full), captured(&last)),
            (12, 0, 0)
        );
    }
}
