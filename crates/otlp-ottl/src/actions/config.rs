//! Configuration of the `attributes` and `resource` processors, with otelcol's keys.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

/// One entry of `actions` (or of the `resource` processor's `attributes`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// The attribute to act on.
    #[serde(default)]
    pub key: String,
    /// The value to write (`insert`, `update`, `upsert`); its YAML type is kept.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// A regex: keys to `delete`/`hash`, or named groups to `extract`.
    #[serde(default)]
    pub pattern: String,
    /// Copy the value of this attribute.
    #[serde(default)]
    pub from_attribute: String,
    /// Copy a value of the client's request (`metadata.<key>`, `auth.<key>`, `client.address`).
    #[serde(default)]
    pub from_context: String,
    /// The type `convert` converts to: `int`, `double` or `string`.
    #[serde(default)]
    pub converted_type: String,
    /// The value to write when `value`/`from_attribute`/`from_context` provide none.
    #[serde(default)]
    pub default_value: Option<serde_json::Value>,
    /// What to do.
    pub action: ActionKind,
}

/// The seven actions (case-insensitive in the configuration, as in otelcol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// Add the key where it is missing.
    Insert,
    /// Change the key where it exists.
    Update,
    /// Insert or update.
    Upsert,
    /// Remove the key and/or the keys matching `pattern`.
    Delete,
    /// Replace the value(s) with their SHA-256 hash.
    Hash,
    /// Copy the named groups of `pattern` found in the value to attributes of those names.
    Extract,
    /// Change the value's type.
    Convert,
}

impl ActionKind {
    const ALL: [(&'static str, ActionKind); 7] = [
        ("insert", ActionKind::Insert),
        ("update", ActionKind::Update),
        ("upsert", ActionKind::Upsert),
        ("delete", ActionKind::Delete),
        ("hash", ActionKind::Hash),
        ("extract", ActionKind::Extract),
        ("convert", ActionKind::Convert),
    ];

    /// The action's name in configurations.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("?", |(name, _)| name)
    }
}

impl<'de> Deserialize<'de> for ActionKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let lower = name.to_ascii_lowercase();
        ActionKind::ALL
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown action \"{name}\"; expected one of insert, update, upsert, delete, hash, extract, convert"
                ))
            })
    }
}

/// The `attributes` processor's configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributesConfig {
    /// The actions, applied in order.
    #[serde(default)]
    pub actions: Vec<ActionConfig>,
    /// Only items matching these properties are changed.
    #[serde(default)]
    pub include: Option<MatchProperties>,
    /// Items matching these properties are left alone (checked after `include`).
    #[serde(default)]
    pub exclude: Option<MatchProperties>,
}

/// The `resource` processor's configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The actions, applied in order to every resource's attributes.
    #[serde(default)]
    pub attributes: Vec<ActionConfig>,
}

/// How `include`/`exclude` strings (or metric names) are compared: otelcol's `match_type`, `strict` unless set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchType {
    /// Exact equality.
    #[default]
    Strict,
    /// An (unanchored) regex match.
    Regexp,
}

/// otelcol's `regexp` match settings; the cache they configure is not needed here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexpSettings {
    /// Accepted and ignored: compiled regexes are fast without a result cache.
    #[serde(default)]
    pub cacheenabled: bool,
    /// Accepted and ignored.
    #[serde(default)]
    pub cachemaxnumentries: usize,
}

