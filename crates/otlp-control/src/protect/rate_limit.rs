//! Token-bucket admission (governor's GCRA): one bucket per receiver and one per value of a
//! tenant attribute, so a noisy tenant is refused before it starves the others.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A sustained rate with a burst allowance, in items (spans, data points, log records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Items per second refilled.
    pub items_per_second: u32,
    /// The bucket's size: the most items admitted at once.
    pub burst: u32,
}

impl RateLimit {
    fn quota(self) -> Result<Quota> {
        let rate = NonZeroU32::new(self.items_per_second)
            .ok_or_else(|| Error::Config("rate limit items_per_second must be positive".into()))?;
        let burst = NonZeroU32::new(self.burst)
            .ok_or_else(|| Error::Config("rate limit burst must be positive".into()))?;
        Ok(Quota::per_second(rate).allow_burst(burst))
    }
}

/// Which bucket refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// The receiver's own bucket.
    Receiver,
    /// The tenant's bucket.
    Tenant,
}

/// The answer to [`AdmissionLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Take the request.
    Admitted,
    /// Refuse it now; it would fit after `retry_after` (send as `Retry-After`).
    Limited {
        /// The bucket that refused.
        scope: LimitScope,
        /// When the same request would be admitted.
        retry_after: Duration,
    },
    /// The request is larger than the bucket and can never be admitted whole: split it.
    ExceedsBurst {
        /// The bucket that is too small.
        scope: LimitScope,
    },
}

type Direct<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;
type Keyed<C> =
    RateLimiter<String, DefaultKeyedStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Rate limits per receiver name and per tenant.
///
/// ```
/// use otlp_control::protect::{Admission, AdmissionLimiter, RateLimit};
///
/// let limiter = AdmissionLimiter::builder()
///     .receiver("otlp/grpc", RateLimit { items_per_second: 1000, burst: 1000 })
///     .per_tenant(RateLimit { items_per_second: 100, burst: 100 })
///     .build()?;
/// assert_eq!(limiter.check("otlp/grpc", Some("shop"), 100), Admission::Admitted);
/// assert!(matches!(limiter.check("otlp/grpc", Some("shop"), 1), Admission::Limited { .. }));
/// assert_eq!(limiter.check("otlp/grpc", Some("bank"), 100), Admission::Admitted);
/// # Ok::<(), otlp_control::Error>(())
/// ```
pub struct AdmissionLimiter<C: Clock = DefaultClock> {
    clock: C,
    receivers: HashMap<String, Direct<C>>,
    tenants: Option<Keyed<C>>,
}

impl<C: Clock> std::fmt::Debug for AdmissionLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionLimiter")
            .field("receivers", &self.receivers.keys().collect::<Vec<_>>())
            .field("per_tenant", &self.tenants.is_some())
            .finish()
    }
}

/// Builds an [`AdmissionLimiter`].
#[derive(Debug, Clone, Default)]
pub struct AdmissionLimiterBuilder {
    receivers: Vec<(String, RateLimit)>,
    tenant: Option<RateLimit>,
}

impl AdmissionLimiterBuilder {
    /// Limits the receiver named `name`; receivers without a limit are not limited.
    pub fn receiver(mut self, name: impl Into<String>, limit: RateLimit) -> Self {
        self.receivers.push((name.into(), limit));
        self
    }

    /// Gives every tenant (value of the tenant attribute) its own bucket of this size.
    pub fn per_tenant(mut self, limit: RateLimit) -> Self {
        self.tenant = Some(limit);
        self
    }

    /// Builds on the real clock.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a rate or burst is zero.
    pub fn build(self) -> Result<AdmissionLimiter> {
        self.build_with_clock(DefaultClock::default())
    }

    /// Builds on `clock` (governor's `FakeRelativeClock` in tests).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a rate or burst is zero.
    pub fn build_with_clock<C: Clock + Clone>(self, clock: C) -> Result<AdmissionLimiter<C>> {
        let mut receivers = HashMap::new();
        for (name, limit) in self.receivers {
            receivers.insert(
                name,
                RateLimiter::direct_with_clock(limit.quota()?, clock.clone()),
            );
        }
        let tenants = match self.tenant {
            Some(limit) => Some(RateLimiter::new(
                limit.quota()?,
                DefaultKeyedStateStore::default(),
                clock.clone(),
            )),
            None => None,
        };
        Ok(AdmissionLimiter {
            clock,
            receivers,
            tenants,
        })
    }
}

impl AdmissionLimiter {
    /// Starts a builder.
    pub fn builder() -> AdmissionLimiterBuilder {
        AdmissionLimiterBuilder::default()
    }
}

