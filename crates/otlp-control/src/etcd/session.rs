//! A lease kept alive in the background, as etcd's own `concurrency.Session`: what membership,
//! leadership and locks hang their keys on.

use std::time::Duration;

use etcd_client::Client;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use crate::error::{Error, Result};
use crate::registry::AbortOnDrop;

/// A lease with a keep-alive task. The lease is considered lost once no renewal succeeded for
/// its TTL (etcd may then have expired it) or etcd answers that it is gone; a broken keep-alive
/// stream (etcd restart, network) is reopened on the same lease until then.
pub struct Session {
    client: Client,
    lease: i64,
    ttl: Duration,
    alive: watch::Receiver<bool>,
    _task: AbortOnDrop<()>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("lease", &self.lease)
            .field("ttl", &self.ttl)
            .field("alive", &self.is_alive())
            .finish()
    }
}

impl Session {
    /// Grants a lease of `ttl` (whole seconds, at least 1) and starts keeping it alive.
    ///
    /// # Errors
    ///
    /// [`Error::Etcd`] when the grant fails.
    pub async fn new(client: &Client, ttl: Duration) -> Result<Self> {
        let mut client = client.clone();
        let ttl_secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        let grant = client.lease_grant(ttl_secs, None).await?;
        let lease = grant.id();
        let ttl = Duration::from_secs(u64::try_from(grant.ttl().max(1)).unwrap_or(1));
        let (alive_tx, alive) = watch::channel(true);
        let task = tokio::spawn(keep_alive(client.clone(), lease, ttl, alive_tx));
        Ok(Self {
            client,
            lease,
            ttl,
            alive,
            _task: AbortOnDrop(task),
        })
    }

    /// The lease id.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// The lease's TTL as granted.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether the lease is believed alive.
    pub fn is_alive(&self) -> bool {
        *self.alive.borrow()
    }

    /// Resolves once the lease is lost.
    pub async fn lost(&self) {
        let mut alive = self.alive.clone();
        let _ = alive.wait_for(|alive| !alive).await;
    }

    /// Revokes the lease, deleting every key attached to it.
    ///
    /// # Errors
    ///
    /// [`Error::Etcd`] when etcd cannot be reached (the lease then expires by itself).
    pub async fn close(mut self) -> Result<()> {
        self.client.lease_revoke(self.lease).await?;
        Ok(())
    }

    pub(crate) fn lost_error(&self) -> Error {
        Error::LeaseLost { lease: self.lease }
    }
}

async fn keep_alive(mut client: Client, lease: i64, ttl: Duration, alive: watch::Sender<bool>) {
    let period = (ttl / 3).max(Duration::from_millis(100));
    let mut expires = Instant::now() + ttl;
    let mut backoff = Duration::from_millis(50);
    loop {
        if let Ok((mut keeper, mut responses)) = client.lease_keep_alive(lease).await {
            backoff = Duration::from_millis(50);
            let mut next_renewal = Instant::now();
            loop {
                tokio::select! {
                    () = sleep_until(next_renewal) => {
                        if keeper.keep_alive().await.is_err() {
                            break;
                        }
                        next_renewal = Instant::now() + period;
                    }
                    response = responses.message() => match response {
                        Ok(Some(response)) if response.ttl() > 0 => {
                            let granted = u64::try_from(response.ttl()).unwrap_or(1);
                            expires = Instant::now() + Duration::from_secs(granted);
                        }
                        Ok(Some(_)) => {
                            tracing::warn!(lease, "etcd says the lease expired");
                            alive.send_replace(false);
                            return;
                        }
                        Ok(None) | Err(_) => break,
                    },
                    () = sleep_until(expires) => {
                        alive.send_replace(false);
                        return;
                    }
                }
            }
        }
        // The stream broke: reopen it on the same lease while the lease may still be alive.
        let retry_at = (Instant::now() + backoff).min(expires);
        sleep_until(retry_at).await;
        if Instant::now() >= expires {
            tracing::warn!(lease, "no keep-alive for the lease's TTL; lease lost");
            alive.send_replace(false);
            return;
        }
        backoff = (backoff * 2).min(period);
    }
}
