//! The `logdedup` processor's settings, with otelcol-contrib's keys and defaults.

use super::fields::FieldPath;
use crate::component::Invalid;
use crate::de;
use otlp_ottl::ContextKind;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// The `logdedup` processor's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogDedupConfig {
    /// How long identical records are gathered before one is sent on with their count.
    #[serde(deserialize_with = "de::duration")]
    pub interval: Duration,
    /// The attribute of the record sent on that holds how many were gathered.
    pub log_count_attribute: String,
    /// The IANA time zone `first_observed_timestamp` and `last_observed_timestamp` are written in.
    pub timezone: String,
    /// OTTL conditions on the log context; only records for which one holds are gathered, the others pass on
    /// at once. None: every record is gathered.
    pub conditions: Vec<String>,
    /// Fields (`body.key`, `attributes.key`, nested with `.`, a `.` in a key written `\.`) whose values alone
    /// make records identical. Exclusive with `exclude_fields`.
    pub include_fields: Vec<String>,
    /// Fields left out of the comparison and removed from the record sent on. Exclusive with `include_fields`.
    pub exclude_fields: Vec<String>,
    #[serde(deserialize_with = "refuse_metadata")]
    metadata_keys: de::Refused,
    #[serde(deserialize_with = "refuse_metadata")]
    metadata_cardinality_limit: de::Refused,
}

fn refuse_metadata<'de, D: serde::Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not available here: no component reads a client's request metadata, so every record shares one \
         aggregation",
    )
}

impl Default for LogDedupConfig {
    fn default() -> Self {
        LogDedupConfig {
            interval: Duration::from_secs(10),
            log_count_attribute: "log_count".to_owned(),
            timezone: "UTC".to_owned(),
            conditions: Vec::new(),
            include_fields: Vec::new(),
            exclude_fields: Vec::new(),
            metadata_keys: de::Refused,
            metadata_cardinality_limit: de::Refused,
        }
    }
}

impl LogDedupConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.interval.is_zero() {
            problems.push(Invalid::at("interval", "must be more than 0"));
        }
        if self.log_count_attribute.is_empty() {
            problems.push(Invalid::at("log_count_attribute", "must be set"));
        }
        if let Err(e) = crate::clock::zone(&self.timezone) {
            problems.push(Invalid::at("timezone", e));
        }
        if !self.include_fields.is_empty() && !self.exclude_fields.is_empty() {
            problems.push(Invalid::at(
                "include_fields",
                "cannot be combined with `exclude_fields`: name the fields that make records identical, or those \
                 that do not",
            ));
        }
        for (key, fields) in [
            ("include_fields", &self.include_fields),
            ("exclude_fields", &self.exclude_fields),
        ] {
            let mut seen = BTreeSet::new();
            for (i, field) in fields.iter().enumerate() {
                if let Err(e) = FieldPath::parse(field) {
                    problems.push(Invalid::at(format!("{key}[{i}]"), e));
                } else if !seen.insert(field) {
                    problems.push(Invalid::at(
                        format!("{key}[{i}]"),
                        format!("`{field}` is listed twice"),
                    ));
                }
            }
        }
        for (i, condition) in self.conditions.iter().enumerate() {
            if let Err(e) = otlp_ottl::parse_condition(ContextKind::Log, condition) {
                problems.push(Invalid::at(
                    format!("conditions[{i}]"),
                    crate::processor::ottl::describe(e),
                ));
            }
        }
        Invalid::all(problems)
    }
}
