//! `include`/`exclude` matching of the `attributes` processor (otelcol's `filterspan`,
//! `filterlog`, `filtermetric` and `filtermatcher`): every property that is set must match.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use regex::Regex;

use super::config::{MatchProperties, MatchType};
use super::json_to_any;
use crate::compare::any_equal;
use crate::context::Signal;
use crate::value::{Value, format_go_float};

/// A set of strings to match one value against.
#[derive(Debug, Clone)]
enum Strings {
    Strict(Vec<String>),
    Regexp(Vec<Regex>),
}

impl Strings {
    fn new(items: &[String], match_type: MatchType) -> Result<Option<Self>, String> {
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(match match_type {
            MatchType::Strict => Strings::Strict(items.to_vec()),
            MatchType::Regexp => Strings::Regexp(
                items
                    .iter()
                    .map(|p| Regex::new(p).map_err(|e| format!("invalid regex \"{p}\": {e}")))
                    .collect::<Result<_, _>>()?,
            ),
        }))
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Strings::Strict(items) => items.iter().any(|i| i == text),
            Strings::Regexp(items) => items.iter().any(|re| re.is_match(text)),
        }
    }
}

#[derive(Debug, Clone)]
enum ValueMatch {
    Present,
    Equal(AnyValue),
    Pattern(Regex),
}

#[derive(Debug, Clone)]
struct AttributeMatcher {
    key: String,
    value: ValueMatch,
}

fn attribute_matchers(
    items: &[super::config::AttributeMatch],
    match_type: MatchType,
) -> Result<Vec<AttributeMatcher>, String> {
    items
        .iter()
        .map(|item| {
            if item.key.is_empty() {
                return Err("an attribute to match needs a `key`".to_owned());
            }
            let value = match (&item.value, match_type) {
                (None | Some(serde_json::Value::Null), _) => ValueMatch::Present,
                (Some(serde_json::Value::String(p)), MatchType::Regexp) => ValueMatch::Pattern(
                    Regex::new(p).map_err(|e| format!("invalid regex \"{p}\": {e}"))?,
                ),
                (Some(_), MatchType::Regexp) => {
                    return Err(format!(
                        "match_type regexp for \"{}\" only supports string values",
                        item.key
                    ));
                }
                (Some(v), MatchType::Strict) => ValueMatch::Equal(json_to_any(v)?),
            };
            Ok(AttributeMatcher {
                key: item.key.clone(),
                value,
            })
        })
        .collect()
}

/// Every attribute matcher must find its key (and value) in `attributes`.
fn attributes_match(matchers: &[AttributeMatcher], attributes: &[KeyValue]) -> bool {
    matchers.iter().all(|m| {
        let Some(kv) = attributes.iter().find(|kv| kv.key == m.key) else {
            return false;
        };
        let empty = AnyValue::default();
        let value = kv.value.as_ref().unwrap_or(&empty);
        match &m.value {
            ValueMatch::Present => true,
            ValueMatch::Equal(expected) => any_equal(expected, value),
            // Only scalars are compared with a regex, as otelcol does.
            ValueMatch::Pattern(re) => match &value.value {
                Some(any_value::Value::StringValue(s)) => re.is_match(s),
                Some(any_value::Value::BoolValue(b)) => {
                    re.is_match(if *b { "true" } else { "false" })
                }
                Some(any_value::Value::IntValue(i)) => re.is_match(&i.to_string()),
                Some(any_value::Value::DoubleValue(d)) => re.is_match(&format_go_float(*d)),
                _ => false,
            },
        }
    })
}

#[derive(Debug, Clone)]
struct LibraryMatcher {
    name: Strings,
    version: Option<Strings>,
}

/// Compiled `include` or `exclude` properties for one signal.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    services: Option<Strings>,
    span_names: Option<Strings>,
    span_kinds: Option<Strings>,
    log_bodies: Option<Strings>,
    log_severity_texts: Option<Strings>,
    log_severity_number: Option<(i32, bool)>,
    metric_names: Option<Strings>,
    attributes: Vec<AttributeMatcher>,
    resources: Vec<AttributeMatcher>,
    libraries: Vec<LibraryMatcher>,
}

