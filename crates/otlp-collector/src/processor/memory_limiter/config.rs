//! The `memory_limiter` processor's settings and the limits they give.

use crate::de;
use serde::Deserialize;
use std::time::Duration;

pub(super) const MIB: u64 = 1024 * 1024;

/// The `memory_limiter` processor's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryLimiterConfig {
    /// How often memory usage is measured (required, > 0).
    #[serde(deserialize_with = "de::duration")]
    pub check_interval: Duration,
    /// Hard limit in MiB.
    pub limit_mib: u64,
    /// Headroom below the hard limit in MiB; data is refused above `limit_mib - spike_limit_mib`.
    pub spike_limit_mib: u64,
    /// Hard limit as a percentage of the memory available to the process (cgroup limit or total memory).
    pub limit_percentage: u64,
    /// Headroom as a percentage of the available memory.
    pub spike_limit_percentage: u64,
}

impl MemoryLimiterConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.check_interval.is_zero() {
            return Err("check_interval must be greater than zero".into());
        }
        match (self.limit_mib, self.limit_percentage) {
            (0, 0) => return Err("set limit_mib or limit_percentage".into()),
            (m, _) if m > 0 && self.spike_limit_mib >= m => {
                return Err("spike_limit_mib must be smaller than limit_mib".into());
            }
            (0, p) if p > 100 || self.spike_limit_percentage >= p => {
                return Err(
                    "limit_percentage must be at most 100 and above spike_limit_percentage".into(),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// The (hard, soft) limits in bytes, given the memory available to the process.
    pub(super) fn limits(&self, available: u64) -> (u64, u64) {
        let (hard, spike) = if self.limit_mib > 0 {
            let hard = self.limit_mib * MIB;
            let spike = if self.spike_limit_mib > 0 {
                self.spike_limit_mib * MIB
            } else {
                hard / 5
            };
            (hard, spike)
        } else {
            (
                available / 100 * self.limit_percentage,
                available / 100 * self.spike_limit_percentage,
            )
        };
        (hard, hard.saturating_sub(spike))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_otelcol() {
        let by_mib = MemoryLimiterConfig {
            check_interval: Duration::from_secs(1),
            limit_mib: 1000,
            ..Default::default()
        };
        assert_eq!(by_mib.limits(0), (1000 * MIB, 800 * MIB));
        let by_percent = MemoryLimiterConfig {
            check_interval: Duration::from_secs(1),
            limit_percentage: 80,
            spike_limit_percentage: 25,
            ..Default::default()
        };
        assert_eq!(by_percent.limits(1000 * MIB), (800 * MIB, 550 * MIB));
        assert!(by_percent.validate().is_ok());
        assert!(MemoryLimiterConfig::default().validate().is_err());
    }
}
