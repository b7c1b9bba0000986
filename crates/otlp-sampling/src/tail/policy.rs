//! Policy evaluators, built from [`PolicyConfig`] and run on a buffered trace.

use std::time::{Duration, Instant};

use regex::Regex;

use super::condition::{ConditionCompiler, TraceCondition};
use super::config::{PolicyConfig, PolicyType, StatusCodeName, TailSamplingConfig};
use super::hashing::FastSet;
use super::view::{AttributeValue, TraceView};
use crate::consistent::{Randomness, Threshold};
use crate::error::{Error, Result};
use crate::head::compile_regex;

/// What one policy says about a trace (otelcol's `sampling.Decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyDecision {
    /// The policy selects the trace.
    Sampled,
    /// The policy does not select the trace.
    NotSampled,
    /// An inverted policy did not find its match: sample unless another policy objects.
    InvertSampled,
    /// An inverted policy found its match: do not sample, whatever the others say.
    InvertNotSampled,
    /// A `drop` policy matched: never sample.
    Dropped,
}

#[derive(Debug)]
enum StringMatcher {
    Exact(FastSet<String>),
    Regex(Vec<Regex>),
}

#[derive(Debug)]
struct CompositeEntry {
    policy: Policy,
    spans_per_second: f64,
    spans_this_second: u64,
}

#[derive(Debug)]
enum Evaluator {
    AlwaysSample,
    Latency {
        lower: Duration,
        upper: Option<Duration>,
    },
    Numeric {
        key: String,
        min: f64,
        max: f64,
        invert: bool,
    },
    ConsistentProbability(Threshold),
    SaltedProbability {
        salt: Vec<u8>,
        max_hash: u64,
    },
    StatusCode(Vec<i32>),
    StringAttribute {
        key: String,
        matcher: StringMatcher,
        invert: bool,
    },
    BooleanAttribute {
        key: String,
        value: bool,
        invert: bool,
    },
    TraceState {
        key: String,
        values: FastSet<String>,
    },
    TraceFlags,
    RateLimiting {
        spans_per_second: u64,
        window_start: Option<Instant>,
        spans_this_second: u64,
    },
    BytesLimiting {
        bytes_per_second: f64,
        burst: f64,
        tokens: f64,
        last_refill: Option<Instant>,
    },
    SpanCount {
        min: u64,
        max: Option<u64>,
    },
    And(Vec<Policy>),
    Drop(Vec<Policy>),
    Composite {
        entries: Vec<CompositeEntry>,
        window_start: Option<Instant>,
    },
    Condition(Box<dyn TraceCondition>),
}

/// A policy ready to evaluate traces.
#[derive(Debug)]
pub(crate) struct Policy {
    pub(crate) name: String,
    evaluator: Evaluator,
}

fn missing_block(config: &PolicyConfig, block: &str) -> Error {
    Error::Config(format!(
        "policy `{}` has type `{block}` but no `{block}:` block",
        config.name
    ))
}

