//! Weighted random: each endpoint with probability weight / total weight.

use super::{PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::key::reduce;

/// Draws before falling back to a scan when the drawn endpoints are not usable.
const DRAWS: usize = 4;

/// A random endpoint, each with probability proportional to its weight, in O(1) per pick
/// (Vose's alias method). When the drawn endpoint is ineligible it draws again, then falls
/// back to a weighted draw over the usable endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedRandom {}

impl WeightedRandom {
    /// Weighted random.
    pub fn new() -> Self {
        Self {}
    }
}

/// Vose's alias table: column `i` keeps itself with probability `keep[i] / 2^32`, else
/// hands over to `alias[i]`.
#[derive(Debug)]
pub struct AliasTable {
    keep: Box<[u32]>,
    alias: Box<[u32]>,
}

impl AliasTable {
    fn new(weights: &[u32]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        let mut scaled: Vec<f64> = weights
            .iter()
            .map(|&w| f64::from(w) * n as f64 / total)
            .collect();
        let mut keep = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            keep[s] = (scaled[s] * 4_294_967_296.0).min(u32::MAX as f64) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Self {
            keep: keep.into_boxed_slice(),
            alias: alias.into_boxed_slice(),
        }
    }

    #[inline]
    fn draw(&self, random: u64) -> usize {
        let column = reduce(random, self.keep.len());
        if (random as u32) < self.keep[column] || self.keep[column] == u32::MAX {
            column
        } else {
            self.alias[column] as usize
        }
    }
}

impl Policy for WeightedRandom {
    type Table = AliasTable;

    fn name(&self) -> &'static str {
        "weighted_random"
    }

    fn build(&self, endpoints: &[Endpoint]) -> crate::Result<Self::Table> {
        let weights: Vec<u32> = endpoints.iter().map(Endpoint::weight).collect();
        Ok(AliasTable::new(&weights))
    }

    fn pick(&self, table: &AliasTable, ctx: &PickContext<'_>) -> Option<usize> {
        for _ in 0..DRAWS {
            let index = table.draw(ctx.random());
            if ctx.usable(index) {
                return Some(index);
            }
        }
        let usable_weight: u64 = (0..ctx.len())
            .filter(|&i| ctx.usable(i))
            .map(|i| u64::from(ctx.weight(i)))
            .sum();
        if usable_weight == 0 {
            return None;
        }
        let mut target = ctx.random() % usable_weight;
        (0..ctx.len()).filter(|&i| ctx.usable(i)).find(|&i| {
            let weight = u64::from(ctx.weight(i));
            if target < weight {
                true
            } else {
                target -= weight;
                false
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_matches_weights() {
        let table = AliasTable::new(&[1, 3, 6]);
        let mut counts = [0_u32; 3];
        let mut state = 1_u64;
        for _ in 0..100_000 {
            state = crate::key::mix64(state);
            counts[table.draw(state)] += 1;
        }
        let shares: Vec<f64> = counts.iter().map(|&c| f64::from(c) / 100_000.0).collect();
        for (share, expected) in shares.iter().zip([0.1, 0.3, 0.6]) {
            assert!((share - expected).abs() < 0.01, "{shares:?}");
        }
    }
}
