//! The poll loop of the receivers that read files (`filelog`, `otlpjsonfile`): the files are looked for and read
//! every `poll_interval` (at once again while one has more), what was read is handed over, and then how far each
//! file was read is saved in the storage extension, if one is set.

use super::config::FileLogConfig;
use super::files::{Files, Read};
use crate::Error;
use crate::component::ReceiverContext;
use crate::receiver::shutdown_signal;
use crate::receiver::state_store::Store;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The files a receiver follows, and where it keeps how far it read them.
pub(crate) struct Follow {
    id: String,
    files: Files,
    store: Option<Store>,
    interval: Duration,
    replay: bool,
}

impl Follow {
    /// Follows the files `config` names, resuming where the storage extension it names says reading stopped.
    pub(crate) fn new(config: &FileLogConfig, context: &ReceiverContext) -> Result<Self, Error> {
        let mut files = Files::new(config).map_err(|e| context.start_error(e))?;
        let store = match &config.storage {
            None => None,
            Some(name) => {
                let storage = context.storages.get(name).ok_or_else(|| {
                    context.start_error(format!(
                        "storage: `{name}` is not an enabled storage extension"
                    ))
                })?;
                let store = Store::new(storage, &context.id)
                    .map_err(|e| context.start_error(format!("storage: {e}")))?;
                files.restore(store.load());
                Some(store)
            }
        };
        Ok(Follow {
            id: context.id.clone(),
            files,
            store,
            interval: config.poll_interval,
            replay: false,
        })
    }

    /// Reads each file again from its start at every `poll_interval` once it was read to its end.
    pub(crate) fn replaying(self) -> Self {
        Follow {
            replay: true,
            ..self
        }
    }

    /// Polls until `stopping` says so, giving each poll's reads to `hand_over`, which may wait (for full
    /// pipelines). Stopping while it waits leaves the offsets unsaved: a restart reads those records again
    /// rather than losing them.
    pub(crate) async fn run(
        mut self,
        stopping: watch::Receiver<bool>,
        mut hand_over: impl AsyncFnMut(Vec<Read>),
    ) -> Result<(), Error> {
        let stopped = shutdown_signal(stopping);
        tokio::pin!(stopped);
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut more = false;
        loop {
            // A file with more to read is read on at once; otherwise the next poll waits for its time.
            if !more {
                tokio::select! {
                    _ = &mut stopped => return Ok(()),
                    _ = ticks.tick() => {}
                }
                if self.replay {
                    self.files.rewind();
                }
            }
            // Reading files blocks; it runs beside the runtime's workers, not on them.
            let mut files = self.files;
            let (back, polled) = tokio::task::spawn_blocking(move || {
                let polled = files.poll(Instant::now());
                (files, polled)
            })
            .await
            .map_err(|e| Error::Serve {
                component: format!("receivers.{}", self.id),
                message: format!("reading the files failed: {e}"),
            })?;
            self.files = back;
            more = polled.more;
            tokio::select! {
                _ = &mut stopped => return Ok(()),
                () = hand_over(polled.reads) => {}
            }
            if let Some(store) = &self.store
                && let Err(e) = store.save(&self.files.checkpoints())
            {
                tracing::warn!(receiver = %self.id, error = %e, "cannot save the checkpoints");
            }
        }
    }
}
