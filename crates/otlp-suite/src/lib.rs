//! otlp-suite: OpenTelemetry at scale. This crate is the umbrella over the otlp-suite crates, each re-exported
//! behind a feature of the same name, and the home of the `otlp-suite` binary (collector, load generator).
//!
//! ```
//! use otlp_suite::collector::Config;
//!
//! // The config `otlp-suite collect` runs when it is given none.
//! let config = Config::embedded_default().unwrap();
//! assert_eq!(config.service.pipelines.len(), 3);
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod error;
pub mod inspect;
pub mod lambda_extension;
pub mod loadgen;

pub use error::Error;

/// The pipeline runtime (receivers, processors, exporters, config).
pub use otlp_collector as collector;

/// OTLP <-> Arrow columnar conversion and Arrow IPC files.
pub use otlp_arrow as arrow;

/// Realistic synthetic telemetry.
pub use otlp_testkit as testkit;

/// Head samplers and the tail-sampling engine.
#[cfg(feature = "sampling")]
pub use otlp_sampling as sampling;

/// Trace-context propagators for service meshes, and a tower layer.
#[cfg(feature = "mesh")]
pub use otlp_mesh as mesh;

/// Tracing for serverless functions: resource detection, the Lambda layer, the extension client.
pub use otlp_faas as faas;
