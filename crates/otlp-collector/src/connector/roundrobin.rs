//! The `roundrobin` connector: otelcol-contrib's, handing each batch to one of the pipelines that receive from it,
//! in turn, to spread one pipeline's load over several exporters (an exporter that does not scale, several
//! connections to one backend).
//!
//! Unlike otelcol, which answers with the chosen pipeline's refusal, a pipeline that hands the batch back (its
//! queue full) passes it on to the next in turn, so one slow pipeline does not refuse data the others have room
//! for; the batch is refused once every pipeline has handed it back.

use super::{Connect, Targets};
use crate::Batch;
use crate::Signal;
use crate::component::{Component, ConnectorContext, ConnectorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The `roundrobin` connector type.
pub struct Factory;

/// `roundrobin` takes no settings, as in otelcol.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundRobinConfig {}

impl Component for Factory {
    type Config = RoundRobinConfig;
    const TYPE: &'static str = "roundrobin";
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = super::SAME_SIGNAL;

    fn build(
        &self,
        _config: &RoundRobinConfig,
        _context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let pipelines: Vec<Targets> = targets
            .pipelines()
            .map(|pipeline| targets.only(&[pipeline.to_string()]))
            .collect::<Result<_, _>>()?;
        if pipelines.is_empty() {
            return Err("no pipeline receives from the connector".to_string());
        }
        Ok(super::stage(RoundRobin {
            pipelines,
            next: AtomicUsize::new(0),
        }))
    }
}

struct RoundRobin {
    pipelines: Vec<Targets>,
    next: AtomicUsize,
}

impl Connect for RoundRobin {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let count = self.pipelines.len();
            let first = self.next.fetch_add(1, Ordering::Relaxed);
            let mut batch = batch;
            for turn in 0..count - 1 {
                match self.pipelines[first.wrapping_add(turn) % count]
                    .consume(batch)
                    .await
                {
                    Ok(()) => return Ok(()),
                    Err(Refused {
                        refusal,
                        batch: Some(back),
                    }) => {
                        tracing::debug!(%refusal,
                            "a pipeline of the roundrobin connector handed a batch back; offering it to the next");
                        batch = back;
                    }
                    Err(refused) => return Err(refused),
                }
            }
            self.pipelines[first.wrapping_add(count - 1) % count]
                .consume(batch)
                .await
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Any pipeline with room takes the batch: a full one passes it on.
            let waits: Vec<_> = self
                .pipelines
                .iter()
                .map(|pipeline| Box::pin(pipeline.ready(items)))
                .collect();
            if !waits.is_empty() {
                futures::future::select_all(waits).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::PipelineId;
    use crate::processor::capture::Capture;

    fn round_robin(pipelines: &[Arc<Capture>]) -> RoundRobin {
        RoundRobin {
            pipelines: pipelines
                .iter()
                .enumerate()
                .map(|(i, capture)| {
                    let id = PipelineId {
                        signal: Signal::Traces,
                        name: Some(i.to_string()),
                    };
                    Targets::new(vec![(id, capture.clone() as Arc<dyn Consumer>)])
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    fn batches(capture: &Capture) -> Vec<usize> {
        capture
            .batches
            .lock()
            .iter()
            .map(Batch::item_count)
            .collect()
    }

    fn batch(spans: usize) -> Batch {
        Batch::new(otlp_testkit::Generator::new(spans as u64).traces(spans))
    }

    #[tokio::test]
    async fn batches_go_to_the_pipelines_in_turn_and_a_full_one_passes_its_turn_on() {
        let pipelines: Vec<Arc<Capture>> = (0..3).map(|_| Arc::new(Capture::default())).collect();
        let connector = round_robin(&pipelines);
        for spans in 1..=6 {
            connector.consume(batch(spans)).await.unwrap();
        }
        assert_eq!(
            pipelines.iter().map(|p| batches(p)).collect::<Vec<_>>(),
            [vec![1, 4], vec![2, 5], vec![3, 6]]
        );
        // The first pipeline's turn: it is full, so the next takes the batch.
        pipelines[0].full_for.store(1, Ordering::Relaxed);
        connector.consume(batch(7)).await.unwrap();
        assert_eq!(batches(&pipelines[1]), [2, 5, 7]);
        // Every pipeline full: the last one's refusal hands the batch back.
        for pipeline in &pipelines {
            pipeline.full_for.store(1, Ordering::Relaxed);
        }
        let refused = connector.consume(batch(8)).await.unwrap_err();
        assert_eq!(refused.batch.map(|b| b.item_count()), Some(8));
    }
}
