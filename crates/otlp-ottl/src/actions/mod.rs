//! Attribute actions: the engine behind otelcol's `attributes` and `resource` processors
//! (`internal/coreinternal/attraction`): `insert`, `update`, `upsert`, `delete`, `hash`,
//! `extract` and `convert` on an attribute map, with `include`/`exclude` matching for the
//! `attributes` processor; and otelcol-contrib's `span` processor ([`SpanProcessor`]), which
//! renames spans and extracts attributes from their names under the same matching.
//!
//! ```
//! use otlp_ottl::actions::{ActionConfig, Actions, ClientInfo};
//! use otlp_ottl::{key_value, string_value};
//!
//! let config: Vec<ActionConfig> = serde_json::from_str(r#"[
//!     {"key": "deployment.environment", "value": "production", "action": "upsert"},
//!     {"key": "http.request.header.authorization", "action": "delete"}
//! ]"#).unwrap();
//! let actions = Actions::new(&config).unwrap();
//! let mut attributes = vec![key_value("http.request.header.authorization", string_value("Bearer x"))];
//! actions.apply(&mut attributes, &ClientInfo::default());
//! assert_eq!(attributes, vec![key_value("deployment.environment", string_value("production"))]);
//! ```

mod config;
pub(crate) mod matching;
mod processor;
mod span;

pub use config::{
    ActionConfig, ActionKind, AttributeMatch, AttributesConfig, LibraryMatch, MatchProperties,
    MatchType, RegexpSettings, ResourceConfig, SeverityMatch,
};
pub use processor::{AttributesProcessor, ResourceProcessor};
pub use span::{SpanConfig, SpanNameConfig, SpanProcessor, SpanStatusConfig, ToAttributesConfig};

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::error::{ConfigProblem, Error, Result};
use crate::value::{Value, key_value, string_value};

/// Whether `props` can select items of `signal` (for validation).
pub(crate) fn check_match(
    props: &MatchProperties,
    signal: crate::Signal,
) -> std::result::Result<(), String> {
    matching::Matcher::new(props, signal).map(|_| ())
}

/// What is known about the client that sent the data, for `from_context`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientInfo {
    /// The client's address (`from_context: client.address`).
    pub address: Option<String>,
    /// Request metadata: gRPC metadata or HTTP headers (`from_context: metadata.<key>`); keys
    /// are matched case-insensitively.
    pub metadata: BTreeMap<String, Vec<String>>,
    /// Attributes set by an authenticator (`from_context: auth.<key>`).
    pub auth: BTreeMap<String, Vec<String>>,
}

