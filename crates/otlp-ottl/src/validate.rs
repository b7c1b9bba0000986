//! Validation that reports every problem of a processor configuration at once, each with its key
//! path (`trace_statements[1].statements[0]`, `actions[2].action`), for `otlp-suite validate`.
//!
//! The configuration is walked as a tree: unknown keys, wrongly typed values, and statements,
//! conditions and actions that do not compile are all collected instead of stopping at the first.
//!
//! ```
//! use otlp_ottl::validate::{ProcessorKind, validate};
//! use otlp_ottl::Signal;
//!
//! let config = serde_json::json!({
//!     "error_mode": "sometimes",
//!     "trace_statements": [
//!         "set(span.attributes[\"a\"], 1)",
//!         {"context": "spam", "statements": ["set(name, \"x\")"]},
//!         {"statements": ["sett(span.name, \"x\")"], "colour": "blue"}
//!     ]
//! });
//! let problems = validate(ProcessorKind::Transform, &config, &[Signal::Traces]);
//! let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
//! assert_eq!(
//!     paths,
//!     ["error_mode", "trace_statements[1].context", "trace_statements[2].colour", "trace_statements[2].statements[0]"]
//! );
//! ```

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::actions::{ActionConfig, Actions, MatchProperties};
use crate::context::{ContextKind, Signal};
use crate::engine::ErrorMode;
use crate::error::ConfigProblem;
use crate::funcs::nearest;
use crate::parse::compile_condition;
use crate::transform::{ContextStatements, StatementsEntry, compile_list};

/// otelcol's keys for the profiles signal (`profile_statements` of transform, `profiles` of
/// filter): an operator's config may carry them, and a plain "unknown key" would send them looking
/// for a typo instead of the reason.
const PROFILE_KEYS: &[&str] = &["profile_statements", "profiles"];

/// The processors this crate is the engine of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorKind {
    /// `transform`
    Transform,
    /// `filter`
    Filter,
    /// `attributes`
    Attributes,
    /// `resource`
    Resource,
}

/// Every problem of `config` (the component's section, as a JSON-like tree) for the pipelines'
/// `signals`. An empty result means the configuration builds.
pub fn validate(kind: ProcessorKind, config: &Value, signals: &[Signal]) -> Vec<ConfigProblem> {
    let mut check = Check {
        problems: Vec::new(),
    };
    let empty = Value::Object(Map::new());
    let config = if config.is_null() { &empty } else { config };
    match kind {
        ProcessorKind::Transform => check.transform(config),
        ProcessorKind::Filter => check.filter(config),
        ProcessorKind::Attributes => check.attributes(config, signals),
        ProcessorKind::Resource => check.resource(config),
    }
    let mut problems = check.problems;
    problems.sort_by(|a, b| natural_order(&a.path, &b.path));
    problems
}

