//! stanza's operators, the `operators` list of otelcol's log receivers: Kubernetes pod log lines read into their
//! records (`container`), parsers that read a field into attributes (`json_parser`, `regex_parser`) with their
//! `timestamp` and `severity` blocks, the same two blocks as operators of their own, and the field moves (`add`,
//! `move`, `copy`, `remove`). Each operator takes the entry the one before it passed on.
//!
//! Written as in otelcol (`type`, `id`, `parse_from`, `parse_to`, `on_error`); an operator type stanza has and
//! this receiver lacks is refused by name, pointing at the `transform` processor, whose OTTL functions
//! (`ParseJSON`, `ExtractPatterns`, `ParseKeyValue`, `ParseCSV`, ...) do the same work on any log pipeline.

mod container;
mod fields;
mod parsers;
mod severity;
mod timestamp;

use super::entry::{Entry, Field};
use crate::component::Invalid;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_norway::Value;
use std::time::Instant;

use severity::SeverityConfig;
use timestamp::TimestampConfig;

/// The operator types available here.
const TYPES: &str =
    "container, json_parser, regex_parser, time_parser, severity_parser, add, move, copy, remove";

/// stanza operator types this receiver lacks.
const STANZA_TYPES: &[&str] = &[
    "assign_keys",
    "csv_parser",
    "filter",
    "flatten",
    "json_array_parser",
    "key_value_parser",
    "noop",
    "recombine",
    "regex_replace",
    "retain",
    "router",
    "scope_name_parser",
    "stdout",
    "syslog_parser",
    "trace_parser",
    "unquote",
    "uri_parser",
];

/// What an operator does with an entry it cannot handle (`on_error`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Log the error and pass the entry on unchanged.
    #[default]
    Send,
    /// Pass the entry on unchanged, logging only at debug level.
    SendQuiet,
    /// Log the error and drop the entry.
    Drop,
    /// Drop the entry, logging only at debug level.
    DropQuiet,
}

/// Keys every operator takes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Common {
    id: Option<String>,
    on_error: OnError,
}

/// One operator of the list, as configured.
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    id: String,
    on_error: OnError,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Container(container::ContainerConfig),
    Json(parsers::JsonParser),
    Regex(parsers::RegexParser),
    Time(TimestampConfig),
    Severity(SeverityConfig),
    Add(fields::Add),
    Move(fields::FromTo),
    Copy(fields::FromTo),
    Remove(fields::Remove),
}

/// Reads a variant's own keys (the common ones taken out), refusing any other.
fn variant<T: DeserializeOwned, E: serde::de::Error>(
    kind: &str,
    mapping: &serde_norway::Mapping,
) -> Result<T, E> {
    serde_norway::from_value(Value::Mapping(mapping.clone()))
        .map_err(|e| E::custom(format!("{kind}: {e}")))
}

impl<'de> Deserialize<'de> for OperatorConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut mapping = serde_norway::Mapping::deserialize(deserializer)?;
        let kind = match mapping.remove("type") {
            Some(Value::String(kind)) => kind,
            Some(_) => return Err(D::Error::custom("`type` must be a string")),
            None => {
                return Err(D::Error::custom(format!(
                    "every operator needs a `type`: {TYPES}"
                )));
            }
        };
        if mapping.contains_key("if") {
            return Err(D::Error::custom(format!(
                "{kind}: `if` (stanza's expressions) is not available here; select records with the `filter` \
                 processor, or use the `transform` processor's OTTL with a `where` clause"
            )));
        }
        if mapping.contains_key("output") {
            return Err(D::Error::custom(format!(
                "{kind}: `output` is not available here; operators run in the order listed"
            )));
        }
        let mut common_keys = serde_norway::Mapping::new();
        for key in ["id", "on_error"] {
            if let Some(value) = mapping.remove(key) {
                common_keys.insert(Value::String(key.to_owned()), value);
            }
        }
        let common: Common = variant(&kind, &common_keys)?;
        let parsed = match kind.as_str() {
            "container" => Kind::Container(variant(&kind, &mapping)?),
            "json_parser" => Kind::Json(variant(&kind, &mapping)?),
            "regex_parser" => Kind::Regex(variant(&kind, &mapping)?),
            "time_parser" => Kind::Time(variant(&kind, &mapping)?),
            "severity_parser" => Kind::Severity(variant(&kind, &mapping)?),
            "add" => Kind::Add(variant(&kind, &mapping)?),
            "move" => Kind::Move(variant(&kind, &mapping)?),
            "copy" => Kind::Copy(variant(&kind, &mapping)?),
            "remove" => Kind::Remove(variant(&kind, &mapping)?),
            other if STANZA_TYPES.contains(&other) => {
                return Err(D::Error::custom(format!(
                    "the stanza operator `{other}` is not available here (available: {TYPES}); the `transform` \
                     processor's OTTL functions do such parsing on any logs pipeline"
                )));
            }
            other => {
                return Err(D::Error::custom(format!(
                    "unknown operator type `{other}`; available: {TYPES}"
                )));
            }
        };
        Ok(OperatorConfig {
            id: common.id.unwrap_or_else(|| kind.clone()),
            on_error: common.on_error,
            kind: parsed,
        })
    }
}

