//! What every coordination backend (etcd, Consul) offers, and the handles they share:
//! a registration kept alive in the background, a live member set, and the config target.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::fleet::{ConfigStatus, ConfigVersion, LoadReport, Member, Target, now_ms};

/// A coordination backend: registration, discovery and the config store.
///
/// Implemented by [`EtcdFleet`](crate::etcd::EtcdFleet) and
/// [`ConsulFleet`](crate::consul::ConsulFleet); the collector holds a `dyn Registry`.
pub trait Registry: Send + Sync {
    /// Registers `member` and keeps it registered (re-registering after the registration is
    /// lost) until the returned handle is dropped or deregistered.
    fn register(&self, member: Member) -> BoxFuture<'_, Result<Registration>>;

    /// A live view of the registered members.
    fn watch_members(&self) -> BoxFuture<'_, Result<MemberWatch>>;

    /// The registered members, now.
    fn members(&self) -> BoxFuture<'_, Result<Vec<Member>>>;

    /// Stores a new config document as the fleet's stable config; returns its version.
    fn put_config(&self, document: Vec<u8>) -> BoxFuture<'_, Result<u64>>;

    /// The fleet's stable config.
    fn config(&self) -> BoxFuture<'_, Result<Option<ConfigVersion>>>;

    /// A live view of what the member `member_id` should run.
    fn watch_target<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<TargetWatch>>;
}

/// Aborts a background task when dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop<T>(pub(crate) JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The member record a registration publishes; cheap to clone and share with the pipeline.
#[derive(Debug, Clone)]
pub struct MemberRecord {
    sender: Arc<watch::Sender<Member>>,
}

impl MemberRecord {
    pub(crate) fn new(member: Member) -> Self {
        Self {
            sender: Arc::new(watch::channel(member).0),
        }
    }

    /// The record as it stands.
    pub fn get(&self) -> Member {
        self.sender.borrow().clone()
    }

    /// Changes the record; the registration publishes it at once.
    pub fn update(&self, change: impl FnOnce(&mut Member)) {
        self.sender.send_modify(|member| {
            change(member);
            member.updated_at_ms = now_ms();
        });
    }

    /// Publishes a new load report.
    pub fn set_load(&self, load: LoadReport) {
        self.update(|member| member.load = load);
    }

    /// Publishes which config runs.
    pub fn set_config(&self, config: ConfigStatus) {
        self.update(|member| member.config = config);
    }

    /// Publishes the binary version (after an operator hook swapped it in place).
    pub fn set_version(&self, version: impl Into<String>) {
        let version = version.into();
        self.update(|member| member.version = version);
    }

    /// Publishes `report()` every `interval` until the returned task is aborted or the
    /// registration ends: the periodic load update of a member.
    pub fn report_load_every(
        &self,
        interval: std::time::Duration,
        mut report: impl FnMut() -> LoadReport + Send + 'static,
    ) -> JoinHandle<()> {
        let record = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if Arc::strong_count(&record.sender) == 1 {
                    return; // the registration and every other handle are gone
                }
                record.set_load(report());
            }
        })
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Member> {
        self.sender.subscribe()
    }
}

/// How a registration is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistrationStatus {
    /// Whether the record is in the store now, as far as this process knows.
    pub registered: bool,
    /// How many times the member was (re-)registered: 1 after the first registration.
    pub registrations: u64,
    /// The last error that interrupted the registration, if any.
    pub last_error: Option<String>,
}

/// A member kept registered by a background task; dropping it stops the task (the record then
/// expires with its lease or TTL), [`deregister`](Self::deregister) removes it at once.
#[derive(Debug)]
pub struct Registration {
    record: MemberRecord,
    status: watch::Receiver<RegistrationStatus>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
}

/// What a backend's registration task gets.
pub(crate) struct RegistrationTask {
    pub(crate) record: watch::Receiver<Member>,
    pub(crate) status: watch::Sender<RegistrationStatus>,
    pub(crate) shutdown: oneshot::Receiver<()>,
}

