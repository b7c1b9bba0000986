//! Membership: a member record under a lease, kept alive, republished on every change, and
//! registered again under a new lease when the old one is lost (etcd restart longer than the
//! TTL, a partition, a revoked lease).

use std::time::Duration;

use etcd_client::{GetOptions, PutOptions};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};

use crate::error::Result;
use crate::etcd::session::Session;
use crate::etcd::{EtcdFleet, decode, encode};
use crate::fleet::Member;
use crate::registry::{Registration, RegistrationStatus, RegistrationTask};

/// Membership settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipOptions {
    /// The lease TTL: how long a dead member stays listed.
    pub ttl: Duration,
}

impl Default for MembershipOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(5),
        }
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(1);

impl EtcdFleet {
    /// Registers `member` under a lease of `options.ttl` and keeps it registered. Returns once
    /// the record is in etcd.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) for an invalid member id; the etcd error when
    /// the first registration fails.
    pub async fn register_member(
        &self,
        member: Member,
        options: MembershipOptions,
    ) -> Result<Registration> {
        member.validate()?;
        let session = Session::new(&self.client, options.ttl).await?;
        put_record(self, &member, &session).await?;
        let fleet = self.clone();
        let registration =
            Registration::spawn(member, move |task| run(fleet, options, task, session));
        registration.wait_registrations(1).await?;
        Ok(registration)
    }

    /// The registered members, now, sorted by id; malformed records are skipped (and logged).
    ///
    /// # Errors
    ///
    /// The etcd error when the read fails.
    pub async fn members(&self) -> Result<Vec<Member>> {
        let response = self
            .client
            .clone()
            .get(self.keys.members(), Some(GetOptions::new().with_prefix()))
            .await?;
        Ok(response
            .kvs()
            .iter()
            .filter_map(|kv| decode_member(kv.key(), kv.value()))
            .collect())
    }
}

pub(crate) fn decode_member(key: &[u8], value: &[u8]) -> Option<Member> {
    match decode::<Member>(key, value) {
        Ok(member) => Some(member),
        Err(error) => {
            tracing::warn!(%error, "skipping a member record");
            None
        }
    }
}

async fn put_record(fleet: &EtcdFleet, member: &Member, session: &Session) -> Result<()> {
    fleet
        .client
        .clone()
        .put(
            fleet.keys.member(&member.id),
            encode(member),
            Some(PutOptions::new().with_lease(session.lease())),
        )
        .await?;
    Ok(())
}

/// Waits `backoff`; true when shutdown was asked for meanwhile.
async fn pause(backoff: Duration, shutdown: &mut oneshot::Receiver<()>) -> bool {
    tokio::select! {
        () = sleep_until(Instant::now() + backoff) => false,
        _ = shutdown => true,
    }
}

async fn run(
    fleet: EtcdFleet,
    options: MembershipOptions,
    task: RegistrationTask,
    first: Session,
) -> Result<()> {
    let RegistrationTask {
        mut record,
        status,
        mut shutdown,
    } = task;
    let mut session = Some(first);
    let mut backoff = Duration::from_millis(50);
    let failed = |error: &dyn std::fmt::Display| {
        status.send_modify(|s| {
            s.registered = false;
            s.last_error = Some(error.to_string());
        });
    };
    loop {
        let current = match session.take() {
            Some(session) => session,
            None => {
                let member = record.borrow_and_update().clone();
                let registered = async {
                    let session = Session::new(&fleet.client, options.ttl).await?;
                    put_record(&fleet, &member, &session).await?;
                    Ok::<_, crate::Error>(session)
                };
                match registered.await {
                    Ok(session) => session,
                    Err(error) => {
                        failed(&error);
                        if pause(backoff, &mut shutdown).await {
                            return Ok(());
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
        };
        backoff = Duration::from_millis(50);
        status.send_modify(|s: &mut RegistrationStatus| {
            s.registered = true;
            s.registrations += 1;
        });
        tracing::debug!(lease = current.lease(), "member registered");
        // Publish every change of the record; a failed put is retried until it lands or the
        // lease is lost (then the new registration carries the latest record anyway).
        let mut retry_at: Option<Instant> = None;
        loop {
            let retry = async {
                match retry_at {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                asked = &mut shutdown => {
                    if asked.is_ok() {
                        let id = record.borrow().id.clone();
                        let deleted = fleet.client.clone().delete(fleet.keys.member(&id), None).await;
                        let revoked = current.close().await;
                        deleted?;
                        return revoked;
                    }
                    return Ok(());
                }
                () = current.lost() => {
                    failed(&current.lost_error());
                    break;
                }
                changed = record.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    retry_at = Some(Instant::now());
                }
                () = retry => {
                    let member = record.borrow_and_update().clone();
                    retry_at = match put_record(&fleet, &member, &current).await {
                        Ok(()) => None,
                        Err(error) => {
                            tracing::debug!(%error, "member record update failed; retrying");
                            Some(Instant::now() + Duration::from_millis(200))
                        }
                    };
                }
            }
        }
    }
}