/// An operator ready to run.
trait Operate: Send + Sync {
    /// Changes the entry; an error leaves it as `on_error` says.
    fn operate(&self, entry: &mut Entry) -> Result<(), String>;

    /// For an operator that joins entries (`container`'s cut CRI lines): what passes on after `operate`, none
    /// while the entry waits for the rest of its line.
    fn combine(&self, entry: Entry) -> Option<Entry> {
        Some(entry)
    }

    /// Entries held by `combine` that waited long enough for a rest that did not come.
    fn flush(&self, now: Instant) -> Vec<Entry> {
        let _ = now;
        Vec::new()
    }
}

/// The operators of a receiver, in order.
pub(crate) struct Operators(Vec<(String, OnError, Box<dyn Operate>)>);

impl Operators {
    /// Compiles every operator (regular expressions, layouts, mappings), reporting each one that cannot be.
    pub(crate) fn build(configs: &[OperatorConfig]) -> Result<Self, Invalid> {
        let mut built = Vec::new();
        let mut problems = Vec::new();
        for (i, config) in configs.iter().enumerate() {
            let operator: Result<Box<dyn Operate>, String> = match &config.kind {
                Kind::Container(c) => c.build().map(|o| Box::new(o) as Box<dyn Operate>),
                Kind::Json(c) => c.build().map(|o| Box::new(o) as Box<dyn Operate>),
                Kind::Regex(c) => c.build().map(|o| Box::new(o) as Box<dyn Operate>),
                Kind::Time(c) => c.build().map(|o| Box::new(o) as Box<dyn Operate>),
                Kind::Severity(c) => c.build().map(|o| Box::new(o) as Box<dyn Operate>),
                Kind::Add(c) => c.build().map(|o| Box::new(o) as Box<dyn Operate>),
                Kind::Move(c) => Ok(Box::new(fields::Move(c.clone()))),
                Kind::Copy(c) => Ok(Box::new(fields::Copy(c.clone()))),
                Kind::Remove(c) => Ok(Box::new(c.clone())),
            };
            match operator {
                Ok(operator) => built.push((config.id.clone(), config.on_error, operator)),
                Err(message) => problems.push(Invalid::at(
                    format!("operators[{i}]"),
                    format!("{}: {message}", config.id),
                )),
            }
        }
        Invalid::all(problems)?;
        Ok(Operators(built))
    }

    /// Runs every operator on `entry`; `None` when one dropped it or holds it.
    pub(crate) fn apply(&self, entry: Entry, receiver: &str) -> Option<Entry> {
        self.apply_from(0, entry, receiver)
    }

