//! The `statsd` receiver (otelcol-contrib's): StatsD and DogStatsD lines over UDP or TCP, aggregated per client
//! for `aggregation_interval` and sent as otelcol's receiver sends them.
//!
//! ```yaml
//! receivers:
//!   statsd:
//!     endpoint: 0.0.0.0:8125
//!     aggregation_interval: 10s
//!     is_monotonic_counter: true
//!     timer_histogram_mapping:
//!       - { statsd_type: timing, observer_type: histogram, histogram: { max_size: 100 } }
//!       - { statsd_type: distribution, observer_type: summary }
//! ```
//!
//! Counters (`c`) become delta sums of the interval (the value divided by its sample rate), gauges (`g`) keep
//! their last value (a signed value changes it), and timings (`ms`), histograms (`h`) and distributions (`d`)
//! are observed as their mapping says. A line that is not StatsD is dropped and counted; the others of its
//! datagram still count. What was aggregated when the receiver stops is sent before it does.

mod aggregate;
mod config;
mod parse;

pub use config::{HistogramSettings, Mapping, StatsdConfig, SummarySettings};

use super::stanza::lines::SplitFrames;
use super::stanza::listen::{Net, Receive, serve_tcp, serve_udp};
use super::stanza::split::Splitter;
use super::{Ingest, RunningReceiver, shutdown_signal};
use crate::clock::now_nanos;
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use aggregate::Aggregator;
use parse::Options;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The `statsd` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = StatsdConfig;
    const TYPE: &'static str = "statsd";

    fn validate(&self, config: &StatsdConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &StatsdConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let fail = |message: String| context.start_error(message);
        let settings = config.settings().map_err(|(_, message)| fail(message))?;
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let reader = Arc::new(Reader {
            id: context.id.clone(),
            options: Options {
                metric_type: config.enable_metric_type,
                simple_tags: config.enable_simple_tags,
            },
            ip_only: config.enable_ip_only_aggregation,
            aggregator: Mutex::new(Aggregator::new(settings, now_nanos())),
            unreadable: AtomicU64::new(0),
        });
        match config.transport.as_str() {
            "tcp" => {
                let listener = tokio::net::TcpListener::bind(&config.endpoint)
                    .await
                    .map_err(|e| fail(format!("endpoint {}: {e}", config.endpoint)))?;
                let lines = Splitter::new(None, super::filelog::ByteSize(64 * 1024), false, false)
                    .map_err(&fail)?;
                serve_tcp(
                    &mut running,
                    listener,
                    None,
                    move || SplitFrames::new(lines.clone()),
                    true,
                    Arc::clone(&reader),
                    stopping.clone(),
                );
            }
            _ => {
                let socket = tokio::net::UdpSocket::bind(&config.endpoint)
                    .await
                    .map_err(|e| fail(format!("endpoint {}: {e}", config.endpoint)))?;
                let lines = |text: &str| -> Vec<String> {
                    text.lines()
                        .map(|line| line.trim_end_matches(['\r', '\0']))
                        .filter(|line| !line.trim().is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                serve_udp(
                    &mut running,
                    socket,
                    lines,
                    true,
                    Arc::clone(&reader),
                    stopping.clone(),
                )
                .map_err(|e| fail(e.to_string()))?;
            }
        }
        let counters = ReceiverCounters::new(&context.telemetry, &context.id, &config.transport);
        let (ingest, interval) = (context.ingest, config.aggregation_interval);
        running.spawn(async move {
            let stopped = shutdown_signal(stopping);
            tokio::pin!(stopped);
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let last = tokio::select! {
                    _ = &mut stopped => true,
                    _ = ticks.tick() => false,
                };
                reader.flush(&ingest, &counters).await;
                if last {
                    return Ok(());
                }
            }
        });
        Ok(running)
    }
}

/// Takes the lines the listener receives.
struct Reader {
    id: String,
    options: Options,
    ip_only: bool,
    aggregator: Mutex<Aggregator>,
    /// Lines that were not StatsD, since the last flush.
    unreadable: AtomicU64,
}

impl Reader {
    /// Sends the interval's metrics, if any, and says how many lines were dropped.
    async fn flush(&self, ingest: &Arc<Ingest>, counters: &ReceiverCounters) {
        let request = match self.aggregator.lock() {
            Ok(mut aggregator) => aggregator.flush(now_nanos()),
            Err(_) => return,
        };
        let unreadable = self.unreadable.swap(0, Ordering::Relaxed);
        if unreadable > 0 {
            tracing::warn!(receiver = %self.id, lines = unreadable, "lines that are not StatsD were dropped (the first of each interval is logged at debug level)");
        }
        if let Some(request) = request
            && let Err(refusal) = ingest.submit(Batch::new(request), counters).await
        {
            tracing::warn!(receiver = %self.id, error = %refusal, "the pipelines refused an interval's metrics");
        }
    }
}

impl Receive for Reader {
    fn id(&self) -> &str {
        &self.id
    }

    async fn receive(&self, messages: Vec<String>, net: Net) {
        let client = match net {
            Some((_, peer, _)) if self.ip_only => peer.ip().to_string(),
            Some((_, peer, _)) => peer.to_string(),
            None => String::new(),
        };
        let now = now_nanos();
        let Ok(mut aggregator) = self.aggregator.lock() else {
            return;
        };
        for message in messages {
            match parse::parse(&message, self.options) {
                Ok(line) => aggregator.add(line, &client, now),
                Err(error) => {
                    if self.unreadable.fetch_add(1, Ordering::Relaxed) == 0 {
                        tracing::debug!(receiver = %self.id, %error, "a line that is not StatsD");
                    }
                }
            }
        }
    }
}
