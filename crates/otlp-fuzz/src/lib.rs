//! Fuzz targets for the code of otlp-suite that reads bytes from outside: one function per target, taking the
//! raw input and doing what a hostile input would reach in production, then checking what must hold when the
//! input is accepted. A target panics only when such an invariant breaks (or the code under test panics):
//! that is what fuzzing finds.
//!
//! ```
//! // Every target takes any bytes: most are refused, none may panic.
//! for target in otlp_fuzz::TARGETS {
//!     (target.run)(b"\x0a\x02\x12\x00");
//!     (target.run)(b"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n");
//! }
//! otlp_fuzz::otlp_protobuf(&[0x0a, 0x00]);
//! ```
//!
//! | target | what it reads | invariant |
//! |---|---|---|
//! | [`otlp_protobuf`] | an OTLP protobuf `Export*ServiceRequest` (each signal) | the wire scanner ([`otlp_model::wire::scan`]) and prost agree on accept/refuse, item and invalid-item counts; a batch kept as bytes decodes to prost's request |
//! | [`otlp_json`] | an OTLP/JSON request (each signal) | the JSON written for a decoded request reads back to it; its protobuf encoding scans with its counts |
//! | [`config_yaml`] | a collector config ([`otlp_collector::Config::from_yaml_with_env`]) | an error, or a config whose pipelines reference only defined components |
//! | [`propagators`] | HTTP headers: W3C, B3 (single and multi), Jaeger, X-Ray | inject then extract gives the extracted context back |
//! | [`propagator_mesh`] | HTTP headers, through [`otlp_mesh::MeshPropagator`] | the same, for the composite (with baggage and Envoy headers) |
//! | [`arrow_ipc`] | an Arrow IPC stream and file of the normalized layout | requests read are written and read back unchanged |
//! | [`arrow_flight()`] | the `FlightData` of one `do_put` (length-delimited) | the server's decoder; requests decoded survive the client's encoding |
//! | [`arrow_flat`] | a flat Parquet file and a flat Arrow IPC file | requests read are written and read back unchanged |
//! | [`queue_segment`] | a persistent-queue segment file | the records kept are exactly the bytes before the cut, in sequence order; their batches pass [`otlp_protobuf`]'s checks |
//!
//! # Running
//!
//! The `fuzz/` directory at the root of the workspace is a cargo-fuzz project (nightly only, outside the
//! workspace) whose targets are one-line calls of these functions:
//!
//! ```text
//! cargo install cargo-fuzz
//! nice -n 19 cargo +nightly fuzz run otlp_protobuf -- -max_total_time=300 -rss_limit_mb=2048
//! ```
//!
//! Seed inputs live in `fuzz/corpus/<target>/` (regenerated with `cargo run -p otlp-fuzz --example seeds`),
//! and every input that once crashed a target, after its cause was fixed, in `fuzz/regressions/<target>/`.
//! `tests/corpus.rs` replays both through these functions on stable, so `cargo test` (and `cargo xtask test`)
//! keeps every fixed crash fixed.
#![forbid(unsafe_code)]

mod arrow;
mod config;
mod otlp;
mod propagation;
mod queue;

pub use arrow::{arrow_flat, arrow_flight, arrow_ipc, tolerate_caught_panics};
pub use config::config_yaml;
pub use otlp::{otlp_json, otlp_protobuf};
pub use propagation::{headers, propagator_mesh, propagators};
pub use queue::queue_segment;

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file, the corpus and regression directories)
/// and its function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
}

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    Target {
        name: "otlp_protobuf",
        run: otlp_protobuf,
    },
    Target {
        name: "otlp_json",
        run: otlp_json,
    },
    Target {
        name: "config_yaml",
        run: config_yaml,
    },
    Target {
        name: "propagators",
        run: propagators,
    },
    Target {
        name: "propagator_mesh",
        run: propagator_mesh,
    },
    Target {
        name: "arrow_ipc",
        run: arrow_ipc,
    },
    Target {
        name: "arrow_flight",
        run: arrow_flight,
    },
    Target {
        name: "arrow_flat",
        run: arrow_flat,
    },
    Target {
        name: "queue_segment",
        run: queue_segment,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|target| target.name == name)
}
