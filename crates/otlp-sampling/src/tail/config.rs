//! Configuration of the tail-sampling engine, field for field as otelcol-contrib's
//! `tailsamplingprocessor` YAML, so a collector config can embed it verbatim.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `tail_sampling` processor block.
///
/// ```yaml
/// decision_wait: 10s
/// num_traces: 100000
/// expected_new_traces_per_sec: 1000
/// decision_cache: {sampled_cache_size: 100000, non_sampled_cache_size: 100000}
/// policies:
///   - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
///   - {name: slow, type: latency, latency: {threshold_ms: 500}}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TailSamplingConfig {
    /// How long after its first span a trace is decided (otelcol default `30s`).
    #[serde(
        default = "default_decision_wait",
        with = "otlp_model::duration::serde"
    )]
    pub decision_wait: Duration,
    /// Traces kept in memory, pending or recently decided (otelcol default 50000). When
    /// full, the oldest trace is evicted; its pending spans are dropped with reason
    /// `trace_limit`.
    #[serde(default = "default_num_traces")]
    pub num_traces: u64,
    /// Expected new traces per second; only used to size tables up front.
    #[serde(default)]
    pub expected_new_traces_per_sec: u64,
    /// Remembers decisions after a trace leaves memory, so late spans still follow them.
    #[serde(default)]
    pub decision_cache: DecisionCacheConfig,
    /// Stop evaluating policies at the first one that samples.
    #[serde(default)]
    pub sample_on_first_match: bool,
    /// At shutdown, drop the traces still waiting (reason `pending_at_shutdown`) instead of deciding
    /// them on the spans that arrived so far: see [`TailSampler::drop_pending`](super::TailSampler::drop_pending).
    #[serde(default)]
    pub drop_pending_traces_on_shutdown: bool,
    /// otlp-suite extension (not in otelcol): bound on the estimated heap bytes of
    /// buffered spans; the oldest traces are evicted (reason `memory_limit`) beyond it.
    /// Absent or 0 means unbounded (only `num_traces` applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_buffered_bytes: Option<u64>,
    /// The policies; a trace is sampled when the combined decision says so.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
}

fn default_decision_wait() -> Duration {
    Duration::from_secs(30)
}

fn default_num_traces() -> u64 {
    50_000
}

impl Default for TailSamplingConfig {
    fn default() -> Self {
        TailSamplingConfig {
            decision_wait: default_decision_wait(),
            num_traces: default_num_traces(),
            expected_new_traces_per_sec: 0,
            decision_cache: DecisionCacheConfig::default(),
            sample_on_first_match: false,
            drop_pending_traces_on_shutdown: false,
            max_buffered_bytes: None,
            policies: Vec::new(),
        }
    }
}

/// Sizes of the decision caches (0 disables one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionCacheConfig {
    /// Trace IDs remembered as sampled.
    #[serde(default)]
    pub sampled_cache_size: usize,
    /// Trace IDs remembered as not sampled.
    #[serde(default)]
    pub non_sampled_cache_size: usize,
}

/// The policy types otelcol's tail sampler knows and this engine implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyType {
    /// Sample every trace.
    AlwaysSample,
    /// Sample traces whose duration is in a range.
    Latency,
    /// Sample traces with a numeric attribute in a range.
    NumericAttribute,
    /// Sample a percentage of traces by trace ID.
    Probabilistic,
    /// Sample traces with a span of a given status.
    StatusCode,
    /// Sample traces with a string attribute matching values or regexes.
    StringAttribute,
    /// Sample traces with a boolean attribute of a given value.
    BooleanAttribute,
    /// Sample traces whose tracestate has a key with one of some values.
    TraceState,
    /// Sample traces with a span whose W3C trace flags have the sampled bit set.
    TraceFlags,
    /// Sample up to a number of spans per second.
    RateLimiting,
    /// Sample up to a number of bytes per second (token bucket).
    BytesLimiting,
    /// Sample traces with a span count in a range.
    SpanCount,
    /// Sample when every sub-policy samples.
    And,
    /// Drop when every sub-policy samples, whatever other policies say.
    Drop,
    /// Sub-policies in order, each with a share of a spans-per-second budget.
    Composite,
    /// Sample traces with a span or span event for which an OTTL condition holds; the
    /// conditions are compiled by a [`ConditionCompiler`](super::ConditionCompiler).
    OttlCondition,
}

