//! Maglev hashing (Eisenbud et al., NSDI 2016): a prime-sized lookup table filled from each
//! endpoint's permutation of the slots.

use super::{KeyedPolicy, PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::key::{mix64, reduce};
use crate::{Error, Result};

/// Prime table sizes: the default (65537, as in the paper) and larger ones for large sets.
const PRIMES: [u64; 10] = [
    65_537, 131_071, 262_139, 524_287, 1_048_573, 2_097_143, 4_194_301, 8_388_593, 16_777_213,
    33_554_393,
];

/// Extra table probes for a key whose owner is ineligible, before scanning in index order.
const PROBES: u64 = 32;

/// Maglev consistent hashing: a key's owner is one table lookup, every endpoint owns an
/// equal share of the slots (±1, or in proportion to weight), and a membership change moves
/// a little more than the ideal `1/n` of the keys (see the balance notes in
/// `docs/benchmarks.md`). The table size is prime and at least 100 × the endpoints: 65537
/// up to 655 endpoints, the next size in a fixed list of primes beyond (so every process
/// picks the same).
///
/// Failover for a key probes further table slots derived from its hash, then endpoints in
/// index order, so the order is the same in every process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Maglev {
    table_size: Option<u64>,
}

impl Maglev {
    /// Maglev with the table size chosen from the endpoint count.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maglev with a fixed table size, which must be prime and at least the endpoint count.
    pub fn with_table_size(table_size: u64) -> Result<Self> {
        if table_size < 2 || !is_prime(table_size) || table_size > PRIMES[PRIMES.len() - 1] {
            return Err(Error::InvalidConfig {
                what: "table_size",
                reason: format!(
                    "{table_size} must be a prime between 2 and {}",
                    PRIMES[PRIMES.len() - 1]
                ),
            });
        }
        Ok(Self {
            table_size: Some(table_size),
        })
    }

    /// The table size used for `endpoints` endpoints.
    pub fn table_size_for(&self, endpoints: usize) -> Result<u64> {
        if let Some(size) = self.table_size {
            if (endpoints as u64) > size {
                return Err(Error::TableTooLarge {
                    algorithm: "maglev",
                    reason: format!("{endpoints} endpoints do not fit a table of {size}"),
                });
            }
            return Ok(size);
        }
        let wanted = (endpoints as u64).saturating_mul(100);
        PRIMES
            .iter()
            .copied()
            .find(|&prime| prime >= wanted)
            .ok_or_else(|| Error::TableTooLarge {
                algorithm: "maglev",
                reason: format!(
                    "{endpoints} endpoints need a table over {}",
                    PRIMES[PRIMES.len() - 1]
                ),
            })
    }
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// The Maglev lookup table: slot → endpoint index.
#[derive(Debug, Clone)]
pub struct MaglevTable {
    slots: Box<[u32]>,
    endpoints: usize,
}

impl MaglevTable {
    /// Fills a table of prime size `size` for `endpoints` (in the balancer's id order), each
    /// taking slots in proportion to its weight.
    pub fn new(endpoints: &[Endpoint], size: u64) -> Self {
        let m = size as usize;
        let mut slots = vec![u32::MAX; m];
        if endpoints.is_empty() {
            return Self {
                slots: slots.into_boxed_slice(),
                endpoints: 0,
            };
        }
        // Each endpoint's permutation of the slots: offset + j × skip (mod m), skip ≠ 0.
        let mut next: Vec<u64> = Vec::with_capacity(endpoints.len());
        let mut skips: Vec<u64> = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let id = endpoint.id().as_str().as_bytes();
            next.push(xxhash_rust::xxh3::xxh3_64_with_seed(id, 0x6d61_676c) % size);
            skips.push(xxhash_rust::xxh3::xxh3_64_with_seed(id, 0x6576_3031) % (size - 1) + 1);
        }
        let max_weight = endpoints.iter().map(Endpoint::weight).max().unwrap_or(1);
        let mut credit = vec![0_u64; endpoints.len()];
        let mut filled = 0;
        'fill: loop {
            for (index, endpoint) in endpoints.iter().enumerate() {
                credit[index] += u64::from(endpoint.weight());
                while credit[index] >= u64::from(max_weight) {
                    credit[index] -= u64::from(max_weight);
                    let mut slot = next[index];
                    while slots[slot as usize] != u32::MAX {
                        slot = (slot + skips[index]) % size;
                    }
                    slots[slot as usize] = index as u32;
                    next[index] = (slot + skips[index]) % size;
                    filled += 1;
                    if filled == m {
                        break 'fill;
                    }
                }
            }
        }
        Self {
            slots: slots.into_boxed_slice(),
            endpoints: endpoints.len(),
        }
    }

    /// The endpoint index owning `hash`: one lookup.
    #[inline]
    pub fn owner(&self, hash: u64) -> usize {
        self.slots[reduce(hash, self.slots.len())] as usize
    }

    /// The `k`-th alternative for `hash` (k ≥ 1).
    #[inline]
    fn probe(&self, hash: u64, k: u64) -> usize {
        self.owner(mix64(
            hash.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        ))
    }

    /// Slots in the table.
    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// Endpoints in the table.
    pub fn endpoints(&self) -> usize {
        self.endpoints
    }

    /// Slot owners, in slot order.
    pub fn slots(&self) -> &[u32] {
        &self.slots
    }
}