impl<C: Clock> AdmissionLimiter<C> {
    /// Asks to admit `items` arriving on `receiver` for `tenant` (when the tenant attribute is
    /// present). The tenant bucket is asked first, so one tenant over its share does not use
    /// up the receiver's tokens. An empty request is always admitted.
    pub fn check(&self, receiver: &str, tenant: Option<&str>, items: u32) -> Admission {
        let Some(items) = NonZeroU32::new(items) else {
            return Admission::Admitted;
        };
        if let (Some(tenants), Some(tenant)) = (&self.tenants, tenant) {
            // The key is owned by the store; a borrowed lookup is not offered by governor.
            let outcome = tenants.check_key_n(&tenant.to_owned(), items);
            if let Some(refusal) = self.refusal(outcome, LimitScope::Tenant) {
                return refusal;
            }
        }
        if let Some(limiter) = self.receivers.get(receiver)
            && let Some(refusal) = self.refusal(limiter.check_n(items), LimitScope::Receiver)
        {
            return refusal;
        }
        Admission::Admitted
    }

    fn refusal(
        &self,
        outcome: std::result::Result<
            std::result::Result<(), governor::NotUntil<C::Instant>>,
            governor::InsufficientCapacity,
        >,
        scope: LimitScope,
    ) -> Option<Admission> {
        match outcome {
            Ok(Ok(())) => None,
            Ok(Err(not_until)) => Some(Admission::Limited {
                scope,
                retry_after: not_until.wait_time_from(self.clock.now()),
            }),
            Err(_) => Some(Admission::ExceedsBurst { scope }),
        }
    }

    /// Forgets tenants whose buckets are full again, bounding memory under many tenants.
    pub fn forget_idle_tenants(&self) {
        if let Some(tenants) = &self.tenants {
            tenants.retain_recent();
            tenants.shrink_to_fit();
        }
    }

    /// How many tenants have a bucket now.
    pub fn tenant_count(&self) -> usize {
        self.tenants.as_ref().map_or(0, |tenants| tenants.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn limiter(clock: &FakeRelativeClock) -> AdmissionLimiter<FakeRelativeClock> {
        AdmissionLimiter::builder()
            .receiver(
                "otlp",
                RateLimit {
                    items_per_second: 100,
                    burst: 200,
                },
            )
            .per_tenant(RateLimit {
                items_per_second: 10,
                burst: 50,
            })
            .build_with_clock(clock.clone())
            .unwrap()
    }

    #[test]
    fn a_tenant_over_its_share_is_refused_and_others_are_not() {
        let clock = FakeRelativeClock::default();
        let limiter = limiter(&clock);
        assert_eq!(limiter.check("otlp", Some("a"), 50), Admission::Admitted);
        let Admission::Limited { scope, retry_after } = limiter.check("otlp", Some("a"), 10) else {
            panic!("tenant a should be limited");
        };
        assert_eq!(scope, LimitScope::Tenant);
        assert_eq!(retry_after, Duration::from_secs(1));
        assert_eq!(limiter.check("otlp", Some("b"), 50), Admission::Admitted);
        clock.advance(Duration::from_secs(1));
        assert_eq!(limiter.check("otlp", Some("a"), 10), Admission::Admitted);
        assert_eq!(limiter.tenant_count(), 2);
    }

    #[test]
    fn the_receiver_bucket_caps_all_tenants_together() {
        let clock = FakeRelativeClock::default();
        let limiter = limiter(&clock);
        for tenant in ["a", "b", "c", "d"] {
            assert_eq!(limiter.check("otlp", Some(tenant), 50), Admission::Admitted);
        }
        assert!(matches!(
            limiter.check("otlp", Some("e"), 50),
            Admission::Limited {
                scope: LimitScope::Receiver,
                ..
            }
        ));
        // Data without the tenant attribute only meets the receiver bucket.
        clock.advance(Duration::from_secs(2));
        assert_eq!(limiter.check("otlp", None, 200), Admission::Admitted);
        // Receivers without a limit are not limited.
        assert_eq!(limiter.check("zipkin", None, 10_000), Admission::Admitted);
    }

    #[test]
    fn requests_larger_than_the_bucket_are_told_to_split() {
        let clock = FakeRelativeClock::default();
        let limiter = limiter(&clock);
        assert_eq!(
            limiter.check("otlp", Some("a"), 51),
            Admission::ExceedsBurst {
                scope: LimitScope::Tenant
            }
        );
        assert_eq!(limiter.check("otlp", Some("a"), 0), Admission::Admitted);
    }

    #[test]
    fn idle_tenants_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let limiter = limiter(&clock);
        limiter.check("otlp", Some("a"), 5);
        clock.advance(Duration::from_secs(60));
        limiter.forget_idle_tenants();
        assert_eq!(limiter.tenant_count(), 0);
    }

    #[test]
    fn zero_rates_are_rejected() {
        let zero = RateLimit {
            items_per_second: 0,
            burst: 1,
        };
        assert!(
            AdmissionLimiter::builder()
                .per_tenant(zero)
                .build()
                .is_err()
        );
    }
}
