//! Five degradation levels, the keep decision that never drops an error span, and a controller
//! with hysteresis that moves between levels as load pressure changes.
//!
//! Each level keeps a share of traces by raising the OpenTelemetry consistent-sampling
//! rejection threshold `T = (1 - p) * 2^56`: a span is kept iff its 56-bit randomness `R >= T`.
//! Every collector that sees a trace derives the same `R` from it (the `rv` value or the trace
//! ID's low 56 bits), so at the same level all collectors keep or drop the same traces whole, and
//! the kept spans' adjusted counts (`1 / p`) stay unbiased. The thresholds are computed exactly
//! as otlp-sampling's full-precision `Threshold::from_probability`.

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `2^56`: the rejection threshold that keeps no randomness value at all.
pub const REJECT_ALL_THRESHOLD: u64 = 1 << 56;

/// How much of the incoming data a collector keeps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DegradationLevel {
    /// Keep everything.
    #[default]
    Normal,
    /// Keep 50% of traces.
    Light,
    /// Keep 10% of traces.
    Moderate,
    /// Keep 1% of traces.
    Heavy,
    /// Keep error spans only.
    Emergency,
}

impl DegradationLevel {
    /// Every level, from Normal to Emergency.
    pub const ALL: [DegradationLevel; 5] = [
        DegradationLevel::Normal,
        DegradationLevel::Light,
        DegradationLevel::Moderate,
        DegradationLevel::Heavy,
        DegradationLevel::Emergency,
    ];

    /// 0 for Normal up to 4 for Emergency.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The level at `index` (clamped to Emergency).
    pub fn from_index(index: usize) -> Self {
        Self::ALL[index.min(Self::ALL.len() - 1)]
    }

    /// The probability with which a non-error trace is kept.
    pub fn keep_probability(self) -> f64 {
        match self {
            DegradationLevel::Normal => 1.0,
            DegradationLevel::Light => 0.5,
            DegradationLevel::Moderate => 0.1,
            DegradationLevel::Heavy => 0.01,
            DegradationLevel::Emergency => 0.0,
        }
    }

    /// The 56-bit rejection threshold of this level: 0 keeps everything,
    /// [`REJECT_ALL_THRESHOLD`] (Emergency) keeps no non-error span.
    pub fn rejection_threshold(self) -> u64 {
        let keep = self.keep_probability();
        let scaled = (keep * REJECT_ALL_THRESHOLD as f64).round() as u64;
        REJECT_ALL_THRESHOLD - scaled.min(REJECT_ALL_THRESHOLD)
    }

    /// The threshold to write into a kept span's `th` when it already carries `existing`:
    /// the larger of the two, since a span kept by both samplers was kept at the stricter one.
    pub fn raise_threshold(self, existing: u64) -> u64 {
        existing.max(self.rejection_threshold())
    }

    /// The level name as used in configs and status output.
    pub fn as_str(self) -> &'static str {
        match self {
            DegradationLevel::Normal => "normal",
            DegradationLevel::Light => "light",
            DegradationLevel::Moderate => "moderate",
            DegradationLevel::Heavy => "heavy",
            DegradationLevel::Emergency => "emergency",
        }
    }
}

impl fmt::Display for DegradationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether to keep a span at `level`: error spans always, others iff their 56-bit randomness
/// (`rv`, or the low 56 bits of the trace ID) reaches the level's rejection threshold.
pub fn should_keep(level: DegradationLevel, is_error: bool, randomness56: u64) -> bool {
    is_error || randomness56 >= level.rejection_threshold()
}

/// When the controller moves between levels.
///
/// Pressure is a unitless load figure where 1.0 means "at the configured limit" (see
/// [`LoadSample::pressure`](crate::protect::LoadSample::pressure)). Level `i` (1 = Light ..
/// 4 = Emergency) is entered when pressure reaches `enter[i - 1]` and left (one level down) when
/// pressure has stayed below `leave[i - 1]` for at least `min_dwell` since the last change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DegradationThresholds {
    /// Pressure at which Light, Moderate, Heavy and Emergency are entered.
    pub enter: [f64; 4],
    /// Pressure below which Light, Moderate, Heavy and Emergency are left; each below its
    /// `enter` counterpart, the gap being the hysteresis band.
    pub leave: [f64; 4],
    /// The least time spent at a level before stepping down from it.
    #[serde(with = "crate::duration_ms")]
    pub min_dwell: Duration,
}

impl Default for DegradationThresholds {
    fn default() -> Self {
        Self {
            enter: [0.70, 0.80, 0.90, 0.97],
            leave: [0.60, 0.70, 0.80, 0.90],
            min_dwell: Duration::from_secs(5),
        }
    }
}

impl DegradationThresholds {
    /// Checks that thresholds are finite, ascending, and that each `leave` lies below its `enter`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first offending threshold.
    pub fn validate(&self) -> Result<()> {
        for (i, (enter, leave)) in self.enter.iter().zip(&self.leave).enumerate() {
            let level = DegradationLevel::from_index(i + 1);
            if !enter.is_finite() || !leave.is_finite() || *leave < 0.0 {
                return Err(Error::Config(format!(
                    "degradation thresholds for {level} must be finite and non-negative"
                )));
            }
            if leave >= enter {
                return Err(Error::Config(format!(
                    "degradation level {level}: leave threshold {leave} must be below enter {enter}"
                )));
            }
            if i > 0 && (self.enter[i - 1] >= *enter || self.leave[i - 1] >= *leave) {
                return Err(Error::Config(format!(
                    "degradation thresholds must ascend from light to emergency (at {level})"
                )));
            }
        }
        Ok(())
    }
}

