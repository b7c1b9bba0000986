//! Replacing a running collector's config in the same process: drain, then start the new pipelines.
//!
//! The receivers stop first, so clients see `UNAVAILABLE` / 503 (or a refused connection) for the short gap and
//! retry as the OTLP SDKs do; everything already accepted is flushed to the exporters before the new pipelines
//! start. Nothing accepted is dropped (unless the drain deadline passes, which the report says) and nothing is
//! accepted twice, because a request is either taken by the old pipelines or refused and retried against the
//! new ones.

use crate::service::{Collector, RunningCollector, ShutdownReport};
use crate::{Config, Error};
use std::time::Duration;

/// What became of a [reload](RunningCollector::reload).
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The new config runs.
    Applied(RunningCollector),
    /// The new config could not start (a port in use, a file it cannot open); the previous one runs again.
    Restored {
        /// The previous config, running again.
        collector: RunningCollector,
        /// Why the new config did not start.
        error: Error,
    },
    /// Neither the new config nor the previous one could start: nothing runs.
    Failed {
        /// Why the new config did not start.
        error: Error,
        /// Why the previous config did not start again.
        restore_error: Error,
    },
}

/// The result of a reload: the outcome and what the drain of the old pipelines could not deliver.
#[derive(Debug)]
pub struct Reloaded {
    /// Which config runs now, if any.
    pub outcome: ReloadOutcome,
    /// The drain of the previous pipelines (clean when everything accepted was delivered).
    pub drained: ShutdownReport,
}

impl RunningCollector {
    /// Replaces this collector's pipelines with those of `next`: stops the receivers, drains every pipeline and
    /// queue to the exporters within `drain_timeout`, then starts `next` with the same self-metrics registry and
    /// load-shedding setting. When `next` cannot start, `previous` (the config this collector was started from) is
    /// started again.
    pub async fn reload(self, next: Config, previous: Config, drain_timeout: Duration) -> Reloaded {
        let telemetry = self.telemetry().clone();
        let shedding = self.shedding().clone();
        let drained = self.shutdown(drain_timeout).await;
        let outcome = match Collector::with_telemetry(next, telemetry.clone())
            .with_shedding(shedding.clone())
            .start()
            .await
        {
            Ok(collector) => ReloadOutcome::Applied(collector),
            Err(error) => match Collector::with_telemetry(previous, telemetry)
                .with_shedding(shedding)
                .start()
                .await
            {
                Ok(collector) => ReloadOutcome::Restored { collector, error },
                Err(restore_error) => ReloadOutcome::Failed {
                    error,
                    restore_error,
                },
            },
        };
        Reloaded { outcome, drained }
    }
}
