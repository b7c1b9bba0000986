//! The `span` processor (otelcol-contrib's `spanprocessor`): a span renamed from its attributes
//! (`name.from_attributes`), attributes extracted from its name (`name.to_attributes`), its status
//! set (`status`), for the spans `include`/`exclude` select. The three run in that order on each
//! selected span, as in otelcol.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use regex::Regex;
use serde::Deserialize;

use super::config::MatchProperties;
use super::matching::Matcher;
use crate::context::Signal;
use crate::error::{ConfigProblem, Error, Result};
use crate::value::{key_value, string_value};

/// The `span` processor's configuration, with otelcol's keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanConfig {
    /// How spans are renamed.
    #[serde(default)]
    pub name: SpanNameConfig,
    /// The status every selected span is given.
    #[serde(default)]
    pub status: Option<SpanStatusConfig>,
    /// Only spans matching these properties are changed.
    #[serde(default)]
    pub include: Option<MatchProperties>,
    /// Spans matching these properties are left alone (checked after `include`).
    #[serde(default)]
    pub exclude: Option<MatchProperties>,
}

/// `name`: the span's name from attributes, and attributes from the name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanNameConfig {
    /// The attributes whose values, in this order, make the new name. A span lacking any of them
    /// keeps its name.
    #[serde(default)]
    pub from_attributes: Vec<String>,
    /// Written between the values of `from_attributes`.
    #[serde(default)]
    pub separator: String,
    /// Rules extracting attributes from the name.
    #[serde(default)]
    pub to_attributes: Option<ToAttributesConfig>,
}

/// `name.to_attributes`: regexes whose named groups become attributes, each group's text in the
/// name replaced by `{group}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToAttributesConfig {
    /// The regexes, applied in order, each to the name the previous one left.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Stop at the first rule that matches.
    #[serde(default)]
    pub break_after_match: bool,
    /// Extract the attributes but leave the name as it was.
    #[serde(default)]
    pub keep_original_name: bool,
}

/// `status`: `code` is `Ok`, `Error` or `Unset` (as otelcol spells them); `description` only
/// goes with `Error`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanStatusConfig {
    /// `Ok`, `Error` or `Unset`.
    #[serde(default)]
    pub code: String,
    /// The status message of an `Error`.
    #[serde(default)]
    pub description: String,
}

/// A `to_attributes` rule: the regex and the name of each of its groups, in group order.
#[derive(Debug, Clone)]
struct ToAttributeRule {
    regex: Regex,
    groups: Vec<String>,
}

/// The `span` processor, compiled.
///
/// ```
/// use otlp_ottl::actions::{SpanConfig, SpanProcessor};
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
///
/// let config: SpanConfig = serde_json::from_str(r#"{
///     "name": {"to_attributes": {"rules": ["^/api/v1/document/(?P<documentId>.*)/update$"]}}
/// }"#)?;
/// let processor = SpanProcessor::new(&config)?;
/// let mut request = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans {
///         scope_spans: vec![ScopeSpans {
///             spans: vec![Span { name: "/api/v1/document/12345678/update".into(), ..Default::default() }],
///             ..Default::default()
///         }],
///         ..Default::default()
///     }],
/// };
/// processor.process_traces(&mut request);
/// let span = &request.resource_spans[0].scope_spans[0].spans[0];
/// assert_eq!(span.name, "/api/v1/document/{documentId}/update");
/// assert_eq!(span.attributes[0].key, "documentId");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SpanProcessor {
    from_attributes: Vec<String>,
    separator: String,
    rules: Vec<ToAttributeRule>,
    break_after_match: bool,
    keep_original_name: bool,
    status: Option<Status>,
    include: Option<Matcher>,
    exclude: Option<Matcher>,
}

