//! The fleet status report and client-side selection, read from etcd.

use crate::error::Result;
use crate::etcd::{EtcdFleet, decode};
use crate::fleet::{FleetStatus, GlobalView, Member, PickRequest, now_ms, pick};

/// A published view older than this is recomputed from the members instead.
const VIEW_MAX_AGE_MS: u64 = 10_000;

impl EtcdFleet {
    /// Everything `fleet status` shows: members, leader, stable versions, the global view (the
    /// leader's when fresh, else computed here) and the latest rollout.
    ///
    /// # Errors
    ///
    /// The etcd error when a read fails.
    pub async fn status(&self) -> Result<FleetStatus> {
        let members = self.members().await?;
        let leader = self.leader().await?;
        let config_version = self.config().await?.map(|config| config.version);
        let mut client = self.client.clone();
        let binary_version = client
            .get(self.keys.binary_version(), None)
            .await?
            .kvs()
            .first()
            .map(|kv| String::from_utf8_lossy(kv.value()).into_owned());
        let published = client.get(self.keys.view(), None).await?;
        let view = published
            .kvs()
            .first()
            .and_then(|kv| decode::<GlobalView>(kv.key(), kv.value()).ok())
            .filter(|view| now_ms().saturating_sub(view.computed_at_ms) <= VIEW_MAX_AGE_MS)
            .unwrap_or_else(|| GlobalView::aggregate(&members, now_ms()));
        Ok(FleetStatus {
            prefix: self.keys.prefix().to_owned(),
            leader,
            config_version,
            binary_version,
            members,
            view,
            rollout: self.rollout_status().await?,
        })
    }

    /// The collector an SDK or edge agent should use (see [`pick`]).
    ///
    /// # Errors
    ///
    /// The etcd error when the members cannot be read.
    pub async fn pick(&self, request: &PickRequest) -> Result<Option<Member>> {
        let members = self.members().await?;
        Ok(pick(&members, request).cloned())
    }
}
