//! The `memory_limiter` processor: refuses data while the process uses more memory than its soft limit, so the
//! collector sheds load instead of being killed.
//!
//! Same settings and meaning as otelcol's: the hard limit is `limit_mib` (or `limit_percentage` of the memory
//! available to the process), the soft limit is the hard limit minus `spike_limit_mib` (default 20% of the hard
//! limit), and usage is sampled every `check_interval`. Usage here is the process's resident set size.

use crate::Batch;
use crate::config::de;
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused};
use crate::telemetry::{Counter, Telemetry};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const MIB: u64 = 1024 * 1024;

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
    fn limits(&self, available: u64) -> (u64, u64) {
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

/// The resident set size of this process, from /proc (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Memory available to the process: its cgroup v2 limit when there is one, the machine's total otherwise.
fn available_bytes() -> Option<u64> {
    if let Ok(max) = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        && let Ok(bytes) = max.trim().parse::<u64>()
    {
        return Some(bytes);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The sampled state, shared by every pipeline that uses the same `memory_limiter` (as in otelcol).
pub(crate) struct MemoryState {
    over_soft_limit: AtomicBool,
    used: AtomicU64,
    soft_limit: u64,
    check_interval: Duration,
    sampler: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl MemoryState {
    pub(crate) fn start(
        id: &str,
        config: &MemoryLimiterConfig,
        telemetry: &Telemetry,
    ) -> Arc<Self> {
        let available = available_bytes().unwrap_or(u64::MAX);
        let (hard, soft) = config.limits(available);
        tracing::info!(
            processor = id,
            hard_limit_mib = hard / MIB,
            soft_limit_mib = soft / MIB,
            "memory limiter"
        );
        let state = Arc::new(MemoryState {
            over_soft_limit: AtomicBool::new(false),
            used: AtomicU64::new(0),
            soft_limit: soft,
            check_interval: config.check_interval,
            sampler: parking_lot::Mutex::new(None),
        });
        state.sample(id);
        let weak = Arc::downgrade(&state);
        let id_owned = id.to_string();
        let interval = config.check_interval;
        let handle = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(state) = weak.upgrade() else { break };
                state.sample(&id_owned);
            }
        });
        *state.sampler.lock() = Some(handle);
        let reader = Arc::downgrade(&state);
        telemetry.gauge(
            "otelcol_process_memory_rss",
            "Resident memory of the collector process, in bytes, as last sampled by the memory limiter.",
            &[],
            move || reader.upgrade().map_or(0, |s| s.used.load(Ordering::Relaxed)),
        );
        state
    }

    fn sample(&self, id: &str) {
        let Some(used) = resident_bytes() else { return };
        self.used.store(used, Ordering::Relaxed);
        let over = used > self.soft_limit;
        let was_over = self.over_soft_limit.swap(over, Ordering::Relaxed);
        if over != was_over {
            if over {
                tracing::warn!(
                    processor = id,
                    used_mib = used / MIB,
                    soft_limit_mib = self.soft_limit / MIB,
                    "memory usage above the soft limit: refusing data"
                );
            } else {
                tracing::info!(
                    processor = id,
                    used_mib = used / MIB,
                    "memory usage back below the soft limit"
                );
            }
        }
    }

    fn stop(&self) {
        if let Some(handle) = self.sampler.lock().take() {
            handle.abort();
        }
    }
}

pub(crate) struct MemoryLimiter {
    id: String,
    state: Arc<MemoryState>,
    refused: Counter,
    next: Arc<dyn Consumer>,
}

impl MemoryLimiter {
    pub(crate) fn new(
        id: &str,
        state: Arc<MemoryState>,
        signal: crate::Signal,
        telemetry: &Telemetry,
        next: Arc<dyn Consumer>,
    ) -> Self {
        MemoryLimiter {
            id: id.to_string(),
            refused: telemetry.counter(
                &format!("otelcol_processor_refused_{}", signal.item_unit()),
                "Number of items refused by a processor (the client was told to retry).",
                &[("processor", id)],
            ),
            state,
            next,
        }
    }
}

impl Consumer for MemoryLimiter {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        if self.state.over_soft_limit.load(Ordering::Relaxed) {
            self.refused.add(batch.item_count() as u64);
            let refusal = Refusal::unavailable(
                format!("{}: memory usage is above the soft limit", self.id),
                self.state.check_interval.max(Duration::from_secs(1)),
            );
            return Box::pin(async move { Err(Refused::returning(refusal, batch)) });
        }
        self.next.consume(batch)
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.next.flush(deadline)
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.state.stop();
        self.next.shutdown(deadline)
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

    #[test]
    fn reads_this_process_memory() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
            assert!(available_bytes().is_some_and(|b| b > 0));
        }
    }
}
