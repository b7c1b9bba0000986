use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{SamplingResult, ShouldSample};
use regex::Regex;

use super::consistent_result;
use crate::consistent::{DEFAULT_PRECISION, Threshold};
use crate::error::{Error, Result};

/// How one attribute must look for a [`SpanMatcher`] to match.
#[derive(Debug, Clone)]
pub struct AttributeMatcher {
    key: String,
    condition: AttributeCondition,
}

#[derive(Debug, Clone)]
enum AttributeCondition {
    Equals(Value),
    Regex(Regex),
    Range { min: f64, max: f64 },
}

impl AttributeMatcher {
    /// Matches when attribute `key` equals `value` exactly (same type and value).
    pub fn equals(key: impl Into<String>, value: impl Into<Value>) -> Self {
        AttributeMatcher {
            key: key.into(),
            condition: AttributeCondition::Equals(value.into()),
        }
    }

    /// Matches when attribute `key`, rendered as a string, matches the regular expression
    /// `pattern` (unanchored, as `regex::Regex::is_match`).
    pub fn regex(key: impl Into<String>, pattern: &str) -> Result<Self> {
        Ok(AttributeMatcher {
            key: key.into(),
            condition: AttributeCondition::Regex(compile_regex(pattern)?),
        })
    }

    /// Matches when attribute `key` is an integer or float in `[min, max]` (inclusive).
    pub fn range(key: impl Into<String>, min: f64, max: f64) -> Result<Self> {
        if min.is_nan() || max.is_nan() || min > max {
            return Err(Error::Config(format!(
                "numeric range [{min}, {max}] is empty or not a number"
            )));
        }
        Ok(AttributeMatcher {
            key: key.into(),
            condition: AttributeCondition::Range { min, max },
        })
    }

    fn matches(&self, attributes: &[KeyValue]) -> bool {
        attributes
            .iter()
            .filter(|kv| kv.key.as_str() == self.key)
            .any(|kv| match (&self.condition, &kv.value) {
                (AttributeCondition::Equals(expected), actual) => expected == actual,
                (AttributeCondition::Regex(regex), actual) => regex.is_match(&actual.as_str()),
                (AttributeCondition::Range { min, max }, Value::I64(n)) => {
                    (*min..=*max).contains(&(*n as f64))
                }
                (AttributeCondition::Range { min, max }, Value::F64(x)) => {
                    (*min..=*max).contains(x)
                }
                (AttributeCondition::Range { .. }, _) => false,
            })
    }
}

/// Which spans a rule applies to. Every condition that is set must hold; an empty matcher
/// matches every span.
#[derive(Debug, Clone, Default)]
pub struct SpanMatcher {
    name: Option<NameCondition>,
    kind: Option<SpanKind>,
    service: Option<String>,
    attributes: Vec<AttributeMatcher>,
}

#[derive(Debug, Clone)]
enum NameCondition {
    Exact(String),
    Regex(Regex),
}

impl SpanMatcher {
    /// A matcher that matches every span.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requires the span name to equal `name`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(NameCondition::Exact(name.into()));
        self
    }

    /// Requires the span name to match the regular expression `pattern`.
    pub fn name_regex(mut self, pattern: &str) -> Result<Self> {
        self.name = Some(NameCondition::Regex(compile_regex(pattern)?));
        Ok(self)
    }

    /// Requires the span kind.
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Requires the sampling service to be `service` (see [`RuleSampler::new`]).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Adds an attribute condition.
    pub fn attribute(mut self, matcher: AttributeMatcher) -> Self {
        self.attributes.push(matcher);
        self
    }

    /// Whether a span about to start matches.
    pub fn matches(
        &self,
        service: &str,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
    ) -> bool {
        let name_ok = match &self.name {
            None => true,
            Some(NameCondition::Exact(expected)) => expected == name,
            Some(NameCondition::Regex(regex)) => regex.is_match(name),
        };
        name_ok
            && self.kind.as_ref().is_none_or(|k| k == kind)
            && self.service.as_deref().is_none_or(|s| s == service)
            && self.attributes.iter().all(|m| m.matches(attributes))
    }
}

/// One rule: spans matching `matcher` are sampled with `probability`.
#[derive(Debug, Clone)]
pub struct Rule {
    matcher: SpanMatcher,
    threshold: Threshold,
}

impl Rule {
    /// A rule sampling matching spans with `probability` (1.0 for critical paths).
    pub fn new(matcher: SpanMatcher, probability: f64) -> Result<Self> {
        Ok(Rule {
            matcher,
            threshold: Threshold::from_probability_with_precision(probability, DEFAULT_PRECISION)?,
        })
    }

    /// The probability this rule samples at, after `th` encoding.
    pub fn probability(&self) -> f64 {
        self.threshold.probability()
    }
}

/// A priority sampler: the first rule (in order) whose matcher accepts the span decides
/// its probability; spans no rule matches use the default probability. Decisions are
/// consistent (trace randomness against the rule's threshold) and record `th`.
#[derive(Debug, Clone)]
pub struct RuleSampler {
    service: String,
    rules: Vec<Rule>,
    default_threshold: Threshold,
}

impl RuleSampler {
    /// A sampler for the service named `service` (matched by [`SpanMatcher::service`]),
    /// sampling unmatched spans with `default_probability`.
    pub fn new(service: impl Into<String>, default_probability: f64) -> Result<Self> {
        Ok(RuleSampler {
            service: service.into(),
            rules: Vec::new(),
            default_threshold: Threshold::from_probability_with_precision(
                default_probability,
                DEFAULT_PRECISION,
            )?,
        })
    }

    /// Appends a rule; earlier rules take priority.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The threshold that applies to a span.
    pub fn threshold_for(&self, name: &str, kind: &SpanKind, attributes: &[KeyValue]) -> Threshold {
        self.rules
            .iter()
            .find(|rule| rule.matcher.matches(&self.service, name, kind, attributes))
            .map_or(self.default_threshold, |rule| rule.threshold)
    }
}

impl ShouldSample for RuleSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let threshold = self.threshold_for(name, span_kind, attributes);
        consistent_result(parent_context, trace_id, threshold)
    }
}

pub(crate) fn compile_regex(pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|err| {
        // A syntax error draws the pattern with a caret over several lines; the last one says what is
        // wrong, and the pattern is quoted beside it anyway.
        let text = err.to_string();
        let last = text.lines().last().unwrap_or_default();
        Error::Regex {
            pattern: pattern.to_owned(),
            message: last.strip_prefix("error: ").unwrap_or(last).to_owned(),
        }
    })
}
