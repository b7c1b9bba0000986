//! The engine behind otelcol's `transform` processor: `trace_statements`, `metric_statements`
//! and `log_statements`, each a list of statements (context inferred from path prefixes) or of
//! groups `{context, conditions, statements, error_mode}`, applied to requests in place.

use std::fmt;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::context::{ContextKind, Signal};
use crate::engine::{ErrorMode, Group, walk};
use crate::error::{ConfigProblem, Error, Result};
use crate::funcs::nearest;
use crate::parse::{compile_condition, compile_statement};
use crate::{infer_conditions_context, infer_statements_context};

/// The `transform` processor's configuration, with otelcol's keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// How statement errors are handled unless a group says otherwise (default `ignore`).
    #[serde(default)]
    pub error_mode: ErrorMode,
    /// Statements for traces.
    #[serde(default)]
    pub trace_statements: Vec<StatementsEntry>,
    /// Statements for metrics.
    #[serde(default)]
    pub metric_statements: Vec<StatementsEntry>,
    /// Statements for logs.
    #[serde(default)]
    pub log_statements: Vec<StatementsEntry>,
}

/// One element of a `*_statements` list: a statement, or a group of them.
///
/// Consecutive plain statements form one group whose context is inferred from their paths, as
/// otelcol's basic configuration style does.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementsEntry {
    /// `- set(span.attributes["x"], "y")`
    Statement(String),
    /// `- context: span` / `statements: [...]`
    Group(ContextStatements),
}

/// A group of statements sharing a context, conditions and error mode.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextStatements {
    /// `resource`, `scope`, `span`, `spanevent`, `metric`, `datapoint` or `log`; inferred from
    /// the paths when absent.
    #[serde(default)]
    pub context: Option<String>,
    /// Conditions of which at least one must hold for the statements to run on an item.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The statements, run in order.
    #[serde(default)]
    pub statements: Vec<String>,
    /// Overrides the processor's `error_mode` for this group.
    #[serde(default)]
    pub error_mode: Option<ErrorMode>,
    /// otelcol's cache sharing between groups; not supported here (validation says so).
    #[serde(default)]
    pub shared_cache: bool,
}

impl<'de> Deserialize<'de> for StatementsEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = StatementsEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTTL statement, or a group with `statements`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(StatementsEntry::Statement(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(StatementsEntry::Statement(v))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                ContextStatements::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(StatementsEntry::Group)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// What one application of the statements did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransformStats {
    /// Statement and condition errors that `ignore`/`silent` let pass.
    pub errors: usize,
}

/// Compiled `transform` statements, ready to apply to requests.
#[derive(Debug, Default)]
pub struct Transform {
    traces: Vec<Group>,
    metrics: Vec<Group>,
    logs: Vec<Group>,
}

impl Transform {
    /// Compiles every statement and condition of the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem, each with its key path
    /// (`trace_statements[1].statements[0]`).
    pub fn new(config: &TransformConfig) -> Result<Self> {
        let mut problems = Vec::new();
        let transform = Transform {
            traces: compile_list(
                Signal::Traces,
                "trace_statements",
                &config.trace_statements.iter().map(Some).collect::<Vec<_>>(),
                config.error_mode,
                &mut problems,
            ),
            metrics: compile_list(
                Signal::Metrics,
                "metric_statements",
                &config
                    .metric_statements
                    .iter()
                    .map(Some)
                    .collect::<Vec<_>>(),
                config.error_mode,
                &mut problems,
            ),
            logs: compile_list(
                Signal::Logs,
                "log_statements",
                &config.log_statements.iter().map(Some).collect::<Vec<_>>(),
                config.error_mode,
                &mut problems,
            ),
        };
        if problems.is_empty() {
            Ok(transform)
        } else {
            Err(Error::InvalidConfig(problems))
        }
    }

    /// Whether there are statements for `signal`.
    pub fn handles(&self, signal: Signal) -> bool {
        !match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
        .is_empty()
    }

    /// Applies the trace statements.
    ///
    /// # Errors
    ///
    /// The first error of a group whose error mode is `propagate`; the request may then be
    /// partly transformed, and otelcol drops it.
    pub fn apply_traces(&self, request: &mut ExportTraceServiceRequest) -> Result<TransformStats> {
        let mut stats = TransformStats::default();
        let mut cache = Vec::new();
        for group in &self.traces {
            walk::traces(
                request,
                group.context,
                &mut cache,
                |span| group.skips_span(span),
                |ctx| group.run(ctx, &mut stats.errors),
            )?;
        }
        Ok(stats)
    }

    /// Applies the metric statements.
    ///
    /// # Errors
    ///
    /// As [`apply_traces`](Self::apply_traces).
    pub fn apply_metrics(
        &self,
        request: &mut ExportMetricsServiceRequest,
    ) -> Result<TransformStats> {
        let mut stats = TransformStats::default();
        let mut cache = Vec::new();
        for group in &self.metrics {
            walk::metrics(request, group.context, &mut cache, |ctx| {
                group.run(ctx, &mut stats.errors)
            })?;
        }
        Ok(stats)
    }

    /// Applies the log statements.
    ///
    /// # Errors
    ///
    /// As [`apply_traces`](Self::apply_traces).
    pub fn apply_logs(&self, request: &mut ExportLogsServiceRequest) -> Result<TransformStats> {
        let mut stats = TransformStats::default();
        let mut cache = Vec::new();
        for group in &self.logs {
            walk::logs(
                request,
                group.context,
                &mut cache,
                |log| group.skips_log(log),
                |ctx| group.run(ctx, &mut stats.errors),
            )?;
        }
        Ok(stats)
    }
}

/// Compiles one `*_statements` list, recording problems instead of stopping at the first.
/// `None` entries were found malformed (and reported) earlier; they are skipped.
pub(crate) fn compile_list(
    signal: Signal,
    key: &str,
    entries: &[Option<&StatementsEntry>],
    error_mode: ErrorMode,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut index = 0;
    while index < entries.len() {
        match entries[index] {
            None => index += 1,
            Some(StatementsEntry::Group(group)) => {
                let path = format!("{key}[{index}]");
                if let Some(group) = compile_group(signal, &path, group, error_mode, problems) {
                    groups.push(group);
                }
                index += 1;
            }
            Some(StatementsEntry::Statement(_)) => {
                let start = index;
                let mut texts = Vec::new();
                while let Some(Some(StatementsEntry::Statement(text))) = entries.get(index) {
                    texts.push((index, text.as_str()));
                    index += 1;
                }
                let paths: Vec<String> = texts.iter().map(|(i, _)| format!("{key}[{i}]")).collect();
                let statements: Vec<&str> = texts.iter().map(|(_, t)| *t).collect();
                if let Some(group) = compile_statements(
                    signal,
                    &format!("{key}[{start}]"),
                    None,
                    &paths,
                    &statements,
                    &[],
                    &[],
                    error_mode,
                    problems,
                ) {
                    groups.push(group);
                }
            }
        }
    }
    groups
}

fn compile_group(
    signal: Signal,
    path: &str,
    group: &ContextStatements,
    default_mode: ErrorMode,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Group> {
    if group.shared_cache {
        problems.push(ConfigProblem::new(
            format!("{path}.shared_cache"),
            "shared_cache is not supported by otlp-suite: each statement group has its own cache",
        ));
    }
    if group.statements.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{path}.statements"),
            "a statement group needs at least one statement",
        ));
        return None;
    }
    let context = match &group.context {
        None => None,
        Some(name) => match parse_context(signal, name) {
            Ok(context) => Some(context),
            Err(message) => {
                problems.push(ConfigProblem::new(format!("{path}.context"), message));
                return None;
            }
        },
    };
    let statement_paths: Vec<String> = (0..group.statements.len())
        .map(|i| format!("{path}.statements[{i}]"))
        .collect();
    let condition_paths: Vec<String> = (0..group.conditions.len())
        .map(|i| format!("{path}.conditions[{i}]"))
        .collect();
    let statements: Vec<&str> = group.statements.iter().map(String::as_str).collect();
    let conditions: Vec<&str> = group.conditions.iter().map(String::as_str).collect();
    compile_statements(
        signal,
        path,
        context,
        &statement_paths,
        &statements,
        &condition_paths,
        &conditions,
        group.error_mode.unwrap_or(default_mode),
        problems,
    )
}

