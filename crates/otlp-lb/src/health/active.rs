//! Active health checks: probe every endpoint on an interval, and take the ones that fail
//! `unhealthy_threshold` probes in a row out of rotation until `healthy_threshold` succeed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

use crate::balancer::Balance;
use crate::endpoint::{Endpoint, EndpointId};
use crate::{Error, Result};

/// One probe of one endpoint.
pub trait HealthCheck: Send + Sync + 'static {
    /// Whether `endpoint` looks healthy. The checker bounds each probe by its timeout.
    fn check(&self, endpoint: Endpoint) -> impl Future<Output = bool> + Send;
}

/// A probe that opens a TCP connection to the endpoint's address and closes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnect;

impl HealthCheck for TcpConnect {
    async fn check(&self, endpoint: Endpoint) -> bool {
        tokio::net::TcpStream::connect(endpoint.address())
            .await
            .is_ok()
    }
}

/// When and how strictly active checks run.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveHealthCheck {
    /// Time between probe rounds. Default 10 s.
    pub interval: Duration,
    /// A probe that takes longer fails. Default 2 s.
    pub timeout: Duration,
    /// Failed probes in a row that mark an endpoint unhealthy. Default 3.
    pub unhealthy_threshold: u32,
    /// Successful probes in a row that mark it healthy again. Default 2.
    pub healthy_threshold: u32,
}

impl Default for ActiveHealthCheck {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
            unhealthy_threshold: 3,
            healthy_threshold: 2,
        }
    }
}

impl ActiveHealthCheck {
    fn validate(&self) -> Result<()> {
        let invalid = |what, reason: &str| {
            Err(Error::InvalidConfig {
                what,
                reason: reason.to_owned(),
            })
        };
        if self.interval.is_zero() {
            return invalid("interval", "must be longer than zero");
        }
        if self.timeout.is_zero() {
            return invalid("timeout", "must be longer than zero");
        }
        if self.unhealthy_threshold == 0 || self.healthy_threshold == 0 {
            return invalid("healthy_threshold", "thresholds must be at least 1");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Streak {
    healthy: bool,
    successes: u32,
    failures: u32,
}

/// Runs active checks for one balancer on its own task; stops when dropped.
#[derive(Debug)]
pub struct HealthChecker {
    task: JoinHandle<()>,
    rounds: watch::Receiver<u64>,
}

impl HealthChecker {
    /// Starts probing `balancer`'s endpoints (whatever they are at each round) with `check`.
    /// Must be called inside a tokio runtime.
    pub fn spawn<B, C>(balancer: Arc<B>, check: C, config: ActiveHealthCheck) -> Result<Self>
    where
        B: Balance + ?Sized,
        C: HealthCheck,
    {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::NoRuntime("the active health checker"))?;
        let (rounds_tx, rounds) = watch::channel(0);
        let task = runtime.spawn(run(balancer, Arc::new(check), config, rounds_tx));
        Ok(Self { task, rounds })
    }

    /// Completed probe rounds, to wait on (`wait_for(|n| *n >= 2)`) rather than sleep.
    pub fn rounds(&self) -> watch::Receiver<u64> {
        self.rounds.clone()
    }
}

impl Drop for HealthChecker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run<B, C>(
    balancer: Arc<B>,
    check: Arc<C>,
    config: ActiveHealthCheck,
    rounds: watch::Sender<u64>,
) where
    B: Balance + ?Sized,
    C: HealthCheck,
{
    let mut streaks: HashMap<EndpointId, Streak> = HashMap::new();
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let endpoints = balancer.endpoints();
        let mut probes = JoinSet::new();
        for endpoint in endpoints.iter().cloned() {
            let check = Arc::clone(&check);
            let timeout = config.timeout;
            probes.spawn(async move {
                let id = endpoint.id().clone();
                let healthy = tokio::time::timeout(timeout, check.check(endpoint))
                    .await
                    .unwrap_or(false);
                (id, healthy)
            });
        }
        let mut seen = Vec::with_capacity(endpoints.len());
        while let Some(result) = probes.join_next().await {
            let Ok((id, passed)) = result else { continue };
            let streak = streaks.entry(id.clone()).or_insert(Streak {
                healthy: true,
                successes: 0,
                failures: 0,
            });
            if passed {
                streak.successes += 1;
                streak.failures = 0;
            } else {
                streak.failures += 1;
                streak.successes = 0;
            }
            let verdict = if streak.healthy {
                streak.failures < config.unhealthy_threshold
            } else {
                streak.successes >= config.healthy_threshold
            };
            if verdict != streak.healthy {
                streak.healthy = verdict;
                tracing::info!(endpoint = %id, healthy = verdict, "active health check verdict changed");
            }
            balancer.set_healthy(id.as_str(), streak.healthy);
            seen.push(id);
        }
        streaks.retain(|id, _| seen.contains(id));
        rounds.send_modify(|n| *n += 1);
    }
}
