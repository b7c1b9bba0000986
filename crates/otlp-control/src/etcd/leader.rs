//! What the leader does while it leads: publish the global view of the fleet's load, and drive
//! the rollout in progress (including one a previous leader started).

use std::time::Duration;

use etcd_client::{PutOptions, Txn, TxnOp};
use tokio::time::{Instant, sleep_until};

use crate::error::{Error, Result};
use crate::etcd::election::Leadership;
use crate::etcd::mirror::{self, Range};
use crate::etcd::rollout::{Decision, decide};
use crate::etcd::{EtcdFleet, encode};
use crate::fleet::{GlobalView, Member, RolloutPhase, now_ms};
use crate::registry::AbortOnDrop;

/// How the leader works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderOptions {
    /// The least time between two publications of the global view (members update their load
    /// often; the view need not follow each update).
    pub view_interval: Duration,
    /// How long to wait before retrying after etcd failed a request.
    pub retry_after: Duration,
}

impl Default for LeaderOptions {
    fn default() -> Self {
        Self {
            view_interval: Duration::from_secs(1),
            retry_after: Duration::from_millis(500),
        }
    }
}

fn instant_at(wall_ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(wall_ms.saturating_sub(now_ms()))
}

impl EtcdFleet {
    /// Leads until the leadership is lost: publishes the global view at `<p>/view` and drives
    /// rollouts. Transient etcd errors are retried; the function returns only when leadership
    /// ends.
    ///
    /// # Errors
    ///
    /// [`Error::NotLeader`] once the leadership is lost (the normal end), or the etcd error
    /// when the watches it needs cannot be started.
    pub async fn lead(&self, leadership: &Leadership, options: LeaderOptions) -> Result<()> {
        let not_leader = || Error::NotLeader {
            token: leadership.token(),
        };
        let members = self.watch_members().await?;
        let mut members_rx = members.receiver();
        let rollouts = mirror::spawn(&self.client, vec![Range::Key(self.keys.rollout())]).await?;
        let _rollout_task = AbortOnDrop(rollouts.task);
        let mut rollout_rx = rollouts.snapshots;
        let mut view_due = Some(Instant::now());
        let mut last_view = Instant::now();
        loop {
            if !leadership.is_alive() {
                return Err(not_leader());
            }
            let live = members_rx.borrow_and_update().clone();
            rollout_rx.borrow_and_update();
            if view_due.is_some_and(|due| due <= Instant::now()) {
                last_view = Instant::now();
                view_due = match self.publish_view(leadership, &live).await {
                    Ok(()) => None,
                    Err(error) => {
                        tracing::warn!(%error, "could not publish the global view");
                        Some(Instant::now() + options.retry_after)
                    }
                };
            }
            let wake = match self.drive(leadership, &live).await {
                Ok(wake) => wake.map(instant_at),
                Err(Error::NotLeader { .. }) => return Err(not_leader()),
                Err(error) => {
                    tracing::warn!(%error, "rollout step failed; retrying");
                    Some(Instant::now() + options.retry_after)
                }
            };
            let wake_or_never = async {
                match wake {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let view_or_never = async {
                match view_due {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = leadership.lost() => return Err(not_leader()),
                changed = members_rx.changed() => {
                    changed.map_err(|_| Error::Closed)?;
                    view_due.get_or_insert(last_view + options.view_interval);
                }
                changed = rollout_rx.changed() => changed.map_err(|_| Error::Closed)?,
                () = wake_or_never => {}
                () = view_or_never => {}
            }
        }
    }

    async fn publish_view(&self, leadership: &Leadership, live: &[Member]) -> Result<()> {
        let view = GlobalView::aggregate(live, now_ms());
        let txn = Txn::new().when([leadership.fence()]).and_then([TxnOp::put(
            self.keys.view(),
            encode(&view),
            None::<PutOptions>,
        )]);
        if self.client.clone().txn(txn).await?.succeeded() {
            Ok(())
        } else {
            Err(Error::NotLeader {
                token: leadership.token(),
            })
        }
    }

    /// Moves the active rollout as far as it can go now; returns when to look again.
    async fn drive(&self, leadership: &Leadership, live: &[Member]) -> Result<Option<u64>> {
        loop {
            let Some((rollout, revision)) = self.rollout_record().await? else {
                return Ok(None);
            };
            if !rollout.phase.is_active() {
                return Ok(None);
            }
            match decide(self, &rollout, live, leadership.token(), now_ms()) {
                Decision::Wait { wake_ms } => return Ok(wake_ms),
                Decision::Write {
                    rollout: next,
                    mut ops,
                } => {
                    if next.phase == RolloutPhase::Succeeded {
                        ops.extend(self.promotion(&next).await?);
                    }
                    match self
                        .write_rollout(&next, revision, Some(leadership), ops)
                        .await
                    {
                        Ok(()) | Err(Error::Conflict(_)) => {}
                        Err(error) => return Err(error),
                    }
                }
            }
        }
    }
}

/// Leadership's view of which fleet it leads (used by tests and the collector's extension).
impl Leadership {
    /// Leads with `options` (see [`EtcdFleet::lead`]).
    ///
    /// # Errors
    ///
    /// As [`EtcdFleet::lead`].
    pub async fn lead(&self, options: LeaderOptions) -> Result<()> {
        self.fleet().clone().lead(self, options).await
    }
}
