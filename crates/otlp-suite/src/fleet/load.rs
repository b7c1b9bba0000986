//! The member's load report, read from the collector's own self-metrics (spans/s, queue depth, export errors)
//! and from otlp-control's `LoadMonitor` (CPU, memory), with the degradation level those figures amount to.

use std::time::{Duration, Instant};

use otlp_collector::telemetry::Telemetry;
use otlp_control::MemberRecord;
use otlp_control::protect::{
    DegradationController, DegradationThresholds, LoadLimits, LoadMonitor,
};

/// The self-metric totals the report is derived from.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    accepted: u64,
    sent: u64,
    failed: u64,
    queued: u64,
}

impl Totals {
    fn read(telemetry: &Telemetry) -> Self {
        Totals {
            accepted: telemetry.total("otelcol_receiver_accepted_spans"),
            sent: telemetry.total("otelcol_exporter_sent_spans"),
            failed: telemetry.total("otelcol_exporter_send_failed_spans"),
            queued: telemetry.total("otelcol_exporter_queue_spans"),
        }
    }
}

/// Publishes this process's load in `record` every `interval`, until the task is aborted.
pub(crate) async fn report(record: MemberRecord, telemetry: Telemetry, interval: Duration) {
    let monitor = LoadMonitor::new();
    let limits = LoadLimits::default();
    // The default thresholds are valid by construction; without a controller the level stays Normal.
    let mut controller = DegradationController::new(DegradationThresholds::default()).ok();
    let mut last = Totals::read(&telemetry);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = Totals::read(&telemetry);
        monitor.record_received(now.accepted.saturating_sub(last.accepted));
        // The collector does not time its exports yet: latency is reported as zero, error rate is real.
        let sent = now.sent.saturating_sub(last.sent);
        if sent > 0 {
            monitor.record_export(sent, Duration::ZERO, true);
        }
        let failed = now.failed.saturating_sub(last.failed);
        if failed > 0 {
            monitor.record_export(failed, Duration::ZERO, false);
        }
        monitor.set_queue_depth(now.queued);
        last = now;
        let at = Instant::now();
        let sample = monitor.sample(at);
        let level = match controller.as_mut() {
            Some(controller) => {
                controller.observe(sample.pressure(&limits), at);
                controller.level()
            }
            None => Default::default(),
        };
        record.set_load(sample.to_report(level));
    }
}