/// One entry of `policies`: `name`, `type` and the block named after the type.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Policy name, used in composite `policy_order` / `rate_allocation` and in errors.
    pub name: String,
    /// Which policy this is; the block of the same name must be present (except
    /// `always_sample` and `trace_flags`, which have none).
    #[serde(rename = "type")]
    pub policy_type: PolicyType,
    /// Block for `latency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyConfig>,
    /// Block for `numeric_attribute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric_attribute: Option<NumericAttributeConfig>,
    /// Block for `probabilistic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilistic: Option<ProbabilisticPolicyConfig>,
    /// Block for `status_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<StatusCodeConfig>,
    /// Block for `string_attribute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_attribute: Option<StringAttributeConfig>,
    /// Block for `boolean_attribute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boolean_attribute: Option<BooleanAttributeConfig>,
    /// Block for `trace_state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_state: Option<TraceStateConfig>,
    /// Block for `rate_limiting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limiting: Option<RateLimitingConfig>,
    /// Block for `bytes_limiting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_limiting: Option<BytesLimitingConfig>,
    /// Block for `span_count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_count: Option<SpanCountConfig>,
    /// Block for `and`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub and: Option<AndConfig>,
    /// Block for `drop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropConfig>,
    /// Block for `composite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<CompositeConfig>,
    /// Block for `ottl_condition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ottl_condition: Option<OttlConditionConfig>,
}

impl PolicyConfig {
    /// A policy entry of `policy_type` with no blocks; set the matching block before use.
    pub fn new(name: impl Into<String>, policy_type: PolicyType) -> Self {
        PolicyConfig {
            name: name.into(),
            policy_type,
            latency: None,
            numeric_attribute: None,
            probabilistic: None,
            status_code: None,
            string_attribute: None,
            boolean_attribute: None,
            trace_state: None,
            rate_limiting: None,
            bytes_limiting: None,
            span_count: None,
            and: None,
            drop: None,
            composite: None,
            ottl_condition: None,
        }
    }
}

/// `latency`: sampled when `threshold_ms <= duration` (and `<= upper_threshold_ms` when
/// that is non-zero). Duration is last span end minus first span start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    /// Lower bound in milliseconds.
    #[serde(default)]
    pub threshold_ms: u64,
    /// Upper bound in milliseconds; 0 means none.
    #[serde(default)]
    pub upper_threshold_ms: u64,
}

/// `numeric_attribute`: a resource or span attribute `key` with an int/double value in
/// `[min_value, max_value]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NumericAttributeConfig {
    /// Attribute key.
    pub key: String,
    /// Inclusive lower bound (none when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<f64>,
    /// Inclusive upper bound (none when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<f64>,
    /// Sample traces that do NOT match, and veto traces that do.
    #[serde(default)]
    pub invert_match: bool,
}

/// `probabilistic`: a percentage of traces by trace ID.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProbabilisticPolicyConfig {
    /// Salt mixed into the hash; empty means "use the trace ID's consistent randomness",
    /// which agrees with this crate's head samplers.
    #[serde(default)]
    pub hash_salt: String,
    /// Percentage of traces to sample, 0 to 100.
    pub sampling_percentage: f64,
}

/// Span status codes as otelcol spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum StatusCodeName {
    /// `STATUS_CODE_OK`.
    #[serde(rename = "OK")]
    Ok,
    /// `STATUS_CODE_ERROR`.
    #[serde(rename = "ERROR")]
    Error,
    /// `STATUS_CODE_UNSET`.
    #[serde(rename = "UNSET")]
    Unset,
}

/// `status_code`: sampled when any span has one of the codes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatusCodeConfig {
    /// Codes that select a trace.
    pub status_codes: Vec<StatusCodeName>,
}

