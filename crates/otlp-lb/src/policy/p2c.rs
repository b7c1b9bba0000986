//! Power of two choices over peak-EWMA latency (Finagle's, linkerd's and tower's balancer).

use super::{LatencyEstimation, PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::key::reduce;

/// Power of two choices with peak-EWMA cost: draw two distinct endpoints at random, send to
/// the one with the lower `latency estimate × (in flight + 1) / weight`.
///
/// The estimate jumps to any slower response at once (the peak) and decays towards faster
/// ones with time constant [`LatencyEstimation::decay`]; an idle endpoint's estimate decays
/// towards zero, so it is probed again. This is what Finagle, linkerd and tower's
/// `p2c` + `PeakEwma` do; picks are O(1) and avoid the herd a global minimum causes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeakEwma {
    estimation: LatencyEstimation,
}

impl PeakEwma {
    /// P2C peak-EWMA with tower's defaults (10 s decay, 30 ms starting estimate).
    pub fn new() -> Self {
        Self::default()
    }

    /// P2C peak-EWMA with these estimation settings.
    pub fn with_estimation(estimation: LatencyEstimation) -> Self {
        Self { estimation }
    }

    #[inline]
    fn cost(ctx: &PickContext<'_>, index: usize) -> f64 {
        ctx.peak_ewma_nanos(index) * (ctx.in_flight(index) + 1) as f64
            / f64::from(ctx.weight(index))
    }
}

impl Policy for PeakEwma {
    type Table = ();

    fn name(&self) -> &'static str {
        "p2c_peak_ewma"
    }

    fn latency_estimation(&self) -> Option<LatencyEstimation> {
        Some(self.estimation)
    }

    fn build(&self, _endpoints: &[Endpoint]) -> crate::Result<Self::Table> {
        Ok(())
    }

    #[inline]
    fn pick(&self, _table: &(), ctx: &PickContext<'_>) -> Option<usize> {
        let len = ctx.len();
        if len == 1 {
            return ctx.usable(0).then_some(0);
        }
        let random = ctx.random();
        let first = reduce(random, len);
        let second = (first + 1 + reduce(crate::key::mix64(random), len - 1)) % len;
        match (ctx.usable(first), ctx.usable(second)) {
            (true, true) => Some(if Self::cost(ctx, second) < Self::cost(ctx, first) {
                second
            } else {
                first
            }),
            (true, false) => Some(first),
            (false, true) => Some(second),
            (false, false) => {
                // Both drawn endpoints are out: compare the next two usable ones instead.
                let a = ctx.first_usable_from(second)?;
                match ctx.first_usable_from(a + 1).filter(|&b| b != a) {
                    Some(b) if Self::cost(ctx, b) < Self::cost(ctx, a) => Some(b),
                    _ => Some(a),
                }
            }
        }
    }
}