impl Policy {
    /// The policy of `config`; `conditions` compiles `ottl_condition` blocks (with `None`, such a
    /// policy is a configuration error).
    pub(crate) fn from_config(
        config: &PolicyConfig,
        conditions: Option<&dyn ConditionCompiler>,
    ) -> Result<Self> {
        let evaluator = match config.policy_type {
            PolicyType::AlwaysSample => Evaluator::AlwaysSample,
            PolicyType::Latency => {
                let c = config
                    .latency
                    .ok_or_else(|| missing_block(config, "latency"))?;
                if c.upper_threshold_ms != 0 && c.upper_threshold_ms < c.threshold_ms {
                    return Err(Error::Config(format!(
                        "policy `{}`: upper_threshold_ms {} is below threshold_ms {}",
                        config.name, c.upper_threshold_ms, c.threshold_ms
                    )));
                }
                Evaluator::Latency {
                    lower: Duration::from_millis(c.threshold_ms),
                    upper: (c.upper_threshold_ms != 0)
                        .then(|| Duration::from_millis(c.upper_threshold_ms)),
                }
            }
            PolicyType::NumericAttribute => {
                let c = config
                    .numeric_attribute
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "numeric_attribute"))?;
                let min = c.min_value.unwrap_or(f64::NEG_INFINITY);
                let max = c.max_value.unwrap_or(f64::INFINITY);
                if min.is_nan() || max.is_nan() || min > max {
                    return Err(Error::Config(format!(
                        "policy `{}`: min_value {min} is above max_value {max}",
                        config.name
                    )));
                }
                Evaluator::Numeric {
                    key: c.key.clone(),
                    min,
                    max,
                    invert: c.invert_match,
                }
            }
            PolicyType::Probabilistic => {
                let c = config
                    .probabilistic
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "probabilistic"))?;
                if !(0.0..=100.0).contains(&c.sampling_percentage) {
                    return Err(Error::PercentageOutOfRange(c.sampling_percentage));
                }
                let ratio = c.sampling_percentage / 100.0;
                if c.hash_salt.is_empty() {
                    match Threshold::from_probability(ratio) {
                        Ok(threshold) => Evaluator::ConsistentProbability(threshold),
                        // Below 2^-56 nothing can be sampled; a zero hash bound never matches.
                        Err(_) => Evaluator::SaltedProbability {
                            salt: Vec::new(),
                            max_hash: 0,
                        },
                    }
                } else {
                    Evaluator::SaltedProbability {
                        salt: c.hash_salt.as_bytes().to_vec(),
                        max_hash: (ratio * u64::MAX as f64) as u64,
                    }
                }
            }
            PolicyType::StatusCode => {
                let c = config
                    .status_code
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "status_code"))?;
                if c.status_codes.is_empty() {
                    return Err(Error::Config(format!(
                        "policy `{}`: status_codes must not be empty",
                        config.name
                    )));
                }
                Evaluator::StatusCode(
                    c.status_codes
                        .iter()
                        .map(|code| match code {
                            StatusCodeName::Unset => 0,
                            StatusCodeName::Ok => 1,
                            StatusCodeName::Error => 2,
                        })
                        .collect(),
                )
            }
            PolicyType::StringAttribute => {
                let c = config
                    .string_attribute
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "string_attribute"))?;
                let matcher = if c.enabled_regex_matching {
                    StringMatcher::Regex(
                        c.values
                            .iter()
                            .map(|pattern| compile_regex(pattern))
                            .collect::<Result<_>>()?,
                    )
                } else {
                    StringMatcher::Exact(c.values.iter().cloned().collect())
                };
                Evaluator::StringAttribute {
                    key: c.key.clone(),
                    matcher,
                    invert: c.invert_match,
                }
            }
            PolicyType::BooleanAttribute => {
                let c = config
                    .boolean_attribute
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "boolean_attribute"))?;
                Evaluator::BooleanAttribute {
                    key: c.key.clone(),
                    value: c.value,
                    invert: c.invert_match,
                }
            }
            PolicyType::TraceState => {
                let c = config
                    .trace_state
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "trace_state"))?;
                Evaluator::TraceState {
                    key: c.key.clone(),
                    values: c.values.iter().cloned().collect(),
                }
            }
            PolicyType::TraceFlags => Evaluator::TraceFlags,
            PolicyType::RateLimiting => {
                let c = config
                    .rate_limiting
                    .ok_or_else(|| missing_block(config, "rate_limiting"))?;
                Evaluator::RateLimiting {
                    spans_per_second: c.spans_per_second,
                    window_start: None,
                    spans_this_second: 0,
                }
            }
            PolicyType::BytesLimiting => {
                let c = config
                    .bytes_limiting
                    .ok_or_else(|| missing_block(config, "bytes_limiting"))?;
                let burst = if c.burst_capacity == 0 {
                    2 * c.bytes_per_second
                } else {
                    c.burst_capacity
                };
                Evaluator::BytesLimiting {
                    bytes_per_second: c.bytes_per_second as f64,
                    burst: burst as f64,
                    tokens: burst as f64,
                    last_refill: None,
                }
            }
            PolicyType::SpanCount => {
                let c = config
                    .span_count
                    .ok_or_else(|| missing_block(config, "span_count"))?;
                if c.max_spans != 0 && c.max_spans < c.min_spans {
                    return Err(Error::Config(format!(
                        "policy `{}`: max_spans {} is below min_spans {}",
                        config.name, c.max_spans, c.min_spans
                    )));
                }
                Evaluator::SpanCount {
                    min: c.min_spans,
                    max: (c.max_spans != 0).then_some(c.max_spans),
                }
            }
            PolicyType::And => {
                let c = config
                    .and
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "and"))?;
                Evaluator::And(sub_policies(config, &c.and_sub_policy, conditions)?)
            }
            PolicyType::Drop => {
                let c = config
                    .drop
                    .as_ref()
                    .ok_or_else(|| missing_block(config, "drop"))?;
                Evaluator::Drop(sub_policies(config, &c.drop_sub_policy, conditions)?)
            }
            PolicyType::Composite => composite(config, conditions)?,
            PolicyType::OttlCondition => condition(config, conditions)?,
        };
        Ok(Policy {
            name: config.name.clone(),
            evaluator,
        })
    }

    /// Builds every policy, or says what is wrong with each that cannot be built: an operator fixes a
    /// config in one pass, not one error per run.
    pub(crate) fn every(
        config: &TailSamplingConfig,
        conditions: Option<&dyn ConditionCompiler>,
    ) -> Result<Vec<Policy>> {
        let mut policies = Vec::with_capacity(config.policies.len());
        let mut errors = Vec::new();
        for policy in &config.policies {
            match Policy::from_config(policy, conditions) {
                Ok(built) => policies.push(built),
                Err(error) => errors.push((policy.name.as_str(), error)),
            }
        }
        if errors.len() > 1 {
            let messages: Vec<String> = errors
                .into_iter()
                .map(|(name, error)| match error {
                    // Its own message names the policy.
                    Error::Config(message) => message,
                    other => format!("policy `{name}`: {other}"),
                })
                .collect();
            return Err(Error::Config(messages.join("; ")));
        }
        match errors.pop() {
            Some((_, error)) => Err(error),
            None => Ok(policies),
        }
    }

    /// Adds to `keys` the span attribute keys this policy (or a policy within it) looks up.
    pub(crate) fn attribute_keys(&self, keys: &mut Vec<String>) {
        match &self.evaluator {
            Evaluator::Numeric { key, .. }
            | Evaluator::StringAttribute { key, .. }
            | Evaluator::BooleanAttribute { key, .. } => keys.push(key.clone()),
            Evaluator::And(policies) | Evaluator::Drop(policies) => {
                policies
                    .iter()
                    .for_each(|policy| policy.attribute_keys(keys));
            }
            Evaluator::Composite { entries, .. } => {
                entries
                    .iter()
                    .for_each(|entry| entry.policy.attribute_keys(keys));
            }
            Evaluator::AlwaysSample
            | Evaluator::Latency { .. }
            | Evaluator::ConsistentProbability(_)
            | Evaluator::SaltedProbability { .. }
            | Evaluator::StatusCode(_)
            | Evaluator::TraceState { .. }
            | Evaluator::TraceFlags
            | Evaluator::RateLimiting { .. }
            | Evaluator::BytesLimiting { .. }
            | Evaluator::SpanCount { .. }
            | Evaluator::Condition(_) => {}
        }
    }

    pub(crate) fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> PolicyDecision {
        use PolicyDecision::{Dropped, NotSampled, Sampled};
        let sampled_if = |condition: bool| if condition { Sampled } else { NotSampled };
        match &mut self.evaluator {
            Evaluator::AlwaysSample => Sampled,
            Evaluator::Latency { lower, upper } => {
                let duration = trace_duration(trace);
                sampled_if(duration >= *lower && upper.is_none_or(|upper| duration <= upper))
            }
            Evaluator::Numeric {
                key,
                min,
                max,
                invert,
            } => {
                let found = trace.any_attribute(key, |value| match value {
                    AttributeValue::Int(n) => (*min..=*max).contains(&(n as f64)),
                    AttributeValue::Double(x) => (*min..=*max).contains(&x),
                    _ => false,
                });
                attribute_decision(found, *invert)
            }
            Evaluator::ConsistentProbability(threshold) => {
                sampled_if(threshold.should_sample(Randomness::from_trace_id(trace.trace_id)))
            }
            Evaluator::SaltedProbability { salt, max_hash } => {
                let hash = fnv1a64(&[salt.as_slice(), trace.trace_id.as_slice()]);
                sampled_if(*max_hash > 0 && hash <= *max_hash)
            }
            Evaluator::StatusCode(codes) => sampled_if(
                trace
                    .spans()
                    .any(|span| codes.contains(&span.facts.status_code)),
            ),
            Evaluator::StringAttribute {
                key,
                matcher,
                invert,
            } => {
                let matcher: &StringMatcher = matcher;
                let found = trace.any_attribute(key, |value| match value {
                    AttributeValue::Str(text) => match matcher {
                        StringMatcher::Exact(values) => values.contains(text),
                        StringMatcher::Regex(regexes) => regexes.iter().any(|r| r.is_match(text)),
                    },
                    _ => false,
                });
                attribute_decision(found, *invert)
            }
            Evaluator::BooleanAttribute { key, value, invert } => {
                let found = trace.any_attribute(
                    key,
                    |actual| matches!(actual, AttributeValue::Bool(b) if b == *value),
                );
                attribute_decision(found, *invert)
            }
            Evaluator::TraceState { key, values } => sampled_if(trace.spans().any(|span| {
                span.trace_state()
                    .split(',')
                    .filter_map(|entry| entry.trim().split_once('='))
                    .any(|(k, v)| k == key && values.contains(v))
            })),
            // The low byte of `Span.flags` is the W3C trace flags; bit 0 is `sampled`.
            Evaluator::TraceFlags => {
                sampled_if(trace.spans().any(|span| span.facts.flags & 0x01 != 0))
            }
            Evaluator::RateLimiting {
                spans_per_second,
                window_start,
                spans_this_second,
            } => {
                roll_window(window_start, now, || *spans_this_second = 0);
                let if_sampled = *spans_this_second + trace.span_count;
                if if_sampled <= *spans_per_second {
                    *spans_this_second = if_sampled;
                    Sampled
                } else {
                    NotSampled
                }
            }
            Evaluator::BytesLimiting {
                bytes_per_second,
                burst,
                tokens,
                last_refill,
            } => {
                if let Some(last) = *last_refill {
                    let elapsed = now.saturating_duration_since(last).as_secs_f64();
                    *tokens = (*tokens + elapsed * *bytes_per_second).min(*burst);
                }
                *last_refill = Some(now);
                let size = trace.encoded_len() as f64;
                if size <= *tokens {
                    *tokens -= size;
                    Sampled
                } else {
                    NotSampled
                }
            }
            Evaluator::SpanCount { min, max } => sampled_if(
                trace.span_count >= *min && max.is_none_or(|max| trace.span_count <= max),
            ),
            Evaluator::And(policies) => {
                for policy in policies.iter_mut() {
                    match policy.evaluate(trace, now) {
                        Sampled | PolicyDecision::InvertSampled => {}
                        _ => return NotSampled,
                    }
                }
                Sampled
            }
            Evaluator::Drop(policies) => {
                for policy in policies.iter_mut() {
                    match policy.evaluate(trace, now) {
                        Sampled | PolicyDecision::InvertSampled => {}
                        _ => return NotSampled,
                    }
                }
                Dropped
            }
            Evaluator::Composite {
                entries,
                window_start,
            } => {
                roll_window(window_start, now, || {
                    entries.iter_mut().for_each(|e| e.spans_this_second = 0);
                });
                for entry in entries.iter_mut() {
                    match entry.policy.evaluate(trace, now) {
                        Sampled | PolicyDecision::InvertSampled => {
                            let if_sampled = entry.spans_this_second + trace.span_count;
                            if if_sampled as f64 <= entry.spans_per_second {
                                entry.spans_this_second = if_sampled;
                                return Sampled;
                            }
                            // Over its allocation: the first selecting sub-policy decides, as
                            // otelcol does, so a busy policy cannot spill into another's share.
                            return NotSampled;
                        }
                        _ => {}
                    }
                }
                NotSampled
            }
            Evaluator::Condition(condition) => {
                match trace.with_decoded(|spans| condition.holds(spans)) {
                    Ok(holds) => sampled_if(holds),
                    Err(_) => {
                        trace.count_condition_error();
                        NotSampled
                    }
                }
            }
        }
    }
}

