//! Rollouts on etcd: starting and aborting them (any process, e.g. the CLI), and the leader's
//! driver that moves them step by step. Every write is a transaction on the rollout record's
//! revision, and the leader's writes also on its fencing token, so a deposed leader cannot
//! overwrite what its successor decided.

use std::collections::HashSet;

use etcd_client::{Compare, CompareOp, DeleteOptions, PutOptions, Txn, TxnOp};

use crate::error::{Error, Result};
use crate::etcd::discovery::{Assignment, read_version};
use crate::etcd::election::Leadership;
use crate::etcd::{EtcdFleet, decode, encode};
use crate::fleet::{
    HealthGate, HealthStats, Member, Rollout, RolloutEvent, RolloutPhase, RolloutStrategy,
    RolloutTarget, StoredConfig, now_ms,
};

/// What an operator asks to roll out.
#[derive(Debug, Clone)]
pub enum RolloutChange {
    /// A new config document (staged into the history as a new version).
    Config(Vec<u8>),
    /// A binary version members must come to report.
    Binary(String),
}

/// A request to start a rollout.
#[derive(Debug, Clone)]
pub struct RolloutRequest {
    /// What to roll out.
    pub change: RolloutChange,
    /// How.
    pub strategy: RolloutStrategy,
    /// The gate each step must pass.
    pub gate: HealthGate,
}

/// What the driver does next.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Nothing to do before `wake_ms` (or before the fleet changes).
    Wait { wake_ms: Option<u64> },
    /// Write the record (and extra operations) in one transaction.
    Write {
        rollout: Box<Rollout>,
        ops: Vec<TxnOp>,
    },
}

fn event(rollout: &mut Rollout, token: i64, now: u64, message: String) {
    tracing::info!(rollout = rollout.id, token, "{message}");
    rollout.events.push(RolloutEvent {
        at_ms: now,
        token,
        message,
    });
}

/// Assigns the target to the members the current step adds; members that left the fleet before
/// their turn are skipped.
fn begin_step(
    fleet: &EtcdFleet,
    rollout: &mut Rollout,
    live: &[Member],
    token: i64,
    now: u64,
) -> Vec<TxnOp> {
    let members = rollout.plan.len();
    let from = match rollout.step {
        0 => 0,
        step => rollout.strategy.updated_after(step - 1, members),
    };
    let to = rollout.strategy.updated_after(rollout.step, members);
    let present: HashSet<&str> = live.iter().map(|m| m.id.as_str()).collect();
    let assignment = encode(&Assignment {
        rollout: rollout.id,
        config_version: match &rollout.target {
            RolloutTarget::Config { version } => Some(*version),
            RolloutTarget::Binary { .. } => None,
        },
        binary_version: match &rollout.target {
            RolloutTarget::Binary { version } => Some(version.clone()),
            RolloutTarget::Config { .. } => None,
        },
    });
    let mut ops = Vec::new();
    let mut assigned = Vec::new();
    let batch: Vec<String> = rollout.plan[from..to].to_vec(); // `event` borrows the rollout
    for id in batch {
        if present.contains(id.as_str()) {
            ops.push(TxnOp::put(
                fleet.keys.assignment(&id),
                assignment.clone(),
                None::<PutOptions>,
            ));
            assigned.push(id);
        } else {
            event(
                rollout,
                token,
                now,
                format!("skipped {id}: not in the fleet at its turn"),
            );
            rollout.skipped.push(id);
        }
    }
    let message = format!(
        "step {}/{}: assigned {} to {}",
        rollout.step + 1,
        rollout.steps(),
        rollout.target,
        if assigned.is_empty() {
            "no new member".to_owned()
        } else {
            assigned.join(", ")
        }
    );
    event(rollout, token, now, message);
    rollout.phase = RolloutPhase::Applying;
    rollout.step_started_ms = now;
    ops
}

fn clear_assignments(fleet: &EtcdFleet) -> TxnOp {
    TxnOp::delete(
        fleet.keys.assignments(),
        Some(DeleteOptions::new().with_prefix()),
    )
}

