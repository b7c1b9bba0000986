//! The member's load report, read from the collector's own self-metrics (spans/s, queue depth, export latency and
//! errors) and from otlp-control's `LoadMonitor` (CPU, memory), with the degradation level those figures amount
//! to. The level is also applied: the collector's receivers shed traces at admission as the level says.

use std::time::{Duration, Instant};

use otlp_collector::LoadShedding;
use otlp_collector::telemetry::Telemetry;
use otlp_control::MemberRecord;
use otlp_control::protect::{
    DegradationController, DegradationLevel, DegradationThresholds, LoadLimits, LoadMonitor,
};
use otlp_sampling::consistent::Threshold;
use otlp_sampling::shed::Shed;

/// The collector's export latency histogram (milliseconds per send attempt).
const SEND_LATENCY: &str = "otelcol_exporter_send_latency";

/// The self-metric totals the report is derived from.
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

/// What the receivers shed at `level`: nothing at Normal, error spans only at Emergency, and in between the
/// level's consistent-sampling threshold, so every member at the same level keeps the same traces.
pub(crate) fn shed_at(level: DegradationLevel) -> Option<Shed> {
    match level {
        DegradationLevel::Normal => None,
        DegradationLevel::Emergency => Some(Shed::AllButErrors),
        degraded => Some(
            Threshold::from_raw(degraded.rejection_threshold())
                .map_or(Shed::AllButErrors, Shed::Below),
        ),
    }
}

/// Publishes this process's load in `record` every `interval`, until the task is aborted.
pub(crate) async fn report(
    record: MemberRecord,
    telemetry: Telemetry,
    shedding: LoadShedding,
    interval: Duration,
) {
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
        let latency = now.mean_send_latency_since(&last);
        let sent = now.sent.saturating_sub(last.sent);
        if sent > 0 {
            monitor.record_export(sent, latency, true);
        }
        let failed = now.failed.saturating_sub(last.failed);
        if failed > 0 {
            monitor.record_export(failed, latency, false);
        }
        monitor.set_queue_depth(now.queued);
        last = now;
        let at = Instant::now();
        let sample = monitor.sample(at);
        let level = match controller.as_mut() {
            Some(controller) => {
                if let Some(transition) = controller.observe(sample.pressure(&limits), at) {
                    tracing::warn!(
                        ?transition,
                        "degradation level changed; shedding traces accordingly"
                    );
                }
                controller.level()
            }
            None => Default::default(),
        };
        match shed_at(level) {
            Some(shed) => shedding.set(shed),
            None => shedding.keep_all(),
        }
        record.set_load(sample.to_report(level));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_sheds_what_it_promises() {
        assert_eq!(shed_at(DegradationLevel::Normal), None);
        assert_eq!(
            shed_at(DegradationLevel::Emergency),
            Some(Shed::AllButErrors)
        );
        for level in [
            DegradationLevel::Light,
            DegradationLevel::Moderate,
            DegradationLevel::Heavy,
        ] {
            let Some(Shed::Below(threshold)) = shed_at(level) else {
                panic!("{level} sheds by threshold");
            };
            assert!((threshold.probability() - level.keep_probability()).abs() < 1e-9);
        }
    }
}
