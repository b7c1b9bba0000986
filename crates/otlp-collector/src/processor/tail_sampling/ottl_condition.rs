//! The `ottl_condition` policy: otlp-ottl's [`SpanConditions`] as the sampling engine's
//! [`TraceCondition`].

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use otlp_ottl::{ErrorMode, SpanConditions};
use otlp_sampling::tail::config::{ConditionErrorMode, OttlConditionConfig};
use otlp_sampling::tail::{ConditionCompiler, ConditionError, TraceCondition};

/// Compiles `ottl_condition` blocks with otlp-ottl; its problems read as the key they are at
/// (`ottl_condition.span[1]: invalid OTTL at column 1: ...`).
pub(super) struct OttlConditions;

impl ConditionCompiler for OttlConditions {
    fn compile(
        &self,
        policy: &str,
        config: &OttlConditionConfig,
    ) -> Result<Box<dyn TraceCondition>, String> {
        let error_mode = match config.error_mode {
            ConditionErrorMode::Ignore => ErrorMode::Ignore,
            ConditionErrorMode::Silent => ErrorMode::Silent,
            ConditionErrorMode::Propagate => ErrorMode::Propagate,
        };
        match SpanConditions::new(error_mode, &config.span, &config.spanevent) {
            Ok(conditions) => Ok(Box::new(OttlCondition {
                policy: policy.to_owned(),
                conditions,
            })),
            Err(error) => Err(error
                .into_problems("")
                .iter()
                .map(|problem| match problem.path.as_str() {
                    "" => format!("ottl_condition {}", problem.message),
                    path => format!("ottl_condition.{path}: {}", problem.message),
                })
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }
}

#[derive(Debug)]
struct OttlCondition {
    policy: String,
    conditions: SpanConditions,
}

impl TraceCondition for OttlCondition {
    fn holds(&self, trace: &mut [ResourceSpans]) -> Result<bool, ConditionError> {
        match self.conditions.any_match(trace) {
            Ok(found) => Ok(found.matched),
            Err(error) => {
                // `ignore` warns in otlp-ottl itself; `propagate` ends here, so it is said here.
                tracing::warn!(
                    policy = %self.policy,
                    %error,
                    "tail_sampling: ottl_condition failed (error_mode: propagate); the policy does not sample the trace"
                );
                Err(Box::new(error))
            }
        }
    }
}