/// Starts a new one-second window when the current one is over, calling `reset`.
fn roll_window(window_start: &mut Option<Instant>, now: Instant, reset: impl FnOnce()) {
    let expired = window_start
        .is_none_or(|start| now.saturating_duration_since(start) >= Duration::from_secs(1));
    if expired {
        *window_start = Some(now);
        reset();
    }
}

fn attribute_decision(found: bool, invert: bool) -> PolicyDecision {
    match (found, invert) {
        (true, false) => PolicyDecision::Sampled,
        (false, false) => PolicyDecision::NotSampled,
        (true, true) => PolicyDecision::InvertNotSampled,
        (false, true) => PolicyDecision::InvertSampled,
    }
}

fn trace_duration(trace: &TraceView<'_>) -> Duration {
    let mut earliest = u64::MAX;
    let mut latest = 0u64;
    for span in trace.spans() {
        earliest = earliest.min(span.facts.start_time_unix_nano);
        latest = latest.max(span.facts.end_time_unix_nano);
    }
    Duration::from_nanos(latest.saturating_sub(earliest))
}

fn sub_policies(
    parent: &PolicyConfig,
    configs: &[PolicyConfig],
    conditions: Option<&dyn ConditionCompiler>,
) -> Result<Vec<Policy>> {
    if configs.is_empty() {
        return Err(Error::Config(format!(
            "policy `{}` needs at least one sub-policy",
            parent.name
        )));
    }
    configs
        .iter()
        .map(|config| Policy::from_config(config, conditions))
        .collect()
}