fn roll_back(
    fleet: &EtcdFleet,
    rollout: &Rollout,
    token: i64,
    now: u64,
    reason: String,
) -> Decision {
    let mut next = rollout.clone();
    event(&mut next, token, now, format!("rolling back: {reason}"));
    next.phase = RolloutPhase::RolledBack { reason };
    Decision::Write {
        rollout: Box::new(next),
        ops: vec![clear_assignments(fleet)],
    }
}

/// The driver's next move for an active rollout, given the live members at `now`.
pub(crate) fn decide(
    fleet: &EtcdFleet,
    rollout: &Rollout,
    live: &[Member],
    token: i64,
    now: u64,
) -> Decision {
    let apply_deadline = rollout
        .step_started_ms
        .saturating_add(u64::try_from(rollout.gate.apply_timeout.as_millis()).unwrap_or(u64::MAX));
    match &rollout.phase {
        RolloutPhase::Applying => {
            let updated = rollout.updated();
            for id in &updated {
                if let Some(member) = live.iter().find(|m| m.id == *id)
                    && let Some(reason) = rollout.target.refusal(member)
                {
                    let reason = format!("member {id} rejected {}: {reason}", rollout.target);
                    return roll_back(fleet, rollout, token, now, reason);
                }
            }
            // A member that left before applying a config says nothing about the config:
            // drop it from the plan. (A binary rollout restarts members, so absence is
            // expected there until the apply timeout.)
            if matches!(rollout.target, RolloutTarget::Config { .. }) {
                let gone: Vec<String> = updated
                    .iter()
                    .filter(|id| !live.iter().any(|m| m.id == **id))
                    .map(|id| (*id).to_owned())
                    .collect();
                if !gone.is_empty() {
                    let mut next = rollout.clone();
                    let message = format!("skipped {}: left before applying", gone.join(", "));
                    event(&mut next, token, now, message);
                    next.skipped.extend(gone.iter().cloned());
                    let ops = gone
                        .iter()
                        .map(|id| TxnOp::delete(fleet.keys.assignment(id), None))
                        .collect();
                    return Decision::Write {
                        rollout: Box::new(next),
                        ops,
                    };
                }
            }
            let pending: Vec<&str> = updated
                .iter()
                .copied()
                .filter(|id| !live.iter().any(|m| m.id == *id && rollout.target.runs(m)))
                .collect();
            if pending.is_empty() {
                let mut next = rollout.clone();
                let bake = u64::try_from(rollout.gate.bake.as_millis()).unwrap_or(u64::MAX);
                let message = format!(
                    "step {}/{}: {} members run {}; baking",
                    rollout.step + 1,
                    rollout.steps(),
                    updated.len(),
                    rollout.target
                );
                event(&mut next, token, now, message);
                next.phase = RolloutPhase::Baking {
                    until_ms: now.saturating_add(bake),
                };
                return Decision::Write {
                    rollout: Box::new(next),
                    ops: Vec::new(),
                };
            }
            if now >= apply_deadline {
                let reason = format!(
                    "{} did not report {} within {:?}",
                    pending.join(", "),
                    rollout.target,
                    rollout.gate.apply_timeout
                );
                return roll_back(fleet, rollout, token, now, reason);
            }
            Decision::Wait {
                wake_ms: Some(apply_deadline),
            }
        }
        RolloutPhase::Baking { until_ms } => {
            if let Err(reason) = rollout.check_gate(live) {
                return roll_back(fleet, rollout, token, now, reason);
            }
            if now < *until_ms {
                return Decision::Wait {
                    wake_ms: Some(*until_ms),
                };
            }
            let mut next = rollout.clone();
            if rollout.is_last_step() {
                event(
                    &mut next,
                    token,
                    now,
                    format!("succeeded: {} is stable", rollout.target),
                );
                next.phase = RolloutPhase::Succeeded;
                Decision::Write {
                    rollout: Box::new(next),
                    ops: vec![clear_assignments(fleet)],
                }
            } else {
                next.step += 1;
                let ops = begin_step(fleet, &mut next, live, token, now);
                Decision::Write {
                    rollout: Box::new(next),
                    ops,
                }
            }
        }
        RolloutPhase::Succeeded
        | RolloutPhase::RolledBack { .. }
        | RolloutPhase::Aborted { .. } => Decision::Wait { wake_ms: None },
    }
}

