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

use crate::actions::{
    ActionConfig, Actions, MatchProperties, RegexpSettings, SpanConfig, SpanProcessor,
};
use crate::context::{ContextKind, Signal};
use crate::engine::ErrorMode;
use crate::error::ConfigProblem;
use crate::filter::{LogMatchProperties, MetricMatchProperties, SpanMatchConfig};
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
    /// `span`
    Span,
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
        ProcessorKind::Span => check.span(config),
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
        const KEYS: &[&str] = &["error_mode", "traces", "spans", "metrics", "logs"];
        /// The legacy keys of each OTTL section (`spans` has a section of its own).
        const LEGACY: [&[&str]; 3] = [
            &[],
            &["include", "exclude", "regexp"],
            &["include", "exclude"],
        ];
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
        // The OTTL keys given per signal, to refuse a signal configured both ways.
        let mut ottl_given: [Vec<String>; 3] = Default::default();
        let mut legacy_sections: [Option<&Map<String, Value>>; 3] = [None; 3];
        for (s, (section, contexts)) in sections.into_iter().enumerate() {
            let Some(value) = map.get(section) else {
                continue;
            };
            let mut known: Vec<&str> = contexts.iter().map(|(k, _)| *k).collect();
            known.extend(LEGACY[s]);
            let misplaced = ["include", "exclude", "match_type"];
            if section == "traces" {
                known.extend(misplaced);
            }
            let Some(inner) = self.object(section, value, &known) else {
                continue;
            };
            if section == "traces" {
                for key in misplaced.into_iter().filter(|k| inner.contains_key(*k)) {
                    self.problem(
                        join(section, key),
                        "otelcol reads legacy span matching from `spans.include`/`spans.exclude`, \
                         not from `traces`; move it there, or write OTTL conditions under \
                         `traces.span`",
                    );
                }
            }
            legacy_sections[s] = Some(inner);
            for (key, context) in contexts {
                let path = join(section, key);
                let Some(conditions) = self.field::<Vec<String>>(section, inner, key) else {
                    continue;
                };
                if !conditions.is_empty() {
                    ottl_given[s].push(path.clone());
                }
                for (i, text) in conditions.iter().enumerate() {
                    if let Err(error) = compile_condition(*context, text, true) {
                        self.problems
                            .extend(error.into_problems(&format!("{path}[{i}]")));
                    }
                }
            }
        }
        self.legacy_filter(map, &ottl_given, &legacy_sections);
    }

    /// The filter processor's legacy `include`/`exclude` settings: unknown keys at their own
    /// path, then each side compiled as `Filter::new` compiles it; a signal also given OTTL
    /// conditions is refused instead, as otelcol refuses it.
    fn legacy_filter(
        &mut self,
        root: &Map<String, Value>,
        ottl_given: &[Vec<String>; 3],
        sections: &[Option<&Map<String, Value>>; 3],
    ) {
        const SPAN_KEYS: &[&str] = &[
            "match_type",
            "regexp",
            "services",
            "span_names",
            "span_kinds",
            "log_bodies",
            "log_severity_texts",
            "log_severity_number",
            "metric_names",
            "attributes",
            "resources",
            "libraries",
        ];
        const METRIC_KEYS: &[&str] = &[
            "match_type",
            "regexp",
            "metric_names",
            "expressions",
            "resource_attributes",
        ];
        const LOG_KEYS: &[&str] = &[
            "match_type",
            "resource_attributes",
            "record_attributes",
            "severity_texts",
            "severity_number",
            "bodies",
        ];
        let spans = root
            .get("spans")
            .and_then(|value| self.object("spans", value, &["include", "exclude"]));
        let inner = [spans, sections[1], sections[2]];
        let names = ["spans", "metrics", "logs"];
        for (s, section) in inner.iter().enumerate() {
            let Some(section) = section else {
                continue;
            };
            let given: Vec<String> = ["include", "exclude"]
                .into_iter()
                .filter(|k| section.get(*k).is_some_and(|v| !v.is_null()))
                .map(|k| join(names[s], k))
                .collect();
            if let Some(first) = given.first()
                && !ottl_given[s].is_empty()
            {
                self.problems
                    .push(crate::filter::mixed(first, &ottl_given[s]));
                continue;
            }
            if s == 1 {
                let _: Option<RegexpSettings> = self.field("metrics", section, "regexp");
            }
            let path = |key: &str| join(names[s], key);
            match s {
                0 => {
                    let include =
                        self.legacy_side(&path("include"), section.get("include"), SPAN_KEYS);
                    let exclude =
                        self.legacy_side(&path("exclude"), section.get("exclude"), SPAN_KEYS);
                    let config = SpanMatchConfig { include, exclude };
                    crate::filter::compile_spans(&config, &mut self.problems);
                }
                1 => {
                    let include: Option<MetricMatchProperties> =
                        self.legacy_side(&path("include"), section.get("include"), METRIC_KEYS);
                    let exclude: Option<MetricMatchProperties> =
                        self.legacy_side(&path("exclude"), section.get("exclude"), METRIC_KEYS);
                    crate::filter::compile_metrics(
                        include.as_ref(),
                        exclude.as_ref(),
                        &mut self.problems,
                    );
                }
                _ => {
                    let include: Option<LogMatchProperties> =
                        self.legacy_side(&path("include"), section.get("include"), LOG_KEYS);
                    let exclude: Option<LogMatchProperties> =
                        self.legacy_side(&path("exclude"), section.get("exclude"), LOG_KEYS);
                    crate::filter::compile_logs(
                        include.as_ref(),
                        exclude.as_ref(),
                        &mut self.problems,
                    );
                }
            }
        }
    }

    /// One legacy `include`/`exclude` mapping: its unknown keys reported at their own path, then
    /// the whole read as `T` when they are all known.
    fn legacy_side<T: DeserializeOwned>(
        &mut self,
        path: &str,
        value: Option<&Value>,
        known: &[&str],
    ) -> Option<T> {
        let value = value.filter(|v| !v.is_null())?;
        let before = self.problems.len();
        self.object(path, value, known)?;
        if self.problems.len() > before {
            return None;
        }
        self.typed(path, value)
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

    /// The `span` processor: its keys at every level, then what compiling finds. Its
    /// `include`/`exclude` properties are those of spans whatever the pipeline: the processor
    /// takes only traces.
    fn span(&mut self, config: &Value) {
        let Some(map) = self.object("", config, &["name", "status", "include", "exclude"]) else {
            return;
        };
        let before = self.problems.len();
        if let Some(name) = map.get("name").filter(|v| !v.is_null())
            && let Some(name) = self.object(
                "name",
                name,
                &["from_attributes", "separator", "to_attributes"],
            )
            && let Some(to) = name.get("to_attributes").filter(|v| !v.is_null())
        {
            self.object(
                "name.to_attributes",
                to,
                &["rules", "break_after_match", "keep_original_name"],
            );
        }
        if let Some(status) = map.get("status").filter(|v| !v.is_null()) {
            self.object("status", status, &["code", "description"]);
        }
        if self.problems.len() > before {
            return;
        }
        let Some(config) = self.typed::<SpanConfig>("", config) else {
            return;
        };
        if let Err(error) = SpanProcessor::new(&config) {
            for problem in error.into_problems("") {
                self.problem(problem.path, problem.message);
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
