//! The retry policy: otelcol's `retry_on_failure` (exponential backoff with jitter, bounded in total time), as a
//! pure decision like tower's `retry::Policy`, so it is tested without a clock.

use super::super::ExportError;
use crate::de;
use serde::Deserialize;
use std::time::Duration;

/// otelcol's `retry_on_failure` settings: exponential backoff with jitter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retry retryable failures at all.
    pub enabled: bool,
    /// Wait before the first retry.
    #[serde(deserialize_with = "de::duration")]
    pub initial_interval: Duration,
    /// Each wait is randomised by ± this fraction.
    pub randomization_factor: f64,
    /// Each wait is this many times the previous one.
    pub multiplier: f64,
    /// No wait is longer than this.
    #[serde(deserialize_with = "de::duration")]
    pub max_interval: Duration,
    /// Give up on a batch after trying for this long (0: never).
    #[serde(deserialize_with = "de::duration")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            enabled: true,
            initial_interval: Duration::from_secs(5),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    /// Checks that the backoff is well formed.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.randomization_factor) {
            return Err("retry_on_failure.randomization_factor must be between 0 and 1".into());
        }
        if self.multiplier < 1.0 || !self.multiplier.is_finite() {
            return Err("retry_on_failure.multiplier must be at least 1".into());
        }
        Ok(())
    }
}

/// The state of one batch's retries: the interval the next backoff starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    interval: Duration,
}

impl RetryConfig {
    /// The backoff state of a batch before its first attempt.
    pub(crate) fn start(&self) -> Backoff {
        Backoff {
            interval: self.initial_interval,
        }
    }

    /// After a failed attempt, `elapsed` since the first: how long to wait before the next one, or the error to
    /// give up with. `jitter` is a random number in `[-1, 1]`, scaled by `randomization_factor`.
    pub(crate) fn after_failure(
        &self,
        backoff: &mut Backoff,
        error: ExportError,
        elapsed: Duration,
        jitter: f64,
    ) -> Result<Duration, ExportError> {
        let ExportError::Retryable { retry_after, .. } = &error else {
            return Err(error);
        };
        if !self.enabled {
            return Err(error);
        }
        let randomised = backoff
            .interval
            .mul_f64(1.0 + jitter.clamp(-1.0, 1.0) * self.randomization_factor);
        // A throttling hint from the destination replaces our own schedule, as in otelcol.
        let wait = retry_after.unwrap_or(randomised);
        if !self.max_elapsed_time.is_zero() && elapsed + wait > self.max_elapsed_time {
            // Still a retryable failure (counted as `retries_exhausted`): only this batch's time ran out. The
            // first wait may already be too long (otelcol's backoff decides the same way), so "after 217µs of
            // retries" would leave an operator wondering why nothing was retried.
            let spent = if elapsed < Duration::from_millis(1) {
                "at once".to_owned()
            } else {
                format!("after {:.1}s", elapsed.as_secs_f64())
            };
            return Err(ExportError::retryable(format!(
                "gave up {spent}: the next try, {:.1}s later, would pass \
                 retry_on_failure.max_elapsed_time ({:?}): {}",
                wait.as_secs_f64(),
                self.max_elapsed_time,
                error.message()
            )));
        }
        backoff.interval = backoff
            .interval
            .mul_f64(self.multiplier)
            .min(self.max_interval);
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RetryConfig {
        RetryConfig {
            initial_interval: Duration::from_secs(1),
            multiplier: 2.0,
            max_interval: Duration::from_secs(5),
            max_elapsed_time: Duration::from_secs(20),
            ..RetryConfig::default()
        }
    }

    #[test]
    fn waits_grow_by_the_multiplier_up_to_the_max_interval() {
        let config = config();
        let mut backoff = config.start();
        let waits: Vec<Duration> = (0..5)
            .map(|_| {
                config
                    .after_failure(
                        &mut backoff,
                        ExportError::retryable("down"),
                        Duration::ZERO,
                        0.0,
                    )
                    .unwrap()
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 5, 5].map(Duration::from_secs));
    }

    #[test]
    fn jitter_moves_the_wait_by_at_most_the_randomization_factor() {
        let config = config();
        let wait = |jitter| {
            config
                .after_failure(
                    &mut config.start(),
                    ExportError::retryable("down"),
                    Duration::ZERO,
                    jitter,
                )
                .unwrap()
        };
        assert_eq!(wait(-1.0), Duration::from_millis(500));
        assert_eq!(wait(1.0), Duration::from_millis(1500));
        assert_eq!(wait(7.0), Duration::from_millis(1500), "jitter is clamped");
    }

    #[test]
    fn a_throttling_hint_replaces_the_schedule() {
        let config = config();
        let error = ExportError::Retryable {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(3)),
        };
        let wait = config.after_failure(&mut config.start(), error, Duration::ZERO, 0.0);
        assert_eq!(wait.unwrap(), Duration::from_secs(3));
    }

    #[test]
    fn gives_up_past_max_elapsed_time_and_on_permanent_errors() {
        let config = config();
        let late = config.after_failure(
            &mut config.start(),
            ExportError::retryable("down"),
            Duration::from_millis(19_500),
            0.0,
        );
        assert!(
            matches!(&late, Err(ExportError::Retryable { message, .. }) if message == "gave up after \
                19.5s: the next try, 1.0s later, would pass retry_on_failure.max_elapsed_time (20s): down"),
            "{late:?}"
        );
        // The first wait alone passes the limit: nothing is retried, and the message says so.
        let short = RetryConfig {
            max_elapsed_time: Duration::from_millis(500),
            ..config.clone()
        };
        let at_once = short.after_failure(
            &mut short.start(),
            ExportError::retryable("down"),
            Duration::ZERO,
            0.0,
        );
        assert!(
            matches!(&at_once, Err(ExportError::Retryable { message, .. }) if message.starts_with("gave up at once: ")),
            "{at_once:?}"
        );
        let permanent = config.after_failure(
            &mut config.start(),
            ExportError::permanent("bad request"),
            Duration::ZERO,
            0.0,
        );
        assert!(
            matches!(permanent, Err(ExportError::Permanent { message }) if message == "bad request")
        );
        let disabled = RetryConfig {
            enabled: false,
            ..config
        };
        assert!(
            disabled
                .after_failure(
                    &mut disabled.start(),
                    ExportError::retryable("down"),
                    Duration::ZERO,
                    0.0
                )
                .is_err()
        );
    }

    #[test]
    fn never_gives_up_when_max_elapsed_time_is_zero() {
        let config = RetryConfig {
            max_elapsed_time: Duration::ZERO,
            ..config()
        };
        let wait = config.after_failure(
            &mut config.start(),
            ExportError::retryable("down"),
            Duration::from_secs(100_000),
            0.0,
        );
        assert!(wait.is_ok());
    }
}
