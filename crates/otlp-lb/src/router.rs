//! [`KeyRouter`]: which endpoint owns a key under one membership, and what moves when the
//! membership changes — what a trace-routing exporter needs to lose nothing and duplicate
//! nothing.

use std::collections::HashMap;
use std::sync::Arc;

use crate::balancer::{Balancer, Snapshot};
use crate::clock::LazyNow;
use crate::endpoint::{Endpoint, EndpointId};
use crate::key::Key;
use crate::policy::{KeyedPolicy, Policy};

/// Items routed to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed<T> {
    /// Where the items go.
    pub endpoint: Endpoint,
    /// The items, in their original order.
    pub items: Vec<T>,
}

/// Items that were queued for one endpoint, checked against a newer membership.
#[derive(Debug, Clone, PartialEq)]
pub struct Rerouted<T> {
    /// Items the endpoint still owns (all of them when nothing moved).
    pub kept: Vec<T>,
    /// Items now owned by other endpoints, by new owner.
    pub moved: Vec<Routed<T>>,
}

/// How two memberships differ.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipChange {
    /// Endpoints only in the newer membership.
    pub added: Vec<Endpoint>,
    /// Endpoints only in the older membership.
    pub removed: Vec<Endpoint>,
    /// The share of the key space whose owner changed, in `[0, 1]` (estimated from 2^16
    /// evenly spread hashes when the algorithm has no exact comparison).
    pub moved_share: f64,
}

/// One membership's key → owner mapping, frozen: cheap to clone, safe to keep while the
/// balancer moves on. Ownership ignores health and load, so it is the same in every process
/// that sees the same endpoint set: use it to partition data, then send each part with
/// failover (`Balancer::pick_with` with the tried endpoints excluded).
///
/// The exporter loop this is built for:
/// 1. [`partition`](KeyRouter::partition) a batch by owner and send each part;
/// 2. when a part fails, re-partition only that part against the then-current router (its
///    keys may have a new owner by now) and send again — parts that succeeded are never
///    re-sent, so nothing is duplicated;
/// 3. when membership changes ([`version`](KeyRouter::version) differs), run each endpoint's
///    queue through [`reroute`](KeyRouter::reroute): items whose owner changed move to their
///    new owner's queue, so nothing is left behind for an endpoint that is gone.
///
/// ```
/// use otlp_lb::{Balancer, Endpoint, policy::ConsistentHash};
///
/// let balancer = Balancer::new(ConsistentHash::new());
/// balancer.set_endpoints((1..=3).map(|i| Endpoint::new(format!("back-{i}:4317"))))?;
/// let router = balancer.router();
/// let trace_ids: Vec<[u8; 16]> = (0..100_u8).map(|i| [i; 16]).collect();
/// let parts = router.partition(trace_ids.clone(), |id| otlp_lb::Key::from(id));
/// assert_eq!(parts.iter().map(|p| p.items.len()).sum::<usize>(), 100);
///
/// // back-2 goes away: only what it owned moves, and it moves to the survivors.
/// balancer.remove("back-2:4317")?;
/// let newer = balancer.router();
/// for part in parts {
///     let rerouted = newer.reroute(part.endpoint.id(), part.items, |id| otlp_lb::Key::from(id));
///     if part.endpoint.id() == "back-2:4317" {
///         assert!(rerouted.kept.is_empty());
///     } else {
///         assert!(rerouted.moved.is_empty());
///     }
/// }
/// # Ok::<(), otlp_lb::Error>(())
/// ```
pub struct KeyRouter<P: Policy> {
    snapshot: Arc<Snapshot<P::Table>>,
    policy: Arc<P>,
}

