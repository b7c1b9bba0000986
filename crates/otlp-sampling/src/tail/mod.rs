//! Tail sampling: otelcol's `tail_sampling` processor as a library.
//!
//! [`TailSamplingConfig`] deserialises from the processor's YAML block unchanged;
//! [`TailSampler`] is the engine the collector drives with `ingest` and `tick`.

mod condition;
pub mod config;
mod decision_cache;
mod decisions;
mod encoded;
mod engine;
mod hashing;
mod headers;
mod policy;
mod release;
mod store;
mod trace;
mod view;

pub use condition::{ConditionCompiler, ConditionError, TraceCondition};
pub use config::TailSamplingConfig;
pub use decisions::{Decisions, DropCounts, DropReason, ReleaseFormat};
pub use engine::TailSampler;
pub use policy::PolicyDecision;
pub use release::EncodedSpans;
pub use trace::heap_size_resource_spans;
