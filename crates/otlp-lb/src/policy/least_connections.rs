//! Least connections: the endpoint with the fewest requests in flight, relative to weight.

use super::{PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::key::reduce;

/// The usable endpoint with the fewest requests in flight per unit of weight (nginx's and
/// Envoy's `least_conn`, the exhaustive kind). Requests count from [`Balancer::pick`] until the
/// [`Pick`] guard is dropped. Ties go to the first after a random starting point; a pick scans
/// all endpoints.
///
/// [`Balancer::pick`]: crate::Balancer::pick
/// [`Pick`]: crate::Pick
#[derive(Debug, Clone, Copy, Default)]
pub struct LeastConnections {}

impl LeastConnections {
    /// Least connections.
    pub fn new() -> Self {
        Self {}
    }
}

impl Policy for LeastConnections {
    type Table = ();

    fn name(&self) -> &'static str {
        "least_connections"
    }

    fn build(&self, _endpoints: &[Endpoint]) -> crate::Result<Self::Table> {
        Ok(())
    }

    fn pick(&self, _table: &(), ctx: &PickContext<'_>) -> Option<usize> {
        let len = ctx.len();
        // Scanning from a random start makes the first of several tied endpoints a uniformly
        // random one, without a random draw per tie.
        let start = reduce(ctx.random(), len);
        let mut best: Option<(usize, u128, u128)> = None;
        for k in 0..len {
            let index = (start + k) % len;
            if !ctx.usable(index) {
                continue;
            }
            let load = u128::from(ctx.in_flight(index));
            let weight = u128::from(ctx.weight(index));
            // load / weight < best_load / best_weight, without division.
            if best
                .is_none_or(|(_, best_load, best_weight)| load * best_weight < best_load * weight)
            {
                best = Some((index, load, weight));
            }
        }
        best.map(|(index, _, _)| index)
    }
}