impl<P: Policy> Clone for KeyRouter<P> {
    fn clone(&self) -> Self {
        Self {
            snapshot: Arc::clone(&self.snapshot),
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<P: KeyedPolicy> Balancer<P> {
    /// The current membership's key router.
    pub fn router(&self) -> KeyRouter<P> {
        KeyRouter {
            snapshot: self.load_snapshot(),
            policy: self.policy_arc(),
        }
    }
}

impl<P: KeyedPolicy> KeyRouter<P> {
    /// A router over `endpoints` alone, without a balancer.
    pub fn new(policy: P, endpoints: Vec<Endpoint>) -> crate::Result<Self> {
        let balancer = Balancer::new(policy);
        balancer.set_endpoints(endpoints)?;
        Ok(balancer.router())
    }

    /// The membership version this router was taken at (compare with
    /// [`Balancer::version`]).
    pub fn version(&self) -> u64 {
        self.snapshot.version
    }

    /// The endpoints, sorted by id.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.snapshot.endpoints
    }

    /// The priority group that owns keys: the first one.
    fn owning_group(&self) -> Option<&crate::balancer::Group<P::Table>> {
        self.snapshot.groups.first()
    }

    /// The endpoint owning `key`, or `None` when there are no endpoints.
    #[inline]
    pub fn owner<'k>(&self, key: impl Into<Key<'k>>) -> Option<&Endpoint> {
        let group = self.owning_group()?;
        let index = self.policy.owner(&group.table, key.into().hash())?;
        group.members.get(index).map(|m| &m.endpoint)
    }

    /// Where `key` goes now: its owner while the owner is eligible (not ejected by outlier
    /// detection, not failing active checks), otherwise the first eligible endpoint in the key's
    /// failover order ([`candidates`](KeyRouter::candidates)) — the endpoint a keyed pick would
    /// choose, without counting a request. On the ring that is the owner the key would have if
    /// the ineligible endpoints were removed, so an ejected endpoint's keys spread over the
    /// others and come back to it when it is readmitted. When no endpoint of the owning group is
    /// eligible, the owner (as picks do). `None` when there are no endpoints.
    pub fn route<'k>(&self, key: impl Into<Key<'k>>) -> Option<&Endpoint> {
        let group = self.owning_group()?;
        let hash = key.into().hash();
        let owner = self.policy.owner(&group.table, hash)?;
        let member = group.members.get(owner)?;
        let now = LazyNow::new(&*member.shared.clock);
        if member.is_eligible(&now) {
            return Some(&member.endpoint);
        }
        let eligible: Vec<bool> = group.members.iter().map(|m| m.is_eligible(&now)).collect();
        let index = self.reroute_index(group, hash, owner, &eligible);
        group.members.get(index).map(|m| &m.endpoint)
    }

    /// The first eligible endpoint in `hash`'s failover order, or `owner` when none is.
    fn reroute_index(
        &self,
        group: &crate::balancer::Group<P::Table>,
        hash: u64,
        owner: usize,
        eligible: &[bool],
    ) -> usize {
        // Among the first `ineligible + 1` distinct candidates at least one is eligible, so the
        // walk stops early even on a ring of thousands of endpoints.
        let ineligible = eligible.iter().filter(|e| !**e).count();
        if ineligible == eligible.len() {
            return owner;
        }
        let mut candidates = Vec::with_capacity(ineligible + 1);
        self.policy
            .candidates(&group.table, hash, ineligible + 1, &mut candidates);
        candidates
            .into_iter()
            .find(|&i| eligible.get(i).copied().unwrap_or(false))
            .unwrap_or(owner)
    }

