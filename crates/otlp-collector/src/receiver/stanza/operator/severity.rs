//! The `severity` block of parsers and the `severity_parser` operator: a field's value looked up, case-blind, in
//! stanza's mapping (its preset's names and numbers, then the configured `mapping`), giving the OTLP severity
//! number; the value itself becomes the severity text.

use super::{Operate, text_at};
use crate::receiver::stanza::entry::{Entry, Field};
use serde::Deserialize;
use serde_norway::Value;
use std::collections::{BTreeMap, HashMap};

/// The OTLP severity levels by stanza's names, numbers 1 to 24.
const LEVELS: [&str; 24] = [
    "trace", "trace2", "trace3", "trace4", "debug", "debug2", "debug3", "debug4", "info", "info2",
    "info3", "info4", "warn", "warn2", "warn3", "warn4", "error", "error2", "error3", "error4",
    "fatal", "fatal2", "fatal3", "fatal4",
];

/// `severity` / `severity_parser` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityConfig {
    parse_from: Field,
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    mapping: BTreeMap<String, Value>,
    #[serde(default)]
    overwrite_text: bool,
}

/// A compiled severity reader.
pub(super) struct Severity {
    parse_from: Field,
    mapping: HashMap<String, i32>,
    overwrite_text: bool,
}

/// The level a mapping key names: a level name (`warn`) or its OTLP number (`13`).
fn level(key: &str) -> Option<i32> {
    let key = key.to_ascii_lowercase();
    if let Ok(n) = key.parse::<i32>() {
        return (1..=24).contains(&n).then_some(n);
    }
    LEVELS
        .iter()
        .position(|name| *name == key)
        .map(|i| i as i32 + 1)
}

/// The texts one mapping value stands for: a text, a number, `2xx` (200 to 299), a `{min, max}` range, or a
/// list of these.
fn texts(value: &Value, out: &mut Vec<String>) -> Result<(), String> {
    match value {
        Value::String(text) => match text.as_str() {
            "2xx" | "3xx" | "4xx" | "5xx" => {
                let base = (i64::from(text.as_bytes()[0] - b'0')) * 100;
                out.extend((base..base + 100).map(|n| n.to_string()));
            }
            _ => out.push(text.to_ascii_lowercase()),
        },
        Value::Number(n) => out.push(n.to_string()),
        Value::Sequence(items) => {
            for item in items {
                texts(item, out)?;
            }
        }
        Value::Mapping(range) => {
            let bound = |key: &str| range.get(key).and_then(Value::as_i64);
            let (Some(min), Some(max)) = (bound("min"), bound("max")) else {
                return Err("a range is written `{min: 200, max: 299}`".to_owned());
            };
            let (min, max) = (min.min(max), min.max(max));
            out.extend((min..=max).map(|n| n.to_string()));
        }
        _ => {
            return Err(
                "a mapping value is a text, a number, a range or a list of them".to_owned(),
            );
        }
    }
    Ok(())
}

impl SeverityConfig {
    pub(super) fn build(&self) -> Result<Severity, String> {
        let mut mapping = HashMap::new();
        let preset = self.preset.as_deref().unwrap_or("default");
        match preset {
            "none" => {}
            "default" | "otel" | "aliases" => {
                for (i, name) in LEVELS.iter().enumerate() {
                    mapping.insert((*name).to_owned(), i as i32 + 1);
                    mapping.insert((i + 1).to_string(), i as i32 + 1);
                }
                if preset == "default" {
                    for (alias, name) in [("warning", "warn"), ("err", "error")] {
                        for suffix in ["", "2", "3", "4"] {
                            if let Some(n) = level(&format!("{name}{suffix}")) {
                                mapping.insert(format!("{alias}{suffix}"), n);
                            }
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "unknown preset `{other}`; stanza's presets are default, otel and none"
                ));
            }
        }
        for (key, value) in &self.mapping {
            let n = level(key).ok_or_else(|| {
                format!("mapping: `{key}` is not a severity (trace, debug, info, warn, error, fatal, or 1 to 24)")
            })?;
            let mut found = Vec::new();
            texts(value, &mut found).map_err(|e| format!("mapping.{key}: {e}"))?;
            for text in found {
                mapping.insert(text, n);
            }
        }
        Ok(Severity {
            parse_from: self.parse_from.clone(),
            mapping,
            overwrite_text: self.overwrite_text,
        })
    }
}

impl Operate for Severity {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        let text = text_at(entry, &self.parse_from)?;
        let number = self
            .mapping
            .get(&text.to_ascii_lowercase())
            .copied()
            .unwrap_or(0);
        let text = if self.overwrite_text && number > 0 {
            LEVELS[(number - 1) as usize].to_ascii_uppercase()
        } else {
            text
        };
        entry.severity = Some((number, text));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severity(yaml: &str, body: &str) -> (i32, String) {
        let config: SeverityConfig = serde_norway::from_str(yaml).unwrap();
        let mut entry = Entry::new(body.into());
        config.build().unwrap().operate(&mut entry).unwrap();
        entry.severity.unwrap()
    }

    #[test]
    fn the_default_preset_knows_names_aliases_and_numbers() {
        let yaml = "{parse_from: body}";
        assert_eq!(severity(yaml, "INFO"), (9, "INFO".into()));
        assert_eq!(severity(yaml, "Warning"), (13, "Warning".into()));
        assert_eq!(severity(yaml, "err"), (17, "err".into()));
        assert_eq!(severity(yaml, "21"), (21, "21".into()));
        assert_eq!(severity(yaml, "loud"), (0, "loud".into()));
        assert_eq!(severity("{parse_from: body, preset: none}", "info").0, 0);
    }

    #[test]
    fn mappings_take_texts_ranges_and_http_classes() {
        let yaml = "{parse_from: body, overwrite_text: true, mapping: {error: [oops, 5xx], info: {min: 200, max: 299}, warn: W}}";
        assert_eq!(severity(yaml, "OOPS"), (17, "ERROR".into()));
        assert_eq!(severity(yaml, "503"), (17, "ERROR".into()));
        assert_eq!(severity(yaml, "204"), (9, "INFO".into()));
        assert_eq!(severity(yaml, "w"), (13, "WARN".into()));
        let bad: SeverityConfig =
            serde_norway::from_str("{parse_from: body, mapping: {loud: x}}").unwrap();
        assert!(
            bad.build()
                .err()
                .unwrap()
                .contains("`loud` is not a severity")
        );
    }
}
