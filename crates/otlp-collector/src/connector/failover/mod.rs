//! The `failover` connector: otelcol-contrib's, handing each batch to the pipelines of the first of its
//! `priority_levels` that takes it, so that data goes to a standby destination while the primary one fails, and
//! back to the primary once it recovers.
//!
//! A level takes a batch when every pipeline of it does; a refusal by any of them (a full sending queue, or an
//! exporter that sends while the batch waits, `sending_queue: { enabled: false }` or `wait_for_result: true`,
//! and failed) makes the next level current and offers the batch to it. Levels above the current one are probed
//! again with real batches (`levels.rs`). When the last level refuses too, the refusal is the answer upstream.

mod levels;

use super::{Connect, Targets};
use crate::Batch;
use crate::Signal;
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::telemetry::Counter;
use levels::{Levels, Timing};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The `failover` connector type.
pub struct Factory;

/// The `failover` connector's settings, otelcol-contrib's keys and defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverConfig {
    /// Levels of pipelines in priority order, the first preferred; a batch goes to every pipeline of one level.
    pub priority_levels: Vec<Vec<String>>,
    /// How often the levels above the current one are probed, a cycle of probes each time.
    #[serde(default = "ten_minutes", deserialize_with = "crate::de::duration")]
    pub retry_interval: Duration,
    /// Between two probes of one cycle.
    #[serde(default = "thirty_seconds", deserialize_with = "crate::de::duration")]
    pub retry_gap: Duration,
    /// Failed probes after which a level is no longer probed; 0: no limit.
    #[serde(default = "ten")]
    pub max_retries: u32,
    /// otelcol's queue inside the connector; refused with what to do instead.
    #[serde(default, deserialize_with = "refuse_sending_queue")]
    #[expect(dead_code, reason = "present only to be refused with a reason")]
    sending_queue: crate::de::Refused,
}

fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

fn ten() -> u32 {
    10
}

fn refuse_sending_queue<'de, D: serde::Deserializer<'de>>(
    _: D,
) -> Result<crate::de::Refused, D::Error> {
    crate::de::refuse::<D>(
        "the connector keeps no queue of its own: the exporters of each level's pipelines queue, and a level \
         fails over as soon as one of them refuses (its queue full) or, with `sending_queue: { wait_for_result: \
         true }` or `{ enabled: false }`, fails to send",
    )
}

impl FailoverConfig {
    fn timing(&self) -> Timing {
        Timing {
            retry_interval: self.retry_interval,
            retry_gap: self.retry_gap,
            max_retries: (self.max_retries > 0).then_some(self.max_retries),
        }
    }
}

impl Component for Factory {
    type Config = FailoverConfig;
    const TYPE: &'static str = "failover";