impl Policy for Maglev {
    type Table = MaglevTable;

    fn name(&self) -> &'static str {
        "maglev"
    }

    fn keyed(&self) -> bool {
        true
    }

    fn build(&self, endpoints: &[Endpoint]) -> Result<MaglevTable> {
        Ok(MaglevTable::new(
            endpoints,
            self.table_size_for(endpoints.len())?,
        ))
    }

    #[inline]
    fn pick(&self, table: &MaglevTable, ctx: &PickContext<'_>) -> Option<usize> {
        let hash = ctx.key()?;
        let owner = table.owner(hash);
        if ctx.usable(owner) {
            return Some(owner);
        }
        (1..=PROBES)
            .map(|k| table.probe(hash, k))
            .find(|&candidate| ctx.usable(candidate))
            .or_else(|| ctx.first_usable_from(owner + 1))
    }
}

impl KeyedPolicy for Maglev {
    fn owner(&self, table: &MaglevTable, hash: u64) -> Option<usize> {
        (table.endpoints > 0).then(|| table.owner(hash))
    }

    fn candidates(&self, table: &MaglevTable, hash: u64, limit: usize, out: &mut Vec<usize>) {
        let n = table.endpoints;
        if n == 0 {
            return;
        }
        let limit = limit.min(n);
        let mut seen = vec![false; n];
        let owner = table.owner(hash);
        let probes = std::iter::once(owner).chain((1..=PROBES).map(|k| table.probe(hash, k)));
        let in_order = (1..n).map(|k| (owner + k) % n);
        for candidate in probes.chain(in_order) {
            if out.len() >= limit {
                break;
            }
            if !seen[candidate] {
                seen[candidate] = true;
                out.push(candidate);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sizes_are_prime() {
        assert!(PRIMES.iter().all(|&p| is_prime(p)));
        assert_eq!(Maglev::new().table_size_for(655).unwrap(), 65_537);
        assert_eq!(Maglev::new().table_size_for(1000).unwrap(), 131_071);
        assert!(Maglev::with_table_size(65_536).is_err());
    }

    #[test]
    fn every_endpoint_gets_an_equal_share() {
        let endpoints: Vec<Endpoint> = (0..7).map(|i| Endpoint::new(format!("e{i}"))).collect();
        let table = MaglevTable::new(&endpoints, 65_537);
        let mut counts = [0_usize; 7];
        for &slot in table.slots() {
            counts[slot as usize] += 1;
        }
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(max - min <= 1, "{counts:?}");
    }

    #[test]
    fn weights_set_the_shares() {
        let endpoints = vec![Endpoint::new("a").with_weight(3), Endpoint::new("b")];
        let table = MaglevTable::new(&endpoints, 65_537);
        let a = table.slots().iter().filter(|&&s| s == 0).count();
        assert!((a as f64 / 65_537.0 - 0.75).abs() < 0.001, "{a}");
    }
}
