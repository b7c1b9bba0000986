//! Discovery (the live member set) and a member's target (which config and binary it should
//! run), both kept current by a [`mirror`](super::mirror).

use std::sync::Arc;

use etcd_client::Client;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::Result;
use crate::etcd::membership::decode_member;
use crate::etcd::mirror::{self, Range, Snapshot};
use crate::etcd::{EtcdFleet, Keys, decode};
use crate::fleet::{ConfigVersion, Member, StoredConfig, Target};
use crate::registry::{AbortOnDrop, MemberWatch, TargetWatch};

/// A rollout's assignment to one member, overriding the fleet's stable versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Assignment {
    pub(crate) rollout: u64,
    pub(crate) config_version: Option<u64>,
    pub(crate) binary_version: Option<String>,
}

pub(crate) fn members_of(snapshot: &Snapshot, keys: &Keys) -> Arc<[Member]> {
    snapshot
        .under(&keys.members())
        .filter_map(|(key, entry)| decode_member(key.as_bytes(), &entry.value))
        .collect()
}

pub(crate) fn decode_config(key: &str, value: &[u8]) -> Option<ConfigVersion> {
    match decode::<StoredConfig>(key.as_bytes(), value) {
        Ok(stored) => stored.decode(),
        Err(error) => {
            tracing::warn!(%error, "ignoring a malformed config record");
            None
        }
    }
}

impl EtcdFleet {
    /// Watches the member set: a new snapshot on every join, leave and record update. The watch
    /// resumes from its revision after a broken stream and resyncs after compaction.
    ///
    /// # Errors
    ///
    /// The etcd error when the first read fails.
    pub async fn watch_members(&self) -> Result<MemberWatch> {
        let mirror = mirror::spawn(&self.client, vec![Range::Prefix(self.keys.members())]).await?;
        let keys = self.keys.clone();
        let mut snapshots = mirror.snapshots;
        let (members_tx, members) =
            watch::channel(members_of(&snapshots.borrow_and_update(), &keys));
        let mirror_task = AbortOnDrop(mirror.task);
        let task = tokio::spawn(async move {
            let _mirror = mirror_task;
            while snapshots.changed().await.is_ok() {
                let next = members_of(&snapshots.borrow_and_update(), &keys);
                members_tx.send_if_modified(|current| {
                    let changed = **current != *next;
                    if changed {
                        *current = next;
                    }
                    changed
                });
            }
        });
        Ok(MemberWatch::new(members, mirror.stats, task))
    }

    /// Watches what member `member_id` should run: its rollout assignment when it has one, the
    /// fleet's stable config and binary version otherwise.
    ///
    /// # Errors
    ///
    /// The etcd error when the first read fails.
    pub async fn watch_target(&self, member_id: &str) -> Result<TargetWatch> {
        let keys = self.keys.clone();
        let ranges = vec![
            Range::Key(keys.config()),
            Range::Key(keys.assignment(member_id)),
            Range::Key(keys.binary_version()),
        ];
        let mirror = mirror::spawn(&self.client, ranges).await?;
        let mut snapshots = mirror.snapshots;
        let mut client = self.client.clone();
        let member_id = member_id.to_owned();
        let mut cache: Option<ConfigVersion> = None;
        let first = snapshots.borrow_and_update().clone();
        let initial = resolve(&mut client, &keys, &member_id, &first, &mut cache).await;
        let (target_tx, target) = watch::channel(initial);
        let mirror_task = AbortOnDrop(mirror.task);
        let task = tokio::spawn(async move {
            let _mirror = mirror_task;
            while snapshots.changed().await.is_ok() {
                let snapshot = snapshots.borrow_and_update().clone();
                let next = resolve(&mut client, &keys, &member_id, &snapshot, &mut cache).await;
                target_tx.send_if_modified(|current| {
                    let changed = *current != next;
                    if changed {
                        *current = next;
                    }
                    changed
                });
            }
        });
        Ok(TargetWatch::new(target, task))
    }
}

/// Works out the target from the mirrored keys, fetching an assigned config version from the
/// history when it is not the stable one (the last fetched version is cached).
async fn resolve(
    client: &mut Client,
    keys: &Keys,
    member_id: &str,
    snapshot: &Snapshot,
    cache: &mut Option<ConfigVersion>,
) -> Target {
    let stable = snapshot
        .get(&keys.config())
        .and_then(|entry| decode_config(&keys.config(), &entry.value));
    let assignment_key = keys.assignment(member_id);
    let assignment = snapshot
        .get(&assignment_key)
        .and_then(|entry| decode::<Assignment>(assignment_key.as_bytes(), &entry.value).ok());
    let stable_binary = snapshot
        .get(&keys.binary_version())
        .map(|entry| String::from_utf8_lossy(&entry.value).into_owned());
    let config = match assignment.as_ref().and_then(|a| a.config_version) {
        Some(version) if stable.as_ref().is_none_or(|s| s.version != version) => {
            if cache.as_ref().is_none_or(|c| c.version != version) {
                *cache = read_version(client, keys, version).await;
            }
            cache.clone().or(stable)
        }
        _ => stable,
    };
    Target {
        config,
        binary_version: assignment.and_then(|a| a.binary_version).or(stable_binary),
    }
}

pub(crate) async fn read_version(
    client: &mut Client,
    keys: &Keys,
    version: u64,
) -> Option<ConfigVersion> {
    let key = keys.config_version(version);
    let response = client.get(key.as_str(), None).await.ok()?;
    let kv = response.kvs().first()?;
    decode_config(&key, kv.value())
}
