//! Per-endpoint runtime state (load, latency, health) and the balancer-wide state it reports
//! to. An endpoint's state outlives membership changes: it is kept under the endpoint's id.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::clock::{Clock, LazyNow};
use crate::endpoint::Endpoint;
use crate::health::OutlierDetection;
use crate::rng::Rng;

const EJECTED: u8 = 1;
const UNHEALTHY: u8 = 2;

/// How latency is estimated for the algorithms that learn from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LatencyTracking {
    /// Peak-EWMA decay time constant, in ns.
    pub(crate) tau_nanos: f64,
    /// The estimate an endpoint starts with before any response, in ns.
    pub(crate) default_rtt_nanos: f64,
    /// Weight of a new sample in the plain EWMA.
    pub(crate) alpha: f64,
}

/// What every endpoint state of one balancer shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) outlier: Option<OutlierDetection>,
    pub(crate) latency: Option<LatencyTracking>,
    pub(crate) track_total_load: bool,
    /// Bumped on every health transition, so cached per-group health knows it is stale.
    pub(crate) health_epoch: AtomicU64,
    /// Endpoint states alive with any health flag set (ejected, even if due back, or failing
    /// active checks). Zero means every endpoint is eligible, which lets a batch be routed
    /// without reading each endpoint's state.
    pub(crate) flagged: AtomicUsize,
    /// Serializes ejections and readmissions (rare), so the percent limit holds under races.
    health_lock: Mutex<()>,
    /// The current members, for the ejection limits. Weak: states point at `Shared`.
    pub(crate) members: ArcSwap<Vec<Weak<EndpointState>>>,
    pub(crate) total_in_flight: AtomicU64,
    pub(crate) rng: Rng,
}

impl Shared {
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        outlier: Option<OutlierDetection>,
        latency: Option<LatencyTracking>,
        track_total_load: bool,
        seed: u64,
    ) -> Self {
        Self {
            clock,
            outlier,
            latency,
            track_total_load,
            health_epoch: AtomicU64::new(0),
            flagged: AtomicUsize::new(0),
            health_lock: Mutex::new(()),
            members: ArcSwap::from_pointee(Vec::new()),
            total_in_flight: AtomicU64::new(0),
            rng: Rng::seeded(seed),
        }
    }

    fn bump_epoch(&self) {
        self.health_epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Keeps [`flagged`](Self::flagged) in step with one state's flags going from `before` to
    /// `after`.
    fn flags_changed(&self, before: u8, after: u8) {
        match (before == 0, after == 0) {
            (true, false) => {
                self.flagged.fetch_add(1, Ordering::AcqRel);
            }
            (false, true) => {
                self.flagged.fetch_sub(1, Ordering::AcqRel);
            }
            _ => {}
        }
    }
}

/// One endpoint's load, latency estimates and health.
#[derive(Debug)]
pub(crate) struct EndpointState {
    pub(crate) endpoint: Endpoint,
    /// The endpoint's weight, here so scans over all endpoints do not chase its pointer.
    pub(crate) weight: u32,
    pub(crate) shared: Arc<Shared>,
    in_flight: AtomicU64,
    flags: AtomicU8,
    ejected_until: AtomicU64,
    ejections: AtomicU32,
    last_readmit: AtomicU64,
    consecutive_failures: AtomicU32,
    successes: AtomicU64,
    failures: AtomicU64,
    /// Peak-EWMA estimate (f64 bits, ns) and when it was last updated.
    peak: AtomicU64,
    peak_at: AtomicU64,
    /// Plain EWMA (f64 bits, ns); 0 until the first sample.
    ewma: AtomicU64,
    latency_lock: Mutex<()>,
}

impl Drop for EndpointState {
    fn drop(&mut self) {
        self.shared.flags_changed(*self.flags.get_mut(), 0);
    }
}

impl EndpointState {
    /// Whether no endpoint of the balancer has a health flag set, so every one is eligible.
    #[inline]
    pub(crate) fn all_eligible(&self) -> bool {
        self.shared.flagged.load(Ordering::Acquire) == 0
    }

    pub(crate) fn new(endpoint: Endpoint, shared: Arc<Shared>) -> Self {
        let start = shared.latency.map_or(0.0, |l| l.default_rtt_nanos);
        let now = shared.clock.now_nanos();
        Self {
            weight: endpoint.weight(),
            endpoint,
            shared,
            in_flight: AtomicU64::new(0),
            flags: AtomicU8::new(0),
            ejected_until: AtomicU64::new(0),
            ejections: AtomicU32::new(0),
            last_readmit: AtomicU64::new(now),
            consecutive_failures: AtomicU32::new(0),
            successes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            peak: AtomicU64::new(start.to_bits()),
            peak_at: AtomicU64::new(now),
            ewma: AtomicU64::new(0),
            latency_lock: Mutex::new(()),
        }
    }

