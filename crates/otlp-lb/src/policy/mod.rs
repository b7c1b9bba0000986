//! The balancing algorithms, and the [`Policy`] trait that lets you write another.
//!
//! A policy is split in two: [`Policy::build`] turns one endpoint set into an immutable table
//! (a ring, a Maglev lookup table, a weighted sequence) when membership changes, and
//! [`Policy::pick`] chooses from that table on every request through `&self`, so picks run
//! concurrently without a lock while a new table is built on the side.

mod least_connections;
mod least_latency;
mod maglev;
mod p2c;
mod ring;
mod round_robin;
mod smooth_weighted;
mod weighted_random;

use std::sync::Arc;
use std::time::Duration;

pub use least_connections::LeastConnections;
pub use least_latency::LeastLatency;
pub use maglev::{Maglev, MaglevTable};
pub use p2c::PeakEwma;
pub use ring::{ConsistentHash, Ring};
pub use round_robin::RoundRobin;
pub use smooth_weighted::SmoothWeightedRoundRobin;
pub use weighted_random::WeightedRandom;

use crate::clock::LazyNow;
use crate::endpoint::{Endpoint, EndpointId};
use crate::state::{EndpointState, Shared};

/// A load-balancing algorithm: builds a table per endpoint set, picks from it per request.
///
/// ```
/// use otlp_lb::policy::{PickContext, Policy};
/// use otlp_lb::{Balancer, Endpoint};
///
/// /// Always the first usable endpoint in id order: a primary with standbys.
/// struct FirstUsable;
///
/// impl Policy for FirstUsable {
///     type Table = ();
///     fn name(&self) -> &'static str {
///         "first_usable"
///     }
///     fn build(&self, _endpoints: &[Endpoint]) -> otlp_lb::Result<()> {
///         Ok(())
///     }
///     fn pick(&self, _table: &(), ctx: &PickContext<'_>) -> Option<usize> {
///         ctx.first_usable_from(0)
///     }
/// }
///
/// let balancer = Balancer::new(FirstUsable);
/// balancer.set_endpoints(vec![Endpoint::new("standby"), Endpoint::new("primary")])?;
/// assert_eq!(balancer.pick()?.endpoint().id(), "primary");
/// balancer.set_healthy("primary", false);
/// assert_eq!(balancer.pick()?.endpoint().id(), "standby");
/// # Ok::<(), otlp_lb::Error>(())
/// ```
pub trait Policy: Send + Sync + 'static {
    /// What [`build`](Policy::build) precomputes for one endpoint set (one priority group).
    type Table: Send + Sync + 'static;

    /// A short name for errors and metrics, e.g. `"round_robin"`.
    fn name(&self) -> &'static str;

    /// Whether picks need a key (consistent hashing, Maglev).
    fn keyed(&self) -> bool {
        false
    }

    /// Whether the algorithm reads response latency; if so, picks are timed.
    fn latency_estimation(&self) -> Option<LatencyEstimation> {
        None
    }

    /// Whether the algorithm reads the total number of requests in flight.
    fn uses_total_load(&self) -> bool {
        false
    }

    /// Precomputes the table for `endpoints` (one priority group, sorted by id, validated:
    /// unique ids, weights ≥ 1, never empty).
    fn build(&self, endpoints: &[Endpoint]) -> crate::Result<Self::Table>;

    /// Picks one endpoint index in `0..ctx.len()` that is [`usable`](PickContext::usable), or
    /// `None` when there is none.
    fn pick(&self, table: &Self::Table, ctx: &PickContext<'_>) -> Option<usize>;
}

/// A keyed policy: one owner per key while membership holds, and a failover order.
pub trait KeyedPolicy: Policy {
    /// The endpoint owning `hash`, ignoring health and load.
    fn owner(&self, table: &Self::Table, hash: u64) -> Option<usize>;

    /// The owners of many hashes at once, appended to `out` in order (nothing for an empty
    /// table). The default asks [`owner`](KeyedPolicy::owner) for each; a policy whose table
    /// outgrows the CPU caches overrides it to overlap the memory reads of different keys.
    fn owners(&self, table: &Self::Table, hashes: &[u64], out: &mut Vec<usize>) {
        out.extend(hashes.iter().map_while(|&hash| self.owner(table, hash)));
    }

