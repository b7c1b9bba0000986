//! [`Pick`]: one chosen endpoint, counted in flight until it is dropped, and the way its
//! outcome flows back into the algorithms that learn.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{LazyNow, nanos};
use crate::endpoint::Endpoint;
use crate::state::EndpointState;

/// How a request to a picked endpoint went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered well.
    Success,
    /// The endpoint failed (error, timeout, refused): counts towards outlier ejection.
    Failure,
}

/// An endpoint chosen by a balancer, and a guard that keeps the request counted as in flight
/// (for least connections, P2C and bounded loads) until it is dropped.
///
/// Report the outcome with [`success`](Pick::success) or [`failure`](Pick::failure); dropping
/// a pick without reporting (a cancelled request) only ends its in-flight count. For the
/// latency-aware algorithms the time from pick to report is the latency sample.
#[derive(Debug)]
#[must_use = "a pick counts as in flight until dropped; report its outcome"]
pub struct Pick {
    state: Arc<EndpointState>,
    started_at: Option<u64>,
}

impl Pick {
    pub(crate) fn start(state: Arc<EndpointState>, now: &LazyNow<'_>) -> Self {
        state.acquire();
        let started_at = state.shared.latency.is_some().then(|| now.get());
        Self { state, started_at }
    }

    /// The endpoint to send to.
    #[inline]
    pub fn endpoint(&self) -> &Endpoint {
        &self.state.endpoint
    }

    /// Reports a success, timed from the pick.
    pub fn success(self) {
        self.record(Outcome::Success, None);
    }

    /// Reports a failure, timed from the pick.
    pub fn failure(self) {
        self.record(Outcome::Failure, None);
    }

    /// Reports `outcome` with a latency measured by the caller (or timed from the pick when
    /// `None`).
    pub fn record(self, outcome: Outcome, latency: Option<Duration>) {
        let shared = &self.state.shared;
        // The clock is read only when something will use the time: a latency estimate, or
        // an ejection decision.
        let needs_time =
            shared.latency.is_some() || (outcome == Outcome::Failure && shared.outlier.is_some());
        let now = if needs_time {
            shared.clock.now_nanos()
        } else {
            0
        };
        let latency = latency
            .map(nanos)
            .or_else(|| self.started_at.map(|start| now.saturating_sub(start)));
        match outcome {
            Outcome::Success => self.state.record_success(latency, now),
            Outcome::Failure => self.state.record_failure(latency, now),
        }
    }
}

impl Drop for Pick {
    fn drop(&mut self) {
        self.state.release();
    }
}
