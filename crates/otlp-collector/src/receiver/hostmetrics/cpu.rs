//! The `cpu` scraper: each logical CPU's time per state from `/proc/stat`, its utilization between two scrapes,
//! and the CPU counts and frequencies from `/proc/cpuinfo`.

use super::Host;
use super::metric::{Builder, Kind, Spec};
use std::io;

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "system.cpu.time",
        description: "Total seconds each logical CPU spent on each mode.",
        unit: "s",
        kind: Kind::Counter,
        default: true,
    },
    Spec {
        name: "system.cpu.utilization",
        description: "Difference in system.cpu.time since the last measurement per logical CPU, divided by the \
                      elapsed time (value in interval [0,1]).",
        unit: "1",
        kind: Kind::Gauge,
        default: false,
    },
    Spec {
        name: "system.cpu.logical.count",
        description: "Number of available logical CPUs.",
        unit: "{cpu}",
        kind: Kind::UpDown,
        default: false,
    },
    Spec {
        name: "system.cpu.physical.count",
        description: "Number of available physical CPUs.",
        unit: "{cpu}",
        kind: Kind::UpDown,
        default: false,
    },
    Spec {
        name: "system.cpu.frequency",
        description: "Current frequency of the CPU core in Hz.",
        unit: "Hz",
        kind: Kind::Gauge,
        default: false,
    },
];

/// `/proc/stat`'s columns in order, by otelcol's state names (`iowait` is `wait`, `irq` is `interrupt`); the
/// `guest` columns are left out, as the kernel already counts them in `user` and `nice`.
const STATES: [&str; 8] = [
    "user",
    "nice",
    "system",
    "idle",
    "wait",
    "interrupt",
    "softirq",
    "steal",
];

/// The kernel's `USER_HZ`: `/proc/stat` counts in hundredths of a second on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// One logical CPU's seconds in each of [`STATES`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CpuTimes {
    pub(super) cpu: String,
    pub(super) seconds: [f64; 8],
}

/// The per-CPU lines of `/proc/stat` (`cpu0 ...`), not the `cpu` total.
pub(super) fn parse_stat(text: &str) -> Vec<CpuTimes> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let cpu = fields.next()?.strip_prefix("cpu")?;
            if cpu.is_empty() {
                return None;
            }
            let mut seconds = [0.0; 8];
            for slot in &mut seconds {
                // Older kernels have fewer columns: the missing ones stay 0.
                *slot = fields.next().map_or(Ok(0.0), str::parse::<f64>).ok()? / TICKS_PER_SECOND;
            }
            Some(CpuTimes {
                cpu: cpu.to_owned(),
                seconds,
            })
        })
        .collect()
}

/// `btime` of `/proc/stat`: boot time, seconds since the epoch.
pub(super) fn boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse().ok())
}

/// Frequencies in Hz (`cpu MHz`) and the count of physical cores (distinct `physical id` and `core id`) of
/// `/proc/cpuinfo`.
pub(super) fn parse_cpuinfo(text: &str) -> (Vec<(String, f64)>, usize) {
    let mut frequencies = Vec::new();
    let mut cores = std::collections::BTreeSet::new();
    for block in text.split("\n\n") {
        let field = |name: &str| {
            block.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == name).then(|| value.trim())
            })
        };
        let Some(processor) = field("processor") else {
            continue;
        };
        if let Some(mhz) = field("cpu MHz").and_then(|v| v.parse::<f64>().ok()) {
            frequencies.push((processor.to_owned(), mhz * 1e6));
        }
        cores.insert((
            field("physical id").unwrap_or("0").to_owned(),
            field("core id").unwrap_or(processor).to_owned(),
        ));
    }
    (frequencies, cores.len())
}

/// The scraper, with the last scrape's times for `system.cpu.utilization`.
#[derive(Debug, Default)]
pub(super) struct Cpu {
    last: Option<Vec<CpuTimes>>,
}

impl Cpu {
    pub(super) fn scrape(&mut self, host: &Host, out: &mut Builder<'_>) -> io::Result<()> {
        let times = parse_stat(&host.read("proc/stat")?);
        for cpu in &times {
            for (state, seconds) in STATES.iter().zip(cpu.seconds) {
                out.double(
                    "system.cpu.time",
                    seconds,
                    &[("cpu", &cpu.cpu), ("state", state)],
                );
            }
        }
        if let Some(last) = &self.last {
            for cpu in &times {
                let Some(before) = last.iter().find(|b| b.cpu == cpu.cpu) else {
                    continue;
                };
                // Shares of the time the CPU's counters advanced by, as otelcol computes them: the wall clock
                // between scrapes is not what the kernel counted.
                let spent: Vec<f64> = (0..STATES.len())
                    .map(|i| (cpu.seconds[i] - before.seconds[i]).max(0.0))
                    .collect();
                let total: f64 = spent.iter().sum();
                for (state, spent) in STATES.iter().zip(spent) {
                    let share = if total > 0.0 { spent / total } else { 0.0 };
                    out.double(
                        "system.cpu.utilization",
                        share,
                        &[("cpu", &cpu.cpu), ("state", state)],
                    );
                }
            }
        }
        out.int("system.cpu.logical.count", times.len() as i64, &[]);
        if out.wants("system.cpu.frequency") || out.wants("system.cpu.physical.count") {
            let (frequencies, cores) = parse_cpuinfo(&host.read("proc/cpuinfo")?);
            for (cpu, hz) in frequencies {
                out.double("system.cpu.frequency", hz, &[("cpu", &cpu)]);
            }
            out.int("system.cpu.physical.count", cores as i64, &[]);
        }
        self.last = Some(times);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
