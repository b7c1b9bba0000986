//! The rollout record and its pure decisions: which members a step updates, and whether the
//! health gate holds. The record lives in the coordination store so that any leader can carry
//! on from where the previous one stopped; the driver that acts on it is backend-specific.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fleet::Member;

/// The standard canary stages, in percent of the members.
pub const CANARY_WEIGHTS: [u8; 5] = [1, 5, 10, 50, 100];

/// What is being rolled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutTarget {
    /// A config version from the config history.
    Config {
        /// The version members are moved to.
        version: u64,
    },
    /// A binary version; an operator hook swaps the binary (see the crate docs), the step
    /// waits until the members report it.
    Binary {
        /// The version members must report.
        version: String,
    },
}

impl RolloutTarget {
    /// Whether `member` runs this target.
    pub fn runs(&self, member: &Member) -> bool {
        match self {
            RolloutTarget::Config { version } => member.config.version == Some(*version),
            RolloutTarget::Binary { version } => &member.version == version,
        }
    }

    /// Why `member` refused this target, if it did.
    pub fn refusal<'a>(&self, member: &'a Member) -> Option<&'a str> {
        match (self, &member.config.rejected) {
            (RolloutTarget::Config { version }, Some(rejected)) if rejected.version == *version => {
                Some(&rejected.reason)
            }
            _ => None,
        }
    }
}

impl fmt::Display for RolloutTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolloutTarget::Config { version } => write!(f, "config v{version}"),
            RolloutTarget::Binary { version } => write!(f, "binary {version}"),
        }
    }
}

/// How members are moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStrategy {
    /// Batches of `batch_size` members, each gated on the updated members' own health.
    Rolling {
        /// Members per batch.
        batch_size: usize,
    },
    /// Growing shares of the members (percent), each gated on a comparison of the canary
    /// members with the rest.
    Canary {
        /// Percent of members updated at each stage, ascending, ending at 100.
        weights: Vec<u8>,
    },
}

