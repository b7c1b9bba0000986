//! otlp-suite: OpenTelemetry at scale. This crate is the umbrella over the otlp-suite crates, each re-exported
//! behind a feature of its name, and the home of the `otlp-suite` binary (collector, load generator,
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
//!
//! With `default-features = false, features = ["sampling", "lb"]` (the README's example):
//!
//! ```
//! # #[cfg(all(feature = "lb", feature = "sampling"))]
//! # {
//! use otlp_suite::lb::policy::ConsistentHash;
//! use otlp_suite::lb::{Balancer, Endpoint};
//! use otlp_suite::sampling::head::{ConsistentProbabilitySampler, parent_based};
//!
//! // A head sampler for the SDK (`SdkTracerProvider::builder().with_sampler(sampler)`): 25% of the
//! // traces, the same traces in every service.
//! let sampler = parent_based(ConsistentProbabilitySampler::new(0.25)?);
//!
//! // Every span of a trace to the same collector: consistent hashing on the trace id.
//! let ring = Balancer::new(ConsistentHash::new());
//! ring.set_endpoints((1..=3).map(|i| Endpoint::new(format!("collector-{i}:4317"))))?;
//! let pick = ring.pick_key(&[0x4b_u8; 16])?;
//! println!("trace 4b4b… goes to {}", pick.endpoint().address());
//! pick.success();
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! Each library crate is an optional dependency behind a feature: a crate whose feature is off is not built,
//! unless a crate that is on depends on it: `--no-default-features --features sampling` builds otlp-sampling and
//! the crates it uses, nothing else of ours; `collector` builds every crate the pipeline runtime uses.
//!
//! | feature | re-export | what it is |
//! |---|---|---|
//! | `model` | `otlp_suite::model` | `otlp-model`: the signals and one trait over their export requests |
//! | `collector` | `otlp_suite::collector` | `otlp-collector`: the pipeline runtime (builds the crates it uses too: otlp-model, -sampling, -lb, -control, -ottl, -arrow and theirs) |
//! | `sampling` (default) | `otlp_suite::sampling` | `otlp-sampling`: head samplers and the tail-sampling engine |
//! | `lb` (default) | `otlp_suite::lb` | `otlp-lb`: load balancing |
//! | `mesh` (default) | `otlp_suite::mesh` | `otlp-mesh`: trace-context propagators for service meshes, a tower layer |
//! | `control` | `otlp_suite::control` | `otlp-control`: local protection and the fleet model, without its etcd backend |
//! | `arrow` | `otlp_suite::arrow` | `otlp-arrow`: OTLP <-> Arrow, Parquet and Arrow IPC files, Arrow Flight |
//! | `ottl` | `otlp_suite::ottl` | `otlp-ottl`: the OpenTelemetry Transformation Language |
//! | `faas` | `otlp_suite::faas` | `otlp-faas`: serverless functions (builds otlp-mesh too, for X-Ray) |
//! | `simd` | `otlp_suite::simd` | `otlp-simd`: SIMD kernels with runtime CPU dispatch |
//! | `mempool` | `otlp_suite::mempool` | `otlp-mempool`: object pool, arenas, pooled buffers |
//! | `full` | all of the above | every library crate (not `cli`'s own dependencies, not `fleet`) |
//! | `cli` (default) | | the `otlp-suite` binary; turns on `collector`, `arrow` and `faas` |
//! | `fleet` | `otlp_suite::fleet`, `otlp_suite::control` | the collector's `fleet` extension and `otlp-suite fleet`, on etcd (with otlp-control's `etcd` feature); etcd-client's build script needs `protoc` |
// docs.rs (`--cfg docsrs`, nightly) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

/// The OTLP model every otlp-suite crate shares: signals, one trait over their export requests.
#[cfg(feature = "model")]
#[cfg_attr(docsrs, doc(cfg(feature = "model")))]
pub use otlp_model as model;

/// The pipeline runtime (receivers, processors, exporters, config).
#[cfg(feature = "collector")]
#[cfg_attr(docsrs, doc(cfg(feature = "collector")))]
pub use otlp_collector as collector;

/// OTLP <-> Arrow columnar conversion, Arrow IPC files and Arrow Flight.
#[cfg(feature = "arrow")]
#[cfg_attr(docsrs, doc(cfg(feature = "arrow")))]
pub use otlp_arrow as arrow;

/// Head samplers and the tail-sampling engine.
#[cfg(feature = "sampling")]
#[cfg_attr(docsrs, doc(cfg(feature = "sampling")))]
pub use otlp_sampling as sampling;

/// Trace-context propagators for service meshes, and a tower layer.
#[cfg(feature = "mesh")]
#[cfg_attr(docsrs, doc(cfg(feature = "mesh")))]
pub use otlp_mesh as mesh;

/// Load balancing: balancers, consistent hashing, outlier ejection, resolvers, a tower layer.
#[cfg(feature = "lb")]
#[cfg_attr(docsrs, doc(cfg(feature = "lb")))]
pub use otlp_lb as lb;

/// Local protection (load monitor, degradation levels, admission limits, circuit breaking) and fleet
/// coordination; the etcd backend (`control::etcd`) comes with the `fleet` feature.
#[cfg(feature = "control")]
#[cfg_attr(docsrs, doc(cfg(feature = "control")))]
pub use otlp_control as control;

/// The OpenTelemetry Transformation Language: parser, editors, converters, and the engines of the
/// `transform`, `filter`, `attributes` and `resource` processors.
#[cfg(feature = "ottl")]
#[cfg_attr(docsrs, doc(cfg(feature = "ottl")))]
pub use otlp_ottl as ottl;

/// SIMD kernels for hot paths (hex ids, sampling decisions, id generation, aggregation, histogram
/// buckets, byte comparison) with runtime CPU dispatch and scalar twins.
#[cfg(feature = "simd")]
#[cfg_attr(docsrs, doc(cfg(feature = "simd")))]
pub use otlp_simd as simd;

/// A lock-free object pool with RAII guards, a resetting per-batch arena, inline builders, pooled
/// byte buffers.
#[cfg(feature = "mempool")]
#[cfg_attr(docsrs, doc(cfg(feature = "mempool")))]
pub use otlp_mempool as mempool;

#[cfg(feature = "fleet")]
#[cfg_attr(docsrs, doc(cfg(feature = "fleet")))]
pub mod fleet;

/// Tracing for serverless functions: resource detection, the Lambda layer, the extension client.
#[cfg(feature = "faas")]
#[cfg_attr(docsrs, doc(cfg(feature = "faas")))]
pub use otlp_faas as faas;
