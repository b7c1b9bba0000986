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
    // The agent starts with the collector, before this runs, and in a fleet that already has a config it
    // usually accepts the stored version first: that version is in the channel already, and a new receiver
    // counts it as seen. Look at it before waiting for the next, or a member that joins (or restarts) runs
    // its local file until the fleet config changes again.
    applied.mark_changed();
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use otlp_collector::{Collector, Config};
    use otlp_control::Applied;
    use otlp_control::fleet::ConfigVersion;

    use super::*;

    fn config_listening_on(name: &str, port: u16) -> String {
        format!(
            r#"
receivers:
  otlp/{name}: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:{port}" }} }} }}
exporters:
  debug:
service:
  pipelines:
    traces: {{ receivers: [otlp/{name}], exporters: [debug] }}
  telemetry:
    metrics: {{ level: none }}
"#
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_accepted_before_the_reloader_runs_is_applied() {
        let host = FleetHost::new();
        let parse =
            |yaml: &str| Config::from_yaml_with(yaml, &host.components(), &|_| None).unwrap();
        let local = parse(&config_listening_on("local", 0));
        let collector = Collector::new(local.clone()).start().await.unwrap();
        // What the agent does when etcd already holds a fleet config: accepts it while the collector starts.
        let port = otlp_testkit::net::free_port().unwrap();
        let fleet = config_listening_on("fleet", port);
        host.offer(Arc::new(Applied {
            config: ConfigVersion {
                version: 1,
                document: fleet.as_bytes().into(),
            },
            value: fleet,
        }));

        // Stops the reloader once the fleet config's receiver answers, or after a generous deadline, so that
        // a reloader that never applies the version fails the assertions below rather than hanging.
        let listening = async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let stop = async {
            let _ = tokio::time::timeout(Duration::from_secs(30), listening).await;
        };
        let running = run_with_reloads(&host, collector, local, stop)
            .await
            .unwrap();
        assert!(running.grpc_addr("otlp/fleet").is_some());
        assert!(running.grpc_addr("otlp/local").is_none());
        assert!(running.shutdown(Duration::from_secs(5)).await.is_clean());
    }
}