/// `string_attribute`: a resource or span attribute `key` equal to one of `values`, or
/// matching one of them as a regex when `enabled_regex_matching`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StringAttributeConfig {
    /// Attribute key.
    pub key: String,
    /// Values (or regexes) that select a trace.
    pub values: Vec<String>,
    /// Treat `values` as regular expressions (unanchored, as Go's `MatchString`).
    #[serde(default)]
    pub enabled_regex_matching: bool,
    /// Accepted for compatibility; regex results are not cached.
    #[serde(default)]
    pub cache_max_size: usize,
    /// Sample traces that do NOT match, and veto traces that do.
    #[serde(default)]
    pub invert_match: bool,
}

/// `boolean_attribute`: a resource or span attribute `key` equal to `value`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BooleanAttributeConfig {
    /// Attribute key.
    pub key: String,
    /// Value that selects a trace.
    pub value: bool,
    /// Sample traces that do NOT match, and veto traces that do.
    #[serde(default)]
    pub invert_match: bool,
}

/// `trace_state`: any span's tracestate has `key` with one of `values`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TraceStateConfig {
    /// Tracestate list key (e.g. `vendor`).
    pub key: String,
    /// Values that select a trace.
    pub values: Vec<String>,
}

/// `rate_limiting`: sample whole traces while the spans sampled this second stay under
/// the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitingConfig {
    /// Spans per second.
    pub spans_per_second: u64,
}

/// `bytes_limiting`: a token bucket over the protobuf size of traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BytesLimitingConfig {
    /// Refill rate in bytes per second.
    pub bytes_per_second: u64,
    /// Bucket size; 0 means twice `bytes_per_second`.
    #[serde(default)]
    pub burst_capacity: u64,
}

/// `span_count`: sampled when `min_spans <= spans` (and `<= max_spans` when non-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpanCountConfig {
    /// Lower bound.
    #[serde(default)]
    pub min_spans: u64,
    /// Upper bound; 0 means none.
    #[serde(default)]
    pub max_spans: u64,
}

/// `and`: sampled when every sub-policy samples.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AndConfig {
    /// The sub-policies.
    pub and_sub_policy: Vec<PolicyConfig>,
}

/// `drop`: when every sub-policy samples, the trace is dropped even if other policies
/// sample it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DropConfig {
    /// The sub-policies.
    pub drop_sub_policy: Vec<PolicyConfig>,
}

/// `composite`: sub-policies evaluated in `policy_order`; the first that samples and still
/// has budget (its `rate_allocation` percentage of `max_total_spans_per_second`) samples
/// the trace.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompositeConfig {
    /// Total spans per second shared by the sub-policies.
    pub max_total_spans_per_second: u64,
    /// Sub-policy names in evaluation order.
    pub policy_order: Vec<String>,
    /// The sub-policies.
    pub composite_sub_policy: Vec<PolicyConfig>,
    /// Percentages per sub-policy; those without one share what is left equally.
    #[serde(default)]
    pub rate_allocation: Vec<RateAllocationConfig>,
}

/// One `rate_allocation` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateAllocationConfig {
    /// Sub-policy name.
    pub policy: String,
    /// Percentage of `max_total_spans_per_second`.
    pub percent: f64,
}

/// `ottl_condition`: sampled when an OTTL condition holds for any span (`span`) or any span
/// event (`spanevent`) of the trace.
///
/// ```yaml
/// error_mode: ignore
/// span: ['name == "checkout"', 'attributes["http.response.status_code"] >= 500']
/// spanevent: ['name == "exception"']
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OttlConditionConfig {
    /// What a condition that fails on an item (a converter given the wrong type, say) does.
    #[serde(default)]
    pub error_mode: ConditionErrorMode,
    /// Conditions on spans.
    #[serde(default)]
    pub span: Vec<String>,
    /// Conditions on span events.
    #[serde(default)]
    pub spanevent: Vec<String>,
}

/// otelcol's OTTL `error_mode`, for an `ottl_condition` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConditionErrorMode {
    /// The failing condition counts as false, with a warning, and the search goes on. The
    /// default, as with otelcol's `processor.tailsamplingprocessor.defaultErrorModeIgnore`
    /// gate: under `propagate` one span without an attribute a converter needs hides every
    /// later span of its trace from the policy.
    #[default]
    Ignore,
    /// As `ignore`, without the warning.
    Silent,
    /// The policy stops at the error and does not sample the trace.
    Propagate,
}