/// `include`/`exclude` properties: every property given must match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchProperties {
    /// `strict` or `regexp`.
    pub match_type: MatchType,
    /// Settings of `regexp` matching.
    #[serde(default)]
    pub regexp: Option<RegexpSettings>,
    /// `service.name` of the resource must match one of these (spans).
    #[serde(default)]
    pub services: Vec<String>,
    /// The span name must match one of these.
    #[serde(default)]
    pub span_names: Vec<String>,
    /// The span kind (`SPAN_KIND_SERVER`, ...) must match one of these.
    #[serde(default)]
    pub span_kinds: Vec<String>,
    /// The log body (as a string) must match one of these.
    #[serde(default)]
    pub log_bodies: Vec<String>,
    /// The log severity text must match one of these.
    #[serde(default)]
    pub log_severity_texts: Vec<String>,
    /// The log severity number must be at least `min`.
    #[serde(default)]
    pub log_severity_number: Option<SeverityMatch>,
    /// The metric name must match one of these.
    #[serde(default)]
    pub metric_names: Vec<String>,
    /// Every one of these attributes must be present (with the value, if given).
    #[serde(default)]
    pub attributes: Vec<AttributeMatch>,
    /// Every one of these resource attributes must be present (with the value, if given).
    #[serde(default)]
    pub resources: Vec<AttributeMatch>,
    /// The instrumentation scope must match each of these.
    #[serde(default)]
    pub libraries: Vec<LibraryMatch>,
}

impl MatchProperties {
    /// Properties that select nothing yet, for the filter processor's legacy settings to fill in
    /// from their own keys (`record_attributes`, `metric_names`...).
    pub(crate) fn empty(match_type: MatchType) -> Self {
        MatchProperties {
            match_type,
            regexp: None,
            services: Vec::new(),
            span_names: Vec::new(),
            span_kinds: Vec::new(),
            log_bodies: Vec::new(),
            log_severity_texts: Vec::new(),
            log_severity_number: None,
            metric_names: Vec::new(),
            attributes: Vec::new(),
            resources: Vec::new(),
            libraries: Vec::new(),
        }
    }
}

/// An attribute to match: present, or present with this value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeMatch {
    /// The attribute key (`Key` is accepted too, as otelcol's examples write it).
    #[serde(alias = "Key")]
    pub key: String,
    /// The value (a regex with `match_type: regexp`); absent means "the key is present".
    #[serde(default, alias = "Value")]
    pub value: Option<serde_json::Value>,
}

/// An instrumentation scope to match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryMatch {
    /// The scope name.
    #[serde(alias = "Name")]
    pub name: String,
    /// The scope version; absent means any version, `""` only an empty version.
    #[serde(default, alias = "Version")]
    pub version: Option<String>,
}

/// `log_severity_number`: `min` as a number or a name (`INFO`, `warn2`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityMatch {
    /// The lowest severity number that matches.
    #[serde(deserialize_with = "severity")]
    pub min: i32,
    /// Whether records without a severity (0) match.
    #[serde(default)]
    pub match_undefined: bool,
}

const SEVERITIES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// The severity number of a name: `INFO` is 9, `INFO2` 10, ... `UNSPECIFIED` 0.
pub(crate) fn severity_number(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    if upper == "UNSPECIFIED" || upper == "UNDEFINED" {
        return Some(0);
    }
    SEVERITIES.iter().enumerate().find_map(|(i, base)| {
        let rest = upper.strip_prefix(base)?;
        let step = match rest {
            "" => 0,
            "2" => 1,
            "3" => 2,
            "4" => 3,
            _ => return None,
        };
        Some(i as i32 * 4 + 1 + step)
    })
}

fn severity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    struct SeverityVisitor;
    impl Visitor<'_> for SeverityVisitor {
        type Value = i32;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a severity number (0-24) or name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
            i32::try_from(v)
                .ok()
                .filter(|v| (0..=24).contains(v))
                .ok_or_else(|| E::custom(format!("severity number {v} is not between 0 and 24")))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
            severity_number(v).ok_or_else(|| E::custom(format!("unknown severity \"{v}\"")))
        }
    }
    deserializer.deserialize_any(SeverityVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names() {
        assert_eq!(severity_number("INFO"), Some(9));
        assert_eq!(severity_number("warn2"), Some(14));
        assert_eq!(severity_number("FATAL4"), Some(24));
        assert_eq!(severity_number("LOUD"), None);
    }
}
