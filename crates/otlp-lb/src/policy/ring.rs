//! Consistent hashing on a ring of virtual nodes, with optional bounded loads.

use super::{KeyedPolicy, PickContext, Policy};
use crate::endpoint::Endpoint;
use crate::{Error, Result};

/// The most points a ring may hold (12 bytes each, plus the index).
const MAX_POINTS: u64 = 1 << 25;

/// Consistent hashing (Karger et al.) on a ring of virtual nodes: each endpoint is placed at
/// `vnodes × weight` points (xxh3 of its id seeded with the point number), and a key belongs
/// to the first point at or after its slot: the key space is cut into 2^20 equal slots
/// ([`Ring::SLOTS`]) and a key's slot starts at its hash rounded down to a slot boundary.
/// Adding an endpoint to `n` moves only the slots it takes over, about `1/(n+1)` of them, all
/// to it; removing one moves only its own.
///
/// Failover walks on to the next distinct endpoint on the ring. With a load factor `c`
/// (consistent hashing with bounded loads, Mirrokni, Thorup and Zadimoghaddam), an endpoint
/// with `ceil(c × (in flight + 1) / n)` requests in flight is skipped like an ejected one, so
/// no endpoint carries more than `c` times the mean; `c = 1.25` is a common choice.
///
/// Each endpoint's share of the key space spreads around `1/n` by about `1/sqrt(vnodes)`, so
/// the default of 2048 points per endpoint keeps shares within ~2% of even, and adding an
/// endpoint moves under `1.1/(n+1)` of the keys for all but a few memberships in a million
/// (Ketama's 160 points leave a 8% spread, and break that bound one time in nine).
///
/// Why slots: at 1000 endpoints the ring holds two million points (16 MiB), far larger than
/// the CPU caches, and finding a key's point costs two dependent cache misses. The ring's
/// answer for every slot is computed once per membership into a 2 MiB table of owners, so an
/// owner lookup is one read, as in Maglev, while keys still move only to or from the endpoint
/// that changed, as on a ring (Maglev moves a few percent more). Slots add a sampling spread
/// of `sqrt(n / 2^20)` to each share (3% at 1000 endpoints, 0.3% at 10); otelcol's ring cuts
/// the key space into 36 000 positions.
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
    pub const DEFAULT_VNODES: u32 = 2048;

    /// A ring with 2048 virtual nodes per unit of weight and no load bound.
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

/// A ring of virtual nodes, with every slot's owner precomputed.
///
/// Points are packed as their top 48 bits with their owner in the low 16, in one sorted array,
/// with an index by the hash's top bits (one or two points per bucket): finding the point at
/// or after a hash reads the bucket's start, then counts the points below the hash among the
/// next eight without a branch. Owner lookups skip all that and read the slot table; the
/// points serve the walks of failover and bounded loads.
///
/// Points are compared on 48 bits: two points closer than 2^-48 of the ring are ordered by
/// owner index, identically in every process.
#[derive(Debug, Clone)]
pub struct Ring {
    /// `point48 << 16 | owner`, sorted, followed by `WINDOW` sentinels (`u64::MAX`) so a
    /// window read never runs off the end.
    packed: Box<[u64]>,
    /// Points, without the sentinels.
    len: usize,
    /// `index[b]` = the first entry whose point is ≥ `b << shift`.
    index: Box<[u32]>,
    shift: u32,
    /// `slots[s]` = the owner of the first point at or after slot `s`'s start; empty when the
    /// ring is.
    slots: Box<[u16]>,
    /// Whether owner lookups search the points instead of reading the slot table: the same
    /// answer, from two reads in a ring small enough to stay in the CPU's L2 cache rather than
    /// one read in a 2 MiB table that does not (it matters where each lookup is followed by
    /// atomic bookkeeping, which keeps the CPU from overlapping lookups).
    search_points: bool,
    endpoints: usize,
}

/// Entries compared at once in a lookup.
const WINDOW: usize = 8;
const OWNER_BITS: u32 = 16;
const OWNER_MASK: u64 = (1 << OWNER_BITS) - 1;
/// The most endpoints a ring holds: owners are 16 bits.
const MAX_RING_ENDPOINTS: usize = 1 << OWNER_BITS;
const SLOT_BITS: u32 = 20;
/// Up to this size (points and index) a ring is searched rather than read through its slot
/// table: half of the 1 MiB L2 cache of the machines we measure on.
const SMALL_RING_BYTES: usize = 512 * 1024;
const SLOT_SHIFT: u32 = 64 - SLOT_BITS;

impl Ring {
    /// Slots the key space is cut into. A constant, not a function of the membership: were it
    /// to change with the endpoint count, a membership change would move keys between slots
    /// of other endpoints too.
    pub const SLOTS: usize = 1 << SLOT_BITS;

