//! The `memory_limiter` processor: refuses data while the process uses more memory than its soft limit, so the
//! collector sheds load instead of being killed.
//!
//! Same settings and meaning as otelcol's: the hard limit is `limit_mib` (or `limit_percentage` of the memory
//! available to the process), the soft limit is the hard limit minus `spike_limit_mib` (default 20% of the hard
//! limit), and usage is sampled every `check_interval`. Usage here is the process's resident set size.

mod config;

pub use config::MemoryLimiterConfig;

use crate::Batch;
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused};
use crate::telemetry::{Counter, Telemetry};
use config::MIB;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The `memory_limiter` processor type. Every pipeline that names the same id shares one limiter, as in otelcol.
pub struct Factory;

impl Component for Factory {
    type Config = MemoryLimiterConfig;
    const TYPE: &'static str = "memory_limiter";

    fn validate(&self, config: &MemoryLimiterConfig) -> Result<(), Invalid> {
        Ok(config.validate()?)
    }
}

impl ProcessorFactory for Factory {
    fn build(
        &self,
        config: &MemoryLimiterConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let state = context.shared(|| MemoryState::start(context.id, config, context.telemetry));
        Ok(Arc::new(MemoryLimiter::new(&context, state, next)))
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
struct MemoryState {
    /// Whether usage is above the soft limit; watched by stages waiting to offer data again.
    over_soft_limit: watch::Sender<bool>,
    used: AtomicU64,
    /// The last sample, for the self-metric (which outlives no state: it reads this copy).
    used_reader: Arc<AtomicU64>,
    soft_limit: u64,
    check_interval: Duration,
    sampler: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl MemoryState {
    fn start(id: &str, config: &MemoryLimiterConfig, telemetry: &Telemetry) -> Self {
        let available = available_bytes().unwrap_or(u64::MAX);
        let (hard, soft) = config.limits(available);
        tracing::info!(
            processor = id,
            hard_limit_mib = hard / MIB,
            soft_limit_mib = soft / MIB,
            "memory limiter"
        );
        let state = MemoryState {
            over_soft_limit: watch::Sender::new(false),
            used: AtomicU64::new(0),
            soft_limit: soft,
            check_interval: config.check_interval,
            sampler: parking_lot::Mutex::new(None),
            used_reader: Arc::new(AtomicU64::new(0)),
        };
        state.sample(id);
        let reader = state.used_reader.clone();
        telemetry.gauge(
            "otelcol_process_memory_rss",
            "Resident memory of the collector process, in bytes, as last sampled by the memory limiter.",
            &[],
            move || reader.load(Ordering::Relaxed),
        );
        state
    }

    /// Samples memory every `check_interval` while the state is alive.
    fn run_sampler(self: &Arc<Self>, id: &str) {
        let weak = Arc::downgrade(self);
        let id = id.to_string();
        let interval = self.check_interval;
        let handle = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(state) = weak.upgrade() else { break };
                state.sample(&id);
            }
        });
        *self.sampler.lock() = Some(handle);
    }

    fn sample(&self, id: &str) {
        let Some(used) = resident_bytes() else { return };
        self.used.store(used, Ordering::Relaxed);
        self.used_reader.store(used, Ordering::Relaxed);
        let over = used > self.soft_limit;
        let was_over = self.over_soft_limit.send_replace(over);
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

struct MemoryLimiter {
    id: String,
    state: Arc<MemoryState>,
    refused: Counter,
    next: Arc<dyn Consumer>,
}

impl MemoryLimiter {
    fn new(
        context: &ProcessorContext<'_>,
        state: Arc<MemoryState>,
        next: Arc<dyn Consumer>,
    ) -> Self {
        if state.sampler.lock().is_none() {
            state.run_sampler(context.id);
        }
        MemoryLimiter {
            id: context.id.to_string(),
            refused: context.telemetry.counter(
                &format!("otelcol_processor_refused_{}", context.signal().item_unit()),
                "Number of items refused by a processor (the client was told to retry).",
                &[("processor", context.id)],
            ),
            state,
            next,
        }
    }
}

impl Consumer for MemoryLimiter {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        if *self.state.over_soft_limit.borrow() {
            self.refused.add(batch.item_count() as u64);
            let refusal = Refusal::unavailable(
                format!("{}: memory usage is above the soft limit", self.id),
                self.state.check_interval.max(Duration::from_secs(1)),
            );
            return Box::pin(async move { Err(Refused::returning(refusal, batch)) });
        }
        self.next.consume(batch)
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut over = self.state.over_soft_limit.subscribe();
            // The sender lives in the shared state this limiter holds, so the wait cannot fail.
            let _ = over.wait_for(|over| !over).await;
            self.next.ready(items).await;
        })
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
    fn reads_this_process_memory() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
            assert!(available_bytes().is_some_and(|b| b > 0));
        }
    }
}
