//! The DNS resolver: a hostname re-resolved on an interval, on its own task.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::Resolver;
use crate::endpoint::Endpoint;
use crate::{Error, Result};

/// How a hostname becomes addresses. [`SystemLookup`] (the OS resolver, `getaddrinfo`) is
/// the default; another implementation can ask a DNS server directly.
pub trait HostLookup: Send + Sync + 'static {
    /// The addresses `host` resolves to, with `port`.
    fn lookup(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;
}

/// The operating system's resolver, through tokio (on its blocking pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl HostLookup for SystemLookup {
    async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// otelcol's `dns` resolver settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsConfig {
    /// The name to resolve; every address becomes an endpoint.
    pub hostname: String,
    /// The port endpoints get. Default 4317 (OTLP/gRPC).
    pub port: u16,
    /// Time between resolutions. Default 5 s (otelcol's).
    pub interval: Duration,
    /// A resolution that takes longer is abandoned and counts as failed. Default 1 s.
    pub timeout: Duration,
}

impl DnsConfig {
    /// Settings for `hostname` with otelcol's defaults.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            port: 4317,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        }
    }

    fn validate(&self) -> Result<()> {
        let invalid = |what, reason: &str| {
            Err(Error::InvalidConfig {
                what,
                reason: reason.to_owned(),
            })
        };
        if self.hostname.is_empty() {
            return invalid("hostname", "must not be empty");
        }
        if self.interval.is_zero() {
            return invalid("interval", "must be longer than zero");
        }
        if self.timeout.is_zero() {
            return invalid("timeout", "must be longer than zero");
        }
        Ok(())
    }
}

/// What the DNS resolver has done, for self-metrics (otelcol's
/// `otelcol_loadbalancer_num_resolutions{success}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolutionStats {
    /// Resolutions that produced at least one address.
    pub succeeded: u64,
    /// Resolutions that failed, timed out or came back empty (the previous set was kept).
    pub failed: u64,
    /// The last failure, if the last resolution failed.
    pub last_error: Option<String>,
}

/// Resolves a hostname every `interval` on its own task and publishes the addresses as
/// endpoints `ip:port`, sorted.
///
/// Resolution is bounded by `timeout` and runs apart from the consumers: a hung resolver
/// (otelcol issue #1690, frozen during a rolling update) only delays the next set, it never
/// blocks a pick or a consumer. A failed, timed-out or empty resolution keeps the last good
/// set rather than routing nowhere. Stops when dropped.
#[derive(Debug)]
pub struct DnsResolver {
    endpoints: watch::Receiver<Arc<[Endpoint]>>,
    attempts: watch::Receiver<u64>,
    stats: Arc<Mutex<ResolutionStats>>,
    resolve_now: Arc<Notify>,
    task: JoinHandle<()>,
}

impl DnsResolver {
    /// Starts resolving with the system resolver. The set is empty until the first
    /// resolution succeeds (`subscribe().wait_for(|set| !set.is_empty())`). Must be called
    /// inside a tokio runtime.
    pub fn spawn(config: DnsConfig) -> Result<Self> {
        Self::spawn_with(config, SystemLookup)
    }

    /// Starts resolving with `lookup`.
    pub fn spawn_with<L: HostLookup>(config: DnsConfig, lookup: L) -> Result<Self> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::NoRuntime("the DNS resolver"))?;
        let (endpoints_tx, endpoints) = watch::channel(Arc::from(Vec::new()));
        let (attempts_tx, attempts) = watch::channel(0);
        let stats = Arc::new(Mutex::new(ResolutionStats::default()));
        let resolve_now = Arc::new(Notify::new());
        let task = runtime.spawn(run(
            config,
            lookup,
            endpoints_tx,
            attempts_tx,
            Arc::clone(&stats),
            Arc::clone(&resolve_now),
        ));
        Ok(Self {
            endpoints,
            attempts,
            stats,
            resolve_now,
            task,
        })
    }

    /// Resolves again now instead of at the next interval.
    pub fn resolve_now(&self) {
        self.resolve_now.notify_one();
    }

    /// Resolutions attempted so far (finished, successful or not), to wait on.
    pub fn attempts(&self) -> watch::Receiver<u64> {
        self.attempts.clone()
    }

    /// Counters and the last error.
    pub fn stats(&self) -> ResolutionStats {
        self.stats_reader().read()
    }

    /// A handle that reads [`stats`](DnsResolver::stats) without keeping the resolver running, and
    /// still reads the final counts once it has stopped (for self-metrics, which must never go
    /// back to zero).
    pub fn stats_reader(&self) -> ResolutionStatsReader {
        ResolutionStatsReader(Arc::clone(&self.stats))
    }
}

/// Reads a [`DnsResolver`]'s counters; see [`DnsResolver::stats_reader`].
#[derive(Debug, Clone)]
pub struct ResolutionStatsReader(Arc<Mutex<ResolutionStats>>);

impl ResolutionStatsReader {
    /// The counters and the last error now.
    pub fn read(&self) -> ResolutionStats {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Resolver for DnsResolver {
    fn subscribe(&self) -> watch::Receiver<Arc<[Endpoint]>> {
        self.endpoints.clone()
    }
}

impl Drop for DnsResolver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run<L: HostLookup>(
    config: DnsConfig,
    lookup: L,
    endpoints: watch::Sender<Arc<[Endpoint]>>,
    attempts: watch::Sender<u64>,
    stats: Arc<Mutex<ResolutionStats>>,
    resolve_now: Arc<Notify>,
) {
    loop {
        let outcome =
            tokio::time::timeout(config.timeout, lookup.lookup(&config.hostname, config.port))
                .await;
        let failure = match outcome {
            Ok(Ok(addresses)) if !addresses.is_empty() => {
                let mut addresses = addresses;
                addresses.sort();
                addresses.dedup();
                let set: Arc<[Endpoint]> = addresses
                    .iter()
                    .map(|address| Endpoint::new(address.to_string()))
                    .collect();
                endpoints.send_if_modified(|current| {
                    let changed = *current != set;
                    if changed {
                        tracing::info!(hostname = %config.hostname, endpoints = set.len(), "DNS resolution changed the endpoint set");
                        *current = set;
                    }
                    changed
                });
                None
            }
            Ok(Ok(_)) => Some(format!("{} resolved to no address", config.hostname)),
            Ok(Err(error)) => Some(format!("resolving {}: {error}", config.hostname)),
            Err(_) => Some(format!(
                "resolving {} took longer than {:?}",
                config.hostname, config.timeout
            )),
        };
        {
            let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
            match &failure {
                None => stats.succeeded += 1,
                Some(_) => stats.failed += 1,
            }
            if let Some(error) = &failure {
                tracing::warn!(%error, "DNS resolution failed; keeping the last endpoint set");
            }
            stats.last_error = failure;
        }
        attempts.send_modify(|n| *n += 1);
        tokio::select! {
            () = tokio::time::sleep(config.interval) => {}
            () = resolve_now.notified() => {}
            () = endpoints.closed() => return,
        }
    }
}
