//! Load shedding at admission: how much of the incoming traces a supervisor (the `degradation` extension's
//! controller) asks the collector to drop while it is overloaded, applied to every batch a receiver hands in,
//! before any pipeline sees it.
//!
//! The setting is one atomic, shared by every receiver and carried across reloads, so the supervisor moves it
//! without locks or restarts. What is dropped is decided by [`otlp_sampling::shed`]: consistent probability
//! sampling that keeps every error span.

use crate::{AnyRequest, Batch, Signal};
use otlp_sampling::consistent::Threshold;
use otlp_sampling::shed::{Shed, shed_traces};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Thresholds are 56-bit; this value, past them, stands for [`Shed::AllButErrors`].
const ALL_BUT_ERRORS: u64 = 1 << 56;

/// The collector's load-shedding setting: none until a supervisor sets one. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct LoadShedding {
    /// 0 (threshold 0 keeps everything): none; a 56-bit threshold; or [`ALL_BUT_ERRORS`].
    setting: Arc<AtomicU64>,
}

impl LoadShedding {
    /// Shed nothing.
    pub fn keep_all(&self) {
        self.setting.store(0, Ordering::Relaxed);
    }

    /// Shed as `shed` says, from the next batch on.
    pub fn set(&self, shed: Shed) {
        let raw = match shed {
            Shed::Below(threshold) => threshold.raw(),
            Shed::AllButErrors => ALL_BUT_ERRORS,
        };
        self.setting.store(raw, Ordering::Relaxed);
    }

    /// What is shed now; `None` when nothing is.
    pub fn current(&self) -> Option<Shed> {
        match self.setting.load(Ordering::Relaxed) {
            0 => None,
            ALL_BUT_ERRORS => Some(Shed::AllButErrors),
            raw => Threshold::from_raw(raw).ok().map(Shed::Below),
        }
    }

    /// Sheds from `batch` what the setting says, returning how many items were dropped. Only traces are shed;
    /// a batch is decoded only while shedding is on.
    pub(crate) fn apply(&self, batch: &mut Batch) -> usize {
        if batch.signal() != Signal::Traces {
            return 0;
        }
        let Some(shed) = self.current() else {
            return 0;
        };
        batch.edit(|request| match request {
            AnyRequest::Traces(traces) => {
                shed_traces(&mut traces.resource_spans, shed).dropped_not_sampled as usize
            }
            AnyRequest::Metrics(_) | AnyRequest::Logs(_) => 0,
        })
    }
}
