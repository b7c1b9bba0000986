//! Processors: stages between the receivers and the exporters of one pipeline. Each is a folder with its config
//! and a `Factory` registered in [`Components::builtin`](crate::component::Components::builtin).

pub mod attributes;
pub mod batch;
pub mod cumulativetodelta;
pub mod deltatocumulative;
pub mod deltatorate;
pub mod filter;
pub mod groupbyattrs;
pub mod groupbytrace;
mod holding;
mod in_place;
pub mod interval;
pub mod logdedup;
pub mod memory_limiter;
pub mod metricsgeneration;
pub mod metricstransform;
pub(crate) mod ottl;
pub mod probabilistic_sampler;
pub mod redaction;
pub mod resource;
pub mod resource_detection;
pub mod span;
pub(crate) mod stream_key;
pub mod tail_sampling;
pub mod transform;
pub mod unroll;

pub use ottl::OttlSettings;

#[cfg(test)]
pub(crate) mod capture;
