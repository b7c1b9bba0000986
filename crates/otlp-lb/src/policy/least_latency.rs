//! Least latency: the endpoint with the lowest EWMA of response times.

use super::{LatencyEstimation, PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::key::reduce;

/// The usable endpoint with the lowest `EWMA latency × (in flight + 1) / weight` — F5's
/// "least response time": the EWMA (weight [`LatencyEstimation::alpha`] per sample) says how
/// fast an endpoint answers, the requests in flight how much is already queued there. Without
/// the in-flight term every pick would go to the current minimum until its latency rose,
/// which lags the queue it builds; the simulation in `docs/benchmarks.md` shows that herd
/// melting down. Endpoints with no sample yet count as fastest, so each is tried first; ties
/// go to a random one. A pick scans all endpoints; [`PeakEwma`](super::PeakEwma) looks at
/// two.
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
            let cost = ctx.ewma_nanos(index).unwrap_or(0.0) * (ctx.in_flight(index) + 1) as f64
                / f64::from(ctx.weight(index));
            if best.is_none_or(|(_, lowest)| cost < lowest) {
                best = Some((index, cost));
            }
        }
        best.map(|(index, _)| index)
    }
}
