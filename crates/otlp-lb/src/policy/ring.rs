//! Consistent hashing on a ring of virtual nodes, with optional bounded loads.

use super::{KeyedPolicy, PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::{Error, Result};

/// The most points a ring may hold (12 bytes each, plus the index).
const MAX_POINTS: u64 = 1 << 25;

/// Consistent hashing (Karger et al.) on a ring of virtual nodes: each endpoint is placed at
/// `vnodes × weight` points (xxh3 of its id seeded with the point number), and a key belongs
/// to the first point at or after its hash. Adding an endpoint to `n` moves only the keys it
/// takes over, about `1/(n+1)` of them, all to it; removing one moves only its own keys.
///
/// Failover walks on to the next distinct endpoint on the ring. With a load factor `c`
/// (consistent hashing with bounded loads, Mirrokni, Thorup and Zadimoghaddam), an endpoint
/// with `ceil(c × (in flight + 1) / n)` requests in flight is skipped like an ejected one, so
/// no endpoint carries more than `c` times the mean; `c = 1.25` is a common choice.
///
/// The default of 1024 points per endpoint keeps each endpoint's share of the key space
/// within a few percent of `1/n` (the spread of a share is about `1/sqrt(vnodes)`); lookups
/// stay O(1) through an index on the top bits of the hash, whatever the ring's size.
#[derive(Debug, Clone, Copy)]
pub struct ConsistentHash {
    vnodes: u32,
    load_factor: Option<f64>,
}

impl Default for ConsistentHash {
    fn default() -> Self {
        Self {
            vnodes: Self::DEFAULT_VNODES,
            load_factor: None,
        }
    }
}

impl ConsistentHash {
    /// Virtual nodes per unit of weight unless set.
    pub const DEFAULT_VNODES: u32 = 1024;

    /// A ring with 1024 virtual nodes per unit of weight and no load bound.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same ring with `vnodes` points per unit of weight (at least 1).
    pub fn vnodes(mut self, vnodes: u32) -> Result<Self> {
        if vnodes == 0 {
            return Err(Error::InvalidConfig {
                what: "vnodes",
                reason: "must be at least 1".to_owned(),
            });
        }
        self.vnodes = vnodes;
        Ok(self)
    }

    /// The same ring with bounded loads: no endpoint takes more than `load_factor` times the
    /// mean number of requests in flight (`load_factor` > 1).
    pub fn bounded(mut self, load_factor: f64) -> Result<Self> {
        if !(load_factor > 1.0 && load_factor.is_finite()) {
            return Err(Error::InvalidConfig {
                what: "load_factor",
                reason: format!("{load_factor} must be a number greater than 1"),
            });
        }
        self.load_factor = Some(load_factor);
        Ok(self)
    }

    /// The load bound, if any.
    pub fn load_factor(&self) -> Option<f64> {
        self.load_factor
    }

    /// Points per unit of weight.
    pub fn vnodes_per_weight(&self) -> u32 {
        self.vnodes
    }

    /// The most requests in flight an endpoint may have for a new one to go to it, when
    /// `total_in_flight` are in flight over `endpoints` endpoints.
    pub fn capacity(load_factor: f64, total_in_flight: u64, endpoints: usize) -> u64 {
        (load_factor * (total_in_flight + 1) as f64 / endpoints.max(1) as f64).ceil() as u64
    }
}

/// A ring of virtual nodes: sorted points, their owners, and an index by the hash's top bits
/// that makes a lookup a short scan instead of a binary search.
#[derive(Debug, Clone)]
pub struct Ring {
    points: Box<[u64]>,
    owners: Box<[u32]>,
    /// `index[b]` = the first point ≥ `b << shift`.
    index: Box<[u32]>,
    shift: u32,
    endpoints: usize,
}

impl Ring {
    /// The ring for `endpoints` (in the balancer's id order) with `vnodes` points per unit of
    /// weight.
    pub fn new(endpoints: &[Endpoint], vnodes: u32) -> Result<Self> {
        let total: u64 = endpoints
            .iter()
            .map(|e| u64::from(e.weight()) * u64::from(vnodes))
            .sum();
        if total > MAX_POINTS {
            return Err(Error::TableTooLarge {
                algorithm: "consistent_hash",
                reason: format!("{total} points; at most {MAX_POINTS} (lower vnodes or weights)"),
            });
        }
        let mut placed: Vec<(u64, u32)> = Vec::with_capacity(total as usize);
        for (owner, endpoint) in endpoints.iter().enumerate() {
            let id = endpoint.id().as_str().as_bytes();
            let count = u64::from(endpoint.weight()) * u64::from(vnodes);
            placed.extend((0..count).map(|point| {
                (
                    xxhash_rust::xxh3::xxh3_64_with_seed(id, point),
                    owner as u32,
                )
            }));
        }
        // Ties (two ids hashing to one point) go to the lower id, the same in every process.
        placed.sort_unstable();
        let len = placed.len();
        let bits = (usize::BITS - len.max(2).next_power_of_two().leading_zeros() - 1).clamp(1, 24);
        let shift = 64 - bits;
        let mut index = vec![0_u32; 1 << bits];
        let mut position = 0;
        for (bucket, slot) in index.iter_mut().enumerate() {
            let start = (bucket as u64) << shift;
            while position < len && placed[position].0 < start {
                position += 1;
            }
            *slot = position as u32;
        }
        let (points, owners) = placed.into_iter().unzip::<_, _, Vec<_>, Vec<_>>();
        Ok(Self {
            points: points.into_boxed_slice(),
            owners: owners.into_boxed_slice(),
            index: index.into_boxed_slice(),
            shift,
            endpoints: endpoints.len(),
        })
    }

    /// The position of the first point at or after `hash`, wrapping past the top.
    #[inline]
    pub fn position(&self, hash: u64) -> usize {
        let mut position = self.index[(hash >> self.shift) as usize] as usize;
        while position < self.points.len() && self.points[position] < hash {
            position += 1;
        }
        if position == self.points.len() {
            0
        } else {
            position
        }
    }

    /// The endpoint index owning `hash`, or `None` for an empty ring.
    #[inline]
    pub fn owner(&self, hash: u64) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        Some(self.owners[self.position(hash)] as usize)
    }

    /// The owner of the point at `position` (taken modulo the ring's size).
    #[inline]
    pub fn owner_at(&self, position: usize) -> usize {
        self.owners[position % self.owners.len().max(1)] as usize
    }

    /// Points on the ring.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the ring has no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Endpoints on the ring.
    pub fn endpoints(&self) -> usize {
        self.endpoints
    }

    /// Each endpoint's exact share of the hash space (what fraction of uniformly hashed keys
    /// it owns), by endpoint index.
    pub fn shares(&self) -> Vec<f64> {
        let mut shares = vec![0.0; self.endpoints];
        let Some(&last) = self.points.last() else {
            return shares;
        };
        // Point i owns (previous point, point i]; the first also owns the wrap-around arc.
        let mut previous = last;
        for (&point, &owner) in self.points.iter().zip(self.owners.iter()) {
            shares[owner as usize] += point.wrapping_sub(previous) as f64 / 2f64.powi(64);
            previous = point;
        }
        shares
    }

    /// Pairs of (arc end, owner): every arc `(previous end, end]` and who owns it. For
    /// comparing two rings exactly.
    pub fn arcs(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.points
            .iter()
            .zip(self.owners.iter())
            .map(|(&point, &owner)| (point, owner as usize))
    }

    /// Up to `limit` distinct endpoints met walking clockwise from `hash`.
    pub fn walk_distinct(&self, hash: u64, limit: usize, out: &mut Vec<usize>) {
        if self.points.is_empty() {
            return;
        }
        let limit = limit.min(self.endpoints);
        let mut seen = vec![false; self.endpoints];
        let start = self.position(hash);
        let mut found = 0;
        for step in 0..self.points.len() {
            if found == limit {
                break;
            }
            let owner = self.owner_at(start + step);
            if !seen[owner] {
                seen[owner] = true;
                out.push(owner);
                found += 1;
            }
        }
    }
}