impl EtcdFleet {
    /// The current (or last) rollout and its record's revision.
    pub(crate) async fn rollout_record(&self) -> Result<Option<(Rollout, i64)>> {
        let key = self.keys.rollout();
        let response = self.client.clone().get(key.as_str(), None).await?;
        match response.kvs().first() {
            Some(kv) => Ok(Some((decode(kv.key(), kv.value())?, kv.mod_revision()))),
            None => Ok(None),
        }
    }

    /// The current (or last) rollout.
    ///
    /// # Errors
    ///
    /// The etcd error, or [`Error::Decode`] for a malformed record.
    pub async fn rollout_status(&self) -> Result<Option<Rollout>> {
        Ok(self.rollout_record().await?.map(|(rollout, _)| rollout))
    }

    /// Starts a rollout over the members registered now, ordered by id with the current leader
    /// last (a leader that breaks itself updating cannot drive the rest). A config change is
    /// staged as a new history version first. The leader drives it from there.
    ///
    /// # Errors
    ///
    /// [`Error::Rollout`] when one is in progress, the fleet is empty, or the strategy or the
    /// gate is invalid; [`Error::Conflict`] when another start won the race; the etcd error.
    pub async fn start_rollout(&self, request: RolloutRequest) -> Result<Rollout> {
        request.strategy.validate()?;
        request.gate.validate()?;
        let previous = self.rollout_record().await?;
        if let Some((rollout, _)) = &previous
            && rollout.phase.is_active()
        {
            return Err(Error::Rollout(format!(
                "rollout {} is in progress; abort it first",
                rollout.id
            )));
        }
        let members = self.members().await?;
        if members.is_empty() {
            return Err(Error::Rollout("no member is registered".into()));
        }
        let leader = self.leader().await?.map(|leader| leader.id);
        let mut plan: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        plan.sort_by_key(|id| (Some(id) == leader.as_ref(), id.clone()));
        let target = match request.change {
            RolloutChange::Config(document) => RolloutTarget::Config {
                version: self.stage_config(&document).await?,
            },
            RolloutChange::Binary(version) => RolloutTarget::Binary { version },
        };
        let now = now_ms();
        let mut rollout = Rollout {
            id: previous.as_ref().map_or(1, |(r, _)| r.id + 1),
            target,
            strategy: request.strategy,
            gate: request.gate,
            plan,
            skipped: Vec::new(),
            step: 0,
            step_started_ms: now,
            phase: RolloutPhase::Applying,
            baseline: HealthStats::of(&members),
            events: Vec::new(),
        };
        let started = format!("started: {} ({})", rollout.target, rollout.strategy);
        event(&mut rollout, 0, now, started);
        // Every finished rollout cleared its assignments, so only this one's are written.
        let ops = begin_step(self, &mut rollout, &members, 0, now);
        let revision = previous.map_or(0, |(_, revision)| revision);
        self.write_rollout(&rollout, revision, None, ops).await?;
        Ok(rollout)
    }