    fn apply_from(&self, first: usize, mut entry: Entry, receiver: &str) -> Option<Entry> {
        for (id, on_error, operator) in &self.0[first..] {
            if let Err(error) = operator.operate(&mut entry) {
                match on_error {
                    OnError::Send => {
                        tracing::warn!(receiver, operator = %id, %error, "operator failed; entry sent on unchanged")
                    }
                    OnError::Drop => {
                        tracing::warn!(receiver, operator = %id, %error, "operator failed; entry dropped")
                    }
                    OnError::SendQuiet | OnError::DropQuiet => {
                        tracing::debug!(receiver, operator = %id, %error, "operator failed")
                    }
                }
                if matches!(on_error, OnError::Drop | OnError::DropQuiet) {
                    return None;
                }
                continue;
            }
            entry = operator.combine(entry)?;
        }
        Some(entry)
    }

    /// The entries operators held that are due, each run through the operators after the one that held it.
    pub(crate) fn flush(&self, now: Instant, receiver: &str) -> Vec<Entry> {
        let mut out = Vec::new();
        for (i, (_, _, operator)) in self.0.iter().enumerate() {
            for entry in operator.flush(now) {
                out.extend(self.apply_from(i + 1, entry, receiver));
            }
        }
        out
    }
}

/// The value at `field` as text, for parsers that read text.
fn text_at(entry: &Entry, field: &Field) -> Result<String, String> {
    match field.get(entry) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(serde_json::Value::Null) | None => Err("the field to parse is missing".to_owned()),
        Some(other) => Ok(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn operators(yaml: &str) -> Result<Operators, String> {
        let configs: Vec<OperatorConfig> =
            serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        Operators::build(&configs).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn a_kubernetes_style_pipeline_parses_moves_and_cleans_up() {
        let operators = operators(
            r#"
- type: regex_parser
  regex: '^(?P<time>\S+) (?P<level>\w+) (?P<msg>.*)$'
  timestamp: { parse_from: attributes.time, layout: '%Y-%m-%dT%H:%M:%S.%LZ' }
  severity: { parse_from: attributes.level }
- type: move
  from: attributes.msg
  to: body
- type: remove
  field: attributes.time
- type: add
  field: resource["service.name"]
  value: checkout
"#,
        )
        .unwrap();
        let entry = Entry::new("2026-12-06T10:00:00.250Z WARN disk almost full".into());
        let out = operators.apply(entry, "filelog").unwrap();
        assert_eq!(out.body, json!("disk almost full"));
        assert_eq!(out.attributes, json!({"level": "WARN"}));
        assert_eq!(out.resource, json!({"service.name": "checkout"}));
        assert_eq!(out.timestamp, Some(1_796_551_200_250_000_000));
        assert_eq!(out.severity, Some((13, "WARN".to_owned())));
    }

    #[test]
    fn on_error_decides_between_sending_and_dropping() {
        let send = operators("[{type: json_parser}]").unwrap();
        let entry = Entry::new("not json".into());
        assert_eq!(send.apply(entry.clone(), "r"), Some(entry.clone()));
        let drop = operators("[{type: json_parser, on_error: drop_quiet}]").unwrap();
        assert_eq!(drop.apply(entry, "r"), None);
    }

    #[test]
    fn what_is_not_available_is_named() {
        let recombine = operators("[{type: recombine}]").err().unwrap();
        assert!(
            recombine.contains("the stanza operator `recombine` is not available here"),
            "{recombine}"
        );
        let typo = operators("[{type: json_parsr}]").err().unwrap();
        assert!(
            typo.contains("unknown operator type `json_parsr`; available: container, json_parser"),
            "{typo}"
        );
        let key = operators("[{type: json_parser, pars_from: body}]")
            .err()
            .unwrap();
        assert!(
            key.contains("json_parser: unknown field `pars_from`"),
            "{key}"
        );
        let condition = operators(r#"[{type: json_parser, if: 'body matches "^{"'}]"#)
            .err()
            .unwrap();
        assert!(
            condition.contains("`if` (stanza's expressions) is not available here"),
            "{condition}"
        );
        let regex = operators("[{type: regex_parser, regex: '(unnamed)'}]")
            .err()
            .unwrap();
        assert!(
            regex.contains("operators[0]") && regex.contains("named"),
            "{regex}"
        );
    }
}
