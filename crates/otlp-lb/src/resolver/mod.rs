//! Resolvers: where endpoint sets come from. A resolver publishes whole endpoint-set snapshots
//! on a [`watch`] channel: consumers always see the latest complete set, never a half-applied
//! change, and a slow consumer skips intermediate sets rather than queueing them.
//!
//! [`StaticResolver`] holds a set you give it (and can be updated by hand), [`DnsResolver`]
//! re-resolves a hostname on an interval like otelcol's `dns` resolver, and
//! [`follow`] keeps a [`Balance`] in step with any resolver. Fleet membership (etcd) or k8s
//! resolvers implement [`Resolver`] the same way.

mod dns;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use dns::{
    DnsConfig, DnsResolver, HostLookup, ResolutionStats, ResolutionStatsReader, SystemLookup,
};

use crate::balancer::Balance;
use crate::endpoint::{Endpoint, validate_set};
use crate::{Error, Result};

/// A source of endpoint sets.
pub trait Resolver: Send + Sync {
    /// A receiver holding the current whole endpoint set (sorted by id), notified when it
    /// changes.
    fn subscribe(&self) -> watch::Receiver<Arc<[Endpoint]>>;
}

/// A fixed endpoint set, replaceable by hand with [`set`](StaticResolver::set).
#[derive(Debug)]
pub struct StaticResolver {
    sender: watch::Sender<Arc<[Endpoint]>>,
}

impl StaticResolver {
    /// Publishes `endpoints` (checked: unique ids, weights ≥ 1).
    pub fn new(endpoints: Vec<Endpoint>) -> Result<Self> {
        let endpoints = validate_set(endpoints)?;
        let (sender, _) = watch::channel(Arc::from(endpoints));
        Ok(Self { sender })
    }

    /// Publishes a new set, if it differs from the current one.
    pub fn set(&self, endpoints: Vec<Endpoint>) -> Result<()> {
        let endpoints: Arc<[Endpoint]> = Arc::from(validate_set(endpoints)?);
        self.sender.send_if_modified(|current| {
            let changed = *current != endpoints;
            if changed {
                *current = endpoints;
            }
            changed
        });
        Ok(())
    }
}

impl Resolver for StaticResolver {
    fn subscribe(&self) -> watch::Receiver<Arc<[Endpoint]>> {
        self.sender.subscribe()
    }
}

/// Keeps a balancer's endpoint set equal to a resolver's, on its own task; stops when dropped.
#[derive(Debug)]
pub struct Follower {
    task: JoinHandle<()>,
    applied: watch::Receiver<u64>,
}

impl Follower {
    /// Sets applied so far (the first one included), to wait on instead of sleeping.
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Applies `updates`' current set to `balancer` now, and every later set as it is published.
/// A set the balancer rejects (say, a duplicate id from a misbehaving resolver) is logged and
/// skipped: the balancer keeps its previous set. Must be called inside a tokio runtime.
pub fn follow<B: Balance + ?Sized>(
    balancer: Arc<B>,
    mut updates: watch::Receiver<Arc<[Endpoint]>>,
) -> Result<Follower> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::NoRuntime("a resolver follower"))?;
    let (applied_tx, applied) = watch::channel(0);
    let task = runtime.spawn(async move {
        loop {
            let set = updates.borrow_and_update().to_vec();
            if let Err(error) = balancer.set_endpoints(set) {
                tracing::warn!(%error, "resolver published an endpoint set the balancer rejected; keeping the previous set");
            }
            applied_tx.send_modify(|n| *n += 1);
            if updates.changed().await.is_err() {
                return;
            }
        }
    });
    Ok(Follower { task, applied })
}
