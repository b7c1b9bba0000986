//! Running a collector that follows the fleet config: each validated version is applied by a reload (drain,
//! then start the new pipelines); a version that cannot start is reported as rejected and the previous config
//! runs again.

use std::future::Future;
use std::time::Duration;

use otlp_collector::{Config, ReloadOutcome, RunningCollector};

use super::FleetHost;

/// Runs `collector` (started from `config`, parsed with [`FleetHost::components`]) until `stop` completes,
/// applying every fleet config version the host's extension accepts. Returns the collector running at the end,
/// for the caller to shut down, or `None` when a failed reload left nothing running.
pub async fn run_with_reloads(
    host: &FleetHost,
    mut collector: RunningCollector,
    mut config: Config,
    stop: impl Future<Output = ()>,
) -> Option<RunningCollector> {
    let mut applied = host.applied();
    let mut running_version: Option<u64> = None;
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return Some(collector),
            changed = applied.changed() => {
                if changed.is_err() {
                    // The host is gone: keep running the current config until asked to stop.
                    stop.as_mut().await;
                    return Some(collector);
                }
            }
        }
        let Some(next) = applied.borrow_and_update().clone() else {
            continue;
        };
        let version = next.config.version;
        if running_version == Some(version) {
            continue;
        }
        let next_config = match Config::from_yaml_with(&next.value, &host.components(), &|name| {
            std::env::var(name).ok()
        }) {
            Ok(parsed) => parsed,
            Err(error) => {
                let reason = error.to_string();
                tracing::error!(version, %reason, "fleet config rejected; keeping the running config");
                host.report_rejected(version, running_version, reason);
                continue;
            }
        };
        let drain_timeout = host
            .settings()
            .map_or(Duration::from_secs(30), |settings| settings.drain_timeout);
        tracing::info!(version, timeout = ?drain_timeout, "applying fleet config: draining the pipelines");
        host.set_reloading(true);
        let reloaded = collector
            .reload(next_config.clone(), config.clone(), drain_timeout)
            .await;
        host.set_reloading(false);
        for ((component, signal), items) in &reloaded.drained.undelivered {
            tracing::error!(%component, %signal, items, "not delivered before the reload's drain deadline");
        }
        for error in &reloaded.drained.errors {
            tracing::error!("while draining for a reload: {error}");
        }
        match reloaded.outcome {
            ReloadOutcome::Applied(started) => {
                tracing::info!(version, "fleet config applied");
                collector = started;
                config = next_config;
                running_version = Some(version);
                host.report_running(version);
            }
            ReloadOutcome::Restored {
                collector: restored,
                error,
            } => {
                let mut reason = format!("cannot start: {error}");
                // Per-member values come from the environment, so an unset one is the likely cause, and
                // only this member's log would say so otherwise.
                for unset in next_config.unset_variables() {
                    reason.push_str(&format!("; {unset}"));
                }
                tracing::error!(version, %reason, "fleet config rejected; the previous config runs again");
                collector = restored;
                host.report_rejected(version, running_version, reason);
            }
            ReloadOutcome::Failed {
                error,
                restore_error,
            } => {
                tracing::error!(
                    version,
                    %error,
                    %restore_error,
                    "fleet config could not start, nor could the previous one"
                );
                return None;
            }
        }
    }
}
