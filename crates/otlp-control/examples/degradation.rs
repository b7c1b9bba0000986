//! A collector shedding load: a synthetic load ramps up and down, the controller moves between
//! degradation levels with hysteresis, and the keep decision drops non-error spans by level
//! while keeping every error span.
//!
//! Run with `cargo run -p otlp-control --example degradation`.

use std::time::{Duration, Instant};

use otlp_control::protect::{
    DegradationController, DegradationThresholds, LoadLimits, LoadMonitor, should_keep,
};

fn main() -> Result<(), otlp_control::Error> {
    let limits = LoadLimits {
        max_queue_depth: 10_000,
        ..LoadLimits::default()
    };
    let monitor = LoadMonitor::new();
    let mut controller = DegradationController::new(DegradationThresholds::default())?;
    let start = Instant::now();
    // Queue depth over one simulated minute: a surge to 12 000 items, then recovery.
    let depths = (0..60u64).map(|s| match s {
        0..=9 => 2_000,
        10..=29 => 2_000 + (s - 9) * 500,
        _ => 12_000u64.saturating_sub((s - 29) * 600).max(1_000),
    });
    let mut randomness = 0x1234_5678_9abc_u64;
    for (second, depth) in depths.enumerate() {
        let now = start + Duration::from_secs(second as u64);
        monitor.record_received(10_000);
        monitor.record_export(10_000, Duration::from_millis(20), true);
        monitor.set_queue_depth(depth);
        let sample = monitor.sample_with(now, 0.3, 256 << 20);
        let pressure = sample.pressure(&limits);
        let transition = controller.observe(pressure, now);
        // 1000 spans of this second, 1% of them errors.
        let kept = (0..1000)
            .filter(|i| {
                randomness = randomness.wrapping_mul(6364136223846793005).wrapping_add(1);
                should_keep(controller.level(), i % 100 == 0, randomness >> 8)
            })
            .count();
        if let Some(change) = transition {
            println!(
                "t={second:>2}s queue={depth:>5} pressure={pressure:.2}: {} -> {} (keeping {kept}/1000)",
                change.from, change.to
            );
        }
    }
    println!("{} level changes in one minute", controller.transitions());
    Ok(())
}
