//! The `namedpipe` receiver (otelcol-contrib's): log lines written into a named pipe (FIFO), which the receiver
//! creates when it is missing, each line (or `multiline` message) a record through the `operators` list.
//!
//! ```yaml
//! receivers:
//!   namedpipe:
//!     path: /var/run/app-logs.pipe
//!     mode: 0600
//! ```
//!
//! The pipe is held open for reading and writing, so that writers may come and go (`echo … > pipe`, a service
//! that reopens its log) without the reader ever seeing an end. A path that exists and is no pipe fails the start.
//! `mode` is applied whether the receiver made the pipe or found it, as otelcol applies it; written `0600` (YAML
//! reads it as the number 600) or `"0600"`, it means the octal mode. An unquoted `0o600` reaches the receiver as
//! YAML's number 384, which cannot be told from a mode written in decimal: quote it.

use super::filelog::{ByteSize, Encoding, Multiline, OperatorConfig, RetryOnFailure};
use super::stanza::Emitter;
use super::stanza::lines::{Lines, SplitFrames};
use super::stanza::listen::{Framer, Receive};
use super::stanza::operator::Operators;
use super::stanza::split::Splitter;
use super::tcplog::one_mebibyte;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::receiver::{RunningReceiver, shutdown_signal};
use crate::telemetry::ReceiverCounters;
use crate::{Error, Signal};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use tokio::io::AsyncReadExt;

/// The `namedpipe` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPipeConfig {
    /// Where the pipe is (made when missing).
    pub path: String,
    /// The pipe's permission bits (`0666`).
    #[serde(default = "all_read_write", deserialize_with = "octal_mode")]
    pub mode: u32,
    /// The text encoding; only `utf-8`.
    #[serde(default)]
    pub encoding: Encoding,
    /// Where one record ends and the next begins.
    #[serde(default)]
    pub multiline: Option<Multiline>,
    /// The longest record; a longer one is cut.
    #[serde(default = "one_mebibyte")]
    pub max_log_size: ByteSize,
    /// Keep the whitespace at the start of each record.
    #[serde(default)]
    pub preserve_leading_whitespaces: bool,
    /// Keep the whitespace at the end of each record.
    #[serde(default)]
    pub preserve_trailing_whitespaces: bool,
    /// Attributes added to every record.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes added to every record.
    #[serde(default)]
    pub resource: BTreeMap<String, String>,
    /// stanza operators applied to each record in order.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// otelcol's consumer retry; accepted: a full pipeline is always waited out (writers then wait too).
    #[serde(default)]
    pub retry_on_failure: RetryOnFailure,
}

fn all_read_write() -> u32 {
    0o666
}

/// A mode as operators write one: `0600` (which YAML reads as the decimal number 600), `"0600"`, `"0o600"`.
fn octal_mode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(u32),
        Text(String),
    }
    let digits = match Written::deserialize(deserializer)? {
        Written::Number(n) => n.to_string(),
        Written::Text(text) => text.trim_start_matches("0o").to_owned(),
    };
    u32::from_str_radix(&digits, 8)
        .ok()
        .filter(|mode| *mode <= 0o7777)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{digits}` is not an octal mode: write `0600` or \"0o600\" (YAML reads an unquoted 0o600 as 384)"
            ))
        })
}

impl NamedPipeConfig {
    fn splitter(&self) -> Result<Splitter, String> {
        Splitter::new(
            self.multiline.as_ref(),
            self.max_log_size,
            self.preserve_leading_whitespaces,
            self.preserve_trailing_whitespaces,
        )
    }
}

/// The `namedpipe` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = NamedPipeConfig;
    const TYPE: &'static str = "namedpipe";

    fn validate(&self, config: &NamedPipeConfig) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if config.path.is_empty() {
            problems.push(Invalid::at("path", "required: where the pipe is"));
        }
        if let Err(e) = config.splitter() {
            problems.push(Invalid::at("multiline", e));
        }
        if let Err(e) = Operators::build(&config.operators) {
            problems.push(e);
        }
        Invalid::all(problems)
    }
}

/// The pipe at `path`, made with `mode` when missing; `mode` applied either way.
fn make_pipe(path: &str, mode: u32) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(found) if !found.file_type().is_fifo() => {
            return Err(format!("{path} exists and is not a named pipe"));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            rustix::fs::mkfifoat(rustix::fs::CWD, path, rustix::fs::Mode::from_raw_mode(mode))
                .map_err(|e| format!("cannot make the pipe {path}: {e}"))?;
        }
        Err(e) => return Err(format!("cannot look at {path}: {e}")),
    }
    // The umask may have taken bits away from what mkfifo was given.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the mode of {path}: {e}"))
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &NamedPipeConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let fail = |message: String| context.start_error(message);
        let splitter = config.splitter().map_err(fail)?;
        let operators = Operators::build(&config.operators).map_err(|e| fail(format!("{e:?}")))?;
        make_pipe(&config.path, config.mode).map_err(fail)?;
        // Read and write: the pipe never reads as ended while the receiver holds it, whoever else opens it.
        let mut pipe = tokio::net::unix::pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(&config.path)
            .map_err(|e| fail(format!("cannot open {}: {e}", config.path)))?;
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, "pipe");
        let emitter = Emitter::new(
            context.id.clone(),
            context.ingest.clone(),
            counters,
            stopping.clone(),
        );
        let lines = Lines::new(
            context.id.clone(),
            operators,
            emitter,
            &config.attributes,
            &config.resource,
        );
        let path = config.path.clone();
        running.spawn(async move {
            let mut frames = SplitFrames::new(splitter);
            let mut buffer = vec![0u8; 64 * 1024];
            let stopped = shutdown_signal(stopping);
            tokio::pin!(stopped);
            loop {
                let read = tokio::select! {
                    () = &mut stopped => break,
                    read = pipe.read(&mut buffer) => read,
                };
                let length = match read {
                    Ok(0) => break,
                    Ok(length) => length,
                    Err(e) => {
                        tracing::warn!(receiver = %lines.id(), pipe = %path, error = %e, "reading the pipe failed");
                        break;
                    }
                };
                let mut messages = Vec::new();
                if let Err(e) = frames.push(&buffer[..length], &mut messages) {
                    tracing::warn!(receiver = %lines.id(), pipe = %path, error = %e, "cannot cut the pipe's text");
                }
                if !messages.is_empty() {
                    lines.receive(messages, None).await;
                }
            }
            // What was written without its line's end still makes a record.
            let mut rest = Vec::new();
            frames.finish(&mut rest);
            if !rest.is_empty() {
                lines.receive(rest, None).await;
            }
            Ok(())
        });
        Ok(running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_read_as_octal_however_written() {
        let mode = |yaml: &str| {
            serde_norway::from_str::<NamedPipeConfig>(&format!("path: /p\n{yaml}")).map(|c| c.mode)
        };
        assert_eq!(mode("").unwrap(), 0o666);
        assert_eq!(mode("mode: 0600").unwrap(), 0o600);
        assert_eq!(mode("mode: \"0640\"").unwrap(), 0o640);
        assert_eq!(mode("mode: \"0o600\"").unwrap(), 0o600);
        assert!(
            mode("mode: 0900")
                .unwrap_err()
                .to_string()
                .contains("not an octal mode")
        );
        // YAML's own octal arrives as a decimal number: refused when that shows.
        assert!(
            mode("mode: 0o600")
                .unwrap_err()
                .to_string()
                .contains("reads an unquoted 0o600 as 384")
        );
    }
}
