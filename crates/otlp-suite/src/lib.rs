//! otlp-suite: OpenTelemetry at scale. This crate is the umbrella over the otlp-suite crates, each re-exported
//! behind a feature of the same name, and the home of the `otlp-suite` binary (collector, load generator,
//! inspector; feature `cli`, on by default: a library user who only wants the crates turns default features off).
//!
//! ```
//! # #[cfg(feature = "collector")]
//! # {
//! use otlp_suite::collector::Config;
//!
//! // The config `otlp-suite collect` runs when it is given none.
//! let config = Config::embedded_default().unwrap();
//! assert_eq!(config.service.pipelines.len(), 3);
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

/// The pipeline runtime (receivers, processors, exporters, config).
#[cfg(feature = "collector")]
pub use otlp_collector as collector;

/// OTLP <-> Arrow columnar conversion, Arrow IPC files and Arrow Flight.
#[cfg(feature = "arrow")]
pub use otlp_arrow as arrow;

/// Head samplers and the tail-sampling engine.
#[cfg(feature = "sampling")]
pub use otlp_sampling as sampling;

/// Trace-context propagators for service meshes, and a tower layer.
#[cfg(feature = "mesh")]
pub use otlp_mesh as mesh;

/// Load balancing: balancers, consistent hashing, outlier ejection, resolvers, a tower layer.
#[cfg(feature = "lb")]
pub use otlp_lb as lb;

/// Fleet coordination and local protection (`otlp_control`), with the etcd backend.
#[cfg(feature = "fleet")]
pub use otlp_control as control;

#[cfg(feature = "fleet")]
pub mod fleet;

/// Tracing for serverless functions: resource detection, the Lambda layer, the extension client.
#[cfg(feature = "faas")]
pub use otlp_faas as faas;