fn condition(
    config: &PolicyConfig,
    conditions: Option<&dyn ConditionCompiler>,
) -> Result<Evaluator> {
    let block = config
        .ottl_condition
        .as_ref()
        .ok_or_else(|| missing_block(config, "ottl_condition"))?;
    let compiler = conditions.ok_or_else(|| {
        Error::Config(format!(
            "policy `{}` has type `ottl_condition`, which needs an OTTL engine: build the sampler \
             with `TailSampler::with_conditions`",
            config.name
        ))
    })?;
    compiler
        .compile(&config.name, block)
        .map(Evaluator::Condition)
        .map_err(|message| Error::Config(format!("policy `{}`: {message}", config.name)))
}

fn composite(
    config: &PolicyConfig,
    conditions: Option<&dyn ConditionCompiler>,
) -> Result<Evaluator> {
    let c = config
        .composite
        .as_ref()
        .ok_or_else(|| missing_block(config, "composite"))?;
    let mut policies: Vec<Option<Policy>> =
        sub_policies(config, &c.composite_sub_policy, conditions)?
            .into_iter()
            .map(Some)
            .collect();
    let allocated: f64 = c.rate_allocation.iter().map(|a| a.percent).sum();
    if allocated > 100.0 || c.rate_allocation.iter().any(|a| a.percent < 0.0) {
        return Err(Error::Config(format!(
            "policy `{}`: rate_allocation percentages must be non-negative and add up to at most 100, got {allocated}",
            config.name
        )));
    }
    let unallocated = c
        .composite_sub_policy
        .iter()
        .filter(|p| !c.rate_allocation.iter().any(|a| a.policy == p.name))
        .count();
    let leftover_share = if unallocated == 0 {
        0.0
    } else {
        (100.0 - allocated) / unallocated as f64
    };
    let total = c.max_total_spans_per_second as f64;
    let mut entries = Vec::with_capacity(c.policy_order.len());
    for name in &c.policy_order {
        let index = c
            .composite_sub_policy
            .iter()
            .position(|p| &p.name == name)
            .ok_or_else(|| {
                Error::Config(format!(
                    "policy `{}`: policy_order names `{name}`, which is not a composite_sub_policy",
                    config.name
                ))
            })?;
        let policy = policies
            .get_mut(index)
            .and_then(Option::take)
            .ok_or_else(|| {
                Error::Config(format!(
                    "policy `{}`: `{name}` appears twice in policy_order",
                    config.name
                ))
            })?;
        let percent = c
            .rate_allocation
            .iter()
            .find(|a| &a.policy == name)
            .map_or(leftover_share, |a| a.percent);
        entries.push(CompositeEntry {
            policy,
            spans_per_second: total * percent / 100.0,
            spans_this_second: 0,
        });
    }
    if let Some(unordered) = policies.into_iter().flatten().next() {
        return Err(Error::Config(format!(
            "policy `{}`: sub-policy `{}` is missing from policy_order",
            config.name, unordered.name
        )));
    }
    Ok(Evaluator::Composite {
        entries,
        window_start: None,
    })
}