/// Orders paths as they appear in a document: `x[2]` before `x[10]`.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn tokens(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            let boundary =
                i == bytes.len() || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit();
            if boundary {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(&tb) {
        let ordering = match (x, y) {
            ((true, x), (true, y)) => x
                .parse::<u64>()
                .unwrap_or(u64::MAX)
                .cmp(&y.parse::<u64>().unwrap_or(u64::MAX)),
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ordering != std::cmp::Ordering::Equal {
            return ordering;
        }
    }
    ta.len().cmp(&tb.len())
}

/// [`validate`] for any serializable configuration tree (a YAML value, for instance).
pub fn validate_serialized<T: serde::Serialize>(
    kind: ProcessorKind,
    config: &T,
    signals: &[Signal],
) -> Vec<ConfigProblem> {
    match serde_json::to_value(config) {
        Ok(value) => validate(kind, &value, signals),
        Err(error) => vec![ConfigProblem::new(
            "",
            format!("the configuration is not a tree of keys and values: {error}"),
        )],
    }
}

struct Check {
    problems: Vec<ConfigProblem>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

impl Check {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem::new(path, message));
    }

    /// The mapping at `path`, with its unknown keys reported (with the nearest known key).
    fn object<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        known: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = value else {
            self.problem(
                path,
                format!("expected a mapping, got {}", type_name(value)),
            );
            return None;
        };
        for key in map.keys() {
            if PROFILE_KEYS.contains(&key.as_str()) {
                self.problem(
                    join(path, key),
                    "this collector has no profiles signal, so these would never run (otelcol runs \
                     them only in profiles pipelines); remove them",
                );
            } else if !known.contains(&key.as_str()) {
                let hint = nearest(key, known.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                self.problem(
                    join(path, key),
                    format!("unknown key; {hint}known keys: {}", known.join(", ")),
                );
            }
        }
        Some(map)
    }

    /// `map[key]` deserialized as `T`, when present.
    fn field<T: DeserializeOwned>(
        &mut self,
        path: &str,
        map: &Map<String, Value>,
        key: &str,
    ) -> Option<T> {
        let value = map.get(key)?;
        self.typed(&join(path, key), value)
    }

    fn typed<T: DeserializeOwned>(&mut self, path: &str, value: &Value) -> Option<T> {
        match serde_json::from_value::<T>(value.clone()) {
            Ok(typed) => Some(typed),
            Err(error) => {
                self.problem(path, error.to_string());
                None
            }
        }
    }

    fn list<'v>(&mut self, path: &str, value: &'v Value) -> &'v [Value] {
        match value {
            Value::Array(items) => items,
            Value::Null => &[],
            other => {
                self.problem(path, format!("expected a list, got {}", type_name(other)));
                &[]
            }
        }
    }

    fn transform(&mut self, config: &Value) {
        const KEYS: &[&str] = &[
            "error_mode",
            "trace_statements",
            "metric_statements",
            "log_statements",
        ];
        let Some(map) = self.object("", config, KEYS) else {
            return;
        };
        let error_mode: ErrorMode = self.field("", map, "error_mode").unwrap_or_default();
        for (key, signal) in [
            ("trace_statements", Signal::Traces),
            ("metric_statements", Signal::Metrics),
            ("log_statements", Signal::Logs),
        ] {
            let Some(value) = map.get(key) else {
                continue;
            };
            let entries: Vec<Option<StatementsEntry>> = self
                .list(key, value)
                .iter()
                .enumerate()
                .map(|(i, item)| self.statements_entry(&format!("{key}[{i}]"), item))
                .collect();
            let refs: Vec<Option<&StatementsEntry>> = entries.iter().map(Option::as_ref).collect();
            compile_list(signal, key, &refs, error_mode, &mut self.problems);
        }
    }

    fn statements_entry(&mut self, path: &str, value: &Value) -> Option<StatementsEntry> {
        const KEYS: &[&str] = &[
            "context",
            "conditions",
            "statements",
            "error_mode",
            "shared_cache",
        ];
        match value {
            Value::String(statement) => Some(StatementsEntry::Statement(statement.clone())),
            Value::Object(_) => {
                // Unknown keys are reported but do not hide the group's statements.
                let map = self.object(path, value, KEYS)?;
                let before = self.problems.len();
                let group = ContextStatements {
                    context: self.field(path, map, "context"),
                    conditions: self.field(path, map, "conditions").unwrap_or_default(),
                    statements: self.field(path, map, "statements").unwrap_or_default(),
                    error_mode: self.field(path, map, "error_mode"),
                    shared_cache: self.field(path, map, "shared_cache").unwrap_or_default(),
                };
                (self.problems.len() == before).then_some(StatementsEntry::Group(group))
            }
            other => {
                self.problem(
                    path,
                    format!(
                        "expected a statement or a statement group, got {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn filter(&mut self, config: &Value) {
        const KEYS: &[&str] = &["error_mode", "traces", "metrics", "logs"];
        let Some(map) = self.object("", config, KEYS) else {
            return;
        };
        let _: Option<ErrorMode> = self.field("", map, "error_mode");
        let sections: [(&str, &[(&str, ContextKind)]); 3] = [
            (
                "traces",
                &[
                    ("resource", ContextKind::Resource),
                    ("span", ContextKind::Span),
                    ("spanevent", ContextKind::SpanEvent),
                ],
            ),
            (
                "metrics",
                &[
                    ("resource", ContextKind::Resource),
                    ("metric", ContextKind::Metric),
                    ("datapoint", ContextKind::DataPoint),
                ],
            ),
            (
                "logs",
                &[
                    ("resource", ContextKind::Resource),
                    ("log_record", ContextKind::Log),
                ],
            ),
        ];
        for (section, contexts) in sections {
            let Some(value) = map.get(section) else {
                continue;
            };
            let known: Vec<&str> = contexts.iter().map(|(k, _)| *k).collect();
            let Some(inner) = self.object(section, value, &known) else {
                continue;
            };
            for legacy in ["include", "exclude", "match_type"] {
                if inner.contains_key(legacy) {
                    self.problem(
                        join(section, legacy),
                        "otelcol's legacy include/exclude filtering is not supported; write OTTL \
                         conditions instead (an item matching any condition is dropped)",
                    );
                }
            }
            for (key, context) in contexts {
                let path = join(section, key);
                let Some(conditions) = self.field::<Vec<String>>(section, inner, key) else {
                    continue;
                };
                for (i, text) in conditions.iter().enumerate() {
                    if let Err(error) = compile_condition(*context, text, true) {
                        self.problems
                            .extend(error.into_problems(&format!("{path}[{i}]")));
                    }
                }
            }
        }
    }

    fn actions(&mut self, key: &str, value: &Value) {
        const KEYS: &[&str] = &[
            "key",
            "value",
            "pattern",
            "from_attribute",
            "from_context",
            "converted_type",
            "default_value",
            "action",
        ];
        let items = self.list(key, value);
        if items.is_empty() {
            self.problem(key, "at least one action is required");
        }
        for (i, item) in items.iter().enumerate() {
            let path = format!("{key}[{i}]");
            let before = self.problems.len();
            let Some(map) = self.object(&path, item, KEYS) else {
                continue;
            };
            if !map.contains_key("action") {
                self.problem(
                    join(&path, "action"),
                    "missing; one of insert, update, upsert, delete, hash, extract, convert",
                );
                continue;
            }
            if self.problems.len() > before {
                continue;
            }
            let Some(action) = self.typed::<ActionConfig>(&path, item) else {
                continue;
            };
            if let Err(error) = Actions::new(std::slice::from_ref(&action)) {
                for problem in error.into_problems(&path) {
                    self.problem(path.clone(), problem.message);
                }
            }
        }
    }

    fn attributes(&mut self, config: &Value, signals: &[Signal]) {
        let Some(map) = self.object("", config, &["actions", "include", "exclude"]) else {
            return;
        };
        match map.get("actions") {
            Some(actions) => self.actions("actions", actions),
            None => self.problem("actions", "at least one action is required"),
        }
        for key in ["include", "exclude"] {
            let Some(props) = self.field::<MatchProperties>("", map, key) else {
                continue;
            };
            for signal in signals {
                if let Err(message) = crate::actions::check_match(&props, *signal) {
                    self.problem(key, format!("in a {} pipeline: {message}", signal.name()));
                }
            }
        }
    }

    fn resource(&mut self, config: &Value) {
        let Some(map) = self.object("", config, &["attributes"]) else {
            return;
        };
        match map.get("attributes") {
            Some(actions) => self.actions("attributes", actions),
            None => self.problem("attributes", "at least one action is required"),
        }
    }
}
