//! The `otlpjsonfile` receiver (otelcol-contrib's): telemetry read back from files of OTLP/JSON export requests,
//! one per line, as the `file` exporter writes them with `format: json` (ours or otelcol's). A recording made
//! on one collector is replayed into another's pipelines, or files dropped into a directory by a batch job are
//! sent on.
//!
//! ```yaml
//! receivers:
//!   otlpjsonfile:
//!     include: [/var/otel/export/*.jsonl]
//!     start_at: beginning
//! service:
//!   pipelines:
//!     traces: { receivers: [otlpjsonfile], exporters: [otlp] }
//!     logs: { receivers: [otlpjsonfile], exporters: [otlp] }
//! ```
//!
//! Files are found and followed as `filelog` follows them (rotation, `storage` to resume after a restart,
//! `delete_after_read`). Each line goes to the pipelines of the signal its top-level key names
//! (`resourceSpans`, `resourceMetrics`, `resourceLogs`); a line of a signal the receiver has no pipeline for is
//! skipped, as otelcol skips it. A line that is not a valid request is logged with its file and what is wrong
//! and nothing else is lost; items a backend could not take (a span without its ids) are left out and counted as
//! refused, as the OTLP receivers leave them out.
//!
//! Two differences from otelcol: `max_log_size` defaults to 64 MiB rather than 1 MiB, since a request cut in two
//! is lost whole; `replay_file` reads each file again from its start every `poll_interval` once it was read to
//! its end, rather than each time the file changes.

mod config;
pub(crate) mod line;

pub use config::OtlpJsonFileConfig;

use super::RunningReceiver;
use super::filelog::{Follow, Read};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::receiver::stanza::Emitter;
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
use std::collections::HashSet;
use std::path::PathBuf;

/// The `otlpjsonfile` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = OtlpJsonFileConfig;
    const TYPE: &'static str = "otlpjsonfile";

    fn validate(&self, config: &OtlpJsonFileConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];

    async fn start(
        &self,
        config: &OtlpJsonFileConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let mut follow = Follow::new(&config.files(), &context)?;
        if config.replay_file {
            follow = follow.replaying();
        }
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, "file");
        let id = context.id.clone();
        let ingest = context.ingest.clone();
        let emitter = Emitter::new(context.id, context.ingest, counters.clone(), watch.clone());
        // A replayed file brings its bad lines back at every pass: each is logged once, at its first.
        let mut logged = config.replay_file.then(HashSet::<(PathBuf, String)>::new);
        let mut first_time = move |path: &PathBuf, problem: &str| {
            logged
                .as_mut()
                .is_none_or(|logged| logged.insert((path.clone(), problem.to_owned())))
        };
        running.spawn(follow.run(watch, async move |reads| {
            // Decoding a request of several MiB takes milliseconds: beside the runtime's workers, not on them.
            let serves = ingest.clone();
            let lines =
                tokio::task::spawn_blocking(move || decode_reads(reads, |s| serves.serves(s)))
                    .await
                    .unwrap_or_default();
            for (path, decoded) in lines {
                let decoded = match decoded {
                    Ok(decoded) => decoded,
                    Err(problem) => {
                        if first_time(&path, &problem) {
                            tracing::warn!(
                                receiver = %id, file = %path.display(), %problem,
                                "a line is not an OTLP/JSON request; skipped"
                            );
                        }
                        continue;
                    }
                };
                for line::Decoded { batch, rejected } in decoded {
                    if let Some(rejected) = rejected {
                        let items = usize::try_from(rejected.items).unwrap_or(usize::MAX);
                        counters.refused(batch.signal(), items);
                        if first_time(&path, &rejected.message) {
                            tracing::warn!(
                                receiver = %id, file = %path.display(), items, problem = %rejected.message,
                                "items of a line were left out"
                            );
                        }
                    }
                    if !emitter.submit_waiting(batch).await {
                        return;
                    }
                }
            }
        }));
        Ok(running)
    }
}

/// Each line of `reads` decoded for the signals `wanted` accepts, with the file it came from.
fn decode_reads(
    reads: Vec<Read>,
    wanted: impl Fn(Signal) -> bool,
) -> Vec<(PathBuf, Result<Vec<line::Decoded>, String>)> {
    reads
        .into_iter()
        .flat_map(|read| {
            let path = read.path;
            let decoded: Vec<_> = read
                .entries
                .iter()
                .map(|text| line::decode(text, &wanted))
                .collect();
            decoded.into_iter().map(move |d| (path.clone(), d))
        })
        .collect()
}
