//! Smooth weighted round robin, nginx's algorithm.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::{PickContext, Policy};
use crate::endpoint::Endpoint;

/// The longest cycle precomputed; heavier weight sets run nginx's loop under a lock instead.
const MAX_SEQUENCE: u64 = 1 << 20;

/// Smooth weighted round robin (nginx's `upstream` default): every step each endpoint's
/// current weight grows by its weight, the largest is picked and lowered by the total. Weights
/// {5, 1, 1} give `a a b a c a a` — heavy endpoints are interleaved, not bunched.
///
/// The cycle (sum of weights over their gcd) is precomputed when it has at most 2^20 steps,
/// so a pick is one atomic increment; larger cycles run the loop under a mutex. Ineligible
/// endpoints are skipped in the sequence, so the others keep their relative shares.
#[derive(Debug, Clone, Copy, Default)]
pub struct SmoothWeightedRoundRobin {}

impl SmoothWeightedRoundRobin {
    /// Smooth weighted round robin.
    pub fn new() -> Self {
        Self {}
    }

    /// One full cycle of nginx's sequence for `weights` (indices into `weights`).
    pub fn sequence(weights: &[u32]) -> Vec<usize> {
        let divisor = weights.iter().fold(0, |g, &w| gcd(g, w)).max(1);
        let reduced: Vec<i64> = weights.iter().map(|&w| i64::from(w / divisor)).collect();
        let total: i64 = reduced.iter().sum();
        let mut current = vec![0_i64; weights.len()];
        (0..total)
            .filter_map(|_| nginx_step(&mut current, &reduced, |_| true))
            .collect()
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// One step of nginx's `ngx_http_upstream_get_peer` over the endpoints `usable` allows.
fn nginx_step(
    current: &mut [i64],
    weights: &[i64],
    usable: impl Fn(usize) -> bool,
) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut total = 0;
    for (index, weight) in weights.iter().enumerate() {
        if !usable(index) {
            continue;
        }
        current[index] += weight;
        total += weight;
        if best.is_none_or(|b| current[index] > current[b]) {
            best = Some(index);
        }
    }
    let best = best?;
    current[best] -= total;
    Some(best)
}

/// Smooth weighted round robin's table.
#[derive(Debug)]
pub enum SmoothWeightedTable {
    /// The precomputed cycle and the position in it.
    Sequence {
        /// Endpoint indices, one cycle.
        order: Box<[u32]>,
        /// Picks so far.
        next: AtomicUsize,
    },
    /// nginx's state, for cycles too long to precompute.
    Locked {
        /// Weights over their gcd.
        weights: Box<[i64]>,
        /// nginx's `current_weight` per endpoint.
        current: Mutex<Vec<i64>>,
    },
}

impl Policy for SmoothWeightedRoundRobin {
    type Table = SmoothWeightedTable;

    fn name(&self) -> &'static str {
        "smooth_weighted_round_robin"
    }

    fn build(&self, endpoints: &[Endpoint]) -> crate::Result<Self::Table> {
        let weights: Vec<u32> = endpoints.iter().map(Endpoint::weight).collect();
        let divisor = weights.iter().fold(0, |g, &w| gcd(g, w)).max(1);
        let cycle: u64 = weights.iter().map(|&w| u64::from(w / divisor)).sum();
        if cycle <= MAX_SEQUENCE {
            let order = Self::sequence(&weights)
                .into_iter()
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            Ok(SmoothWeightedTable::Sequence {
                order,
                next: AtomicUsize::new(0),
            })
        } else {
            let weights: Box<[i64]> = weights.iter().map(|&w| i64::from(w / divisor)).collect();
            Ok(SmoothWeightedTable::Locked {
                current: Mutex::new(vec![0; weights.len()]),
                weights,
            })
        }
    }

    fn pick(&self, table: &Self::Table, ctx: &PickContext<'_>) -> Option<usize> {
        match table {
            SmoothWeightedTable::Sequence { order, next } => {
                let len = order.len();
                if len == 0 {
                    return None;
                }
                let start = next.fetch_add(1, Ordering::Relaxed) % len;
                let first = order[start] as usize;
                if ctx.usable(first) {
                    return Some(first);
                }
                // Every endpoint appears in one cycle, so one cycle finds any usable one.
                (1..len)
                    .map(|k| order[(start + k) % len] as usize)
                    .find(|&i| ctx.usable(i))
            }
            SmoothWeightedTable::Locked { weights, current } => {
                let mut current = current.lock().unwrap_or_else(PoisonError::into_inner);
                nginx_step(&mut current, weights, |i| ctx.usable(i))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_reference_sequence() {
        // From nginx's commit introducing smooth weighted round robin (52327e0627f4).
        let names = ["a", "b", "c"];
        let order: String = SmoothWeightedRoundRobin::sequence(&[5, 1, 1])
            .into_iter()
            .map(|i| names[i])
            .collect();
        assert_eq!(order, "aabacaa");
    }

    #[test]
    fn scaled_weights_give_the_same_cycle() {
        assert_eq!(
            SmoothWeightedRoundRobin::sequence(&[10, 2, 2]),
            SmoothWeightedRoundRobin::sequence(&[5, 1, 1])
        );
    }
}
