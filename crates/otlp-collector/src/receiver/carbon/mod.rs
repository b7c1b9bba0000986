//! The `carbon` receiver (otelcol-contrib's): Graphite's plaintext protocol (`<path> <value> <timestamp>` lines)
//! over TCP or UDP, each line a gauge point, or a cumulative sum where a `regex` rule says so.
//!
//! ```yaml
//! receivers:
//!   carbon:
//!     endpoint: 0.0.0.0:2003
//!   carbon/regex:
//!     endpoint: 0.0.0.0:2013
//!     parser:
//!       type: regex
//!       config:
//!         rules:
//!           - regexp: "(?P<key_service>[^.]+)\\.(?P<key_host>[^.]+)\\.cpu\\.seconds"
//!             name_prefix: cpu_seconds
//!             type: cumulative
//!         name_separator: "_"
//! ```
//!
//! The lines of one read (or one datagram) go to the pipelines together, points of the same name in one metric,
//! instead of a request per line as otelcol sends them; while the pipelines are full the receiver stops reading,
//! so a TCP sender is held back instead of losing points. A line that is not Carbon is dropped and counted as
//! refused, the others of its read still go. Beyond otelcol, and as Carbon itself reads lines: fields may be
//! apart by any whitespace, `-1` as the timestamp is the time the line arrived, fractional seconds are kept, and a
//! `cumulative` rule's sums say they are cumulative (otelcol leaves their temporality unset).

mod config;
mod parse;

pub use config::{CarbonConfig, ParserConfig, RegexParserConfig, RegexRule};

use super::number_points::request;
use super::stanza::Emitter;
use super::stanza::lines::SplitFrames;
use super::stanza::listen::{Net, Receive, serve_tcp, serve_udp};
use super::stanza::split::Splitter;
use super::{RunningReceiver, bind};
use crate::clock::now_nanos;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use parse::Parser;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest line read; Carbon's own limit is far below it.
const MAX_LINE: u64 = 64 * 1024;

/// The `carbon` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = CarbonConfig;
    const TYPE: &'static str = "carbon";

    fn validate(&self, config: &CarbonConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &CarbonConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let fail = |message: String| context.start_error(message);
        let parser = config
            .parser
            .build()
            .map_err(|(key, message)| fail(format!("{key}: {message}")))?;
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, &config.transport);
        let reader = Arc::new(Reader {
            id: context.id.clone(),
            parser,
            idle_timeout: config.tcp_idle_timeout,
            emitter: Emitter::new(
                context.id.clone(),
                Arc::clone(&context.ingest),
                counters.clone(),
                stopping.clone(),
            ),
            counters,
            last_warning: AtomicU64::new(0),
        });
        if config.transport == "udp" {
            let socket = tokio::net::UdpSocket::bind(&config.endpoint)
                .await
                .map_err(|e| fail(format!("endpoint {}: {e}", config.endpoint)))?;
            serve_udp(
                &mut running,
                socket,
                |text: &str| text.lines().map(str::to_owned).collect(),
                false,
                reader,
                stopping,
            )
            .map_err(|e| fail(e.to_string()))?;
        } else {
            let listener = bind(&format!("receivers.{}", context.id), &config.endpoint).await?;
            let lines = Splitter::new(None, super::filelog::ByteSize(MAX_LINE), false, false)
                .map_err(&fail)?;
            serve_tcp(
                &mut running,
                listener,
                None,
                move || SplitFrames::new(lines.clone()),
                false,
                reader,
                stopping,
            );
        }
        Ok(running)
    }
}

/// Reads the lines a listener receives and hands their points to the pipelines.
struct Reader {
    id: String,
    parser: Parser,
    idle_timeout: Duration,
    emitter: Emitter,
    counters: ReceiverCounters,
    /// When lines were last reported as dropped (Unix seconds), so that a client sending nothing but bad lines
    /// is logged every few seconds, not for every read.
    last_warning: AtomicU64,
}

/// How often dropped lines are logged at most.
const WARNING_EVERY_SECONDS: u64 = 10;

impl Receive for Reader {
    fn id(&self) -> &str {
        &self.id
    }

    fn idle_timeout(&self) -> Option<Duration> {
        Some(self.idle_timeout)
    }

    async fn receive(&self, messages: Vec<String>, _net: Net) {
        let now = now_nanos();
        let mut points = Vec::with_capacity(messages.len());
        let (mut dropped, mut first_error) = (0, None);
        for line in &messages {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match self.parser.parse(line, now) {
                Ok(point) => points.push(point),
                Err(error) => {
                    dropped += 1;
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            self.counters.refused(Signal::Metrics, dropped);
            let seconds = now / 1_000_000_000;
            let last = self.last_warning.load(Ordering::Relaxed);
            if seconds >= last + WARNING_EVERY_SECONDS
                && self
                    .last_warning
                    .compare_exchange(last, seconds, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                tracing::warn!(receiver = %self.id, lines = dropped, %error, "lines that are not Carbon plaintext were dropped (the first of them is shown)");
            }
        }
        if !points.is_empty() {
            self.emitter
                .submit_waiting(Batch::new(request(points)))
                .await;
        }
    }
}

#[cfg(test)]
mod tests;