    /// A fresh state for a changed definition of the same endpoint, keeping what was learned
    /// about it (health, latency, counters); requests in flight stay counted on the old one.
    pub(crate) fn successor(&self, endpoint: Endpoint) -> Self {
        let relaxed = Ordering::Relaxed;
        // Counted as flagged on its own: the state it succeeds is counted until it is dropped.
        self.shared.flags_changed(0, self.flags.load(relaxed));
        Self {
            weight: endpoint.weight(),
            endpoint,
            shared: Arc::clone(&self.shared),
            in_flight: AtomicU64::new(0),
            flags: AtomicU8::new(self.flags.load(relaxed)),
            ejected_until: AtomicU64::new(self.ejected_until.load(relaxed)),
            ejections: AtomicU32::new(self.ejections.load(relaxed)),
            last_readmit: AtomicU64::new(self.last_readmit.load(relaxed)),
            consecutive_failures: AtomicU32::new(self.consecutive_failures.load(relaxed)),
            successes: AtomicU64::new(self.successes.load(relaxed)),
            failures: AtomicU64::new(self.failures.load(relaxed)),
            peak: AtomicU64::new(self.peak.load(relaxed)),
            peak_at: AtomicU64::new(self.peak_at.load(relaxed)),
            ewma: AtomicU64::new(self.ewma.load(relaxed)),
            latency_lock: Mutex::new(()),
        }
    }

    /// Whether the endpoint may be picked now: not ejected (or its ejection is over, in which
    /// case it is readmitted here) and not failing active checks. Reads the clock only for an
    /// ejected endpoint.
    #[inline]
    pub(crate) fn is_eligible(&self, now: &LazyNow<'_>) -> bool {
        let flags = self.flags.load(Ordering::Acquire);
        if flags == 0 {
            return true;
        }
        if flags & UNHEALTHY != 0 {
            return false;
        }
        self.ejected_until.load(Ordering::Acquire) <= now.get() && self.readmit(now.get())
    }

    /// When an ejected endpoint comes back, if it is ejected (and not also unhealthy).
    pub(crate) fn readmission_due(&self) -> Option<u64> {
        let flags = self.flags.load(Ordering::Acquire);
        (flags == EJECTED).then(|| self.ejected_until.load(Ordering::Acquire))
    }

    fn readmit(&self, now: u64) -> bool {
        let _guard = self
            .shared
            .health_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let flags = self.flags.load(Ordering::Acquire);
        if flags & EJECTED != 0 {
            if self.ejected_until.load(Ordering::Acquire) > now {
                return false;
            }
            let before = self.flags.fetch_and(!EJECTED, Ordering::AcqRel);
            self.shared.flags_changed(before, before & !EJECTED);
            self.last_readmit.store(now, Ordering::Release);
            self.shared.bump_epoch();
        }
        self.flags.load(Ordering::Acquire) == 0
    }