    fn validate(&self, config: &FailoverConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if config.priority_levels.is_empty() {
            problems.push(Invalid::at(
                "priority_levels",
                "list the levels of pipelines to fail over between, the preferred first: \
                 `[[traces/primary], [traces/standby]]`",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, level) in config.priority_levels.iter().enumerate() {
            if level.is_empty() {
                problems.push(Invalid::at(
                    format!("priority_levels[{i}]"),
                    "a level needs at least one pipeline",
                ));
            }
            for (j, pipeline) in level.iter().enumerate() {
                if !seen.insert(pipeline) {
                    problems.push(Invalid::at(
                        format!("priority_levels[{i}][{j}]"),
                        format!("pipeline `{pipeline}` is already in a level; a pipeline belongs to one level"),
                    ));
                }
            }
        }
        if config.retry_gap.is_zero() {
            problems.push(Invalid::at("retry_gap", "must be more than zero"));
        }
        let cycle = config
            .retry_gap
            .saturating_mul(config.priority_levels.len() as u32);
        if config.retry_interval <= cycle {
            problems.push(Invalid::at(
                "retry_interval",
                format!(
                    "must be longer than retry_gap times the number of levels ({cycle:?}), so that one cycle of \
                     probes ends before the next starts (otelcol's rule)"
                ),
            ));
        }
        Invalid::all(problems)
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = super::SAME_SIGNAL;

    fn named_pipelines(&self, config: &FailoverConfig) -> Vec<(String, String)> {
        config
            .priority_levels
            .iter()
            .enumerate()
            .flat_map(|(i, level)| {
                level.iter().enumerate().map(move |(j, pipeline)| {
                    (format!("priority_levels[{i}][{j}]"), pipeline.clone())
                })
            })
            .collect()
    }

    fn build(
        &self,
        config: &FailoverConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let levels = config
            .priority_levels
            .iter()
            .map(|level| targets.only(level))
            .collect::<Result<Vec<_>, _>>()?;
        if levels.is_empty() {
            return Err("no priority levels".to_string());
        }
        let named: BTreeSet<&String> = config.priority_levels.iter().flatten().collect();
        let idle: Vec<String> = targets
            .pipelines()
            .map(ToString::to_string)
            .filter(|pipeline| !named.contains(pipeline))
            .collect();
        if !idle.is_empty() {
            tracing::warn!(connector = %context.id, pipelines = ?idle,
                "these pipelines receive from the connector but are in none of its priority_levels: they get nothing");
        }
        let state = Arc::new(parking_lot::Mutex::new(Levels::new(
            levels.len(),
            config.timing(),
        )));
        let gauge_state = Arc::clone(&state);
        context.telemetry.gauge(
            "otelcol_connector_failover_level",
            "The priority level batches go to now, 0 being the first.",
            &[("connector", context.id)],
            move || gauge_state.lock().current() as u64,
        );
        let failovers = (0..levels.len())
            .map(|level| {
                context.telemetry.counter(
                    "otelcol_connector_failover_count",
                    "Times the connector failed over from the level, or a probe of it failed.",
                    &[("connector", context.id), ("level", &level.to_string())],
                )
            })
            .collect();
        Ok(super::stage(Failover {
            id: context.id.to_string(),
            levels,
            state,
            failovers,
        }))
    }
}

struct Failover {
    id: String,
    /// The pipelines of each level, in priority order.
    levels: Vec<Targets>,
    state: Arc<parking_lot::Mutex<Levels>>,
    /// Per level, the refusals that moved the current level past it or failed a probe of it.
    failovers: Vec<Counter>,
}

impl Connect for Failover {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let route = self.state.lock().route(Instant::now());
            // Every level but the last is offered a copy, so that one that took its copy and failed with it (an
            // exporter waiting for the result) does not keep the batch from the levels after it.
            if let Some(probed) = route.probe {
                let took = self.levels[probed].consume(batch.share()).await;
                self.state
                    .lock()
                    .probed(probed, took.is_ok(), Instant::now());
                match took {
                    Ok(()) => {
                        tracing::info!(connector = %self.id, level = probed,
                            "a probe of a higher priority level succeeded: batches go to it again");
                        return Ok(());
                    }
                    Err(refused) => {
                        self.failovers[probed].add(1);
                        tracing::debug!(connector = %self.id, level = probed, refusal = %refused.refusal,
                            "a probe of a higher priority level failed");
                    }
                }
            }
            let last = self.levels.len() - 1;
            let mut level = route.current;
            while level < last {
                let Err(refused) = self.levels[level].consume(batch.share()).await else {
                    return Ok(());
                };
                let (was_current, next) = {
                    let mut state = self.state.lock();
                    (
                        state.current() == level,
                        state.failed(level, Instant::now()),
                    )
                };
                if was_current {
                    self.failovers[level].add(1);
                    tracing::warn!(connector = %self.id, from = level, to = level + 1,
                        refusal = %refused.refusal, "failing over to the next priority level");
                }
                level = next.unwrap_or(last);
            }
            // The last level stays current when it refuses: there is nothing after it.
            self.levels[last].consume(batch).await
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // A batch may be taken once any level from the current one on might take it: the current level being
            // full is what fails over to the next.
            let current = self.state.lock().current();
            let waits: Vec<_> = self.levels[current..]
                .iter()
                .map(|level| Box::pin(level.ready(items)))
                .collect();
            if !waits.is_empty() {
                futures::future::select_all(waits).await;
            }
        })
    }
}

#[cfg(test)]
mod tests;
