//! Synthetic telemetry for tests and benchmarks.
#![forbid(unsafe_code)]