    #[inline]
    pub(crate) fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn acquire(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if self.shared.track_total_load {
            self.shared.total_in_flight.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[inline]
    pub(crate) fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if self.shared.track_total_load {
            self.shared.total_in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The peak-EWMA latency estimate decayed to `now` (Finagle's and tower's: an idle
    /// endpoint's estimate falls towards zero so it gets probed again), in ns.
    #[inline]
    pub(crate) fn peak_ewma(&self, now: u64) -> f64 {
        let estimate = f64::from_bits(self.peak.load(Ordering::Relaxed));
        let Some(latency) = self.shared.latency else {
            return estimate;
        };
        let elapsed = now.saturating_sub(self.peak_at.load(Ordering::Relaxed)) as f64;
        estimate * (-elapsed / latency.tau_nanos).exp()
    }

    /// The plain EWMA latency in ns, if any response was timed yet.
    #[inline]
    pub(crate) fn ewma(&self) -> Option<f64> {
        let value = f64::from_bits(self.ewma.load(Ordering::Relaxed));
        (value > 0.0).then_some(value)
    }

    fn observe_latency(&self, rtt_nanos: u64, now: u64) {
        let Some(config) = self.shared.latency else {
            return;
        };
        let rtt = rtt_nanos.max(1) as f64;
        let _guard = self
            .latency_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let estimate = f64::from_bits(self.peak.load(Ordering::Relaxed));
        let next = if rtt > estimate {
            rtt
        } else {
            let elapsed = now.saturating_sub(self.peak_at.load(Ordering::Relaxed)) as f64;
            let decay = (-elapsed / config.tau_nanos).exp();
            estimate * decay + rtt * (1.0 - decay)
        };
        self.peak.store(next.to_bits(), Ordering::Relaxed);
        self.peak_at.store(now, Ordering::Relaxed);
        let ewma = match self.ewma() {
            None => rtt,
            Some(old) => old + config.alpha * (rtt - old),
        };
        self.ewma.store(ewma.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn record_success(&self, latency_nanos: Option<u64>, now: u64) {
        self.successes.fetch_add(1, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        if let Some(latency) = latency_nanos {
            self.observe_latency(latency, now);
        }
    }

    pub(crate) fn record_failure(self: &Arc<Self>, latency_nanos: Option<u64>, now: u64) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Some(latency) = latency_nanos {
            self.observe_latency(latency, now);
        }
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(config) = &self.shared.outlier
            && failures >= config.consecutive_failures
        {
            self.try_eject(config, now);
        }
    }

    /// Ejects this endpoint if the limits allow; either way the failure streak starts again,
    /// so a refused ejection is retried after another streak rather than on every failure.
    fn try_eject(self: &Arc<Self>, config: &OutlierDetection, now: u64) {
        let _guard = self
            .shared
            .health_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.consecutive_failures.store(0, Ordering::Release);
        let members = self.shared.members.load();
        let (mut total, mut ejected, mut eligible, mut is_member) = (0, 0, 0, false);
        let mut self_eligible = false;
        for member in members.iter().filter_map(Weak::upgrade) {
            total += 1;
            let flags = member.flags.load(Ordering::Acquire);
            let out = flags & EJECTED != 0 && member.ejected_until.load(Ordering::Acquire) > now;
            let member_eligible = !out && flags & UNHEALTHY == 0;
            ejected += usize::from(out);
            eligible += usize::from(member_eligible);
            if Arc::ptr_eq(&member, self) {
                is_member = true;
                if out {
                    return;
                }
                self_eligible = member_eligible;
            }
        }
        let eligible_after = eligible - usize::from(self_eligible);
        if !is_member || !config.allows_ejection(ejected, eligible_after, total) {
            return;
        }
        let healthy_for = now.saturating_sub(self.last_readmit.load(Ordering::Acquire));
        let ejections = config.forgive(self.ejections.load(Ordering::Acquire), healthy_for) + 1;
        self.ejections.store(ejections, Ordering::Release);
        self.ejected_until.store(
            now.saturating_add(config.ejection_nanos(ejections)),
            Ordering::Release,
        );
        let before = self.flags.fetch_or(EJECTED, Ordering::AcqRel);
        self.shared.flags_changed(before, before | EJECTED);
        self.shared.bump_epoch();
        tracing::debug!(endpoint = %self.endpoint, ejections, "endpoint ejected");
    }

    /// Sets the active health-check verdict; returns whether it changed.
    pub(crate) fn set_healthy(&self, healthy: bool) -> bool {
        let (previous, now) = if healthy {
            let previous = self.flags.fetch_and(!UNHEALTHY, Ordering::AcqRel);
            (previous, previous & !UNHEALTHY)
        } else {
            let previous = self.flags.fetch_or(UNHEALTHY, Ordering::AcqRel);
            (previous, previous | UNHEALTHY)
        };
        self.shared.flags_changed(previous, now);
        let changed = (previous & UNHEALTHY == 0) != healthy;
        if changed {
            self.shared.bump_epoch();
        }
        changed
    }

    pub(crate) fn stats(&self, now: u64) -> EndpointStats {
        let flags = self.flags.load(Ordering::Acquire);
        let until = self.ejected_until.load(Ordering::Acquire);
        let nanos_to_duration = |ns: f64| Duration::from_nanos(ns.max(0.0) as u64);
        EndpointStats {
            endpoint: self.endpoint.clone(),
            in_flight: self.in_flight(),
            successes: self.successes.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            consecutive_failures: self.consecutive_failures.load(Ordering::Relaxed),
            ejected_for: (flags & EJECTED != 0 && until > now)
                .then(|| Duration::from_nanos(until - now)),
            ejections: self.ejections.load(Ordering::Relaxed),
            actively_healthy: flags & UNHEALTHY == 0,
            peak_ewma: self
                .shared
                .latency
                .map(|_| nanos_to_duration(self.peak_ewma(now))),
            ewma: self.ewma().map(nanos_to_duration),
        }
    }
}

/// A point-in-time view of one endpoint's load, outcomes and health, for metrics and logs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Picks not yet finished.
    pub in_flight: u64,
    /// Successes reported.
    pub successes: u64,
    /// Failures reported.
    pub failures: u64,
    /// Failures since the last success (or the last ejection decision).
    pub consecutive_failures: u32,
    /// How much longer the endpoint stays ejected, if it is.
    pub ejected_for: Option<Duration>,
    /// Its recent ejections, the multiplier of its next ejection time.
    pub ejections: u32,
    /// The active health checks' verdict (true when none run).
    pub actively_healthy: bool,
    /// The peak-EWMA latency estimate, when the algorithm tracks latency.
    pub peak_ewma: Option<Duration>,
    /// The plain EWMA latency, once a timed response was reported.
    pub ewma: Option<Duration>,
}