    /// Up to `limit` distinct endpoints in the order `hash` fails over through them, the
    /// owner first, appended to `out`.
    fn candidates(&self, table: &Self::Table, hash: u64, limit: usize, out: &mut Vec<usize>);
}

/// How the latency-aware algorithms estimate latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyEstimation {
    /// Peak-EWMA time constant: how fast a latency peak is forgotten. tower and Finagle use 10 s.
    pub decay: Duration,
    /// The estimate an endpoint starts with, before its first response.
    pub default_rtt: Duration,
    /// Weight of each new sample in the plain EWMA, in (0, 1].
    pub alpha: f64,
}

impl Default for LatencyEstimation {
    fn default() -> Self {
        Self {
            decay: Duration::from_secs(10),
            default_rtt: Duration::from_millis(30),
            alpha: 0.3,
        }
    }
}

impl LatencyEstimation {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.decay.is_zero() {
            return Err(crate::Error::InvalidConfig {
                what: "decay",
                reason: "must be longer than zero".to_owned(),
            });
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(crate::Error::InvalidConfig {
                what: "alpha",
                reason: format!("{} is outside (0, 1]", self.alpha),
            });
        }
        Ok(())
    }
}

/// What a [`Policy::pick`] may look at: the group's endpoints with their live load, latency
/// and health, the request's key, and a random source.
pub struct PickContext<'a> {
    pub(crate) members: &'a [Arc<EndpointState>],
    pub(crate) key: Option<u64>,
    pub(crate) exclude: &'a [EndpointId],
    pub(crate) now: &'a LazyNow<'a>,
    pub(crate) ignore_health: bool,
    pub(crate) shared: &'a Shared,
}

impl PickContext<'_> {
    /// Endpoints in this group.
    #[inline]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the group is empty (never, for groups a balancer builds).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The request's key hash, for keyed policies.
    #[inline]
    pub fn key(&self) -> Option<u64> {
        self.key
    }

    /// Whether endpoint `index` may be picked: healthy (not ejected, not failing active
    /// checks) and not excluded by the caller (already tried).
    #[inline]
    pub fn usable(&self, index: usize) -> bool {
        let Some(member) = self.members.get(index) else {
            return false;
        };
        (self.ignore_health || member.is_eligible(self.now))
            && (self.exclude.is_empty()
                || !self.exclude.iter().any(|id| id == member.endpoint.id()))
    }

    /// Endpoint `index`, if in range.
    #[inline]
    pub fn endpoint(&self, index: usize) -> Option<&Endpoint> {
        self.members.get(index).map(|m| &m.endpoint)
    }

    /// Endpoint `index`'s weight.
    #[inline]
    pub fn weight(&self, index: usize) -> u32 {
        self.members.get(index).map_or(1, |m| m.weight)
    }

    /// Requests in flight to endpoint `index`.
    #[inline]
    pub fn in_flight(&self, index: usize) -> u64 {
        self.members.get(index).map_or(0, |m| m.in_flight())
    }

    /// Requests in flight over the whole balancer (tracked when the policy
    /// [`uses_total_load`](Policy::uses_total_load)).
    #[inline]
    pub fn total_in_flight(&self) -> u64 {
        self.shared
            .total_in_flight
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Endpoint `index`'s peak-EWMA latency estimate now, in ns.
    #[inline]
    pub fn peak_ewma_nanos(&self, index: usize) -> f64 {
        self.members
            .get(index)
            .map_or(f64::INFINITY, |m| m.peak_ewma(self.now.get()))
    }

    /// Endpoint `index`'s plain EWMA latency in ns, once it has a sample.
    #[inline]
    pub fn ewma_nanos(&self, index: usize) -> Option<f64> {
        self.members.get(index).and_then(|m| m.ewma())
    }

    /// A uniformly random 64-bit value (seedable through the balancer builder).
    #[inline]
    pub fn random(&self) -> u64 {
        self.shared.rng.next_u64()
    }

    /// The first usable endpoint at or after `start`, wrapping around.
    pub fn first_usable_from(&self, start: usize) -> Option<usize> {
        let len = self.len();
        (0..len)
            .map(|k| (start + k) % len)
            .find(|&i| self.usable(i))
    }
}
