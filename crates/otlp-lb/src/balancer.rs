//! [`Balancer`]: an endpoint set that changes at runtime, picked from concurrently.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::clock::{Clock, LazyNow, SystemClock, nanos};
use crate::endpoint::{Endpoint, EndpointId, validate_set};
use crate::health::OutlierDetection;
use crate::key::Key;
use crate::pick::Pick;
use crate::policy::{PickContext, Policy};
use crate::rng::Rng;
use crate::state::{EndpointState, EndpointStats, LatencyTracking, Shared};
use crate::{Error, Result};

/// What one pick asks for: a key for the keyed algorithms, and endpoints to skip (the ones a
/// retry already tried).
#[derive(Debug, Clone, Copy, Default)]
pub struct PickRequest<'a> {
    pub(crate) key: Option<u64>,
    pub(crate) exclude: &'a [EndpointId],
}

impl<'a> PickRequest<'a> {
    /// A request with no key and nothing excluded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes by `key` (ignored by the algorithms that do not hash).
    #[must_use]
    pub fn key<'k>(mut self, key: impl Into<Key<'k>>) -> Self {
        self.key = Some(key.into().hash());
        self
    }

    /// Skips these endpoints: for a keyed pick the next distinct endpoint on the ring (or in
    /// Maglev's probe order) is chosen instead, for the others any other endpoint.
    #[must_use]
    pub fn excluding(mut self, tried: &'a [EndpointId]) -> Self {
        self.exclude = tried;
        self
    }
}

/// The balancer interface the tower service, the retry helper and the active health checks use,
/// so they work over any algorithm (and over a `dyn Balance`).
pub trait Balance: Send + Sync + 'static {
    /// Picks an endpoint for `request`.
    fn pick_with(&self, request: &PickRequest<'_>) -> Result<Pick>;
    /// The current endpoint set, sorted by id.
    fn endpoints(&self) -> Arc<[Endpoint]>;
    /// Replaces the whole endpoint set; on error nothing changes.
    fn set_endpoints(&self, endpoints: Vec<Endpoint>) -> Result<()>;
    /// Records an active health check's verdict; returns whether the endpoint is known.
    fn set_healthy(&self, id: &str, healthy: bool) -> bool;
    /// Increases on every membership change.
    fn version(&self) -> u64;
    /// The clock the balancer measures time with.
    fn clock(&self) -> Arc<dyn Clock>;
}

/// One priority group of a snapshot.
pub(crate) struct Group<T> {
    pub(crate) priority: u32,
    pub(crate) members: Box<[Arc<EndpointState>]>,
    pub(crate) table: T,
    health: GroupHealth,
}

/// Whether a group has an eligible endpoint, cached until the next health transition.
struct GroupHealth {
    /// `health epoch << 1 | any eligible`, or `u64::MAX` before the first check.
    cached: AtomicU64,
    /// The earliest moment an ejected member comes back (`u64::MAX`: none).
    next_readmission: AtomicU64,
}

impl GroupHealth {
    fn new() -> Self {
        Self {
            cached: AtomicU64::new(u64::MAX),
            next_readmission: AtomicU64::new(u64::MAX),
        }
    }

    /// The fast path is two atomic loads; a full scan happens once per health transition, or
    /// when a fully ejected group's first ejection is due to end.
    fn may_have_eligible(
        &self,
        members: &[Arc<EndpointState>],
        epoch: u64,
        now: &LazyNow<'_>,
    ) -> bool {
        let tag = epoch << 1;
        let cached = self.cached.load(Ordering::Acquire);
        if cached != u64::MAX && cached & !1 == tag {
            if cached & 1 == 1 {
                return true;
            }
            let due = self.next_readmission.load(Ordering::Acquire);
            if due == u64::MAX || now.get() < due {
                return false;
            }
        }
        let mut due = u64::MAX;
        let any = members.iter().any(|member| {
            let eligible = member.is_eligible(now);
            if !eligible && let Some(at) = member.readmission_due() {
                due = due.min(at);
            }
            eligible
        });
        self.next_readmission.store(due, Ordering::Release);
        self.cached.store(tag | u64::from(any), Ordering::Release);
        any
    }
}

/// The immutable view every pick works on; replaced whole on a membership change.
pub(crate) struct Snapshot<T> {
    pub(crate) version: u64,
    pub(crate) endpoints: Arc<[Endpoint]>,
    pub(crate) groups: Vec<Group<T>>,
    pub(crate) by_id: HashMap<EndpointId, Arc<EndpointState>>,
}