impl ClientInfo {
    /// The request metadata's values for `key`, matched case-insensitively as HTTP header names are; none when
    /// the request had no such key.
    pub fn metadata_values(&self, key: &str) -> &[String] {
        self.metadata
            .get(key)
            .or_else(|| {
                self.metadata
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map_or(&[], Vec::as_slice)
    }

    /// The values for a `from_context` key, joined with `;` as otelcol joins them.
    fn lookup(&self, key: &str) -> Option<String> {
        let values: Vec<String> = if key == "client.address" {
            self.address.iter().cloned().collect()
        } else if let Some(name) = key.strip_prefix("auth.") {
            self.auth.get(name).cloned().unwrap_or_default()
        } else {
            let name = key.strip_prefix("metadata.").unwrap_or(key);
            self.metadata_values(name).to_vec()
        };
        (!values.is_empty()).then(|| values.join(";"))
    }
}

/// Where inserted or updated values come from.
#[derive(Debug, Clone)]
enum Source {
    Value(AnyValue),
    FromAttribute(String),
    FromContext(String),
    /// Only `default_value` was given.
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Insert,
    Update,
    Upsert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConvertTo {
    Int,
    Double,
    String,
}

#[derive(Debug, Clone)]
enum Op {
    Write {
        mode: Write,
        key: String,
        source: Source,
        default: Option<AnyValue>,
    },
    Delete {
        key: Option<String>,
        pattern: Option<Regex>,
    },
    Hash {
        key: Option<String>,
        pattern: Option<Regex>,
    },
    Extract {
        key: String,
        regex: Regex,
        names: Vec<String>,
    },
    Convert {
        key: String,
        to: ConvertTo,
    },
}

/// Compiled actions, applied in order to an attribute map.
#[derive(Debug, Clone, Default)]
pub struct Actions {
    ops: Vec<Op>,
}

impl Actions {
    /// Checks and compiles the actions.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] with every problem, at paths `actions[i]` (`[i]` for the
    /// index in `actions`).
    pub fn new(actions: &[ActionConfig]) -> Result<Self> {
        Self::with_path(actions, "")
    }

    pub(crate) fn with_path(actions: &[ActionConfig], key: &str) -> Result<Self> {
        let mut problems = Vec::new();
        let mut ops = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            let path = format!("{key}[{i}]");
            match compile(action) {
                Ok(op) => ops.push(op),
                Err(message) => problems.push(ConfigProblem::new(path, message)),
            }
        }
        if problems.is_empty() {
            Ok(Actions { ops })
        } else {
            Err(Error::InvalidConfig(problems))
        }
    }

    /// Applies every action, in order, to `attributes`.
    pub fn apply(&self, attributes: &mut Vec<KeyValue>, client: &ClientInfo) {
        for op in &self.ops {
            match op {
                Op::Write {
                    mode,
                    key,
                    source,
                    default,
                } => {
                    let value = match source {
                        Source::Value(v) => Some(v.clone()),
                        Source::FromAttribute(from) => attributes
                            .iter()
                            .find(|kv| kv.key == *from)
                            .map(|kv| kv.value.clone().unwrap_or_default()),
                        Source::FromContext(from) => client.lookup(from).map(string_value),
                        Source::Nothing => None,
                    };
                    let Some(value) = value.or_else(|| default.clone()) else {
                        continue;
                    };
                    let existing = attributes.iter_mut().find(|kv| kv.key == *key);
                    match (existing, mode) {
                        (Some(kv), Write::Update | Write::Upsert) => kv.value = Some(value),
                        (None, Write::Insert | Write::Upsert) => {
                            attributes.push(key_value(key.as_str(), value));
                        }
                        _ => {}
                    }
                }
                Op::Delete { key, pattern } => attributes.retain(|kv| {
                    key.as_deref() != Some(kv.key.as_str())
                        && !pattern.as_ref().is_some_and(|re| re.is_match(&kv.key))
                }),
                Op::Hash { key, pattern } => {
                    for kv in attributes.iter_mut() {
                        if key.as_deref() == Some(kv.key.as_str())
                            || pattern.as_ref().is_some_and(|re| re.is_match(&kv.key))
                        {
                            let hashed = hash(kv.value.as_ref());
                            kv.value = Some(string_value(hashed));
                        }
                    }
                }
                Op::Extract { key, regex, names } => {
                    let Some(text) = attributes.iter().find(|kv| kv.key == *key).and_then(|kv| {
                        match &kv.value {
                            Some(AnyValue {
                                value: Some(any_value::Value::StringValue(s)),
                            }) => Some(s.clone()),
                            _ => None,
                        }
                    }) else {
                        continue;
                    };
                    let Some(captures) = regex.captures(&text) else {
                        continue;
                    };
                    for (i, name) in names.iter().enumerate() {
                        let found = captures.get(i + 1).map_or("", |m| m.as_str());
                        crate::value::put(attributes, name, string_value(found));
                    }
                }
                Op::Convert { key, to } => {
                    if let Some(kv) = attributes.iter_mut().find(|kv| kv.key == *key)
                        && let Some(value) = &mut kv.value
                    {
                        convert(value, *to);
                    }
                }
            }
        }
    }
}

fn compile(action: &ActionConfig) -> std::result::Result<Op, String> {
    let kind = action.action;
    let key = (!action.key.is_empty()).then(|| action.key.clone());
    let pattern = (!action.pattern.is_empty()).then(|| action.pattern.clone());
    let sources = [
        action.value.is_some(),
        !action.from_attribute.is_empty(),
        !action.from_context.is_empty(),
    ]
    .into_iter()
    .filter(|given| *given)
    .count();
    let compile_pattern =
        |p: &str| Regex::new(p).map_err(|e| format!("`pattern` is not a valid regex: {e}"));
    let unused = |field: &str| format!("action `{}` does not use `{field}`", kind.name());
    match kind {
        ActionKind::Insert | ActionKind::Update | ActionKind::Upsert => {
            let Some(key) = key else {
                return Err("`key` is required".to_owned());
            };
            if sources == 0 && action.default_value.is_none() {
                return Err(
                    "one of `value`, `from_attribute`, `from_context` or `default_value` is required"
                        .to_owned(),
                );
            }
            if sources > 1 {
                return Err(
                    "only one of `value`, `from_attribute` and `from_context` may be set"
                        .to_owned(),
                );
            }
            if pattern.is_some() {
                return Err(unused("pattern"));
            }
            if !action.converted_type.is_empty() {
                return Err(unused("converted_type"));
            }
            let source = if let Some(value) = &action.value {
                Source::Value(json_to_any(value).map_err(|e| format!("`value`: {e}"))?)
            } else if !action.from_attribute.is_empty() {
                Source::FromAttribute(action.from_attribute.clone())
            } else if !action.from_context.is_empty() {
                Source::FromContext(action.from_context.clone())
            } else {
                Source::Nothing
            };
            let default = action
                .default_value
                .as_ref()
                .map(json_to_any)
                .transpose()
                .map_err(|e| format!("`default_value`: {e}"))?;
            let mode = match kind {
                ActionKind::Insert => Write::Insert,
                ActionKind::Update => Write::Update,
                _ => Write::Upsert,
            };
            Ok(Op::Write {
                mode,
                key,
                source,
                default,
            })
        }
        ActionKind::Delete | ActionKind::Hash => {
            if key.is_none() && pattern.is_none() {
                return Err("`key` or `pattern` (or both) is required".to_owned());
            }
            if action.value.is_some() || !action.from_attribute.is_empty() {
                return Err(unused("value` or `from_attribute"));
            }
            if !action.converted_type.is_empty() {
                return Err(unused("converted_type"));
            }
            let pattern = pattern.as_deref().map(compile_pattern).transpose()?;
            Ok(if kind == ActionKind::Delete {
                Op::Delete { key, pattern }
            } else {
                Op::Hash { key, pattern }
            })
        }
        ActionKind::Extract => {
            let Some(key) = key else {
                return Err("`key` is required".to_owned());
            };
            if sources > 0 {
                return Err(unused("value`, `from_attribute` or `from_context"));
            }
            if !action.converted_type.is_empty() {
                return Err(unused("converted_type"));
            }
            let Some(pattern) = pattern else {
                return Err("`pattern` is required for `extract`".to_owned());
            };
            let regex = compile_pattern(&pattern)?;
            let names: Vec<Option<&str>> = regex.capture_names().skip(1).collect();
            if names.is_empty() {
                return Err("`pattern` has no named groups (`(?P<name>...)`) to extract".to_owned());
            }
            if names.iter().any(Option::is_none) {
                return Err("every group of `pattern` must be named (`(?P<name>...)`)".to_owned());
            }
            let names = names.into_iter().flatten().map(str::to_owned).collect();
            Ok(Op::Extract { key, regex, names })
        }
        ActionKind::Convert => {
            let Some(key) = key else {
                return Err("`key` is required".to_owned());
            };
            if sources > 0 || pattern.is_some() {
                return Err(unused(
                    "value`, `from_attribute`, `from_context` or `pattern",
                ));
            }
            let to = match action.converted_type.as_str() {
                "int" => ConvertTo::Int,
                "double" => ConvertTo::Double,
                "string" => ConvertTo::String,
                "" => return Err("`converted_type` is required for `convert`".to_owned()),
                other => {
                    return Err(format!(
                        "`converted_type` \"{other}\" is not one of int, double, string"
                    ));
                }
            };
            Ok(Op::Convert { key, to })
        }
    }
}

/// A configured value as an attribute value (YAML ints stay ints, floats become doubles).
pub(crate) fn json_to_any(value: &serde_json::Value) -> std::result::Result<AnyValue, String> {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    let value = match value {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        serde_json::Value::Number(n) => Some(match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(
                n.as_f64()
                    .ok_or_else(|| format!("number {n} is out of range"))?,
            ),
        }),
        serde_json::Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        serde_json::Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items
                .iter()
                .map(json_to_any)
                .collect::<std::result::Result<_, _>>()?,
        })),
        serde_json::Value::Object(map) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: map
                .iter()
                .map(|(k, v)| json_to_any(v).map(|v| key_value(k.as_str(), v)))
                .collect::<std::result::Result<_, _>>()?,
        })),
    };
    Ok(AnyValue { value })
}

