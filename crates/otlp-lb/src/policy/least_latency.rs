//! Least latency: the endpoint with the lowest EWMA of response times.

use super::{LatencyEstimation, PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::key::reduce;

/// The usable endpoint with the lowest EWMA latency (weight [`LatencyEstimation::alpha`] per
/// sample). Endpoints with no sample yet count as fastest, so each is tried first; ties go to
/// a random one. A pick scans all endpoints. Every pick goes to the current minimum until its
/// latency rises, so under load prefer [`PeakEwma`](super::PeakEwma), which also weighs
/// requests in flight.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeastLatency {
    estimation: LatencyEstimation,
}

impl LeastLatency {
    /// Least latency with EWMA weight 0.3 per sample.
    pub fn new() -> Self {
        Self::default()
    }

    /// Least latency with these estimation settings.
    pub fn with_estimation(estimation: LatencyEstimation) -> Self {
        Self { estimation }
    }
}

impl Policy for LeastLatency {
    type Table = ();

    fn name(&self) -> &'static str {
        "least_latency"
    }

    fn latency_estimation(&self) -> Option<LatencyEstimation> {
        Some(self.estimation)
    }

    fn build(&self, _endpoints: &[Endpoint]) -> crate::Result<Self::Table> {
        Ok(())
    }

    fn pick(&self, _table: &(), ctx: &PickContext<'_>) -> Option<usize> {
        let len = ctx.len();
        let start = reduce(ctx.random(), len);
        let mut best: Option<(usize, f64)> = None;
        for k in 0..len {
            let index = (start + k) % len;
            if !ctx.usable(index) {
                continue;
            }
            let latency = ctx.ewma_nanos(index).unwrap_or(0.0);
            if best.is_none_or(|(_, lowest)| latency < lowest) {
                best = Some((index, latency));
            }
        }
        best.map(|(index, _)| index)
    }
}