    /// Aborts the rollout in progress: members return to the stable versions. A write racing
    /// with the leader's is retried on the newer record.
    ///
    /// # Errors
    ///
    /// [`Error::Rollout`] when none is in progress; [`Error::Conflict`] when the record kept
    /// changing; the etcd error.
    pub async fn abort_rollout(&self, reason: &str) -> Result<Rollout> {
        for _ in 0..16 {
            let Some((mut rollout, revision)) = self.rollout_record().await? else {
                return Err(Error::Rollout("no rollout to abort".into()));
            };
            if !rollout.phase.is_active() {
                return Err(Error::Rollout(format!(
                    "rollout {} is not in progress",
                    rollout.id
                )));
            }
            event(
                &mut rollout,
                0,
                now_ms(),
                format!("aborted by operator: {reason}"),
            );
            rollout.phase = RolloutPhase::Aborted {
                reason: reason.to_owned(),
            };
            match self
                .write_rollout(&rollout, revision, None, vec![clear_assignments(self)])
                .await
            {
                Ok(()) => return Ok(rollout),
                Err(Error::Conflict(_)) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(Error::Conflict("the rollout record kept changing".into()))
    }

    /// Writes the record if it is still at `revision` (0: absent) and, for a leader, while its
    /// leadership holds.
    pub(crate) async fn write_rollout(
        &self,
        rollout: &Rollout,
        revision: i64,
        leadership: Option<&Leadership>,
        mut ops: Vec<TxnOp>,
    ) -> Result<()> {
        let key = self.keys.rollout();
        let mut compares = vec![Compare::mod_revision(
            key.as_str(),
            CompareOp::Equal,
            revision,
        )];
        if let Some(leadership) = leadership {
            compares.push(leadership.fence());
        }
        ops.push(TxnOp::put(key.as_str(), encode(rollout), None));
        let response = self
            .client
            .clone()
            .txn(Txn::new().when(compares).and_then(ops))
            .await?;
        if response.succeeded() {
            return Ok(());
        }
        if let Some(leadership) = leadership
            && self
                .leader()
                .await?
                .is_none_or(|l| l.token != leadership.token())
        {
            return Err(Error::NotLeader {
                token: leadership.token(),
            });
        }
        Err(Error::Conflict(format!(
            "rollout {} changed meanwhile",
            rollout.id
        )))
    }

    /// Makes a succeeded rollout's target the fleet's stable version, in the same transaction
    /// as the record.
    pub(crate) async fn promotion(&self, rollout: &Rollout) -> Result<Vec<TxnOp>> {
        match &rollout.target {
            RolloutTarget::Config { version } => {
                let config = read_version(&mut self.client.clone(), &self.keys, *version)
                    .await
                    .ok_or_else(|| {
                        Error::Rollout(format!("config v{version} is missing from the history"))
                    })?;
                Ok(vec![TxnOp::put(
                    self.keys.config(),
                    encode(&StoredConfig::from(&config)),
                    None,
                )])
            }
            RolloutTarget::Binary { version } => Ok(vec![TxnOp::put(
                self.keys.binary_version(),
                version.as_bytes().to_vec(),
                None,
            )]),
        }
    }
}

/// The rollout record, kept current.
#[derive(Debug)]
pub struct RolloutWatch {
    rollout: tokio::sync::watch::Receiver<Option<Rollout>>,
    _task: crate::registry::AbortOnDrop<()>,
}

impl RolloutWatch {
    /// The record now.
    pub fn current(&self) -> Option<Rollout> {
        self.rollout.borrow().clone()
    }

    /// Waits for a record that satisfies `predicate` (the current one included).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the watch ended.
    pub async fn wait_for(
        &self,
        mut predicate: impl FnMut(Option<&Rollout>) -> bool,
    ) -> Result<Option<Rollout>> {
        let mut rollout = self.rollout.clone();
        let found = rollout
            .wait_for(|r| predicate(r.as_ref()))
            .await
            .map_err(|_| Error::Closed)?;
        Ok(found.clone())
    }
}

impl EtcdFleet {
    /// Watches the rollout record (for `fleet rollout status --follow` and tests).
    ///
    /// # Errors
    ///
    /// The etcd error when the first read fails.
    pub async fn watch_rollout(&self) -> Result<RolloutWatch> {
        use crate::etcd::mirror::{self, Range};
        let key = self.keys.rollout();
        let mirror = mirror::spawn(&self.client, vec![Range::Key(key.clone())]).await?;
        let mut snapshots = mirror.snapshots;
        let read = move |snapshot: &crate::etcd::mirror::Snapshot| {
            snapshot
                .get(&key)
                .and_then(|entry| decode::<Rollout>(key.as_bytes(), &entry.value).ok())
        };
        let (tx, rollout) = tokio::sync::watch::channel(read(&snapshots.borrow_and_update()));
        let mirror_task = crate::registry::AbortOnDrop(mirror.task);
        let task = tokio::spawn(async move {
            let _mirror = mirror_task;
            while snapshots.changed().await.is_ok() {
                tx.send_replace(read(&snapshots.borrow_and_update()));
            }
        });
        Ok(RolloutWatch {
            rollout,
            _task: crate::registry::AbortOnDrop(task),
        })
    }
}
