//! The collector's load as its own self-metrics tell it (spans received, exported, failed and queued, export
//! attempt latency), together with the CPU and memory otlp-control's `LoadMonitor` reads for the process.

use crate::telemetry::Telemetry;
use otlp_control::protect::{LoadMonitor, LoadSample};
use std::time::{Duration, Instant};

/// The exporters' latency histogram (milliseconds per send attempt).
const SEND_LATENCY: &str = "otelcol_exporter_send_latency";

/// The self-metric totals a sample is derived from.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    accepted: u64,
    sent: u64,
    failed: u64,
    queued: u64,
    send_attempts: u64,
    send_milliseconds: f64,
}

impl Totals {
    fn read(telemetry: &Telemetry) -> Self {
        Totals {
            accepted: telemetry.total("otelcol_receiver_accepted_spans"),
            sent: telemetry.total("otelcol_exporter_sent_spans"),
            failed: telemetry.total("otelcol_exporter_send_failed_spans"),
            queued: telemetry.total("otelcol_exporter_queue_spans"),
            send_attempts: telemetry.total(SEND_LATENCY),
            send_milliseconds: telemetry.histogram_sum(SEND_LATENCY),
        }
    }

    /// The mean time of the send attempts made since `earlier`, zero when there were none.
    fn mean_send_latency_since(&self, earlier: &Totals) -> Duration {
        let attempts = self.send_attempts.saturating_sub(earlier.send_attempts);
        if attempts == 0 {
            return Duration::ZERO;
        }
        let milliseconds = (self.send_milliseconds - earlier.send_milliseconds).max(0.0);
        Duration::from_secs_f64(milliseconds / attempts as f64 / 1000.0)
    }
}

/// Reads a collector's load: each [`sample`](SelfLoad::sample) covers the time since the previous one.
///
/// The degradation extension decides its level from these samples; a fleet member publishes them.
#[derive(Debug)]
pub struct SelfLoad {
    telemetry: Telemetry,
    monitor: LoadMonitor,
    last: Totals,
}

impl SelfLoad {
    /// Starts reading the collector whose self-metrics are `telemetry`; the first sample counts from now.
    pub fn new(telemetry: Telemetry) -> Self {
        let last = Totals::read(&telemetry);
        SelfLoad {
            telemetry,
            monitor: LoadMonitor::new(),
            last,
        }
    }

    /// The load since the previous sample (CPU is measured between samples, so the first one reports none).
    pub fn sample(&mut self, at: Instant) -> LoadSample {
        let now = Totals::read(&self.telemetry);
        let last = std::mem::replace(&mut self.last, now);
        self.monitor
            .record_received(now.accepted.saturating_sub(last.accepted));
        let latency = now.mean_send_latency_since(&last);
        let sent = now.sent.saturating_sub(last.sent);
        if sent > 0 {
            self.monitor.record_export(sent, latency, true);
        }
        let failed = now.failed.saturating_sub(last.failed);
        if failed > 0 {
            self.monitor.record_export(failed, latency, false);
        }
        self.monitor.set_queue_depth(now.queued);
        self.monitor.sample(at)
    }
}
