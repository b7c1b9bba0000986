//! Processors: stages between the receivers and the exporters of one pipeline.

pub(crate) mod batch;
pub(crate) mod memory_limiter;
pub(crate) mod probabilistic_sampler;
pub(crate) mod tail_sampling;