    /// Up to `limit` distinct endpoints in `key`'s failover order, the owner first (for the
    /// ring: the next distinct endpoints clockwise).
    pub fn candidates<'k>(&self, key: impl Into<Key<'k>>, limit: usize) -> Vec<&Endpoint> {
        let Some(group) = self.owning_group() else {
            return Vec::new();
        };
        let mut indices = Vec::new();
        self.policy
            .candidates(&group.table, key.into().hash(), limit, &mut indices);
        indices
            .into_iter()
            .filter_map(|i| group.members.get(i).map(|m| &m.endpoint))
            .collect()
    }

    /// Splits `items` by the owner of each one's key, keeping their order within each part.
    /// Parts come in endpoint-id order. With no endpoints the result is empty and the items
    /// are dropped: use [`partition_or_keep`](KeyRouter::partition_or_keep) to get them back.
    pub fn partition<T>(&self, items: Vec<T>, key_of: impl FnMut(&T) -> Key<'_>) -> Vec<Routed<T>> {
        self.partition_or_keep(items, key_of).unwrap_or_default()
    }

    /// Like [`partition`](KeyRouter::partition), but hands the items back untouched when there
    /// is no endpoint to route them to.
    pub fn partition_or_keep<T>(
        &self,
        items: Vec<T>,
        mut key_of: impl FnMut(&T) -> Key<'_>,
    ) -> Result<Vec<Routed<T>>, Vec<T>> {
        let Some(group) = self.owning_group() else {
            return Err(items);
        };
        let (_, owners) = self.owners_of(group, &items, &mut key_of);
        let mut parts: Vec<Vec<T>> = (0..group.members.len()).map(|_| Vec::new()).collect();
        for (item, index) in items.into_iter().zip(owners) {
            if let Some(part) = parts.get_mut(index) {
                part.push(item);
            }
        }
        Ok(parts
            .into_iter()
            .zip(group.members.iter())
            .filter(|(items, _)| !items.is_empty())
            .map(|(items, member)| Routed {
                endpoint: member.endpoint.clone(),
                items,
            })
            .collect())
    }

    /// Splits `items` by where each one goes now ([`route`](KeyRouter::route)): by owner, except
    /// that items whose owner is ejected or failing active checks go to the next eligible
    /// endpoint in their failover order. Parts come in endpoint-id order, items keep their order
    /// within a part. With no endpoints the items are handed back untouched.
    ///
    /// This is what a trace-routing exporter sends with: while every endpoint is healthy it is
    /// exactly [`partition`](KeyRouter::partition); once outlier detection ejects a failing
    /// endpoint, its keys move to their ring successors (the same successor for every span of a
    /// trace), and back when the endpoint is readmitted.
    pub fn partition_routed<T>(
        &self,
        items: Vec<T>,
        mut key_of: impl FnMut(&T) -> Key<'_>,
    ) -> Result<Vec<Routed<T>>, Vec<T>> {
        let Some(group) = self.owning_group() else {
            return Err(items);
        };
        let Some(first) = group.members.first() else {
            return Err(items);
        };
        let now = LazyNow::new(&*first.shared.clock);
        // While no endpoint has a health flag, nothing needs checking; otherwise every member is
        // read once, on the first item that needs it.
        let all_eligible = first.all_eligible();
        let mut eligible: Option<Vec<bool>> = None;
        let (hashes, owners) = self.owners_of(group, &items, &mut key_of);
        let mut parts: Vec<Vec<T>> = (0..group.members.len()).map(|_| Vec::new()).collect();
        for ((item, owner), hash) in items.into_iter().zip(owners).zip(hashes) {
            let index = if all_eligible {
                owner
            } else {
                let eligible = eligible.get_or_insert_with(|| {
                    group.members.iter().map(|m| m.is_eligible(&now)).collect()
                });
                if eligible.get(owner).copied().unwrap_or(false) {
                    owner
                } else {
                    self.reroute_index(group, hash, owner, eligible)
                }
            };
            if let Some(part) = parts.get_mut(index) {
                part.push(item);
            }
        }
        Ok(parts
            .into_iter()
            .zip(group.members.iter())
            .filter(|(items, _)| !items.is_empty())
            .map(|(items, member)| Routed {
                endpoint: member.endpoint.clone(),
                items,
            })
            .collect())
    }

    /// The key hash and the owner of each item, the owners looked up all at once
    /// ([`KeyedPolicy::owners`]): a batch of keys costs a fraction of as many single lookups
    /// when the table outgrows the CPU caches.
    fn owners_of<T>(
        &self,
        group: &crate::balancer::Group<P::Table>,
        items: &[T],
        key_of: &mut impl FnMut(&T) -> Key<'_>,
    ) -> (Vec<u64>, Vec<usize>) {
        let hashes: Vec<u64> = items.iter().map(|item| key_of(item).hash()).collect();
        let mut owners = Vec::with_capacity(hashes.len());
        self.policy.owners(&group.table, &hashes, &mut owners);
        // A policy answers for every key of a non-empty group; should one not, its keys go to the first endpoint
        // rather than be dropped.
        owners.resize(hashes.len(), 0);
        (hashes, owners)
    }

    /// Checks items queued for endpoint `from` against this (newer) membership: keeps the
    /// ones `from` still owns, hands the rest to their new owners. If `from` is gone, all
    /// move; if there are no endpoints at all, all are kept (nothing is dropped).
    pub fn reroute<T>(
        &self,
        from: &EndpointId,
        items: Vec<T>,
        key_of: impl FnMut(&T) -> Key<'_>,
    ) -> Rerouted<T> {
        match self.partition_or_keep(items, key_of) {
            Err(items) => Rerouted {
                kept: items,
                moved: Vec::new(),
            },
            Ok(parts) => {
                let mut kept = Vec::new();
                let mut moved = Vec::with_capacity(parts.len());
                for part in parts {
                    if part.endpoint.id() == from {
                        kept = part.items;
                    } else {
                        moved.push(part);
                    }
                }
                Rerouted { kept, moved }
            }
        }
    }

    /// What changed from `self` to `newer`: endpoints added and removed, and the share of
    /// keys whose owner changed.
    pub fn diff(&self, newer: &KeyRouter<P>) -> MembershipChange {
        let old: HashMap<&EndpointId, &Endpoint> =
            self.endpoints().iter().map(|e| (e.id(), e)).collect();
        let new: HashMap<&EndpointId, &Endpoint> =
            newer.endpoints().iter().map(|e| (e.id(), e)).collect();
        let added = newer
            .endpoints()
            .iter()
            .filter(|e| !old.contains_key(e.id()))
            .cloned()
            .collect();
        let removed = self
            .endpoints()
            .iter()
            .filter(|e| !new.contains_key(e.id()))
            .cloned()
            .collect();
        MembershipChange {
            added,
            removed,
            moved_share: self.moved_share(newer),
        }
    }

    /// The share of the key space whose owner differs between `self` and `newer`, estimated
    /// over 2^16 evenly spaced hashes (exact comparisons: [`ring_moved_share`]).
    pub fn moved_share(&self, newer: &KeyRouter<P>) -> f64 {
        const SAMPLES: u64 = 1 << 16;
        let step = u64::MAX / SAMPLES;
        let moved = (0..SAMPLES)
            .filter(|i| {
                let hash = i * step + step / 2;
                self.owner(Key::Hash(hash)).map(Endpoint::id)
                    != newer.owner(Key::Hash(hash)).map(Endpoint::id)
            })
            .count();
        moved as f64 / SAMPLES as f64
    }
}

