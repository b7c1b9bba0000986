//! The `degradation` extension (ours; otelcol has none): local protection. Every `check_interval` it reads the
//! collector's load ([`SelfLoad`]: CPU, memory, queue depth and Little's-law queue wait, export latency), divides
//! each figure by its limit, and turns the largest ratio, the pressure, into one of five levels with hysteresis:
//! Normal (keep 100%), Light (50%), Moderate (10%), Heavy (1%), Emergency (errors only). Escalation is immediate;
//! stepping down goes one level at a time after `min_dwell`, so a noisy load does not flap.
//!
//! The level is applied where data enters: the receivers shed traces at admission as [`shed_at`] says
//! (consistent-probability sampling that keeps every error span, see [`LoadShedding`]), and it is published as
//! the `otelcol_degradation_level` gauge, which a fleet member reports to the fleet.
//!
//! Its settings hot-reload like any component's: a reload restarts the extension with the new limits and
//! thresholds, and the new controller decides its level from the load on its first check (escalation being
//! immediate, a loaded collector is back at its level within one check; a step down waits out `min_dwell` again).
//! One `degradation` extension per collector: two would steer the same admission setting.
//!
//! ```yaml
//! extensions:
//!   degradation:
//!     check_interval: 1s
//!     limits: { max_cpu: 0.9, max_memory_mib: 1024, max_queue_wait: 5s, max_queue_depth: 100000, max_export_latency: 5s }
//!     thresholds: { enter: [0.7, 0.8, 0.9, 0.97], leave: [0.6, 0.7, 0.8, 0.9], min_dwell: 5s }
//! service:
//!   extensions: [degradation]
//! ```

mod config;
mod self_load;

pub use config::{DegradationConfig, LimitsConfig, ThresholdsConfig};
pub use self_load::SelfLoad;

use crate::component::{Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension};
use crate::pipeline::BoxFuture;
use crate::telemetry::Telemetry;
use crate::{Error, LoadShedding};
use otlp_control::protect::{DegradationController, DegradationLevel};
use otlp_sampling::consistent::Threshold;
use otlp_sampling::shed::Shed;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tokio::task::JoinHandle;

/// The gauge holding the current level: 0 Normal, 1 Light, 2 Moderate, 3 Heavy, 4 Emergency.
pub const LEVEL_METRIC: &str = "otelcol_degradation_level";

/// What the receivers shed at `level`: nothing at Normal, every span but errors at Emergency, and in between the
/// level's consistent-sampling threshold, so every collector at the same level keeps the same traces.
pub fn shed_at(level: DegradationLevel) -> Option<Shed> {
    match level {
        DegradationLevel::Normal => None,
        DegradationLevel::Emergency => Some(Shed::AllButErrors),
        degraded => Some(
            Threshold::from_raw(degraded.rejection_threshold())
                .map_or(Shed::AllButErrors, Shed::Below),
        ),
    }
}

/// The level a `degradation` extension set in `telemetry`; Normal when none runs.
pub fn current_level(telemetry: &Telemetry) -> DegradationLevel {
    let index = telemetry.value(LEVEL_METRIC, &[]).unwrap_or(0);
    DegradationLevel::from_index(usize::try_from(index).unwrap_or(usize::MAX))
}

/// The `degradation` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = DegradationConfig;
    const TYPE: &'static str = "degradation";

    fn validate(&self, config: &DegradationConfig) -> Result<(), Invalid> {
        Invalid::check(config.problems())
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        config: &DegradationConfig,
        context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        let controller =
            DegradationController::new(config.degradation_thresholds()).map_err(|error| {
                Error::Start {
                    component: format!("extensions.{}", context.id),
                    message: error.to_string(),
                }
            })?;
        let level = Arc::new(AtomicUsize::new(DegradationLevel::Normal.index()));
        let published = Arc::clone(&level);
        context.telemetry.gauge(
            LEVEL_METRIC,
            "Degradation level: 0 normal, 1 light, 2 moderate, 3 heavy, 4 emergency.",
            &[],
            move || published.load(Ordering::Relaxed) as u64,
        );
        let task = tokio::spawn(control(
            Controlled {
                controller,
                limits: config.load_limits(),
                load: SelfLoad::new(context.telemetry),
                shedding: context.shedding.clone(),
                level: Arc::clone(&level),
            },
            config.check_interval,
        ));
        tracing::info!(extension = %context.id, "degradation controller running");
        Ok(Box::new(RunningDegradation {
            task,
            shedding: context.shedding,
            level,
        }))
    }
}

/// What the control loop reads and steers.
struct Controlled {
    controller: DegradationController,
    limits: otlp_control::protect::LoadLimits,
    load: SelfLoad,
    shedding: LoadShedding,
    level: Arc<AtomicUsize>,
}

/// Reads the load every `interval` and applies the level it amounts to, until aborted.
async fn control(mut controlled: Controlled, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let at = Instant::now();
        let sample = controlled.load.sample(at);
        let pressure = sample.pressure(&controlled.limits);
        if let Some(transition) = controlled.controller.observe(pressure, at) {
            tracing::warn!(
                from = %transition.from,
                to = %transition.to,
                pressure,
                "degradation level changed; shedding traces accordingly"
            );
        }
        let level = controlled.controller.level();
        controlled.level.store(level.index(), Ordering::Relaxed);
        match shed_at(level) {
            Some(shed) => controlled.shedding.set(shed),
            None => controlled.shedding.keep_all(),
        }
    }
}

/// A started `degradation` extension.
struct RunningDegradation {
    task: JoinHandle<()>,
    shedding: LoadShedding,
    level: Arc<AtomicUsize>,
}

impl RunningExtension for RunningDegradation {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        self.task.abort();
        // Nothing steers admission once the controller stops; a reloaded config without it must not keep
        // shedding at the last level.
        self.shedding.keep_all();
        self.level
            .store(DegradationLevel::Normal.index(), Ordering::Relaxed);
        Box::pin(async {})
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

    #[test]
    fn a_collector_without_the_extension_is_at_normal() {
        assert_eq!(current_level(&Telemetry::new()), DegradationLevel::Normal);
    }
}
