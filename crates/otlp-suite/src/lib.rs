//! otlp-suite: OpenTelemetry at scale.
#![forbid(unsafe_code)]

pub mod error;
pub mod loadgen;

pub use error::Error;