/// An endpoint set with a balancing algorithm, health tracking and outcome feedback.
///
/// Picks take `&self` and no lock: the endpoint set and the algorithm's table live in an
/// immutable snapshot swapped atomically ([`arc_swap`]) when membership changes, while
/// per-endpoint load, latency and health are atomics kept under the endpoint's id across
/// changes. Endpoints are split into priority groups by [`Endpoint::priority`]; a pick uses
/// the lowest-numbered group that has an eligible endpoint. When no endpoint at all is
/// eligible (every one failing active checks), picks ignore health rather than fail, as
/// Envoy's panic mode does.
///
/// ```
/// use otlp_lb::{Balancer, Endpoint, policy::RoundRobin};
///
/// let balancer = Balancer::new(RoundRobin::new());
/// balancer.set_endpoints(vec![Endpoint::new("a:1"), Endpoint::new("b:1")])?;
/// let first = balancer.pick()?;
/// let second = balancer.pick()?;
/// assert_ne!(first.endpoint().id(), second.endpoint().id());
/// first.success();
/// second.failure();
/// # Ok::<(), otlp_lb::Error>(())
/// ```
pub struct Balancer<P: Policy> {
    policy: Arc<P>,
    shared: Arc<Shared>,
    snapshot: ArcSwap<Snapshot<P::Table>>,
    update_lock: Mutex<()>,
}

/// Builds a [`Balancer`] with outlier detection, a clock, a seed or initial endpoints.
pub struct BalancerBuilder<P> {
    policy: P,
    outlier: Option<OutlierDetection>,
    clock: Option<Arc<dyn Clock>>,
    seed: Option<u64>,
    endpoints: Vec<Endpoint>,
}

impl<P: Policy> BalancerBuilder<P> {
    /// Ejects endpoints that fail in a row (off unless set).
    #[must_use]
    pub fn outlier_detection(mut self, config: OutlierDetection) -> Self {
        self.outlier = Some(config);
        self
    }

    /// Measures time with `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Seeds the random source, for reproducible picks.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Starts with these endpoints.
    #[must_use]
    pub fn endpoints(mut self, endpoints: impl IntoIterator<Item = Endpoint>) -> Self {
        self.endpoints = endpoints.into_iter().collect();
        self
    }

    /// The balancer, or the first configuration error.
    pub fn build(self) -> Result<Balancer<P>> {
        if let Some(outlier) = &self.outlier {
            outlier.validate()?;
        }
        if let Some(estimation) = self.policy.latency_estimation() {
            estimation.validate()?;
        }
        let balancer = Balancer::assemble(self.policy, self.outlier, self.clock, self.seed);
        if !self.endpoints.is_empty() {
            balancer.set_endpoints(self.endpoints)?;
        }
        Ok(balancer)
    }
}

impl<P: Policy> Balancer<P> {
    /// A balancer with no endpoints, the system clock and no outlier detection. (A policy's
    /// latency settings are checked by [`Balancer::builder`]; here an out-of-range `alpha` or
    /// `decay` is clamped into range.)
    pub fn new(policy: P) -> Self {
        Self::assemble(policy, None, None, None)
    }

