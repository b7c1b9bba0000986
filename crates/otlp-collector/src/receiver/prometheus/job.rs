//! One job of `scrape_configs` while the receiver runs: its targets made from its groups (`targets.rs`), each
//! scraped by a task of its own; with `file_sd_configs`, a task that follows the files and starts and stops
//! targets as they come and go, as Prometheus's scrape manager does.

use super::Target;
use super::config::{Global, ScrapeConfig};
use super::convert::TargetLabels;
use super::file_sd::{FileDiscovery, Group};
use super::relabel::Rule;
use super::targets::{self, ScrapeTarget};
use crate::Error;
use crate::exporter::otlphttp::client::HttpClient;
use crate::receiver::{Ingest, shutdown_signal};
use crate::telemetry::ReceiverCounters;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What every target of a job shares.
pub(super) struct Job {
    pub(super) config: ScrapeConfig,
    pub(super) global: Global,
    pub(super) target_rules: Vec<Rule>,
    pub(super) metric_rules: Arc<Vec<Rule>>,
    pub(super) client: Arc<HttpClient>,
    pub(super) ingest: Arc<Ingest>,
    pub(super) counters: Arc<ReceiverCounters>,
    /// The receiver's id.
    pub(super) id: String,
    pub(super) watch: tokio::sync::watch::Receiver<bool>,
}

/// How files are looked at for changes.
const FILE_POLL: Duration = Duration::from_secs(1);

impl Job {
    pub(super) fn static_groups(&self) -> Vec<Group> {
        self.config
            .static_configs
            .iter()
            .map(Group::from_static)
            .collect()
    }

    /// The targets `groups` make, relabelled, each once.
    pub(super) fn targets(&self, groups: &[Group]) -> Vec<ScrapeTarget> {
        let mut found = targets::targets(
            &self.config,
            &self.global,
            groups,
            &self.target_rules,
            &self.id,
        );
        let mut seen = std::collections::HashSet::new();
        found.retain(|target| seen.insert((target.url.clone(), target.labels.clone())));
        found
    }

    /// Scrapes `found` until the receiver stops.
    pub(super) async fn run(self: Arc<Self>, found: ScrapeTarget) -> Result<(), Error> {
        let target = self.target(found);
        let interval = self.config.interval(&self.global);
        target
            .run(
                interval,
                &self.ingest,
                &self.counters,
                &self.id,
                self.watch.clone(),
            )
            .await;
        Ok(())
    }

    fn target(self: &Arc<Self>, found: ScrapeTarget) -> Target {
        let mut labels = found.labels;
        let job = labels.remove("job").unwrap_or_default();
        let instance = labels.remove("instance").unwrap_or_default();
        let own: Vec<(String, String)> = labels.into_iter().collect();
        let with_external = |mut labels: Vec<(String, String)>| {
            // External labels never override a target's, as in Prometheus.
            for (name, value) in &self.global.external_labels {
                if !labels.iter().any(|(n, _)| n == name) {
                    labels.push((name.clone(), value.clone()));
                }
            }
            labels.sort();
            labels
        };
        let honor = self.config.honor_labels;
        let (labels, metric_relabel) = if self.metric_rules.is_empty() {
            let labels = TargetLabels {
                labels: with_external(own),
                honor,
            };
            (labels, None)
        } else {
            // The rules see the series as Prometheus stores them, target labels merged in; the external labels
            // come after, as they come after in Prometheus.
            let series = TargetLabels { labels: own, honor };
            let labels = TargetLabels {
                labels: with_external(Vec::new()),
                honor: true,
            };
            (labels, Some((Arc::clone(&self.metric_rules), series)))
        };
        Target {
            url: found.url,
            job,
            instance,
            scheme: found.scheme,
            labels,
            metric_relabel,
            settings: Arc::clone(self),
        }
    }

    /// Follows `discovery`'s files: starts a task for each target that appears and stops the ones that went away;
    /// the static targets run throughout. Returns once the receiver stops and every target's task has ended.
    pub(super) async fn discover(
        self: Arc<Self>,
        mut discovery: FileDiscovery,
    ) -> Result<(), Error> {
        let stopped = shutdown_signal(self.watch.clone());
        tokio::pin!(stopped);
        let mut ticks = tokio::time::interval(FILE_POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running: HashMap<(http::Uri, targets::LabelSet), tokio::task::JoinHandle<()>> =
            HashMap::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = ticks.tick() => {}
            }
            // Reading files may block: not on a runtime worker.
            let (id, name) = (self.id.clone(), self.config.job_name.clone());
            let Ok((back, groups)) = tokio::task::spawn_blocking(move || {
                let groups = discovery.poll(&id, &name);
                (discovery, groups)
            })
            .await
            else {
                break;
            };
            discovery = back;
            let Some(file_groups) = groups else { continue };
            let mut groups = self.static_groups();
            groups.extend(file_groups);
            let wanted: HashMap<_, _> = self
                .targets(&groups)
                .into_iter()
                .map(|target| ((target.url.clone(), target.labels.clone()), target))
                .collect();
            running.retain(|key, task| {
                let keep = wanted.contains_key(key);
                if !keep {
                    task.abort();
                }
                keep
            });
            let (mut started, total) = (0, wanted.len());
            for (key, target) in wanted {
                if running.contains_key(&key) {
                    continue;
                }
                let job = Arc::clone(&self);
                running.insert(
                    key,
                    tokio::spawn(async move {
                        let _ = job.run(target).await;
                    }),
                );
                started += 1;
            }
            tracing::info!(receiver = %self.id, job = %self.config.job_name, targets = total, started, "targets from files");
        }
        for (_, task) in running {
            let _ = task.await;
        }
        Ok(())
    }
}