    /// The ring for `endpoints` (in the balancer's id order) with `vnodes` points per unit of
    /// weight.
    pub fn new(endpoints: &[Endpoint], vnodes: u32) -> Result<Self> {
        let total: u64 = endpoints
            .iter()
            .map(|e| u64::from(e.weight()) * u64::from(vnodes))
            .sum();
        if total > MAX_POINTS || endpoints.len() > MAX_RING_ENDPOINTS {
            return Err(Error::TableTooLarge {
                algorithm: "consistent_hash",
                reason: format!(
                    "{} endpoints, {total} points; at most {MAX_RING_ENDPOINTS} endpoints and \
                     {MAX_POINTS} points (lower vnodes or weights)",
                    endpoints.len()
                ),
            });
        }
        let mut packed: Vec<u64> = Vec::with_capacity(total as usize);
        for (owner, endpoint) in endpoints.iter().enumerate() {
            let id = endpoint.id().as_str().as_bytes();
            let count = u64::from(endpoint.weight()) * u64::from(vnodes);
            packed.extend((0..count).map(|point| {
                let hash = xxhash_rust::xxh3::xxh3_64_with_seed(id, point);
                (hash & !OWNER_MASK) | owner as u64
            }));
        }
        packed.sort_unstable();
        let len = packed.len();
        // One to two points per bucket: a window of 8 holds the answer all but ~2e-4 of the
        // time (the loop goes on in the rare fuller bucket).
        let bits =
            (usize::BITS - (len / 2).max(2).next_power_of_two().leading_zeros() - 1).clamp(1, 24);
        let shift = 64 - bits;
        let mut index = vec![0_u32; 1 << bits];
        let mut position = 0;
        for (bucket, slot) in index.iter_mut().enumerate() {
            let start = (bucket as u64) << shift;
            while position < len && packed[position] < start {
                position += 1;
            }
            *slot = position as u32;
        }
        let slots = slot_owners(&packed);
        let search_points =
            (len * size_of::<u64>() + index.len() * size_of::<u32>()) <= SMALL_RING_BYTES;
        packed.extend([u64::MAX; WINDOW]);
        Ok(Self {
            packed: packed.into_boxed_slice(),
            len,
            index: index.into_boxed_slice(),
            shift,
            slots,
            search_points,
            endpoints: endpoints.len(),
        })
    }

    /// The position of the point owning `hash`: the first at or after the start of `hash`'s
    /// slot, wrapping past the top. Failover walks on from here.
    #[inline]
    pub fn position(&self, hash: u64) -> usize {
        self.point_at_or_after(slot_start(hash))
    }

    /// The position of the first point at or after `hash` itself, wrapping past the top.
    #[inline]
    fn point_at_or_after(&self, hash: u64) -> usize {
        self.position_from(self.bucket_start(hash), hash)
    }

    /// Where `hash`'s bucket starts in the points: the first of a lookup's two memory reads.
    #[inline]
    fn bucket_start(&self, hash: u64) -> usize {
        self.index
            .get((hash >> self.shift) as usize)
            .map_or(0, |&start| start as usize)
    }

    /// The position of the first point at or after `hash`, searching from `position`, the start
    /// of its bucket.
    #[inline]
    fn position_from(&self, mut position: usize, hash: u64) -> usize {
        let target = hash & !OWNER_MASK;
        loop {
            let Some(window) = self
                .packed
                .get(position..position + WINDOW)
                .and_then(|slice| <&[u64; WINDOW]>::try_from(slice).ok())
            else {
                return 0;
            };
            // A fixed-size window compiles to vector compares and adds: no branch per entry.
            let below: usize = window
                .iter()
                .map(|&entry| usize::from(entry < target))
                .sum();
            position += below;
            if below < WINDOW {
                break;
            }
        }
        if position >= self.len { 0 } else { position }
    }

    /// The endpoint index owning `hash`, or `None` for an empty ring: one read in the slot
    /// table, or for a small ring a search of its points from the start of `hash`'s slot.
    #[inline]
    pub fn owner(&self, hash: u64) -> Option<usize> {
        if self.search_points {
            return (self.len > 0).then(|| self.owner_at(self.position(hash)));
        }
        self.slots
            .get((hash >> SLOT_SHIFT) as usize)
            .map(|&owner| usize::from(owner))
    }

    /// The owner of the point at `position` (taken modulo the ring's size).
    #[inline]
    pub fn owner_at(&self, position: usize) -> usize {
        let position = if position < self.len {
            position
        } else {
            position % self.len.max(1)
        };
        self.packed
            .get(position)
            .map_or(0, |&p| (p & OWNER_MASK) as usize)
    }