/// The exact share of the hash space whose owner differs between two rings, with owners
/// compared by endpoint id (`old_ids[i]` names ring `old`'s endpoint `i`).
pub fn ring_moved_share(
    old: &crate::policy::Ring,
    old_ids: &[EndpointId],
    new: &crate::policy::Ring,
    new_ids: &[EndpointId],
) -> f64 {
    match (old.is_empty(), new.is_empty()) {
        (true, true) => return 0.0,
        (true, false) | (false, true) => return 1.0,
        (false, false) => {}
    }
    // Both rings cut the key space into the same slots: compare them slot by slot, with the
    // old ring's endpoint indices translated to the new ring's once.
    let new_index: HashMap<&EndpointId, u16> = new_ids
        .iter()
        .enumerate()
        .filter_map(|(index, id)| Some((id, u16::try_from(index).ok()?)))
        .collect();
    let translated: Vec<Option<u16>> = old_ids
        .iter()
        .map(|id| new_index.get(id).copied())
        .collect();
    let moved = old
        .slot_owners()
        .iter()
        .zip(new.slot_owners())
        .filter(|&(&was, &is)| translated.get(usize::from(was)).copied().flatten() != Some(is))
        .count();
    moved as f64 / crate::policy::Ring::SLOTS as f64
}

impl<P: Policy> std::fmt::Debug for KeyRouter<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRouter")
            .field("policy", &self.policy.name())
            .field("version", &self.snapshot.version)
            .field("endpoints", &self.snapshot.endpoints)
            .finish()
    }
}