/// A context name of a configuration, checked against the signal's contexts.
pub(crate) fn parse_context(
    signal: Signal,
    name: &str,
) -> std::result::Result<ContextKind, String> {
    let allowed: Vec<&str> = signal.contexts().iter().map(|c| c.name()).collect();
    match ContextKind::from_name(name) {
        Some(context) if signal.contexts().contains(&context) => Ok(context),
        Some(context) => Err(format!(
            "the {context} context cannot be used for {}; use one of {}",
            signal.name(),
            allowed.join(", ")
        )),
        None => Err(format!(
            "unknown context \"{name}\"{}; use one of {}",
            nearest(name, allowed.iter().copied())
                .map(|n| format!(" (did you mean \"{n}\"?)"))
                .unwrap_or_default(),
            allowed.join(", ")
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn compile_statements(
    signal: Signal,
    group_path: &str,
    context: Option<ContextKind>,
    statement_paths: &[String],
    statements: &[&str],
    condition_paths: &[String],
    conditions: &[&str],
    error_mode: ErrorMode,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Group> {
    let before = problems.len();
    let explicit = context.is_some();
    let context = match context {
        Some(context) => context,
        None => {
            // Inference needs every statement to parse; report each syntax error first.
            for (path, text) in statement_paths.iter().zip(statements) {
                if let Err(error) = crate::parser::parse_statement(text) {
                    problems.extend(error.into_problems(path));
                }
            }
            for (path, text) in condition_paths.iter().zip(conditions) {
                if let Err(error) = crate::parser::parse_condition(text) {
                    problems.extend(error.into_problems(path));
                }
            }
            if problems.len() > before {
                return None;
            }
            let inferred = if conditions.is_empty() {
                infer_statements_context(signal, statements)
            } else {
                infer_mixed(signal, statements, conditions)
            };
            match inferred {
                Ok(context) => context,
                Err(error) => {
                    problems.extend(error.into_problems(group_path));
                    return None;
                }
            }
        }
    };
    let mut compiled = Vec::new();
    for (path, text) in statement_paths.iter().zip(statements) {
        match compile_statement(context, text, explicit) {
            Ok(statement) => compiled.push(statement),
            Err(error) => problems.extend(error.into_problems(path)),
        }
    }
    let mut compiled_conditions = Vec::new();
    for (path, text) in condition_paths.iter().zip(conditions) {
        match compile_condition(context, text, explicit) {
            Ok(condition) => compiled_conditions.push(condition),
            Err(error) => problems.extend(error.into_problems(path)),
        }
    }
    (problems.len() == before)
        .then(|| Group::new(context, compiled_conditions, compiled, error_mode))
}

/// The context of statements and conditions together: the most specific one either needs.
fn infer_mixed(signal: Signal, statements: &[&str], conditions: &[&str]) -> Result<ContextKind> {
    let from_statements = infer_statements_context(signal, statements)?;
    match infer_conditions_context(signal, conditions) {
        Ok(from_conditions)
            if from_conditions.inference_priority() < from_statements.inference_priority() =>
        {
            Ok(from_conditions)
        }
        _ => Ok(from_statements),
    }
}