    /// Points on the ring.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the ring has no points.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cfg(test)]
    fn points(&self) -> &[u64] {
        self.packed.get(..self.len).unwrap_or_default()
    }

    /// Endpoints on the ring.
    pub fn endpoints(&self) -> usize {
        self.endpoints
    }

    /// Each endpoint's exact share of the hash space (what fraction of uniformly hashed keys
    /// it owns), by endpoint index.
    pub fn shares(&self) -> Vec<f64> {
        let mut counts = vec![0_u64; self.endpoints];
        for &owner in self.slots.iter() {
            if let Some(count) = counts.get_mut(usize::from(owner)) {
                *count += 1;
            }
        }
        counts
            .into_iter()
            .map(|count| count as f64 / Self::SLOTS as f64)
            .collect()
    }

    /// Every slot's owner, by slot: the ring's whole answer, for comparing two rings exactly.
    /// Empty for an empty ring.
    pub fn slot_owners(&self) -> &[u16] {
        &self.slots
    }

    /// Up to `limit` distinct endpoints met walking clockwise from `hash`.
    pub fn walk_distinct(&self, hash: u64, limit: usize, out: &mut Vec<usize>) {
        if self.len == 0 {
            return;
        }
        let limit = limit.min(self.endpoints);
        let mut seen = vec![false; self.endpoints];
        let start = self.position(hash);
        let mut found = 0;
        for step in 0..self.len {
            if found == limit {
                break;
            }
            let owner = self.owner_at(start + step);
            if let Some(seen) = seen.get_mut(owner)
                && !*seen
            {
                *seen = true;
                out.push(owner);
                found += 1;
            }
        }
    }
}

/// Where `hash`'s slot starts.
#[inline]
fn slot_start(hash: u64) -> u64 {
    hash >> SLOT_SHIFT << SLOT_SHIFT
}

/// Every slot's owner, for sorted packed points (without sentinels), by one merge of the slot
/// starts with the points.
fn slot_owners(points: &[u64]) -> Box<[u16]> {
    let Some(&first) = points.first() else {
        return Box::default();
    };
    let owner = |entry: u64| (entry & OWNER_MASK) as u16;
    let mut position = 0;
    (0..Ring::SLOTS as u64)
        .map(|slot| {
            let start = slot << SLOT_SHIFT;
            while points.get(position).is_some_and(|&entry| entry < start) {
                position += 1;
            }
            points
                .get(position)
                .map_or(owner(first), |&entry| owner(entry))
        })
        .collect()
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
        let owner = ring.owner(hash)?;
        let capacity = self
            .load_factor
            .map(|factor| Self::capacity(factor, ctx.total_in_flight(), ctx.len()));
        if ctx.usable(owner) && capacity.is_none_or(|cap| ctx.in_flight(owner) < cap) {
            return Some(owner);
        }
        // Walk on: the next distinct usable endpoint with room. If all usable ones are full
        // (possible only while health shrinks the set), the first usable one takes it.
        let mut first_usable = None;
        let start = ring.position(hash);
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
            let target = state & !OWNER_MASK;
            let expected = match ring.points().binary_search_by(|p| {
                (p & !OWNER_MASK)
                    .cmp(&target)
                    .then(std::cmp::Ordering::Greater)
            }) {
                Ok(i) | Err(i) if i == ring.len() => 0,
                Ok(i) | Err(i) => i,
            };
            assert_eq!(ring.point_at_or_after(state), expected);
        }
        assert_eq!(ring.point_at_or_after(u64::MAX), 0);
        assert_eq!(ring.point_at_or_after(0), 0);
    }

    #[test]
    fn a_slots_owner_is_the_owner_of_the_first_point_at_or_after_its_start() {
        // Small rings answer by searching their points, large ones from the slot table.
        for (n, vnodes, searched) in [(1, 50, true), (7, 50, true), (300, 2048, false)] {
            let ring = Ring::new(&endpoints(n), vnodes).unwrap();
            assert_eq!(ring.search_points, searched);
            let mut state = n as u64;
            for hash in (0..10_000)
                .map(|_| {
                    state = crate::key::mix64(state);
                    state
                })
                .chain([0, u64::MAX, 1 << SLOT_SHIFT, (1 << SLOT_SHIFT) - 1])
            {
                let position = ring.position(hash);
                assert_eq!(position, ring.point_at_or_after(slot_start(hash)));
                assert_eq!(ring.owner(hash), Some(ring.owner_at(position)));
                let slot = usize::from(ring.slots[(hash >> SLOT_SHIFT) as usize]);
                assert_eq!(ring.owner_at(position), slot);
            }
        }
        assert_eq!(Ring::new(&[], 50).unwrap().owner(7), None);
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
