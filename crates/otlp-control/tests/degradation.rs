//! The degradation controller under a synthetic load, and the keep decision's agreement with
//! otlp-sampling's consistent-probability thresholds.

use std::time::{Duration, Instant};

use otlp_control::protect::{
    DegradationController, DegradationLevel, DegradationThresholds, LoadLimits, LoadMonitor,
    REJECT_ALL_THRESHOLD, should_keep,
};
use otlp_sampling::consistent::{Randomness, Threshold};

/// A queue that fills during a surge and drains afterwards, with ±noise around each step, fed
/// through the load monitor once per simulated second.
fn simulate(depths: &[u64]) -> Vec<(u64, DegradationLevel)> {
    let limits = LoadLimits {
        max_queue_depth: 10_000,
        ..LoadLimits::default()
    };
    let monitor = LoadMonitor::new();
    let mut controller = DegradationController::new(DegradationThresholds::default()).unwrap();
    let start = Instant::now();
    depths
        .iter()
        .enumerate()
        .map(|(second, depth)| {
            let now = start + Duration::from_secs(second as u64);
            monitor.record_received(50_000);
            monitor.record_export(50_000, Duration::from_millis(10), true);
            monitor.set_queue_depth(*depth);
            let pressure = monitor.sample_with(now, 0.2, 64 << 20).pressure(&limits);
            controller.observe(pressure, now);
            (*depth, controller.level())
        })
        .collect()
}

#[test]
fn levels_step_up_and_down_with_hysteresis_and_do_not_flap() {
    // Ramp to overload and back, with ±400 items of noise on every second.
    let mut depths = Vec::new();
    for second in 0..240u64 {
        let base = match second {
            0..=19 => 3_000,
            20..=79 => 3_000 + (second - 19) * 120, // up to 10 200
            80..=119 => 10_200,
            120..=199 => 10_200 - (second - 119) * 110, // down to 1 400
            _ => 1_400,
        };
        let noise = if second % 2 == 0 { 400 } else { 0 };
        depths.push(base + noise - 200);
    }
    let trace = simulate(&depths);
    let levels: Vec<DegradationLevel> = trace.iter().map(|(_, level)| *level).collect();

    // Every level is visited on the way up and again on the way down.
    let peak = levels
        .iter()
        .position(|l| *l == DegradationLevel::Emergency)
        .unwrap();
    for level in DegradationLevel::ALL {
        assert!(
            levels[..=peak].contains(&level),
            "{level} missing on the way up"
        );
        assert!(
            levels[peak..].contains(&level),
            "{level} missing on the way down"
        );
    }
    assert_eq!(levels.last(), Some(&DegradationLevel::Normal));
    // No flapping: the level only rises until the peak and only falls after it, although the
    // noise crosses thresholds every second.
    assert!(
        levels[..=peak].windows(2).all(|w| w[0] <= w[1]),
        "{levels:?}"
    );
    assert!(
        levels[peak..].windows(2).all(|w| w[0] >= w[1]),
        "{levels:?}"
    );
    let changes = levels.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(changes, 8, "four steps up, four down: {levels:?}");
    // Stepping down waits the dwell time at each level.
    let mut since_change = 0;
    for window in levels[peak..].windows(2) {
        since_change += 1;
        if window[0] != window[1] {
            assert!(since_change >= 5, "stepped down after {since_change}s");
            since_change = 0;
        }
    }
}

#[test]
fn at_emergency_every_error_span_is_kept_and_nothing_else() {
    let mut kept_errors = 0;
    let mut kept_others = 0;
    let mut state = 0x1234_5678_9abc_def0_u64;
    for i in 0..100_000u64 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let randomness = state >> 8;
        let is_error = i % 7 == 0;
        if should_keep(DegradationLevel::Emergency, is_error, randomness) {
            if is_error {
                kept_errors += 1;
            } else {
                kept_others += 1;
            }
        }
    }
    assert_eq!(kept_errors, 100_000 / 7 + 1);
    assert_eq!(kept_others, 0);
    // Even the largest randomness value is below the Emergency threshold.
    assert!(!should_keep(
        DegradationLevel::Emergency,
        false,
        REJECT_ALL_THRESHOLD - 1
    ));
}

#[test]
fn keep_decisions_agree_with_otlp_sampling_thresholds() {
    for level in [
        DegradationLevel::Normal,
        DegradationLevel::Light,
        DegradationLevel::Moderate,
        DegradationLevel::Heavy,
    ] {
        let theirs = Threshold::from_probability(level.keep_probability()).unwrap();
        assert_eq!(level.rejection_threshold(), theirs.raw(), "{level}");
        let mut state = 7u64;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let randomness = state >> 8;
            assert_eq!(
                should_keep(level, false, randomness),
                theirs.should_sample(Randomness::from_raw(randomness)),
                "{level} at {randomness:#x}"
            );
        }
    }
}

#[test]
fn a_lower_level_keeps_a_superset_of_a_higher_one() {
    // Consistency across collectors at different levels: whatever a more degraded collector
    // keeps, a less degraded one keeps too, so traces are never split by level.
    let mut state = 99u64;
    for _ in 0..10_000 {
        state = state
            .wrapping_mul(2862933555777941757)
            .wrapping_add(3037000493);
        let randomness = state >> 8;
        for pair in DegradationLevel::ALL.windows(2) {
            if should_keep(pair[1], false, randomness) {
                assert!(should_keep(pair[0], false, randomness));
            }
        }
    }
}
