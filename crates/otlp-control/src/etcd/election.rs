//! Leader election with fencing tokens, and a distributed lock, on etcd's election and lock
//! APIs. Both hang their key on a [`Session`] lease, so a dead holder is replaced once its lease
//! expires (at most the TTL after the crash).

use std::time::Duration;

use etcd_client::{
    Compare, CompareOp, GetOptions, LeaderKey, LockOptions, ResignOptions, SortOrder, SortTarget,
};
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::etcd::EtcdFleet;
use crate::etcd::mirror::{self, Range, Snapshot};
use crate::etcd::session::Session;
use crate::fleet::LeaderInfo;
use crate::registry::AbortOnDrop;

/// This process's leadership. The fencing token is the revision at which its election key was
/// created: every later leader has a larger one, so a store that remembers the largest token it
/// has seen can refuse writes from a deposed leader.
#[derive(Debug)]
pub struct Leadership {
    fleet: EtcdFleet,
    id: String,
    leader_key: LeaderKey,
    key: Vec<u8>,
    token: i64,
    session: Session,
}

impl Leadership {
    /// The fencing token.
    pub fn token(&self) -> i64 {
        self.token
    }

    /// The member id this process campaigned as.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the leadership's lease is believed alive.
    pub fn is_alive(&self) -> bool {
        self.session.is_alive()
    }

    /// Resolves once the leadership is lost (its lease expired or was revoked).
    pub async fn lost(&self) {
        self.session.lost().await;
    }

    /// The comparison that makes an etcd transaction succeed only while this leadership holds.
    pub fn fence(&self) -> Compare {
        Compare::create_revision(self.key.clone(), CompareOp::Equal, self.token)
    }

    pub(crate) fn fleet(&self) -> &EtcdFleet {
        &self.fleet
    }

    /// Gives leadership up so that the next candidate takes over at once.
    ///
    /// # Errors
    ///
    /// The etcd error (the leadership then ends when its lease expires).
    pub async fn resign(self) -> Result<()> {
        let mut client = self.fleet.client();
        client
            .resign(Some(
                ResignOptions::new().with_leader(self.leader_key.clone()),
            ))
            .await?;
        self.session.close().await
    }
}

/// A held distributed lock; the token is the lock key's creation revision.
#[derive(Debug)]
pub struct LockGuard {
    fleet: EtcdFleet,
    key: Vec<u8>,
    token: i64,
    session: Session,
}

impl LockGuard {
    /// The fencing token.
    pub fn token(&self) -> i64 {
        self.token
    }

    /// Resolves once the lock is lost with its lease.
    pub async fn lost(&self) {
        self.session.lost().await;
    }

    /// Releases the lock.
    ///
    /// # Errors
    ///
    /// The etcd error (the lock is then released when its lease expires).
    pub async fn unlock(self) -> Result<()> {
        self.fleet.client().unlock(self.key.clone()).await?;
        self.session.close().await
    }
}

fn leader_of(snapshot: &Snapshot, prefix: &str) -> Option<LeaderInfo> {
    snapshot
        .under(prefix)
        .min_by_key(|(_, entry)| entry.create_revision)
        .map(|(_, entry)| LeaderInfo {
            id: String::from_utf8_lossy(&entry.value).into_owned(),
            token: entry.create_revision,
        })
}

impl EtcdFleet {
    fn election_name(&self) -> String {
        format!("{}/leader", self.keys.prefix())
    }

    /// Campaigns as `id` and waits until elected. Dropping the future withdraws the candidacy
    /// once its lease expires; a candidate whose lease is lost while waiting gets an error.
    ///
    /// # Errors
    ///
    /// The etcd error, or [`Error::LeaseLost`].
    pub async fn campaign(&self, id: &str, ttl: Duration) -> Result<Leadership> {
        let session = Session::new(&self.client, ttl).await?;
        let mut client = self.client.clone();
        let campaign = client.campaign(self.election_name(), id, session.lease());
        let response = tokio::select! {
            response = campaign => response?,
            () = session.lost() => return Err(session.lost_error()),
        };
        let leader_key = response
            .leader()
            .cloned()
            .ok_or_else(|| Error::Conflict("campaign answered without a leader key".into()))?;
        Ok(Leadership {
            fleet: self.clone(),
            id: id.to_owned(),
            key: leader_key.key().to_vec(),
            token: leader_key.rev(),
            leader_key,
            session,
        })
    }

    /// The current leader, if any.
    ///
    /// # Errors
    ///
    /// The etcd error when the read fails.
    pub async fn leader(&self) -> Result<Option<LeaderInfo>> {
        let options = GetOptions::new()
            .with_prefix()
            .with_sort(SortTarget::Create, SortOrder::Ascend)
            .with_limit(1);
        let prefix = self.keys.election();
        let response = self
            .client
            .clone()
            .get(prefix.as_str(), Some(options))
            .await?;
        Ok(response.kvs().first().map(|kv| LeaderInfo {
            id: String::from_utf8_lossy(kv.value()).into_owned(),
            token: kv.create_revision(),
        }))
    }

    /// Observes who leads: a new value on every change of leader (`None` while there is none).
    ///
    /// # Errors
    ///
    /// The etcd error when the first read fails.
    pub async fn observe_leader(&self) -> Result<LeaderWatch> {
        let prefix = self.keys.election();
        let mirror = mirror::spawn(&self.client, vec![Range::Prefix(prefix.clone())]).await?;
        let mut snapshots = mirror.snapshots;
        let (leader_tx, leader) =
            watch::channel(leader_of(&snapshots.borrow_and_update(), &prefix));
        let mirror_task = AbortOnDrop(mirror.task);
        let task = tokio::spawn(async move {
            let _mirror = mirror_task;
            while snapshots.changed().await.is_ok() {
                let next = leader_of(&snapshots.borrow_and_update(), &prefix);
                leader_tx.send_if_modified(|current| {
                    let changed = *current != next;
                    if changed {
                        *current = next;
                    }
                    changed
                });
            }
        });
        Ok(LeaderWatch {
            leader,
            _task: AbortOnDrop(task),
        })
    }

    /// Takes the lock `name`, waiting while another holder has it.
    ///
    /// # Errors
    ///
    /// The etcd error, or [`Error::LeaseLost`] when the lease is lost while waiting.
    pub async fn lock(&self, name: &str, ttl: Duration) -> Result<LockGuard> {
        let session = Session::new(&self.client, ttl).await?;
        let mut client = self.client.clone();
        let name = format!("{}/locks/{name}", self.keys.prefix());
        let lock = client.lock(name, Some(LockOptions::new().with_lease(session.lease())));
        let response = tokio::select! {
            response = lock => response?,
            () = session.lost() => return Err(session.lost_error()),
        };
        let key = response.key().to_vec();
        let created = self.client.clone().get(key.clone(), None).await?;
        let token =
            created
                .kvs()
                .first()
                .map(|kv| kv.create_revision())
                .ok_or(Error::LeaseLost {
                    lease: session.lease(),
                })?;
        Ok(LockGuard {
            fleet: self.clone(),
            key,
            token,
            session,
        })
    }
}

/// Who leads, kept current.
#[derive(Debug)]
pub struct LeaderWatch {
    leader: watch::Receiver<Option<LeaderInfo>>,
    _task: AbortOnDrop<()>,
}

impl LeaderWatch {
    /// The leader now.
    pub fn current(&self) -> Option<LeaderInfo> {
        self.leader.borrow().clone()
    }

    /// A receiver of leader changes.
    pub fn receiver(&self) -> watch::Receiver<Option<LeaderInfo>> {
        self.leader.clone()
    }
}