fn fnv1a64(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    parts
        .iter()
        .flat_map(|part| part.iter())
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
        })
}

/// The distinct decisions of a trace's policies: a bit per [`PolicyDecision`].
///
/// Ten policies over every trace made this a `HashSet` insert each, SipHash included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DecisionSet(u8);

impl DecisionSet {
    fn bit(decision: PolicyDecision) -> u8 {
        1 << decision as u8
    }

    pub(crate) fn insert(&mut self, decision: PolicyDecision) {
        self.0 |= Self::bit(decision);
    }

    pub(crate) fn contains(self, decision: PolicyDecision) -> bool {
        self.0 & Self::bit(decision) != 0
    }
}

/// Combines the policies' decisions as otelcol does: a `drop` match or an inverted match
/// vetoes; otherwise any `Sampled` samples; otherwise an inverted non-match samples
/// unless some policy said `NotSampled`.
pub(crate) fn combine(decisions: DecisionSet) -> bool {
    if decisions.contains(PolicyDecision::Dropped)
        || decisions.contains(PolicyDecision::InvertNotSampled)
    {
        return false;
    }
    decisions.contains(PolicyDecision::Sampled)
        || (decisions.contains(PolicyDecision::InvertSampled)
            && !decisions.contains(PolicyDecision::NotSampled))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PolicyDecision; 5] = [
        PolicyDecision::Sampled,
        PolicyDecision::NotSampled,
        PolicyDecision::InvertSampled,
        PolicyDecision::InvertNotSampled,
        PolicyDecision::Dropped,
    ];

    #[test]
    fn a_decision_set_holds_exactly_what_was_inserted() {
        for subset in 0u8..32 {
            let mut set = DecisionSet::default();
            for (i, decision) in ALL.iter().enumerate() {
                if subset & (1 << i) != 0 {
                    set.insert(*decision);
                }
            }
            for (i, decision) in ALL.iter().enumerate() {
                assert_eq!(
                    set.contains(*decision),
                    subset & (1 << i) != 0,
                    "{subset:05b}"
                );
            }
        }
    }

    #[test]
    fn vetoes_beat_samples_and_inverted_matches_sample_only_unopposed() {
        let set = |decisions: &[PolicyDecision]| {
            let mut set = DecisionSet::default();
            decisions.iter().for_each(|d| set.insert(*d));
            set
        };
        use PolicyDecision::*;
        assert!(combine(set(&[Sampled, NotSampled])));
        assert!(!combine(set(&[Sampled, Dropped])));
        assert!(!combine(set(&[Sampled, InvertNotSampled])));
        assert!(combine(set(&[InvertSampled])));
        assert!(!combine(set(&[InvertSampled, NotSampled])));
        assert!(combine(set(&[InvertSampled, NotSampled, Sampled])));
        assert!(!combine(set(&[NotSampled])));
        assert!(!combine(DecisionSet::default()));
    }
}