impl Matcher {
    /// Compiles the properties for `signal`, refusing properties that do not apply to it and
    /// properties that match nothing.
    pub(crate) fn new(props: &MatchProperties, signal: Signal) -> Result<Self, String> {
        let set = |name: &str, present: bool| present.then(|| name.to_owned());
        let given = [
            set("services", !props.services.is_empty()),
            set("span_names", !props.span_names.is_empty()),
            set("span_kinds", !props.span_kinds.is_empty()),
            set("log_bodies", !props.log_bodies.is_empty()),
            set("log_severity_texts", !props.log_severity_texts.is_empty()),
            set("log_severity_number", props.log_severity_number.is_some()),
            set("metric_names", !props.metric_names.is_empty()),
            set("attributes", !props.attributes.is_empty()),
            set("resources", !props.resources.is_empty()),
            set("libraries", !props.libraries.is_empty()),
        ];
        let allowed: &[&str] = match signal {
            Signal::Traces => &[
                "services",
                "span_names",
                "span_kinds",
                "attributes",
                "resources",
                "libraries",
            ],
            Signal::Logs => &[
                "log_bodies",
                "log_severity_texts",
                "log_severity_number",
                "attributes",
                "resources",
                "libraries",
            ],
            Signal::Metrics => &["metric_names", "resources"],
        };
        let given: Vec<String> = given.into_iter().flatten().collect();
        if let Some(invalid) = given.iter().find(|g| !allowed.contains(&g.as_str())) {
            return Err(format!(
                "`{invalid}` does not apply to {}; use {}",
                signal.name(),
                allowed.join(", ")
            ));
        }
        if given.is_empty() {
            return Err(format!(
                "set at least one of {} to match {}",
                allowed.join(", "),
                signal.name()
            ));
        }
        // otelcol (`ValidateForSpans`, shared by the attributes and filter processors) refuses a
        // strict span kind that no span can have, which would otherwise match nothing silently.
        if signal == Signal::Traces && props.match_type == MatchType::Strict {
            const KINDS: [&str; 5] = [
                "SPAN_KIND_CLIENT",
                "SPAN_KIND_CONSUMER",
                "SPAN_KIND_INTERNAL",
                "SPAN_KIND_PRODUCER",
                "SPAN_KIND_SERVER",
            ];
            if let Some(kind) = props
                .span_kinds
                .iter()
                .find(|k| !KINDS.contains(&k.as_str()))
            {
                return Err(format!(
                    "span kind \"{kind}\" is not one of {} (as match_type strict needs)",
                    KINDS.join(", ")
                ));
            }
        }
        let t = props.match_type;
        Ok(Matcher {
            services: Strings::new(&props.services, t)?,
            span_names: Strings::new(&props.span_names, t)?,
            span_kinds: Strings::new(&props.span_kinds, t)?,
            log_bodies: Strings::new(&props.log_bodies, t)?,
            log_severity_texts: Strings::new(&props.log_severity_texts, t)?,
            log_severity_number: props
                .log_severity_number
                .map(|s| (s.min, s.match_undefined)),
            metric_names: Strings::new(&props.metric_names, t)?,
            attributes: attribute_matchers(&props.attributes, t)?,
            resources: attribute_matchers(&props.resources, t)?,
            libraries: props
                .libraries
                .iter()
                .map(|l| {
                    Ok(LibraryMatcher {
                        name: Strings::new(std::slice::from_ref(&l.name), t)?
                            .unwrap_or(Strings::Strict(vec![String::new()])),
                        version: l
                            .version
                            .as_ref()
                            .map(|v| {
                                Strings::new(std::slice::from_ref(v), t)
                                    .map(|s| s.unwrap_or(Strings::Strict(vec![String::new()])))
                            })
                            .transpose()?,
                    })
                })
                .collect::<Result<_, String>>()?,
        })
    }

    fn scope_and_resource_match(
        &self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
    ) -> bool {
        let (name, version) = scope.map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
        self.libraries
            .iter()
            .all(|l| l.name.matches(name) && l.version.as_ref().is_none_or(|v| v.matches(version)))
            && (self.resources.is_empty()
                || attributes_match(
                    &self.resources,
                    resource.map_or(&[][..], |r| r.attributes.as_slice()),
                ))
    }

    pub(crate) fn matches_span(
        &self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        span: &Span,
    ) -> bool {
        if let Some(services) = &self.services {
            let service = resource
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .map_or_else(
                    || "<nil-service-name>".to_owned(),
                    |kv| {
                        Value::from_opt_any(kv.value.as_ref())
                            .as_string()
                            .into_owned()
                    },
                );
            if !services.matches(&service) {
                return false;
            }
        }
        if self
            .span_names
            .as_ref()
            .is_some_and(|n| !n.matches(&span.name))
        {
            return false;
        }
        if let Some(kinds) = &self.span_kinds {
            let kind = match span.kind {
                1 => "SPAN_KIND_INTERNAL",
                2 => "SPAN_KIND_SERVER",
                3 => "SPAN_KIND_CLIENT",
                4 => "SPAN_KIND_PRODUCER",
                5 => "SPAN_KIND_CONSUMER",
                _ => "SPAN_KIND_UNSPECIFIED",
            };
            if !kinds.matches(kind) {
                return false;
            }
        }
        self.scope_and_resource_match(resource, scope)
            && (self.attributes.is_empty() || attributes_match(&self.attributes, &span.attributes))
    }

    pub(crate) fn matches_log(
        &self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        log: &LogRecord,
    ) -> bool {
        if let Some(bodies) = &self.log_bodies {
            let body = Value::from_opt_any(log.body.as_ref());
            if !bodies.matches(&body.as_string()) {
                return false;
            }
        }
        if self
            .log_severity_texts
            .as_ref()
            .is_some_and(|t| !t.matches(&log.severity_text))
        {
            return false;
        }
        if let Some((min, match_undefined)) = self.log_severity_number {
            let severity = log.severity_number;
            let ok = if severity == 0 {
                match_undefined
            } else {
                severity >= min
            };
            if !ok {
                return false;
            }
        }
        self.scope_and_resource_match(resource, scope)
            && (self.attributes.is_empty() || attributes_match(&self.attributes, &log.attributes))
    }

    pub(crate) fn matches_metric(&self, resource: Option<&Resource>, metric: &Metric) -> bool {
        if self
            .metric_names
            .as_ref()
            .is_some_and(|n| !n.matches(&metric.name))
        {
            return false;
        }
        self.matches_resource(resource)
    }

    /// Whether the resource properties match, for the filter processor's legacy metric settings,
    /// which otelcol decides per resource (dropping the resource whole).
    pub(crate) fn matches_resource(&self, resource: Option<&Resource>) -> bool {
        self.resources.is_empty()
            || attributes_match(
                &self.resources,
                resource.map_or(&[][..], |r| r.attributes.as_slice()),
            )
    }
}