impl SpanProcessor {
    /// Compiles the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] with every problem, at paths such as `name.to_attributes.rules[1]`
    /// or `status.code`.
    pub fn new(config: &SpanConfig) -> Result<Self> {
        let mut problems = Vec::new();
        let to_attributes = config.name.to_attributes.clone().unwrap_or_default();
        if config.name.from_attributes.is_empty()
            && to_attributes.rules.is_empty()
            && config.status.is_none()
        {
            problems.push(ConfigProblem::new(
                "",
                "nothing to do: set `name.from_attributes`, `name.to_attributes.rules` or `status`",
            ));
        }
        let rules = to_attributes
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, pattern)| {
                rule(pattern)
                    .map_err(|message| {
                        problems.push(ConfigProblem::new(
                            format!("name.to_attributes.rules[{i}]"),
                            message,
                        ))
                    })
                    .ok()
            })
            .collect();
        let status = config.status.as_ref().and_then(|status| {
            self::status(status)
                .map_err(|(key, message)| {
                    problems.push(ConfigProblem::new(format!("status.{key}"), message))
                })
                .ok()
        });
        let mut matcher = |key: &str, props: Option<&MatchProperties>| {
            props.and_then(|p| {
                Matcher::new(p, Signal::Traces)
                    .map_err(|message| problems.push(ConfigProblem::new(key, message)))
                    .ok()
            })
        };
        let include = matcher("include", config.include.as_ref());
        let exclude = matcher("exclude", config.exclude.as_ref());
        if !problems.is_empty() {
            return Err(Error::InvalidConfig(problems));
        }
        Ok(SpanProcessor {
            from_attributes: config.name.from_attributes.clone(),
            separator: config.name.separator.clone(),
            rules,
            break_after_match: to_attributes.break_after_match,
            keep_original_name: to_attributes.keep_original_name,
            status,
            include,
            exclude,
        })
    }

    /// Renames, extracts and sets the status of the selected spans.
    pub fn process_traces(&self, request: &mut ExportTraceServiceRequest) {
        for rs in &mut request.resource_spans {
            let resource = rs.resource.as_ref();
            for ss in &mut rs.scope_spans {
                let scope = ss.scope.as_ref();
                for span in &mut ss.spans {
                    let selected = self
                        .include
                        .as_ref()
                        .is_none_or(|m| m.matches_span(resource, scope, span))
                        && !self
                            .exclude
                            .as_ref()
                            .is_some_and(|m| m.matches_span(resource, scope, span));
                    if selected {
                        self.apply(span);
                    }
                }
            }
        }
    }

    fn apply(&self, span: &mut Span) {
        self.name_from_attributes(span);
        self.attributes_from_name(span);
        if let Some(status) = &self.status {
            span.status = Some(status.clone());
        }
    }

    fn name_from_attributes(&self, span: &mut Span) {
        if self.from_attributes.is_empty() {
            return;
        }
        let mut name = String::new();
        for (i, key) in self.from_attributes.iter().enumerate() {
            let Some(attribute) = span.attributes.iter().find(|kv| kv.key == *key) else {
                return;
            };
            if i > 0 {
                name.push_str(&self.separator);
            }
            push_value(&mut name, attribute);
        }
        span.name = name;
    }

    fn attributes_from_name(&self, span: &mut Span) {
        if span.name.is_empty() {
            return;
        }
        for rule in &self.rules {
            let Some(found) = rule.regex.captures(&span.name) else {
                continue;
            };
            let mut renamed = String::with_capacity(span.name.len());
            let mut copied = 0;
            for (group, name) in rule.groups.iter().enumerate() {
                // A group that took no part in the match (an optional one) has no value to extract.
                let Some(part) = found.get(group + 1) else {
                    continue;
                };
                upsert_string(&mut span.attributes, name, part.as_str());
                // A group nested in the one before has been replaced with it already.
                if part.start() >= copied {
                    renamed.push_str(&span.name[copied..part.start()]);
                    renamed.push('{');
                    renamed.push_str(name);
                    renamed.push('}');
                    copied = part.end();
                }
            }
            renamed.push_str(&span.name[copied..]);
            if !self.keep_original_name {
                span.name = renamed;
            }
            if self.break_after_match {
                break;
            }
        }
    }
}

/// Compiles a `to_attributes` rule, whose every group must have a name: the name is the attribute's
/// key (otelcol would set an attribute with an empty key for an unnamed one).
fn rule(pattern: &str) -> std::result::Result<ToAttributeRule, String> {
    let regex = Regex::new(pattern).map_err(|e| format!("invalid regex \"{pattern}\": {e}"))?;
    let groups = regex
        .capture_names()
        .skip(1)
        .map(|name| {
            name.map(str::to_owned).ok_or_else(|| {
                format!(
                    "\"{pattern}\" has a group without a name; name it, `(?P<key>...)`, to make it \
                     an attribute, or write `(?:...)`"
                )
            })
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(ToAttributeRule { regex, groups })
}

/// The status `status` sets, or the key that is wrong and why.
fn status(status: &SpanStatusConfig) -> std::result::Result<Status, (&'static str, String)> {
    const CODES: [(&str, i32); 3] = [("Unset", 0), ("Ok", 1), ("Error", 2)];
    let Some(&(_, code)) = CODES.iter().find(|(name, _)| *name == status.code) else {
        let hint = CODES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&status.code))
            .map(|(name, _)| format!(" (write `{name}`: otelcol reads it with this case only)"))
            .unwrap_or_default();
        return Err((
            "code",
            format!(
                "\"{}\" is not a status code; one of Ok, Error, Unset{hint}",
                status.code
            ),
        ));
    };
    if code != 2 && !status.description.is_empty() {
        return Err((
            "description",
            format!(
                "a description goes only with code Error, not {}",
                status.code
            ),
        ));
    }
    Ok(Status {
        code,
        message: status.description.clone(),
    })
}

/// Writes an attribute's value into a span name as otelcol does: scalars as text, anything else as
/// `<unknown-attribute-type>`.
fn push_value(name: &mut String, attribute: &KeyValue) {
    use std::fmt::Write as _;
    match attribute.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => name.push_str(s),
        Some(any_value::Value::BoolValue(b)) => name.push_str(if *b { "true" } else { "false" }),
        Some(any_value::Value::IntValue(i)) => {
            let _ = write!(name, "{i}");
        }
        // Go's `FormatFloat(f, 'f', -1, 64)`: the shortest digits, never an exponent, as Rust's
        // `Display` writes them, but infinities spelled Go's way.
        Some(any_value::Value::DoubleValue(d)) if d.is_infinite() => {
            name.push_str(if *d > 0.0 { "+Inf" } else { "-Inf" })
        }
        Some(any_value::Value::DoubleValue(d)) => {
            let _ = write!(name, "{d}");
        }
        _ => name.push_str("<unknown-attribute-type>"),
    }
}

/// Sets `key` to the string `value`, replacing its first value if it has one.
fn upsert_string(attributes: &mut Vec<KeyValue>, key: &str, value: &str) {
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(string_value(value)),
        None => attributes.push(key_value(key, string_value(value))),
    }
}

#[cfg(test)]
mod tests;
