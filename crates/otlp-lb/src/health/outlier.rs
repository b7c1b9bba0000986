//! Passive outlier ejection: an endpoint that fails `consecutive_failures` times in a row is
//! taken out of rotation for a while, longer each time it happens again.

use std::time::Duration;

use crate::{Error, Result};

/// When and for how long failing endpoints are ejected (Envoy's outlier detection, the
/// consecutive-failure kind).
///
/// * After `consecutive_failures` failures with no success between them, the endpoint is
///   ejected for `base_ejection_time × k`, where `k` counts its recent ejections (this one
///   included), capped at `max_ejection_time`. `k` drops by one for every
///   `base_ejection_time` the endpoint then stays in rotation, so an endpoint that recovered
///   for good is forgiven.
/// * An ejection is refused when it would take the share of ejected endpoints above
///   `max_ejection_percent` (strictly: ejected × 100 ≤ percent × endpoints), or leave no
///   endpoint eligible at all. With 3 endpoints and 50%, one may be out at a time.
/// * An ejected endpoint comes back by itself when its time is up: the first pick that meets
///   it afterwards readmits it, so no timer runs for it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierDetection {
    /// Failures in a row that eject an endpoint (at least 1). Default 5.
    pub consecutive_failures: u32,
    /// The first ejection's length, and the step by which later ones grow. Default 30 s.
    pub base_ejection_time: Duration,
    /// The longest an ejection lasts. Default 300 s.
    pub max_ejection_time: Duration,
    /// The largest share of endpoints, in percent, that may be ejected at once. Default 50.
    pub max_ejection_percent: u8,
}

impl Default for OutlierDetection {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_percent: 50,
        }
    }
}

impl OutlierDetection {
    /// Checks the settings: at least one failure, percent at most 100, a non-zero base time
    /// no longer than the maximum.
    pub fn validate(&self) -> Result<()> {
        let invalid = |what, reason: &str| {
            Err(Error::InvalidConfig {
                what,
                reason: reason.to_owned(),
            })
        };
        if self.consecutive_failures == 0 {
            return invalid("consecutive_failures", "must be at least 1");
        }
        if self.max_ejection_percent > 100 {
            return invalid("max_ejection_percent", "must be between 0 and 100");
        }
        if self.base_ejection_time.is_zero() {
            return invalid("base_ejection_time", "must be longer than zero");
        }
        if self.base_ejection_time > self.max_ejection_time {
            return invalid("max_ejection_time", "must be at least base_ejection_time");
        }
        Ok(())
    }

    /// Whether one more ejection is allowed when `ejected` of `total` endpoints are ejected
    /// and `eligible_after` would still be eligible once it happened.
    pub(crate) fn allows_ejection(
        &self,
        ejected: usize,
        eligible_after: usize,
        total: usize,
    ) -> bool {
        eligible_after >= 1 && (ejected + 1) * 100 <= usize::from(self.max_ejection_percent) * total
    }

    /// The length of the `ejections`-th ejection in a row, in nanoseconds.
    pub(crate) fn ejection_nanos(&self, ejections: u32) -> u64 {
        let base = crate::clock::nanos(self.base_ejection_time);
        base.saturating_mul(u64::from(ejections))
            .min(crate::clock::nanos(self.max_ejection_time))
    }

    /// `ejections` after `healthy_nanos` in rotation: one forgiven per base time.
    pub(crate) fn forgive(&self, ejections: u32, healthy_nanos: u64) -> u32 {
        let base = crate::clock::nanos(self.base_ejection_time).max(1);
        let forgiven = u32::try_from(healthy_nanos / base).unwrap_or(u32::MAX);
        ejections.saturating_sub(forgiven)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejection_time_grows_and_is_capped() {
        let config = OutlierDetection {
            base_ejection_time: Duration::from_secs(10),
            max_ejection_time: Duration::from_secs(25),
            ..OutlierDetection::default()
        };
        assert_eq!(config.ejection_nanos(1), 10_000_000_000);
        assert_eq!(config.ejection_nanos(2), 20_000_000_000);
        assert_eq!(config.ejection_nanos(3), 25_000_000_000);
        assert_eq!(config.forgive(3, 25_000_000_000), 1);
    }

    #[test]
    fn percent_and_last_eligible_limits() {
        let config = OutlierDetection::default(); // 50%
        assert!(config.allows_ejection(0, 2, 3));
        assert!(!config.allows_ejection(1, 1, 3)); // 2 of 3 would be 66%
        assert!(!config.allows_ejection(0, 0, 2)); // the last eligible one stays
        let none = OutlierDetection {
            max_ejection_percent: 0,
            ..OutlierDetection::default()
        };
        assert!(!none.allows_ejection(0, 9, 10));
    }

    #[test]
    fn validation_names_the_setting() {
        let bad = OutlierDetection {
            consecutive_failures: 0,
            ..OutlierDetection::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidConfig {
                what: "consecutive_failures",
                ..
            })
        ));
    }
}
