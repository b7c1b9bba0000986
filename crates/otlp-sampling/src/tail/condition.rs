//! Conditions the engine cannot read itself, OTTL's above all, compiled by the caller.
//!
//! This crate has no OTTL engine (the `otlp-ottl` crate is one): a caller with one gives
//! [`TailSampler::with_conditions`](super::TailSampler::with_conditions) a [`ConditionCompiler`],
//! which turns each `ottl_condition` block into a [`TraceCondition`]. The engine asks it about
//! each trace, decoded into `ResourceSpans` once for all the condition policies. The other policies
//! read the buffered spans in place, so only a configuration with a condition pays for decoding.

use std::fmt::Debug;

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use super::config::OttlConditionConfig;

/// Why a condition could not judge a trace (a `propagate` error): its policy does not sample
/// the trace, and [`Decisions::condition_errors`](super::Decisions::condition_errors) counts it.
pub type ConditionError = Box<dyn std::error::Error + Send + Sync>;

/// A compiled `ottl_condition` block.
pub trait TraceCondition: Send + Debug {
    /// Whether the condition holds for `trace`: its spans, decoded, under their resources and
    /// scopes. The slice is mutable only because OTTL contexts are built over mutable items; the
    /// spans must be left as they were, since the next condition policy reads them too.
    ///
    /// # Errors
    ///
    /// The condition failed and its error mode says to stop (`propagate`). Reporting the error
    /// (a log line, say) is the implementation's to do: it knows the condition's text.
    fn holds(&self, trace: &mut [ResourceSpans]) -> Result<bool, ConditionError>;
}

/// Compiles the `ottl_condition` blocks of a [`TailSamplingConfig`](super::TailSamplingConfig).
///
/// A closure `Fn(&str, &OttlConditionConfig) -> Result<Box<dyn TraceCondition>, String>` is one.
pub trait ConditionCompiler {
    /// Compiles the block of the policy named `policy`.
    ///
    /// # Errors
    ///
    /// What is wrong with the block, as the operator should read it (every bad condition, each
    /// at its key, say); the engine adds the policy's name.
    fn compile(
        &self,
        policy: &str,
        config: &OttlConditionConfig,
    ) -> Result<Box<dyn TraceCondition>, String>;
}

impl<F> ConditionCompiler for F
where
    F: Fn(&str, &OttlConditionConfig) -> Result<Box<dyn TraceCondition>, String>,
{
    fn compile(
        &self,
        policy: &str,
        config: &OttlConditionConfig,
    ) -> Result<Box<dyn TraceCondition>, String> {
        self(policy, config)
    }
}