/// otelcol's attribute hash: SHA-256 of the value's bytes (strings as UTF-8, booleans as one
/// byte, ints and doubles as 8 little-endian bytes), in hex. Other types hash to `""`.
fn hash(value: Option<&AnyValue>) -> String {
    let bytes: Vec<u8> = match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.as_bytes().to_vec(),
        Some(any_value::Value::BoolValue(b)) => vec![u8::from(*b)],
        Some(any_value::Value::IntValue(i)) => i.to_le_bytes().to_vec(),
        Some(any_value::Value::DoubleValue(d)) => d.to_bits().to_le_bytes().to_vec(),
        _ => Vec::new(),
    };
    if bytes.is_empty() {
        String::new()
    } else {
        hex::encode(Sha256::digest(&bytes))
    }
}

/// otelcol's `convert`: a value that cannot be converted is left as it is.
fn convert(value: &mut AnyValue, to: ConvertTo) {
    use any_value::Value as V;
    let converted = match (&value.value, to) {
        (Some(V::IntValue(_)), ConvertTo::Int)
        | (Some(V::DoubleValue(_)), ConvertTo::Double)
        | (Some(V::StringValue(_)), ConvertTo::String) => None,
        (Some(V::DoubleValue(d)), ConvertTo::Int) if d.is_finite() => {
            Some(V::IntValue(d.trunc() as i64))
        }
        (Some(V::BoolValue(b)), ConvertTo::Int) => Some(V::IntValue(i64::from(*b))),
        (Some(V::StringValue(s)), ConvertTo::Int) => s.parse::<i64>().ok().map(V::IntValue),
        (Some(V::IntValue(i)), ConvertTo::Double) => Some(V::DoubleValue(*i as f64)),
        (Some(V::BoolValue(b)), ConvertTo::Double) => {
            Some(V::DoubleValue(if *b { 1.0 } else { 0.0 }))
        }
        (Some(V::StringValue(s)), ConvertTo::Double) => s.parse::<f64>().ok().map(V::DoubleValue),
        (_, ConvertTo::String) => Some(V::StringValue(
            Value::from_any(value).as_string().into_owned(),
        )),
        _ => None,
    };
    if let Some(converted) = converted {
        value.value = Some(converted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_encodings_match_otelcol() {
        // SHA-256 of the UTF-8 bytes.
        assert_eq!(
            hash(Some(&string_value("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // An int hashes its 8 little-endian bytes.
        let one = AnyValue {
            value: Some(any_value::Value::IntValue(1)),
        };
        assert_eq!(
            hash(Some(&one)),
            hex::encode(Sha256::digest(1i64.to_le_bytes()))
        );
        assert_eq!(hash(None), "");
    }
}
