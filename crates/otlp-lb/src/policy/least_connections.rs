//! Least connections: the endpoint with the fewest requests in flight, relative to weight.

use super::{PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::key::reduce;

/// The usable endpoint with the fewest requests in flight per unit of weight (nginx's and
/// Envoy's `least_conn`, the exhaustive kind). Requests count from [`Balancer::pick`] until the
/// [`Pick`] guard is dropped. Ties go to a random one of them; a pick scans all endpoints.
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
        let start = reduce(ctx.random(), len);
        let mut best: Option<(usize, u128, u128)> = None;
        let mut ties = 0_u64;
        for k in 0..len {
            let index = (start + k) % len;
            if !ctx.usable(index) {
                continue;
            }
            let load = u128::from(ctx.in_flight(index));
            let weight = u128::from(ctx.weight(index));
            match best {
                // load / weight < best_load / best_weight, without division.
                Some((_, best_load, best_weight)) if load * best_weight > best_load * weight => {}
                Some((_, best_load, best_weight)) if load * best_weight == best_load * weight => {
                    // Reservoir sampling keeps each tied endpoint equally likely.
                    ties += 1;
                    if ctx.random().is_multiple_of(ties + 1) {
                        best = Some((index, load, weight));
                    }
                }
                _ => {
                    best = Some((index, load, weight));
                    ties = 0;
                }
            }
        }
        best.map(|(index, _, _)| index)
    }
}