impl Policy for ConsistentHash {
    type Table = Ring;

    fn name(&self) -> &'static str {
        "consistent_hash"
    }

    fn keyed(&self) -> bool {
        true
    }

    fn uses_total_load(&self) -> bool {
        self.load_factor.is_some()
    }

    fn build(&self, endpoints: &[Endpoint]) -> Result<Ring> {
        Ring::new(endpoints, self.vnodes)
    }

    #[inline]
    fn pick(&self, ring: &Ring, ctx: &PickContext<'_>) -> Option<usize> {
        let hash = ctx.key()?;
        if ring.is_empty() {
            return None;
        }
        let start = ring.position(hash);
        let owner = ring.owner_at(start);
        let capacity = self
            .load_factor
            .map(|factor| Self::capacity(factor, ctx.total_in_flight(), ctx.len()));
        if ctx.usable(owner) && capacity.is_none_or(|cap| ctx.in_flight(owner) < cap) {
            return Some(owner);
        }
        // Walk on: the next distinct usable endpoint with room. If all usable ones are full
        // (possible only while health shrinks the set), the first usable one takes it.
        let mut first_usable = None;
        for step in 1..ring.len() {
            let candidate = ring.owner_at(start + step);
            if candidate == owner || !ctx.usable(candidate) {
                continue;
            }
            match capacity {
                Some(cap) if ctx.in_flight(candidate) >= cap => {
                    first_usable.get_or_insert(candidate);
                }
                _ => return Some(candidate),
            }
        }
        first_usable.or_else(|| ctx.usable(owner).then_some(owner))
    }
}

impl KeyedPolicy for ConsistentHash {
    fn owner(&self, ring: &Ring, hash: u64) -> Option<usize> {
        ring.owner(hash)
    }

    fn candidates(&self, ring: &Ring, hash: u64, limit: usize, out: &mut Vec<usize>) {
        ring.walk_distinct(hash, limit, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(n: usize) -> Vec<Endpoint> {
        let mut list: Vec<Endpoint> = (0..n)
            .map(|i| Endpoint::new(format!("10.0.0.{i}:4317")))
            .collect();
        list.sort_by(|a, b| a.id().cmp(b.id()));
        list
    }

    #[test]
    fn indexed_lookup_matches_binary_search() {
        let ring = Ring::new(&endpoints(7), 50).unwrap();
        let mut state = 7_u64;
        for _ in 0..10_000 {
            state = crate::key::mix64(state);
            let expected = match ring.points.binary_search(&state) {
                Ok(i) => i,
                Err(i) if i == ring.points.len() => 0,
                Err(i) => i,
            };
            assert_eq!(ring.position(state), expected);
        }
        assert_eq!(ring.position(u64::MAX), 0);
        assert_eq!(ring.position(0), 0);
    }

    #[test]
    fn shares_sum_to_one() {
        let ring = Ring::new(&endpoints(5), 100).unwrap();
        let total: f64 = ring.shares().iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn load_factor_must_exceed_one() {
        assert!(ConsistentHash::new().bounded(1.0).is_err());
        assert!(ConsistentHash::new().bounded(f64::NAN).is_err());
        assert!(ConsistentHash::new().vnodes(0).is_err());
    }
}
