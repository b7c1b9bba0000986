//! The `filelog` receiver (otelcol-contrib's): log records read from files as applications write them, followed
//! across rotations, parsed by stanza operators, and resumed after a restart where reading stopped.
//!
//! ```yaml
//! extensions:
//!   file_storage: { directory: /var/lib/otelcol/file_storage, create_directory: true }
//! receivers:
//!   filelog:
//!     include: [/var/log/app/*.log]
//!     start_at: beginning
//!     storage: file_storage
//!     multiline: { line_start_pattern: '^\d{4}-\d{2}-\d{2}' }
//!     operators:
//!       - type: regex_parser
//!         regex: '^(?P<time>\S+ \S+) (?P<level>\w+) (?P<msg>.*)$'
//!         timestamp: { parse_from: attributes.time, layout: '%Y-%m-%d %H:%M:%S' }
//!         severity: { parse_from: attributes.level }
//! service:
//!   extensions: [file_storage]
//! ```
//!
//! One idea per file: `finder.rs` lists the files the globs name, `files.rs` follows them by fingerprint across
//! polls (rotation by rename or by copy and truncate), and `receiver/state_store.rs` keeps the offsets in the storage
//! extension, `follow.rs` polls (the `otlpjsonfile` receiver follows its files the same way); their bytes are cut into entries, run through stanza's operators and handed to the pipelines as
//! the other log receivers' are (`receiver/stanza/`). Each poll's records are handed to the pipelines before its
//! offsets are saved, so a crash sends some records again rather than losing them.

mod config;
mod files;
pub(super) mod finder;
mod follow;

pub use super::stanza::operator::{OnError, OperatorConfig};
pub use config::{ByteSize, Encoding, FileLogConfig, Multiline, RetryOnFailure, StartAt};
pub(crate) use config::{refuse_compression, refuse_header, refuse_ordering, refuse_owner};
pub(crate) use follow::Follow;

use super::RunningReceiver;
use super::stanza::Emitter;
use super::stanza::entry::Entry;
use super::stanza::operator::Operators;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
pub(crate) use files::Read;
use serde_json::Value;
use std::time::Instant;

/// The `filelog` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = FileLogConfig;
    const TYPE: &'static str = "filelog";

    fn validate(&self, config: &FileLogConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &FileLogConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let follow = Follow::new(config, &context)?;
        let operators = Operators::build(&config.operators)
            .map_err(|e| context.start_error(format!("{e:?}")))?;
        let reader = Reader {
            id: context.id.clone(),
            operators,
            attributes: config.attributes.clone(),
            resource: config.resource.clone(),
            file_name: config.include_file_name,
            file_path: config.include_file_path,
            name_resolved: config.include_file_name_resolved,
            path_resolved: config.include_file_path_resolved,
        };
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, "file");
        let emitter = Emitter::new(context.id.clone(), context.ingest, counters, watch.clone());
        running.spawn(follow.run(watch, async move |reads| {
            let mut entries = reader.entries(reads);
            entries.extend(reader.operators.flush(Instant::now(), &reader.id));
            emitter.emit(entries).await;
        }));
        Ok(running)
    }
}

/// What turns the lines read into entries.
struct Reader {
    id: String,
    operators: Operators,
    attributes: std::collections::BTreeMap<String, String>,
    resource: std::collections::BTreeMap<String, String>,
    file_name: bool,
    file_path: bool,
    name_resolved: bool,
    path_resolved: bool,
}

impl Reader {
    fn entries(&self, reads: Vec<Read>) -> Vec<Entry> {
        let mut entries = Vec::new();
        for read in reads {
            let mut file_attributes = serde_json::Map::new();
            let text = |p: &std::path::Path| Value::String(p.display().to_string());
            let name = |p: &std::path::Path| {
                p.file_name()
                    .map(|n| Value::String(n.to_string_lossy().into_owned()))
            };
            if self.file_name
                && let Some(n) = name(&read.path)
            {
                file_attributes.insert("log.file.name".into(), n);
            }
            if self.file_path {
                file_attributes.insert("log.file.path".into(), text(&read.path));
            }
            if self.name_resolved || self.path_resolved {
                let resolved =
                    std::fs::canonicalize(&read.path).unwrap_or_else(|_| read.path.clone());
                if self.name_resolved
                    && let Some(n) = name(&resolved)
                {
                    file_attributes.insert("log.file.name_resolved".into(), n);
                }
                if self.path_resolved {
                    file_attributes.insert("log.file.path_resolved".into(), text(&resolved));
                }
            }
            for (key, value) in &self.attributes {
                file_attributes.insert(key.clone(), Value::String(value.clone()));
            }
            let resource: serde_json::Map<String, Value> = self
                .resource
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            for line in read.entries {
                let mut entry = Entry::new(line);
                entry.attributes = Value::Object(file_attributes.clone());
                entry.resource = Value::Object(resource.clone());
                if let Some(entry) = self.operators.apply(entry, &self.id) {
                    entries.push(entry);
                }
            }
        }
        entries
    }
}
