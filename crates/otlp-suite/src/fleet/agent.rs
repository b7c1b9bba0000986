//! The member agent: registers this collector under a lease, follows the fleet config (validated as
//! `otlp-suite validate` would), and publishes the collector's load. It outlives the pipelines, so a hot reload
//! neither re-registers the member nor restarts the config watch.

use std::sync::Arc;

use otlp_collector::telemetry::Telemetry;
use std::time::Duration;

use otlp_control::etcd::{EtcdFleet, LeaderOptions, MembershipOptions};
use otlp_control::fleet::{ConfigVersion, Member};
use otlp_control::{Applied, ConfigFollower, MemberRecord, Registration};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{FleetConfig, FleetError, connect, explain, load, validate_document};

/// Where the agent hands validated documents (merged with this member's `fleet` settings) to the reloader.
pub(crate) type AppliedSender = Arc<watch::Sender<Option<Arc<Applied<String>>>>>;

/// A registered member and its background tasks.
pub(crate) struct Agent {
    /// The extension's id in the collector config (`fleet`).
    pub(crate) extension_id: String,
    /// The settings it was started with.
    pub(crate) settings: FleetConfig,
    /// The published member record.
    pub(crate) record: MemberRecord,
    registration: Registration,
    _follower: ConfigFollower<String>,
    tasks: Vec<JoinHandle<()>>,
}

impl Agent {
    /// Connects, registers and starts following the fleet config.
    pub(crate) async fn start(
        extension_id: &str,
        settings: FleetConfig,
        telemetry: Telemetry,
        applied_to: AppliedSender,
    ) -> Result<Agent, FleetError> {
        let credentials = settings
            .username
            .as_deref()
            .zip(settings.password.as_deref());
        let fleet = connect(
            &settings.endpoints,
            &settings.prefix,
            credentials,
            settings.tls.as_ref(),
        )
        .await?;
        let member = Member::new(
            &settings.member_id,
            &settings.region,
            &settings.advertise,
            env!("CARGO_PKG_VERSION"),
        )?;
        let registration = fleet
            .register_member(
                member,
                MembershipOptions {
                    ttl: settings.lease_ttl,
                },
            )
            .await
            // The connection is made lazily, so this is where an unreachable etcd shows.
            .map_err(|error| explain(error.into(), &settings.endpoints, settings.tls.as_ref()))?;
        let record = registration.record();
        let targets = fleet.watch_target(&settings.member_id).await?;
        let local = (extension_id.to_owned(), settings.clone());
        let follower = ConfigFollower::spawn_deferred(
            targets,
            record.clone(),
            move |config: &ConfigVersion| {
                let text = config.text().ok_or("the config is not UTF-8")?;
                validate_document(text, Some((&local.0, &local.1))).map(|(merged, _)| merged)
            },
        );
        let mut applied = follower.applied();
        let forward = tokio::spawn(async move {
            loop {
                let current = applied.borrow_and_update().clone();
                if current.is_some() {
                    applied_to.send_replace(current);
                }
                if applied.changed().await.is_err() {
                    break;
                }
            }
        });
        let reporter = tokio::spawn(load::report(
            record.clone(),
            telemetry,
            settings.report_interval,
        ));
        let mut tasks = vec![forward, reporter];
        if settings.campaign {
            tasks.push(tokio::spawn(campaign(
                fleet,
                settings.member_id.clone(),
                settings.lease_ttl,
            )));
        }
        tracing::info!(
            member = %settings.member_id,
            region = %settings.region,
            prefix = %settings.prefix,
            "registered in the fleet"
        );
        Ok(Agent {
            extension_id: extension_id.to_owned(),
            settings,
            record,
            registration,
            _follower: follower,
            tasks,
        })
    }

    /// Stops the tasks and removes the member from the fleet.
    pub(crate) async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        let member = self.settings.member_id.clone();
        match self.registration.deregister().await {
            Ok(()) => tracing::info!(%member, "left the fleet"),
            Err(error) => {
                tracing::warn!(%member, %error, "could not deregister; the lease expires by itself")
            }
        }
    }
}

/// Campaigns for leadership and, while leader, publishes the fleet's global view and drives rollouts; campaigns
/// again after losing it.
async fn campaign(fleet: EtcdFleet, id: String, ttl: Duration) {
    loop {
        match fleet.campaign(&id, ttl).await {
            Ok(leadership) => {
                tracing::info!(member = %id, token = leadership.token(), "leading the fleet");
                let ended = leadership.lead(LeaderOptions::default()).await;
                tracing::info!(member = %id, ?ended, "no longer leading the fleet");
            }
            Err(error) => {
                tracing::warn!(member = %id, %error, "campaign failed; retrying");
                // etcd is unreachable: retry after a pause rather than spin.
                tokio::time::sleep(ttl.min(Duration::from_secs(1))).await;
            }
        }
    }
}
