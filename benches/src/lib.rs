//! Helpers shared by the cross-crate benchmarks: the same workload for every contender, and process CPU time.
//!
//! ```
//! let requests = otlp_benches::encoded_trace_requests(7, 4, 16);
//! assert_eq!(requests.len(), 4);
//! ```
#![forbid(unsafe_code)]

use prost::Message;
use std::time::Duration;

/// `requests` protobuf-encoded `ExportTraceServiceRequest`s of `spans_per_request` realistic spans each.
pub fn encoded_trace_requests(
    seed: u64,
    requests: usize,
    spans_per_request: usize,
) -> Vec<Vec<u8>> {
    let mut generator = otlp_testkit::Generator::new(seed);
    (0..requests)
        .map(|_| generator.traces(spans_per_request).encode_to_vec())
        .collect()
}

/// CPU time this process has used so far, on every thread (user + system), from `/proc/self/stat`; `None` where
/// there is no procfs. Resolution is one clock tick (10 ms with the usual `CLK_TCK` of 100).
pub fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces; the fields that follow it are space-separated.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    const TICKS_PER_SECOND: u64 = 100;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_grows_with_work() {
        let before = super::process_cpu_time().unwrap();
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(100) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        assert!(x != 42);
        assert!(super::process_cpu_time().unwrap() > before);
    }
}
