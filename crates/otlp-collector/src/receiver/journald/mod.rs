//! The `journald` receiver (otelcol-contrib's): systemd journal entries as log records, read by `journalctl
//! --output=json --follow` with the settings' filters (units, identifiers, priority, field matches, grep), each
//! entry's fields the record's body (`journal.rs`), through the `operators` list.
//!
//! ```yaml
//! receivers:
//!   journald:
//!     directory: /var/log/journal
//!     units: [nginx.service, postgresql.service]
//!     priority: info
//!     storage: file_storage
//! ```
//!
//! Entries are handed over in batches (what journalctl wrote within 100 ms, at most a thousand); while the
//! pipelines are full the receiver waits and journalctl, its output unread, waits too. With `storage`, the cursor
//! of the last entry handed over is saved after each batch and a restarted collector resumes after it
//! (`--after-cursor`), whatever `start_at` says; without it, `start_at: end` reads only new entries. When journalctl
//! exits (a journal rotated away, a crash), it is run again after two seconds from the last cursor; what it writes
//! on stderr is logged.

mod config;
mod journal;

pub use config::JournaldConfig;

use super::RunningReceiver;
use super::stanza::Emitter;
use super::stanza::entry::Entry;
use super::stanza::operator::Operators;
use super::state_store::Store;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::receiver::shutdown_signal;
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long a batch waits for more entries after its first.
const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// The most entries in a batch.
const BATCH_ENTRIES: usize = 1000;
/// How long after journalctl exits it is run again.
const RESTART_AFTER: Duration = Duration::from_secs(2);

/// The `journald` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = JournaldConfig;
    const TYPE: &'static str = "journald";

    fn validate(&self, config: &JournaldConfig) -> Result<(), Invalid> {
        config.validate()
    }

    fn warnings(&self, config: &JournaldConfig) -> Vec<(String, String)> {
        config.warnings()
    }
}

/// Where `program` is: itself when it names a path, else the first directory of `PATH` holding it.
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|directory| directory.join(program))
        .find(|path| path.is_file())
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &JournaldConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let fail = |message: String| context.start_error(message);
        let program = find_program(&config.journalctl_path).ok_or_else(|| {
            fail(format!(
                "journalctl_path: `{}` is not found (Debian and most distributions ship it in `systemd`)",
                config.journalctl_path
            ))
        })?;
        let operators = Operators::build(&config.operators).map_err(|e| fail(format!("{e:?}")))?;
        let store = match &config.storage {
            None => None,
            Some(name) => {
                let storage = context.storages.get(name).ok_or_else(|| {
                    fail(format!(
                        "storage: `{name}` is not an enabled storage extension"
                    ))
                })?;
                Some(Store::new(storage, &context.id).map_err(|e| fail(format!("storage: {e}")))?)
            }
        };
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, "journalctl");
        let strings = |map: &BTreeMap<String, String>| -> Map<String, Value> {
            map.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        };
        let reader = Reader {
            id: context.id.clone(),
            program,
            arguments: config.arguments(),
            convert_message_bytes: config.convert_message_bytes,
            operators,
            emitter: Emitter::new(
                context.id.clone(),
                context.ingest.clone(),
                counters,
                stopping.clone(),
            ),
            attributes: strings(&config.attributes),
            resource: strings(&config.resource),
            store,
            stopping,
        };
        running.spawn(async move {
            reader.run().await;
            Ok(())
        });
        Ok(running)
    }
}

struct Reader {
    id: String,
    program: PathBuf,
    arguments: Vec<String>,
    convert_message_bytes: bool,
    operators: Operators,
    emitter: Emitter,
    attributes: Map<String, Value>,
    resource: Map<String, Value>,
    store: Option<Store>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Reader {
    /// Runs journalctl until the receiver stops, again after each exit.
    async fn run(self) {
        let mut cursor: Option<String> = self.store.as_ref().and_then(Store::load);
        let stopped = shutdown_signal(self.stopping.clone());
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                () = &mut stopped => return,
                () = self.follow(&mut cursor) => {}
            }
            tokio::select! {
                () = &mut stopped => return,
                () = tokio::time::sleep(RESTART_AFTER) => {}
            }
        }
    }

    /// One run of journalctl, from after `cursor`, which follows what was handed over.
    async fn follow(&self, cursor: &mut Option<String>) {
        let mut command = tokio::process::Command::new(&self.program);
        command.args(&self.arguments);
        if let Some(cursor) = cursor.as_deref() {
            command.args(["--after-cursor", cursor]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!(receiver = %self.id, program = %self.program.display(), error = %e, "cannot run journalctl");
                return;
            }
        };
        if let Some(stderr) = child.stderr.take() {
            let id = self.id.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::warn!(receiver = %id, stderr = %line, "journalctl says");
                }
            });
        }
        let Some(stdout) = child.stdout.take() else {
            return;
        };
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let Ok(Some(first)) = lines.next_line().await else {
                break;
            };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
            while batch.len() < BATCH_ENTRIES {
                match tokio::time::timeout_at(deadline, lines.next_line()).await {
                    Ok(Ok(Some(line))) => batch.push(line),
                    _ => break,
                }
            }
            self.hand_over(batch, cursor).await;
        }
        match child.wait().await {
            Ok(status) => {
                tracing::info!(receiver = %self.id, %status, "journalctl exited; it runs again shortly")
            }
            Err(e) => {
                tracing::warn!(receiver = %self.id, error = %e, "journalctl could not be waited for")
            }
        }
    }

    /// Hands the entries of `lines` over, then saves the last one's cursor, unless the receiver stopped first.
    async fn hand_over(&self, lines: Vec<String>, cursor: &mut Option<String>) {
        let mut entries: Vec<Entry> = Vec::with_capacity(lines.len());
        let mut last = None;
        for line in lines {
            match journal::entry(&line, self.convert_message_bytes) {
                Ok((mut entry, at)) => {
                    entry.attributes = Value::Object(self.attributes.clone());
                    entry.resource = Value::Object(self.resource.clone());
                    entries.extend(self.operators.apply(entry, &self.id));
                    last = Some(at);
                }
                Err(problem) => {
                    tracing::warn!(receiver = %self.id, %problem, "a journalctl line that is no entry")
                }
            }
        }
        entries.extend(self.operators.flush(Instant::now(), &self.id));
        self.emitter.emit(entries).await;
        if *self.stopping.borrow() {
            // Perhaps not handed over: a restart reads these entries again rather than losing them.
            return;
        }
        if let Some(at) = last {
            if let Some(store) = &self.store
                && let Err(e) = store.save(&at)
            {
                tracing::warn!(receiver = %self.id, error = %e, "cannot save the journal cursor");
            }
            *cursor = Some(at);
        }
    }
}