impl RolloutStrategy {
    /// Canary with the standard stages 1 → 5 → 10 → 50 → 100%.
    pub fn canary() -> Self {
        RolloutStrategy::Canary {
            weights: CANARY_WEIGHTS.to_vec(),
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::Rollout`] for a zero batch, or weights that are empty, not ascending, outside
    /// 1–100, or not ending at 100.
    pub fn validate(&self) -> Result<()> {
        match self {
            RolloutStrategy::Rolling { batch_size: 0 } => {
                Err(Error::Rollout("batch_size must be positive".into()))
            }
            RolloutStrategy::Rolling { .. } => Ok(()),
            RolloutStrategy::Canary { weights } => {
                let ascending = weights.windows(2).all(|pair| pair[0] < pair[1]);
                if weights.is_empty()
                    || !ascending
                    || weights[0] == 0
                    || weights.last() != Some(&100)
                {
                    Err(Error::Rollout(format!(
                        "canary weights must ascend within 1-100 and end at 100, got {weights:?}"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Number of steps for `members` members.
    pub fn steps(&self, members: usize) -> usize {
        match self {
            RolloutStrategy::Rolling { batch_size } => members.div_ceil((*batch_size).max(1)),
            RolloutStrategy::Canary { weights } => weights.len(),
        }
    }

    /// How many members (from the front of the plan) run the target once `step` is applied.
    pub fn updated_after(&self, step: usize, members: usize) -> usize {
        match self {
            RolloutStrategy::Rolling { batch_size } => ((step + 1) * batch_size).min(members),
            RolloutStrategy::Canary { weights } => {
                let weight = weights.get(step).copied().unwrap_or(100).min(100);
                (members * usize::from(weight))
                    .div_ceil(100)
                    .max(1)
                    .min(members)
            }
        }
    }
}

impl fmt::Display for RolloutStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolloutStrategy::Rolling { batch_size } => {
                write!(f, "rolling, batches of {batch_size}")
            }
            RolloutStrategy::Canary { weights } => {
                let stages: Vec<String> = weights.iter().map(|w| format!("{w}%")).collect();
                write!(f, "canary {}", stages.join("→"))
            }
        }
    }
}

/// When a step passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthGate {
    /// The highest error rate any updated member may report.
    pub max_error_rate: f64,
    /// The highest export latency (ms) any updated member may report.
    pub max_latency_ms: f64,
    /// Canary: how much the canary members' error rate may exceed the baseline's.
    pub max_error_rate_increase: f64,
    /// Canary: how many times the baseline's latency the canary's may reach…
    pub max_latency_ratio: f64,
    /// …beyond this many milliseconds of slack (small latencies are noisy).
    pub latency_slack_ms: f64,
    /// How long updated members must stay healthy before the next step.
    #[serde(with = "crate::duration_ms")]
    pub bake: Duration,
    /// How long members may take to report the target after being assigned it.
    #[serde(with = "crate::duration_ms")]
    pub apply_timeout: Duration,
}

impl Default for HealthGate {
    fn default() -> Self {
        Self {
            max_error_rate: 0.05,
            max_latency_ms: 5_000.0,
            max_error_rate_increase: 0.02,
            max_latency_ratio: 1.5,
            latency_slack_ms: 20.0,
            bake: Duration::from_secs(30),
            apply_timeout: Duration::from_secs(60),
        }
    }
}

impl HealthGate {
    /// Checks that each limit can be met and failed: rates are fractions (0.05 is 5%), latencies and the
    /// apply timeout positive.
    ///
    /// # Errors
    ///
    /// [`Error::Rollout`] naming the first limit out of range.
    pub fn validate(&self) -> Result<()> {
        let fraction = |value: f64| (0.0..=1.0).contains(&value);
        let limits = [
            (
                "max_error_rate",
                self.max_error_rate,
                fraction(self.max_error_rate),
                "a fraction from 0 to 1 (0.05 is 5%)",
            ),
            (
                "max_error_rate_increase",
                self.max_error_rate_increase,
                fraction(self.max_error_rate_increase),
                "a fraction from 0 to 1 (0.02 is 2 points)",
            ),
            (
                "max_latency_ms",
                self.max_latency_ms,
                self.max_latency_ms.is_finite() && self.max_latency_ms > 0.0,
                "a positive number of milliseconds",
            ),
            (
                "max_latency_ratio",
                self.max_latency_ratio,
                self.max_latency_ratio.is_finite() && self.max_latency_ratio >= 1.0,
                "at least 1",
            ),
            (
                "latency_slack_ms",
                self.latency_slack_ms,
                self.latency_slack_ms.is_finite() && self.latency_slack_ms >= 0.0,
                "zero or more milliseconds",
            ),
        ];
        if let Some((name, value, _, expected)) = limits.into_iter().find(|limit| !limit.2) {
            return Err(Error::Rollout(format!(
                "{name} is {value}; it must be {expected}"
            )));
        }
        if self.apply_timeout.is_zero() {
            return Err(Error::Rollout(
                "apply_timeout must be longer than zero".into(),
            ));
        }
        Ok(())
    }
}

/// Mean health of a group of members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthStats {
    /// Members measured.
    pub members: usize,
    /// Mean error rate.
    pub error_rate: f64,
    /// Mean export latency in ms.
    pub latency_ms: f64,
}

impl HealthStats {
    /// The means over `members`.
    pub fn of<'a>(members: impl IntoIterator<Item = &'a Member>) -> Self {
        let mut stats = HealthStats::default();
        for member in members {
            stats.members += 1;
            stats.error_rate += member.load.error_rate;
            stats.latency_ms += member.load.export_latency_ms;
        }
        if stats.members > 0 {
            stats.error_rate /= stats.members as f64;
            stats.latency_ms /= stats.members as f64;
        }
        stats
    }
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum RolloutPhase {
    /// The step's members are assigned the target; waiting until they run it.
    Applying,
    /// The step's members run the target; watching their health until `until_ms`.
    Baking {
        /// End of the bake, ms since the Unix epoch.
        until_ms: u64,
    },
    /// Every member runs the target, which is now the fleet's stable version.
    Succeeded,
    /// A gate failed; members were moved back to the stable version.
    RolledBack {
        /// What failed.
        reason: String,
    },
    /// An operator stopped it; members were moved back to the stable version.
    Aborted {
        /// The operator's reason.
        reason: String,
    },
}

impl RolloutPhase {
    /// Whether the rollout still needs driving.
    pub fn is_active(&self) -> bool {
        matches!(self, RolloutPhase::Applying | RolloutPhase::Baking { .. })
    }
}

/// One line of a rollout's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutEvent {
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// The fencing token of the leader that wrote it (0 for an operator).
    pub token: i64,
    /// What happened.
    pub message: String,
}

/// A rollout as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// Its id (increasing).
    pub id: u64,
    /// What is rolled out.
    pub target: RolloutTarget,
    /// How.
    pub strategy: RolloutStrategy,
    /// The gate every step must pass.
    pub gate: HealthGate,
    /// The members in the order they are updated, fixed at the start.
    pub plan: Vec<String>,
    /// Members of the plan that left before their turn; skipped.
    #[serde(default)]
    pub skipped: Vec<String>,
    /// The current step (0-based).
    pub step: usize,
    /// When the current step started, ms since the Unix epoch.
    pub step_started_ms: u64,
    /// Where it stands.
    #[serde(flatten)]
    pub phase: RolloutPhase,
    /// The fleet's health before the rollout, the canary baseline once every member is updated.
    pub baseline: HealthStats,
    /// What happened, oldest first.
    pub events: Vec<RolloutEvent>,
}

impl Rollout {
    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.strategy.steps(self.plan.len())
    }

    /// The members that run the target once the current step is applied, skipped ones left out.
    pub fn updated(&self) -> Vec<&str> {
        let count = self.strategy.updated_after(self.step, self.plan.len());
        self.plan[..count]
            .iter()
            .filter(|id| !self.skipped.contains(id))
            .map(String::as_str)
            .collect()
    }

    /// Whether this is the last step.
    pub fn is_last_step(&self) -> bool {
        self.step + 1 >= self.steps()
    }

    /// The leaders' tokens that appear in the history, in order of first appearance.
    pub fn driver_tokens(&self) -> Vec<i64> {
        let mut tokens = Vec::new();
        for event in &self.events {
            if event.token != 0 && !tokens.contains(&event.token) {
                tokens.push(event.token);
            }
        }
        tokens
    }

    /// Checks the health gate against the live members: every updated member present, running
    /// the target and under the absolute limits; for a canary, the updated members compared
    /// with the others (or with the pre-rollout baseline once no others are left).
    ///
    /// # Errors
    ///
    /// The reason the gate fails, for the rollback record.
    pub fn check_gate(&self, live: &[Member]) -> std::result::Result<(), String> {
        let updated: HashSet<&str> = self.updated().into_iter().collect();
        let mut canary = Vec::new();
        for id in &updated {
            let Some(member) = live.iter().find(|member| member.id == *id) else {
                return Err(format!("member {id} left after applying {}", self.target));
            };
            if !self.target.runs(member) {
                return Err(format!("member {id} no longer runs {}", self.target));
            }
            if member.load.error_rate > self.gate.max_error_rate {
                return Err(format!(
                    "member {id} error rate {:.3} exceeds {:.3}",
                    member.load.error_rate, self.gate.max_error_rate
                ));
            }
            if member.load.export_latency_ms > self.gate.max_latency_ms {
                return Err(format!(
                    "member {id} export latency {:.1} ms exceeds {:.1} ms",
                    member.load.export_latency_ms, self.gate.max_latency_ms
                ));
            }
            canary.push(member);
        }
        if !matches!(self.strategy, RolloutStrategy::Canary { .. }) {
            return Ok(());
        }
        let others = HealthStats::of(live.iter().filter(|m| !updated.contains(m.id.as_str())));
        let baseline = if others.members > 0 {
            others
        } else {
            self.baseline.clone()
        };
        let canary = HealthStats::of(canary);
        if canary.error_rate > baseline.error_rate + self.gate.max_error_rate_increase {
            return Err(format!(
                "canary error rate {:.3} regressed from baseline {:.3}",
                canary.error_rate, baseline.error_rate
            ));
        }
        let latency_limit = (baseline.latency_ms * self.gate.max_latency_ratio)
            .max(baseline.latency_ms + self.gate.latency_slack_ms);
        if baseline.members > 0 && canary.latency_ms > latency_limit {
            return Err(format!(
                "canary export latency {:.1} ms regressed from baseline {:.1} ms",
                canary.latency_ms, baseline.latency_ms
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Rollout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rollout {} of {} ({}), {} members: ",
            self.id,
            self.target,
            self.strategy,
            self.plan.len()
        )?;
        match &self.phase {
            RolloutPhase::Applying => write!(f, "step {}/{} applying", self.step + 1, self.steps()),
            RolloutPhase::Baking { until_ms } => write!(
                f,
                "step {}/{} baking until {}",
                self.step + 1,
                self.steps(),
                utc_time_of_day(*until_ms)
            ),
            RolloutPhase::Succeeded => f.write_str("succeeded"),
            RolloutPhase::RolledBack { reason } => write!(f, "rolled back: {reason}"),
            RolloutPhase::Aborted { reason } => write!(f, "aborted: {reason}"),
        }
    }
}

/// `HH:MM:SS UTC` of a Unix time in milliseconds: a bake lasts seconds to minutes, so the time of day is
/// what an operator compares with their clock.
fn utc_time_of_day(unix_ms: u64) -> String {
    let seconds = unix_ms / 1000 % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, config: Option<u64>, error_rate: f64, latency: f64) -> Member {
        let mut member = Member::new(id, "eu", "a:1", "1").unwrap();
        member.config.version = config;
        member.load.error_rate = error_rate;
        member.load.export_latency_ms = latency;
        member
    }

    fn rollout(strategy: RolloutStrategy, plan: &[&str]) -> Rollout {
        Rollout {
            id: 1,
            target: RolloutTarget::Config { version: 2 },
            strategy,
            gate: HealthGate::default(),
            plan: plan.iter().map(|s| (*s).to_owned()).collect(),
            skipped: Vec::new(),
            step: 0,
            step_started_ms: 0,
            phase: RolloutPhase::Applying,
            baseline: HealthStats::default(),
            events: Vec::new(),
        }
    }

    #[test]
    fn step_sizes() {
        let rolling = RolloutStrategy::Rolling { batch_size: 2 };
        assert_eq!(rolling.steps(5), 3);
        assert_eq!(
            (0..3)
                .map(|s| rolling.updated_after(s, 5))
                .collect::<Vec<_>>(),
            [2, 4, 5]
        );
        let canary = RolloutStrategy::canary();
        assert_eq!(canary.steps(200), 5);
        assert_eq!(
            (0..5)
                .map(|s| canary.updated_after(s, 200))
                .collect::<Vec<_>>(),
            [2, 10, 20, 100, 200]
        );
        assert_eq!(
            (0..5)
                .map(|s| canary.updated_after(s, 3))
                .collect::<Vec<_>>(),
            [1, 1, 1, 2, 3]
        );
    }

    #[test]
    fn strategies_are_validated() {
        assert!(RolloutStrategy::canary().validate().is_ok());
        assert!(
            RolloutStrategy::Rolling { batch_size: 0 }
                .validate()
                .is_err()
        );
        for weights in [vec![], vec![5, 1, 100], vec![1, 50], vec![0, 100]] {
            assert!(RolloutStrategy::Canary { weights }.validate().is_err());
        }
    }

    #[test]
    fn gates_are_validated() {
        assert!(HealthGate::default().validate().is_ok());
        let five = HealthGate {
            max_error_rate: 5.0,
            ..HealthGate::default()
        };
        assert_eq!(
            five.validate().unwrap_err().to_string(),
            "rollout: max_error_rate is 5; it must be a fraction from 0 to 1 (0.05 is 5%)"
        );
        for gate in [
            HealthGate {
                max_error_rate: f64::NAN,
                ..HealthGate::default()
            },
            HealthGate {
                max_error_rate_increase: -0.1,
                ..HealthGate::default()
            },
            HealthGate {
                max_latency_ms: 0.0,
                ..HealthGate::default()
            },
            HealthGate {
                max_latency_ratio: 0.5,
                ..HealthGate::default()
            },
            HealthGate {
                latency_slack_ms: f64::INFINITY,
                ..HealthGate::default()
            },
            HealthGate {
                apply_timeout: Duration::ZERO,
                ..HealthGate::default()
            },
        ] {
            assert!(gate.validate().is_err(), "{gate:?}");
        }
    }

    #[test]
    fn canary_regression_fails_the_gate() {
        let rollout = rollout(RolloutStrategy::canary(), &["a", "b", "c"]);
        let healthy = [
            member("a", Some(2), 0.0, 10.0),
            member("b", Some(1), 0.0, 10.0),
            member("c", Some(1), 0.01, 12.0),
        ];
        assert_eq!(rollout.check_gate(&healthy), Ok(()));
        let erroring = [
            member("a", Some(2), 0.04, 10.0), // under the absolute limit, over the baseline
            member("b", Some(1), 0.0, 10.0),
            member("c", Some(1), 0.0, 10.0),
        ];
        let reason = rollout.check_gate(&erroring).unwrap_err();
        assert!(reason.contains("regressed"), "{reason}");
        let slow = [
            member("a", Some(2), 0.0, 100.0),
            member("b", Some(1), 0.0, 10.0),
        ];
        assert!(rollout.check_gate(&slow).unwrap_err().contains("latency"));
    }

    #[test]
    fn rolling_gate_checks_presence_target_and_limits() {
        let rollout = rollout(RolloutStrategy::Rolling { batch_size: 1 }, &["a", "b"]);
        assert!(rollout.check_gate(&[]).unwrap_err().contains("left"));
        let old = [member("a", Some(1), 0.0, 1.0)];
        assert!(
            rollout
                .check_gate(&old)
                .unwrap_err()
                .contains("no longer runs")
        );
        let failing = [member("a", Some(2), 0.5, 1.0)];
        assert!(
            rollout
                .check_gate(&failing)
                .unwrap_err()
                .contains("error rate")
        );
        // A rolling gate does not compare with the others.
        let fine = [
            member("a", Some(2), 0.04, 1.0),
            member("b", Some(1), 0.0, 1.0),
        ];
        assert_eq!(rollout.check_gate(&fine), Ok(()));
    }

    #[test]
    fn skipped_members_are_not_updated() {
        let mut rollout = rollout(RolloutStrategy::Rolling { batch_size: 2 }, &["a", "b", "c"]);
        rollout.skipped.push("b".into());
        assert_eq!(rollout.updated(), ["a"]);
    }

    #[test]
    fn record_round_trips_through_json() {
        let mut rollout = rollout(RolloutStrategy::canary(), &["a"]);
        rollout.phase = RolloutPhase::Baking { until_ms: 9 };
        let json = serde_json::to_string(&rollout).unwrap();
        assert!(json.contains(r#""phase":"baking""#), "{json}");
        assert_eq!(serde_json::from_str::<Rollout>(&json).unwrap(), rollout);
    }

    #[test]
    fn a_bake_ends_at_a_time_of_day_an_operator_can_read() {
        let mut rollout = rollout(RolloutStrategy::Rolling { batch_size: 1 }, &["a"]);
        // 2026-12-06 00:08:01.490 UTC.
        rollout.phase = RolloutPhase::Baking {
            until_ms: 1_796_515_681_490,
        };
        assert!(
            rollout
                .to_string()
                .ends_with("step 1/1 baking until 00:08:01 UTC"),
            "{rollout}"
        );
    }
}
