//! [`FleetHost`]: what the `fleet` extension shares with the process that runs the collector, so that the member
//! survives the collector's reloads and the reloader learns of new configs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use otlp_collector::component::Components;
use otlp_collector::telemetry::Telemetry;
use otlp_control::Applied;
use otlp_control::fleet::ConfigRejection;
use tokio::sync::watch;

use super::agent::{Agent, AppliedSender};
use super::{Factory, FleetConfig, FleetError};

/// The fleet membership of one collector process, shared by its `fleet` extension (whichever collector
/// instance runs it: a reload builds a new one) and the reloader ([`run_with_reloads`](super::run_with_reloads)).
#[derive(Clone)]
pub struct FleetHost {
    inner: Arc<Inner>,
}

struct Inner {
    agent: tokio::sync::Mutex<Option<Agent>>,
    /// The agent's record and settings, readable without waiting on the agent's lock.
    current: parking_lot::Mutex<Option<(otlp_control::MemberRecord, FleetConfig)>>,
    reloading: AtomicBool,
    applied: AppliedSender,
}

impl std::fmt::Debug for FleetHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetHost")
            .field("reloading", &self.inner.reloading.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for FleetHost {
    fn default() -> Self {
        FleetHost::new()
    }
}

impl FleetHost {
    /// A host with no member yet (the `fleet` extension registers one when the collector starts it).
    pub fn new() -> Self {
        FleetHost {
            inner: Arc::new(Inner {
                agent: tokio::sync::Mutex::new(None),
                current: parking_lot::Mutex::new(None),
                reloading: AtomicBool::new(false),
                applied: Arc::new(watch::Sender::new(None)),
            }),
        }
    }

    /// The built-in component types plus the `fleet` extension bound to this host: parse the collector's config
    /// with these.
    pub fn components(&self) -> Components {
        Components::builtin()
            .with_extension(Factory::new(self.clone()))
            .with_exporter(super::LoadBalancingWithFleet)
    }

    /// Fleet config versions that passed validation, merged with this member's `fleet` settings (`None` until
    /// the first one).
    pub fn applied(&self) -> watch::Receiver<Option<Arc<Applied<String>>>> {
        self.inner.applied.subscribe()
    }

    /// The running member's settings, if the extension started one.
    pub fn settings(&self) -> Option<FleetConfig> {
        self.inner
            .current
            .lock()
            .as_ref()
            .map(|(_, settings)| settings.clone())
    }

    /// Starts the member agent, or keeps the running one when its settings are unchanged (a reload).
    pub(crate) async fn attach(
        &self,
        extension_id: &str,
        settings: &FleetConfig,
        telemetry: Telemetry,
    ) -> Result<(), FleetError> {
        let mut slot = self.inner.agent.lock().await;
        if let Some(agent) = slot.as_ref()
            && agent.extension_id == extension_id
            && agent.settings == *settings
        {
            return Ok(());
        }
        if let Some(previous) = slot.take() {
            previous.stop().await;
        }
        let agent = Agent::start(
            extension_id,
            settings.clone(),
            telemetry,
            self.inner.applied.clone(),
        )
        .await?;
        *self.inner.current.lock() = Some((agent.record.clone(), settings.clone()));
        *slot = Some(agent);
        Ok(())
    }

    /// Stops the member, unless the collector is only being reloaded.
    pub(crate) async fn detach(&self) {
        if self.inner.reloading.load(Ordering::Acquire) {
            return;
        }
        let agent = self.inner.agent.lock().await.take();
        *self.inner.current.lock() = None;
        if let Some(agent) = agent {
            agent.stop().await;
        }
    }

    /// Marks a reload in progress: the extension's shutdown then keeps the member registered.
    pub(crate) fn set_reloading(&self, reloading: bool) {
        self.inner.reloading.store(reloading, Ordering::Release);
    }

    /// Offers a validated version to the reloader as the agent does, for tests without etcd.
    #[cfg(test)]
    pub(crate) fn offer(&self, applied: Arc<Applied<String>>) {
        self.inner.applied.send_replace(Some(applied));
    }

    /// Publishes that `version` now runs.
    pub(crate) fn report_running(&self, version: u64) {
        if let Some((record, _)) = self.inner.current.lock().as_ref() {
            record.update(|member| {
                member.config.version = Some(version);
                member.config.rejected = member
                    .config
                    .rejected
                    .take()
                    .filter(|rejected| rejected.version > version);
            });
        }
    }

    /// Publishes that `version` was refused (`reason`) and `running` still runs.
    pub(crate) fn report_rejected(&self, version: u64, running: Option<u64>, reason: String) {
        if let Some((record, _)) = self.inner.current.lock().as_ref() {
            record.update(|member| {
                member.config.version = running;
                member.config.rejected = Some(ConfigRejection { version, reason });
            });
        }
    }
}