/// A level change made by [`DegradationController::observe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The level before.
    pub from: DegradationLevel,
    /// The level after.
    pub to: DegradationLevel,
}

/// Moves between degradation levels with hysteresis.
///
/// Escalation is immediate and may skip levels: under a sudden overload the right level is the
/// one that matches the load now. De-escalation goes one level at a time, only once pressure is
/// below that level's `leave` threshold and the level has been held for `min_dwell`, so a load
/// oscillating around a threshold does not make the fleet flap.
///
/// ```
/// use std::time::{Duration, Instant};
/// use otlp_control::protect::{DegradationController, DegradationLevel, DegradationThresholds};
///
/// let mut controller = DegradationController::new(DegradationThresholds::default())?;
/// let start = Instant::now();
/// controller.observe(0.95, start);
/// assert_eq!(controller.level(), DegradationLevel::Heavy);
/// controller.observe(0.10, start + Duration::from_secs(1)); // too soon to step down
/// assert_eq!(controller.level(), DegradationLevel::Heavy);
/// controller.observe(0.10, start + Duration::from_secs(6));
/// assert_eq!(controller.level(), DegradationLevel::Moderate); // one step at a time
/// # Ok::<(), otlp_control::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DegradationController {
    thresholds: DegradationThresholds,
    level: DegradationLevel,
    changed_at: Option<Instant>,
    transitions: u64,
}

impl DegradationController {
    /// A controller at Normal.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the thresholds are inconsistent.
    pub fn new(thresholds: DegradationThresholds) -> Result<Self> {
        thresholds.validate()?;
        Ok(Self {
            thresholds,
            level: DegradationLevel::Normal,
            changed_at: None,
            transitions: 0,
        })
    }

    /// The current level.
    pub fn level(&self) -> DegradationLevel {
        self.level
    }

    /// The current level's keep probability.
    pub fn keep_probability(&self) -> f64 {
        self.level.keep_probability()
    }

    /// How many level changes happened so far.
    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> &DegradationThresholds {
        &self.thresholds
    }

    /// Replaces the thresholds (a hot-reloaded config); the level stays until the next
    /// observation.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when they are inconsistent; the old thresholds stay.
    pub fn set_thresholds(&mut self, thresholds: DegradationThresholds) -> Result<()> {
        thresholds.validate()?;
        self.thresholds = thresholds;
        Ok(())
    }

    /// Feeds one pressure observation taken at `now`; returns the transition it caused, if any.
    /// A NaN pressure carries no information and changes nothing.
    pub fn observe(&mut self, pressure: f64, now: Instant) -> Option<Transition> {
        if pressure.is_nan() {
            return None;
        }
        let from = self.level;
        let entered = self
            .thresholds
            .enter
            .iter()
            .rposition(|enter| pressure >= *enter)
            .map_or(DegradationLevel::Normal, |i| {
                DegradationLevel::from_index(i + 1)
            });
        let to = if entered > from {
            entered
        } else if from > DegradationLevel::Normal
            && pressure < self.thresholds.leave[from.index() - 1]
            && self
                .changed_at
                .is_none_or(|at| now.saturating_duration_since(at) >= self.thresholds.min_dwell)
        {
            DegradationLevel::from_index(from.index() - 1)
        } else {
            from
        };
        if to == from {
            return None;
        }
        self.level = to;
        self.changed_at = Some(now);
        self.transitions += 1;
        Some(Transition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_match_the_keep_probabilities() {
        assert_eq!(DegradationLevel::Normal.rejection_threshold(), 0);
        assert_eq!(DegradationLevel::Light.rejection_threshold(), 1 << 55);
        assert_eq!(
            DegradationLevel::Emergency.rejection_threshold(),
            REJECT_ALL_THRESHOLD
        );
        for level in DegradationLevel::ALL {
            let kept = REJECT_ALL_THRESHOLD - level.rejection_threshold();
            let share = kept as f64 / REJECT_ALL_THRESHOLD as f64;
            assert!((share - level.keep_probability()).abs() < 1e-12, "{level}");
        }
    }

    #[test]
    fn inconsistent_thresholds_are_rejected() {
        let mut thresholds = DegradationThresholds::default();
        thresholds.leave[2] = thresholds.enter[2];
        assert!(DegradationController::new(thresholds).is_err());
        let mut thresholds = DegradationThresholds::default();
        thresholds.enter[3] = 0.5;
        assert!(DegradationController::new(thresholds).is_err());
        let mut thresholds = DegradationThresholds::default();
        thresholds.enter[0] = f64::NAN;
        assert!(DegradationController::new(thresholds).is_err());
    }

    #[test]
    fn raising_keeps_the_stricter_threshold() {
        let light = DegradationLevel::Light;
        assert_eq!(light.raise_threshold(0), 1 << 55);
        assert_eq!(light.raise_threshold(0xff << 48), 0xff << 48);
    }

    #[test]
    fn nan_pressure_changes_nothing() {
        let mut controller = DegradationController::new(DegradationThresholds::default()).unwrap();
        assert_eq!(controller.observe(f64::NAN, Instant::now()), None);
        assert_eq!(controller.level(), DegradationLevel::Normal);
    }
}
