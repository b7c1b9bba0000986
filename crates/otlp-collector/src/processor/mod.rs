//! Processors: stages between the receivers and the exporters of one pipeline. Each is a folder with its config
//! and a `Factory` registered in [`Components::builtin`](crate::component::Components::builtin).

pub mod batch;
pub mod memory_limiter;
pub mod probabilistic_sampler;
pub mod tail_sampling;
