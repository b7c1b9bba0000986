//! The member's load report: the collector's [`SelfLoad`] (spans/s, queue depth, export latency and errors, CPU,
//! memory) and the level its `degradation` extension decided (Normal when it runs none).

use std::time::{Duration, Instant};

use otlp_collector::extension::degradation::{SelfLoad, current_level};
use otlp_collector::telemetry::Telemetry;
use otlp_control::MemberRecord;

/// Publishes this process's load in `record` every `interval`, until the task is aborted.
pub(crate) async fn report(record: MemberRecord, telemetry: Telemetry, interval: Duration) {
    let mut load = SelfLoad::new(telemetry.clone());
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sample = load.sample(Instant::now());
        record.set_load(sample.to_report(current_level(&telemetry)));
    }
}
