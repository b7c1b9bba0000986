//! The `degradation` extension's settings: the load limits that make up pressure, and the pressure thresholds of
//! the five levels.

use crate::de;
use otlp_control::protect::{DegradationThresholds, LoadLimits};
use serde::Deserialize;
use std::time::Duration;

/// `extensions.degradation`: how often load is read, the limits it is measured against, and the thresholds that
/// turn the resulting pressure into a level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DegradationConfig {
    /// How often the load is read and the level decided (default 1s).
    #[serde(deserialize_with = "de::duration")]
    pub check_interval: Duration,
    /// The limits each load figure is divided by; the largest ratio is the pressure (1.0: a limit is reached).
    pub limits: LimitsConfig,
    /// The pressures at which each level is entered and left.
    pub thresholds: ThresholdsConfig,
}

/// `limits`: what this collector may use before it counts as loaded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Share of all the machine's cores, in (0, 1] (default 0.9).
    pub max_cpu: f64,
    /// Resident memory in MiB, as `memory_limiter`'s `limit_mib` (default 1024).
    pub max_memory_mib: u64,
    /// Longest Little's-law wait of a new item in the exporters' queues (default 5s).
    #[serde(deserialize_with = "de::duration")]
    pub max_queue_wait: Duration,
    /// Most spans queued for export (default 100000).
    pub max_queue_depth: u64,
    /// Slowest mean export attempt (default 5s).
    #[serde(deserialize_with = "de::duration")]
    pub max_export_latency: Duration,
}

/// `thresholds`: pressures for Light, Moderate, Heavy and Emergency, in that order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdsConfig {
    /// Pressure at which each level is entered, ascending (default `[0.7, 0.8, 0.9, 0.97]`).
    pub enter: [f64; 4],
    /// Pressure below which each level is left, each below its `enter` (default `[0.6, 0.7, 0.8, 0.9]`); the gap
    /// is the hysteresis band.
    pub leave: [f64; 4],
    /// Least time at a level before stepping down from it, one level at a time (default 5s).
    #[serde(deserialize_with = "de::duration")]
    pub min_dwell: Duration,
}

const MIB: u64 = 1024 * 1024;

impl Default for DegradationConfig {
    fn default() -> Self {
        DegradationConfig {
            check_interval: Duration::from_secs(1),
            limits: LimitsConfig::default(),
            thresholds: ThresholdsConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let limits = LoadLimits::default();
        LimitsConfig {
            max_cpu: limits.max_cpu,
            max_memory_mib: limits.max_memory_bytes / MIB,
            max_queue_wait: limits.max_queue_wait,
            max_queue_depth: limits.max_queue_depth,
            max_export_latency: limits.max_export_latency,
        }
    }
}

impl Default for ThresholdsConfig {
    fn default() -> Self {
        let thresholds = DegradationThresholds::default();
        ThresholdsConfig {
            enter: thresholds.enter,
            leave: thresholds.leave,
            min_dwell: thresholds.min_dwell,
        }
    }
}

impl DegradationConfig {
    /// The limits as otlp-control measures them.
    pub fn load_limits(&self) -> LoadLimits {
        LoadLimits {
            max_cpu: self.limits.max_cpu,
            max_memory_bytes: self.limits.max_memory_mib.saturating_mul(MIB),
            max_queue_wait: self.limits.max_queue_wait,
            max_queue_depth: self.limits.max_queue_depth,
            max_export_latency: self.limits.max_export_latency,
        }
    }

    /// The thresholds as otlp-control's controller takes them.
    pub fn degradation_thresholds(&self) -> DegradationThresholds {
        DegradationThresholds {
            enter: self.thresholds.enter,
            leave: self.thresholds.leave,
            min_dwell: self.thresholds.min_dwell,
        }
    }

    /// Why these settings cannot work, as `(key, message)`.
    pub(crate) fn problems(&self) -> Option<(&'static str, String)> {
        if self.check_interval.is_zero() {
            return Some(("check_interval", "must be positive".into()));
        }
        if self.limits.max_memory_mib == 0 {
            return Some(("limits.max_memory_mib", "must be positive".into()));
        }
        if let Err(error) = self.load_limits().validate() {
            return Some(("limits", reason(error)));
        }
        if let Err(error) = self.degradation_thresholds().validate() {
            return Some(("thresholds", reason(error)));
        }
        None
    }
}

/// otlp-control's reason without its "invalid configuration" prefix, which the collector's message already says.
fn reason(error: otlp_control::Error) -> String {
    match error {
        otlp_control::Error::Config(reason) => reason,
        other => other.to_string(),
    }
}
