//! The load monitor: CPU and memory of this process (sysinfo), and what the pipeline feeds in —
//! items received and exported, export latency and failures, queue depth — turned into rates,
//! a Little's-law queue-wait estimate and one pressure figure for the degradation controller.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::error::{Error, Result};
use crate::fleet::LoadReport;
use crate::protect::DegradationLevel;

/// The limits pressure is measured against; 1.0 pressure means one of them is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadLimits {
    /// Share of the machine's CPU this process may use (0.0–1.0 of all cores).
    pub max_cpu: f64,
    /// Resident memory this process may use, in bytes.
    pub max_memory_bytes: u64,
    /// Longest acceptable wait in the queue (Little's law estimate).
    #[serde(with = "crate::duration_ms")]
    pub max_queue_wait: Duration,
    /// Deepest acceptable queue, in items.
    pub max_queue_depth: u64,
    /// Slowest acceptable mean export latency.
    #[serde(with = "crate::duration_ms")]
    pub max_export_latency: Duration,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_cpu: 0.9,
            max_memory_bytes: 1 << 30,
            max_queue_wait: Duration::from_secs(5),
            max_queue_depth: 100_000,
            max_export_latency: Duration::from_secs(5),
        }
    }
}

impl LoadLimits {
    /// Checks that every limit is positive.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first bad limit.
    pub fn validate(&self) -> Result<()> {
        if !(self.max_cpu > 0.0 && self.max_cpu <= 1.0) {
            return Err(Error::Config(format!(
                "max_cpu must be in (0, 1], got {}",
                self.max_cpu
            )));
        }
        if self.max_memory_bytes == 0 || self.max_queue_depth == 0 {
            return Err(Error::Config(
                "max_memory_bytes and max_queue_depth must be positive".into(),
            ));
        }
        if self.max_queue_wait.is_zero() || self.max_export_latency.is_zero() {
            return Err(Error::Config(
                "max_queue_wait and max_export_latency must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Little's law `L = λ W` solved for the wait: a queue holding `depth` items drained at
/// `throughput` items/s makes a new item wait `depth / throughput`. `None` when items wait but
/// nothing drains (the wait is unbounded).
pub fn littles_law_wait(depth: u64, throughput_per_sec: f64) -> Option<Duration> {
    if depth == 0 {
        return Some(Duration::ZERO);
    }
    if throughput_per_sec.is_nan() || throughput_per_sec <= 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(depth as f64 / throughput_per_sec).ok()
}

/// One reading of the load, over the interval since the previous reading.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSample {
    /// Share of all cores used by this process, 0.0–1.0.
    pub cpu: f64,
    /// Resident memory of this process in bytes.
    pub memory_bytes: u64,
    /// Items queued now.
    pub queue_depth: u64,
    /// Items received per second.
    pub arrival_rate: f64,
    /// Items exported (successfully or not) per second.
    pub throughput: f64,
    /// Mean export latency over the interval (zero when nothing was exported).
    pub export_latency: Duration,
    /// Share of exported items that failed over the interval.
    pub error_rate: f64,
    /// Little's-law estimate of how long a new item waits; `None` when nothing drains.
    pub queue_wait: Option<Duration>,
}

impl LoadSample {
    /// The largest of the load ratios against `limits` (CPU, memory, queue wait, queue depth,
    /// export latency): 1.0 means a limit is reached. Error rate is not part of it: failing
    /// exports are the circuit breaker's business, not a reason to shed input.
    pub fn pressure(&self, limits: &LoadLimits) -> f64 {
        let wait = self.queue_wait.map_or(f64::INFINITY, |wait| {
            wait.as_secs_f64() / limits.max_queue_wait.as_secs_f64()
        });
        [
            self.cpu / limits.max_cpu,
            self.memory_bytes as f64 / limits.max_memory_bytes as f64,
            wait,
            self.queue_depth as f64 / limits.max_queue_depth as f64,
            self.export_latency.as_secs_f64() / limits.max_export_latency.as_secs_f64(),
        ]
        .into_iter()
        .fold(0.0, f64::max)
    }

    /// The load a member publishes to the fleet.
    pub fn to_report(&self, level: DegradationLevel) -> LoadReport {
        LoadReport {
            spans_per_sec: self.arrival_rate,
            queue_depth: self.queue_depth,
            cpu: self.cpu,
            memory_bytes: self.memory_bytes,
            export_latency_ms: self.export_latency.as_secs_f64() * 1e3,
            error_rate: self.error_rate,
            level,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    latency_micros: AtomicU64,
    exports: AtomicU64,
    queue_depth: AtomicU64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    received: u64,
    exported: u64,
    failed: u64,
    latency_micros: u64,
    exports: u64,
}

#[derive(Debug)]
struct Sampler {
    system: System,
    pid: Option<Pid>,
    cores: f64,
    previous: Totals,
    previous_at: Option<Instant>,
}

/// Collects load from the pipeline (cheap atomic counters, callable from any task) and reads
/// CPU and memory when sampled.
#[derive(Debug)]
pub struct LoadMonitor {
    counters: Counters,
    sampler: Mutex<Sampler>,
}

impl Default for LoadMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl LoadMonitor {
    /// A monitor for this process.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        Self {
            counters: Counters::default(),
            sampler: Mutex::new(Sampler {
                system: System::new(),
                pid: sysinfo::get_current_pid().ok(),
                cores,
                previous: Totals::default(),
                previous_at: None,
            }),
        }
    }

    /// Counts `items` received.
    pub fn record_received(&self, items: u64) {
        self.counters.received.fetch_add(items, Ordering::Relaxed);
    }

    /// Counts one export of `items` that took `latency` and succeeded or failed.
    pub fn record_export(&self, items: u64, latency: Duration, ok: bool) {
        let counter = if ok {
            &self.counters.exported
        } else {
            &self.counters.failed
        };
        counter.fetch_add(items, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.counters
            .latency_micros
            .fetch_add(micros, Ordering::Relaxed);
        self.counters.exports.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the current queue depth in items.
    pub fn set_queue_depth(&self, depth: u64) {
        self.counters.queue_depth.store(depth, Ordering::Relaxed);
    }

    /// Reads CPU and memory through sysinfo and returns the load since the previous sample.
    /// CPU is measured between two calls, so the first sample reports 0 CPU.
    pub fn sample(&self, now: Instant) -> LoadSample {
        let mut sampler = self.sampler.lock();
        let (cpu, memory) = match sampler.pid {
            Some(pid) => {
                sampler.system.refresh_processes_specifics(
                    ProcessesToUpdate::Some(&[pid]),
                    true,
                    ProcessRefreshKind::nothing().with_cpu().with_memory(),
                );
                let cores = sampler.cores;
                sampler.system.process(pid).map_or((0.0, 0), |process| {
                    (
                        f64::from(process.cpu_usage()) / 100.0 / cores,
                        process.memory(),
                    )
                })
            }
            None => (0.0, 0),
        };
        self.sample_locked(&mut sampler, now, cpu.clamp(0.0, 1.0), memory)
    }

    /// As [`sample`](Self::sample), with CPU (share of all cores) and memory supplied by the
    /// caller — for a caller with its own meters, and for simulated load in tests.
    pub fn sample_with(&self, now: Instant, cpu: f64, memory_bytes: u64) -> LoadSample {
        let mut sampler = self.sampler.lock();
        self.sample_locked(&mut sampler, now, cpu, memory_bytes)
    }

    fn sample_locked(
        &self,
        sampler: &mut Sampler,
        now: Instant,
        cpu: f64,
        memory_bytes: u64,
    ) -> LoadSample {
        let totals = Totals {
            received: self.counters.received.load(Ordering::Relaxed),
            exported: self.counters.exported.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            latency_micros: self.counters.latency_micros.load(Ordering::Relaxed),
            exports: self.counters.exports.load(Ordering::Relaxed),
        };
        let previous = sampler.previous;
        let elapsed = sampler
            .previous_at
            .map(|at| now.saturating_duration_since(at).as_secs_f64())
            .filter(|secs| *secs > 0.0);
        sampler.previous = totals;
        sampler.previous_at = Some(now);
        let rate = |now: u64, before: u64| {
            elapsed.map_or(0.0, |secs| now.saturating_sub(before) as f64 / secs)
        };
        let exported = totals.exported.saturating_sub(previous.exported);
        let failed = totals.failed.saturating_sub(previous.failed);
        let exports = totals.exports.saturating_sub(previous.exports);
        let latency_micros = totals
            .latency_micros
            .saturating_sub(previous.latency_micros);
        let queue_depth = self.counters.queue_depth.load(Ordering::Relaxed);
        let throughput = rate(
            totals.exported + totals.failed,
            previous.exported + previous.failed,
        );
        LoadSample {
            cpu,
            memory_bytes,
            queue_depth,
            arrival_rate: rate(totals.received, previous.received),
            throughput,
            export_latency: Duration::from_micros(latency_micros.checked_div(exports).unwrap_or(0)),
            error_rate: match exported + failed {
                0 => 0.0,
                all => failed as f64 / all as f64,
            },
            queue_wait: if elapsed.is_none() && queue_depth > 0 {
                // No interval yet to measure a drain rate over: assume nothing about the wait.
                Some(Duration::ZERO)
            } else {
                littles_law_wait(queue_depth, throughput)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn littles_law() {
        assert_eq!(littles_law_wait(0, 0.0), Some(Duration::ZERO));
        assert_eq!(littles_law_wait(1000, 500.0), Some(Duration::from_secs(2)));
        assert_eq!(littles_law_wait(10, 0.0), None);
    }

    #[test]
    fn rates_latency_and_errors_over_the_interval() {
        let monitor = LoadMonitor::new();
        let start = Instant::now();
        monitor.sample_with(start, 0.1, 1000);
        monitor.record_received(2000);
        monitor.record_export(900, Duration::from_millis(10), true);
        monitor.record_export(100, Duration::from_millis(30), false);
        monitor.set_queue_depth(500);
        let sample = monitor.sample_with(start + Duration::from_secs(2), 0.2, 2000);
        assert_eq!(sample.arrival_rate, 1000.0);
        assert_eq!(sample.throughput, 500.0);
        assert_eq!(sample.export_latency, Duration::from_millis(20));
        assert!((sample.error_rate - 0.1).abs() < 1e-12);
        assert_eq!(sample.queue_wait, Some(Duration::from_secs(1)));
        let limits = LoadLimits {
            max_queue_wait: Duration::from_secs(2),
            ..LoadLimits::default()
        };
        assert!((sample.pressure(&limits) - 0.5).abs() < 1e-12);
        let report = sample.to_report(DegradationLevel::Light);
        assert_eq!(report.queue_depth, 500);
        assert_eq!(report.export_latency_ms, 20.0);
    }

    #[test]
    fn a_queue_that_does_not_drain_is_maximum_pressure() {
        let monitor = LoadMonitor::new();
        let start = Instant::now();
        monitor.sample_with(start, 0.0, 0);
        monitor.set_queue_depth(10);
        let sample = monitor.sample_with(start + Duration::from_secs(1), 0.0, 0);
        assert_eq!(sample.queue_wait, None);
        assert!(sample.pressure(&LoadLimits::default()).is_infinite());
    }

    #[test]
    fn real_process_readings_are_in_range() {
        let monitor = LoadMonitor::new();
        let start = Instant::now();
        monitor.sample(start);
        let busy_until = Instant::now() + Duration::from_millis(250);
        let mut spins = 0u64;
        while Instant::now() < busy_until {
            spins = spins.wrapping_add(1);
        }
        let sample = monitor.sample(Instant::now());
        assert!(spins > 0);
        assert!((0.0..=1.0).contains(&sample.cpu), "{}", sample.cpu);
        assert!(sample.memory_bytes > 0);
    }

    #[test]
    fn limits_are_validated() {
        assert!(LoadLimits::default().validate().is_ok());
        let bad = LoadLimits {
            max_cpu: 0.0,
            ..LoadLimits::default()
        };
        assert!(bad.validate().is_err());
    }
}
