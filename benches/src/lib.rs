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

/// CPU time this process has used so far, on every thread (user + system), from the kernel's process CPU clock;
/// `None` where there is none. Not read from `/proc/self/stat`: its resolution is a clock tick (10 ms), and
/// qemu's user-mode emulator (`cargo xtask cross`) answers that file with zeros.
pub fn process_cpu_time() -> Option<Duration> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let seconds = u64::try_from(now.tv_sec).ok()?;
    let nanos = u32::try_from(now.tv_nsec).ok()?;
    Some(Duration::new(seconds, nanos))
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
