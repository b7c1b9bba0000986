//! The member side of the config store: follow the target config, validate each new version
//! with the caller's validator, apply what is valid, keep the last good version otherwise, and
//! publish the running version (and the rejection reason) in the member record.

use std::sync::Arc;

use tokio::sync::watch;

use crate::fleet::{ConfigRejection, ConfigStatus, ConfigVersion};
use crate::registry::{AbortOnDrop, MemberRecord, TargetWatch};

/// A config version that passed validation, with what the validator made of it.
#[derive(Debug)]
pub struct Applied<T> {
    /// The version and its document.
    pub config: ConfigVersion,
    /// The validator's result (typically the parsed, typed config).
    pub value: T,
}

/// Follows a member's target config in the background.
///
/// The validator turns a document into the caller's config type, or says why it cannot. Each
/// accepted version is offered on [`applied`](Self::applied), which the pipeline watches to
/// hot-reload; a refused version leaves the running one in place and is reported in the
/// member record, so the fleet (and a rollout's gate) sees it.
#[derive(Debug)]
pub struct ConfigFollower<T> {
    applied: watch::Receiver<Option<Arc<Applied<T>>>>,
    _task: AbortOnDrop<()>,
    _targets: TargetWatch,
}

impl<T: Send + Sync + 'static> ConfigFollower<T> {
    /// Starts following `targets`, reporting through `record`: a version is reported as running as soon as it
    /// validates.
    pub fn spawn<V>(targets: TargetWatch, record: MemberRecord, validate: V) -> Self
    where
        V: FnMut(&ConfigVersion) -> std::result::Result<T, String> + Send + 'static,
    {
        Self::spawn_with(targets, record, validate, true)
    }

    /// Like [`spawn`](Self::spawn), but a valid version is only offered on [`applied`](Self::applied): the
    /// caller reports it as running (in the member record's `config`) once it has really applied it — a
    /// collector that restarts its pipelines, and may fail to, does. Rejections are still reported here.
    pub fn spawn_deferred<V>(targets: TargetWatch, record: MemberRecord, validate: V) -> Self
    where
        V: FnMut(&ConfigVersion) -> std::result::Result<T, String> + Send + 'static,
    {
        Self::spawn_with(targets, record, validate, false)
    }

    fn spawn_with<V>(
        targets: TargetWatch,
        record: MemberRecord,
        mut validate: V,
        report_applied: bool,
    ) -> Self
    where
        V: FnMut(&ConfigVersion) -> std::result::Result<T, String> + Send + 'static,
    {
        let (applied_tx, applied) = watch::channel(None::<Arc<Applied<T>>>);
        let mut target_rx = targets.receiver();
        let task = tokio::spawn(async move {
            let mut running: Option<u64> = None;
            let mut refused: Option<u64> = None;
            loop {
                let target = target_rx.borrow_and_update().clone();
                if let Some(config) = target.config
                    && running != Some(config.version)
                    && refused != Some(config.version)
                {
                    match validate(&config) {
                        Ok(value) => {
                            let version = config.version;
                            running = Some(version);
                            applied_tx.send_replace(Some(Arc::new(Applied { config, value })));
                            if report_applied {
                                record.update(|member| {
                                    let keep_rejection = member
                                        .config
                                        .rejected
                                        .take()
                                        .filter(|rejected| rejected.version > version);
                                    member.config = ConfigStatus {
                                        version: Some(version),
                                        rejected: keep_rejection,
                                    };
                                });
                            }
                        }
                        Err(reason) => {
                            tracing::warn!(
                                version = config.version,
                                %reason,
                                "config rejected; keeping the running version"
                            );
                            refused = Some(config.version);
                            record.update(|member| {
                                member.config.rejected = Some(ConfigRejection {
                                    version: config.version,
                                    reason,
                                });
                            });
                        }
                    }
                }
                if target_rx.changed().await.is_err() {
                    break;
                }
            }
        });
        Self {
            applied,
            _task: AbortOnDrop(task),
            _targets: targets,
        }
    }

    /// A receiver of applied versions (`None` until the first valid one).
    pub fn applied(&self) -> watch::Receiver<Option<Arc<Applied<T>>>> {
        self.applied.clone()
    }

    /// The version running now.
    pub fn current(&self) -> Option<Arc<Applied<T>>> {
        self.applied.borrow().clone()
    }
}