impl Registration {
    pub(crate) fn spawn<F, Fut>(member: Member, run: F) -> Self
    where
        F: FnOnce(RegistrationTask) -> Fut,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let record = MemberRecord::new(member);
        let (status_tx, status) = watch::channel(RegistrationStatus::default());
        let (shutdown_tx, shutdown) = oneshot::channel();
        let task = tokio::spawn(run(RegistrationTask {
            record: record.subscribe(),
            status: status_tx,
            shutdown,
        }));
        Self {
            record,
            status,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        }
    }

    /// The record; update load and config through it.
    pub fn record(&self) -> MemberRecord {
        self.record.clone()
    }

    /// The registration's status now.
    pub fn status(&self) -> RegistrationStatus {
        self.status.borrow().clone()
    }

    /// Waits until the member has been registered at least `times` times in all.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the registration task ended first.
    pub async fn wait_registrations(&self, times: u64) -> Result<RegistrationStatus> {
        self.wait_status(|s| s.registered && s.registrations >= times)
            .await
    }

    /// Waits until the status satisfies `predicate` (the current one included).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the registration task ended first.
    pub async fn wait_status(
        &self,
        mut predicate: impl FnMut(&RegistrationStatus) -> bool,
    ) -> Result<RegistrationStatus> {
        let mut status = self.status.clone();
        let reached = status
            .wait_for(|s| predicate(s))
            .await
            .map_err(|_| Error::Closed)?;
        Ok(reached.clone())
    }

    /// Removes the member from the store and stops the task.
    ///
    /// # Errors
    ///
    /// The store's error when the removal fails (the record then expires by itself).
    pub async fn deregister(mut self) -> Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|_| Error::Closed)?,
            None => Ok(()),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// How a watch kept itself consistent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WatchStats {
    /// Full reads after the watched history was compacted away (or on start).
    pub resyncs: u64,
    /// Times the watch stream broke and was resumed from its revision.
    pub resumes: u64,
    /// The store revision (etcd) or index (Consul) the view is at.
    pub revision: i64,
}

/// A live member set: each change of membership or of a member's record yields a new snapshot,
/// sorted by member id. Keep it alive as long as its receivers are used.
#[derive(Debug)]
pub struct MemberWatch {
    members: watch::Receiver<Arc<[Member]>>,
    stats: watch::Receiver<WatchStats>,
    _task: AbortOnDrop<()>,
}

impl MemberWatch {
    pub(crate) fn new(
        members: watch::Receiver<Arc<[Member]>>,
        stats: watch::Receiver<WatchStats>,
        task: JoinHandle<()>,
    ) -> Self {
        Self {
            members,
            stats,
            _task: AbortOnDrop(task),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<[Member]> {
        self.members.borrow().clone()
    }

    /// A receiver of snapshots (what a load balancer's resolver adapts).
    pub fn receiver(&self) -> watch::Receiver<Arc<[Member]>> {
        self.members.clone()
    }

    /// How the watch kept itself consistent so far.
    pub fn stats(&self) -> WatchStats {
        *self.stats.borrow()
    }

    /// Waits for a snapshot that satisfies `predicate` (the current one included).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the watch task ended.
    pub async fn wait_for(
        &self,
        mut predicate: impl FnMut(&[Member]) -> bool,
    ) -> Result<Arc<[Member]>> {
        let mut members = self.members.clone();
        let found = members
            .wait_for(|snapshot| predicate(snapshot))
            .await
            .map_err(|_| Error::Closed)?;
        Ok(found.clone())
    }
}

/// What one member should run, kept up to date.
#[derive(Debug)]
pub struct TargetWatch {
    target: watch::Receiver<Target>,
    _task: AbortOnDrop<()>,
}

impl TargetWatch {
    pub(crate) fn new(target: watch::Receiver<Target>, task: JoinHandle<()>) -> Self {
        Self {
            target,
            _task: AbortOnDrop(task),
        }
    }

    /// The target now.
    pub fn current(&self) -> Target {
        self.target.borrow().clone()
    }

    /// A receiver of targets; the binary version in it is what an operator hook acts on.
    pub fn receiver(&self) -> watch::Receiver<Target> {
        self.target.clone()
    }
}