    fn assemble(
        policy: P,
        outlier: Option<OutlierDetection>,
        clock: Option<Arc<dyn Clock>>,
        seed: Option<u64>,
    ) -> Self {
        let latency = policy
            .latency_estimation()
            .map(|estimation| LatencyTracking {
                tau_nanos: nanos(estimation.decay).max(1) as f64,
                default_rtt_nanos: nanos(estimation.default_rtt) as f64,
                alpha: estimation.alpha.clamp(f64::MIN_POSITIVE, 1.0),
            });
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock::new()) as Arc<dyn Clock>);
        let shared = Arc::new(Shared::new(
            clock,
            outlier,
            latency,
            policy.uses_total_load(),
            seed.unwrap_or_else(Rng::entropy_seed),
        ));
        Self {
            policy: Arc::new(policy),
            shared,
            snapshot: ArcSwap::from_pointee(Snapshot {
                version: 0,
                endpoints: Arc::from(Vec::new()),
                groups: Vec::new(),
                by_id: HashMap::new(),
            }),
            update_lock: Mutex::new(()),
        }
    }

    /// A builder for outlier detection, clock, seed and initial endpoints.
    pub fn builder(policy: P) -> BalancerBuilder<P> {
        BalancerBuilder {
            policy,
            outlier: None,
            clock: None,
            seed: None,
            endpoints: Vec::new(),
        }
    }

    /// The algorithm.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// Picks an endpoint with no key (an error for keyed algorithms).
    #[inline]
    pub fn pick(&self) -> Result<Pick> {
        self.pick_with(&PickRequest::new())
    }

    /// Picks the endpoint for `key`.
    #[inline]
    pub fn pick_key<'k>(&self, key: impl Into<Key<'k>>) -> Result<Pick> {
        self.pick_with(&PickRequest::new().key(key))
    }

    /// Picks for `request` (key, exclusions).
    pub fn pick_with(&self, request: &PickRequest<'_>) -> Result<Pick> {
        let snapshot = self.snapshot.load();
        if snapshot.endpoints.is_empty() {
            return Err(Error::NoEndpoints);
        }
        if request.key.is_none() && self.policy.keyed() {
            return Err(Error::KeyRequired(self.policy.name()));
        }
        let now = LazyNow::new(&*self.shared.clock);
        let epoch = self.shared.health_epoch.load(Ordering::Acquire);
        let mut any_eligible = false;
        for group in &snapshot.groups {
            if !group.health.may_have_eligible(&group.members, epoch, &now) {
                continue;
            }
            any_eligible = true;
            if let Some(state) = self.pick_in(group, request, &now, false) {
                return Ok(Pick::start(state, &now));
            }
        }
        if !any_eligible {
            for group in &snapshot.groups {
                if let Some(state) = self.pick_in(group, request, &now, true) {
                    return Ok(Pick::start(state, &now));
                }
            }
        }
        Err(Error::AllExcluded(snapshot.endpoints.len()))
    }

    /// Starts a request to endpoint `id`, which the caller chose itself (a part of a batch
    /// routed with [`KeyRouter::partition_routed`](crate::KeyRouter::partition_routed)): the
    /// pick counts it in flight and takes its reported outcome (latency, outlier ejection) like
    /// any other pick. Health is not checked — the caller decided. An error if `id` is not in
    /// the set (it left since the caller routed).
    pub fn pick_endpoint(&self, id: &str) -> Result<Pick> {
        let snapshot = self.snapshot.load();
        let state = snapshot
            .by_id
            .get(id)
            .ok_or_else(|| Error::UnknownEndpoint(id.to_owned()))?;
        let now = LazyNow::new(&*self.shared.clock);
        Ok(Pick::start(Arc::clone(state), &now))
    }

    #[inline]
    fn pick_in(
        &self,
        group: &Group<P::Table>,
        request: &PickRequest<'_>,
        now: &LazyNow<'_>,
        ignore_health: bool,
    ) -> Option<Arc<EndpointState>> {
        let ctx = PickContext {
            members: &group.members,
            key: request.key,
            exclude: request.exclude,
            now,
            ignore_health,
            shared: &self.shared,
        };
        let index = self.policy.pick(&group.table, &ctx)?;
        group.members.get(index).cloned()
    }

    /// Replaces the whole endpoint set. Endpoints that stay keep their health and load; on
    /// error (duplicate id, weight 0, a table too large) the previous set stays in place.
    pub fn set_endpoints(&self, endpoints: impl IntoIterator<Item = Endpoint>) -> Result<()> {
        let _guard = self.lock_updates();
        self.rebuild(endpoints.into_iter().collect())
    }

    /// Adds one endpoint; an error if its id is already in the set.
    pub fn add(&self, endpoint: Endpoint) -> Result<()> {
        let _guard = self.lock_updates();
        let current = self.snapshot.load();
        if current.by_id.contains_key(endpoint.id()) {
            return Err(Error::AlreadyPresent(endpoint.id().to_string()));
        }
        let mut next = current.endpoints.to_vec();
        next.push(endpoint);
        self.rebuild(next)
    }

    /// Removes the endpoint with id `id` and returns it; an error if there is none.
    pub fn remove(&self, id: &str) -> Result<Endpoint> {
        let _guard = self.lock_updates();
        let current = self.snapshot.load();
        let Some(position) = current.endpoints.iter().position(|e| e.id() == id) else {
            return Err(Error::UnknownEndpoint(id.to_owned()));
        };
        let mut next = current.endpoints.to_vec();
        let removed = next.remove(position);
        self.rebuild(next)?;
        Ok(removed)
    }

    /// Adds `endpoint`, or replaces the endpoint with the same id (new weight, priority or
    /// labels); returns the replaced one.
    pub fn upsert(&self, endpoint: Endpoint) -> Result<Option<Endpoint>> {
        let _guard = self.lock_updates();
        let current = self.snapshot.load();
        let mut next = current.endpoints.to_vec();
        let replaced = match next.iter_mut().find(|e| e.id() == endpoint.id()) {
            Some(slot) => Some(std::mem::replace(slot, endpoint)),
            None => {
                next.push(endpoint);
                None
            }
        };
        self.rebuild(next)?;
        Ok(replaced)
    }

    fn lock_updates(&self) -> std::sync::MutexGuard<'_, ()> {
        self.update_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn rebuild(&self, endpoints: Vec<Endpoint>) -> Result<()> {
        let endpoints = validate_set(endpoints)?;
        let current = self.snapshot.load();
        let mut by_id = HashMap::with_capacity(endpoints.len());
        let mut grouped: BTreeMap<u32, Vec<Arc<EndpointState>>> = BTreeMap::new();
        for endpoint in &endpoints {
            let state = match current.by_id.get(endpoint.id()) {
                Some(state) if state.endpoint == *endpoint => Arc::clone(state),
                Some(state) => Arc::new(state.successor(endpoint.clone())),
                None => Arc::new(EndpointState::new(
                    endpoint.clone(),
                    Arc::clone(&self.shared),
                )),
            };
            by_id.insert(endpoint.id().clone(), Arc::clone(&state));
            grouped.entry(endpoint.priority()).or_default().push(state);
        }
        let mut groups = Vec::with_capacity(grouped.len());
        for (priority, members) in grouped {
            let group_endpoints: Vec<Endpoint> =
                members.iter().map(|m| m.endpoint.clone()).collect();
            let table = self.policy.build(&group_endpoints)?;
            groups.push(Group {
                priority,
                members: members.into_boxed_slice(),
                table,
                health: GroupHealth::new(),
            });
        }
        let weak: Vec<Weak<EndpointState>> = by_id.values().map(Arc::downgrade).collect();
        self.shared.members.store(Arc::new(weak));
        self.snapshot.store(Arc::new(Snapshot {
            version: current.version + 1,
            endpoints: Arc::from(endpoints),
            groups,
            by_id,
        }));
        Ok(())
    }

    /// The current endpoint set, sorted by id.
    pub fn endpoints(&self) -> Arc<[Endpoint]> {
        Arc::clone(&self.snapshot.load().endpoints)
    }

    /// Endpoints in the set.
    pub fn len(&self) -> usize {
        self.snapshot.load().endpoints.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Increases by one on every membership change.
    pub fn version(&self) -> u64 {
        self.snapshot.load().version
    }

    /// The priority groups in order, with their endpoints.
    pub fn groups(&self) -> Vec<(u32, Vec<Endpoint>)> {
        self.snapshot
            .load()
            .groups
            .iter()
            .map(|g| {
                (
                    g.priority,
                    g.members.iter().map(|m| m.endpoint.clone()).collect(),
                )
            })
            .collect()
    }

    /// Records an active health check's verdict for endpoint `id`; returns false if unknown.
    pub fn set_healthy(&self, id: &str, healthy: bool) -> bool {
        match self.snapshot.load().by_id.get(id) {
            Some(state) => {
                state.set_healthy(healthy);
                true
            }
            None => false,
        }
    }

    /// Whether endpoint `id` can be picked now (known, not ejected, passing active checks).
    pub fn is_eligible(&self, id: &str) -> bool {
        let now = LazyNow::new(&*self.shared.clock);
        self.snapshot
            .load()
            .by_id
            .get(id)
            .is_some_and(|state| state.is_eligible(&now))
    }

    /// Load, outcomes and health of every endpoint, sorted by id.
    pub fn stats(&self) -> Vec<EndpointStats> {
        let now = self.shared.clock.now_nanos();
        let snapshot = self.snapshot.load();
        snapshot
            .endpoints
            .iter()
            .filter_map(|e| snapshot.by_id.get(e.id()))
            .map(|state| state.stats(now))
            .collect()
    }

    /// How long until endpoint `id`'s ejection ends, if it is ejected.
    pub fn ejected_for(&self, id: &str) -> Option<Duration> {
        let now = self.shared.clock.now_nanos();
        self.snapshot
            .load()
            .by_id
            .get(id)
            .and_then(|state| state.stats(now).ejected_for)
    }

    pub(crate) fn load_snapshot(&self) -> Arc<Snapshot<P::Table>> {
        self.snapshot.load_full()
    }

    pub(crate) fn policy_arc(&self) -> Arc<P> {
        Arc::clone(&self.policy)
    }
}

impl<P: Policy> Balance for Balancer<P> {
    fn pick_with(&self, request: &PickRequest<'_>) -> Result<Pick> {
        Balancer::pick_with(self, request)
    }

    fn endpoints(&self) -> Arc<[Endpoint]> {
        Balancer::endpoints(self)
    }

    fn set_endpoints(&self, endpoints: Vec<Endpoint>) -> Result<()> {
        Balancer::set_endpoints(self, endpoints)
    }

    fn set_healthy(&self, id: &str, healthy: bool) -> bool {
        Balancer::set_healthy(self, id, healthy)
    }

    fn version(&self) -> u64 {
        Balancer::version(self)
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.clock)
    }
}

impl<P: Policy> std::fmt::Debug for Balancer<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snapshot = self.snapshot.load();
        f.debug_struct("Balancer")
            .field("policy", &self.policy.name())
            .field("version", &snapshot.version)
            .field("endpoints", &snapshot.endpoints)
            .finish()
    }
}
