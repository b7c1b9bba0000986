//! `json_parser` and `regex_parser`: a field read into a map put at `parse_to` (attributes by default, merged
//! with what is there; the parsed field is kept), then the optional `timestamp` and `severity` blocks read from
//! the result.

use super::severity::{Severity, SeverityConfig};
use super::timestamp::{Timestamp, TimestampConfig};
use super::{Operate, text_at};
use crate::receiver::stanza::entry::{Entry, Field};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

fn body() -> Field {
    Field::body()
}

fn attributes() -> Field {
    Field::attributes()
}

/// Keys every parser shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ParserKeys {
    #[serde(default = "body")]
    parse_from: Field,
    #[serde(default = "attributes")]
    parse_to: Field,
    #[serde(default)]
    timestamp: Option<TimestampConfig>,
    #[serde(default)]
    severity: Option<SeverityConfig>,
}

/// A parser's keys compiled.
struct Parser {
    parse_from: Field,
    parse_to: Field,
    timestamp: Option<Timestamp>,
    severity: Option<Severity>,
}

impl ParserKeys {
    fn build(&self) -> Result<Parser, String> {
        Ok(Parser {
            parse_from: self.parse_from.clone(),
            parse_to: self.parse_to.clone(),
            timestamp: self
                .timestamp
                .as_ref()
                .map(|t| t.build().map_err(|e| format!("timestamp: {e}")))
                .transpose()?,
            severity: self
                .severity
                .as_ref()
                .map(|s| s.build().map_err(|e| format!("severity: {e}")))
                .transpose()?,
        })
    }
}

impl Parser {
    fn run(
        &self,
        entry: &mut Entry,
        parse: impl FnOnce(&str) -> Result<Map<String, Value>, String>,
    ) -> Result<(), String> {
        let text = text_at(entry, &self.parse_from)?;
        let parsed = parse(&text)?;
        self.parse_to.set(entry, Value::Object(parsed))?;
        if let Some(timestamp) = &self.timestamp {
            timestamp.operate(entry)?;
        }
        if let Some(severity) = &self.severity {
            severity.operate(entry)?;
        }
        Ok(())
    }
}

/// `json_parser`'s settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonParser {
    #[serde(flatten)]
    keys: ParserKeys,
    /// Keep whole numbers as integers; otelcol reads every JSON number as a double unless told so.
    #[serde(default)]
    parse_ints: bool,
}

pub(super) struct BuiltJson {
    parser: Parser,
    parse_ints: bool,
}

impl JsonParser {
    pub(super) fn build(&self) -> Result<BuiltJson, String> {
        Ok(BuiltJson {
            parser: self.keys.build()?,
            parse_ints: self.parse_ints,
        })
    }
}

/// Go's JSON reading: numbers are doubles, at every depth.
fn doubles(value: Value) -> Value {
    match value {
        Value::Number(n) if !n.is_f64() => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(doubles).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, doubles(v))).collect())
        }
        other => other,
    }
}

impl Operate for BuiltJson {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        self.parser
            .run(entry, |text| match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) if self.parse_ints => Ok(map),
                Ok(Value::Object(map)) => {
                    Ok(map.into_iter().map(|(k, v)| (k, doubles(v))).collect())
                }
                Ok(_) => Err("the JSON is not an object".to_owned()),
                Err(e) => Err(format!("not JSON: {e}")),
            })
    }
}

/// `regex_parser`'s settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegexParser {
    #[serde(flatten)]
    keys: ParserKeys,
    /// A regular expression with named groups (`(?P<level>\w+)`); each group becomes a key.
    regex: String,
    /// otelcol's cache of results; accepted, nothing is cached here.
    #[serde(default)]
    #[expect(dead_code, reason = "accepted for otelcol compatibility")]
    cache: Option<serde_norway::Value>,
}

pub(super) struct BuiltRegex {
    parser: Parser,
    regex: Regex,
}

impl RegexParser {
    pub(super) fn build(&self) -> Result<BuiltRegex, String> {
        let regex = Regex::new(&self.regex)
            .map_err(|e| format!("`{}` is not a regular expression: {e}", self.regex))?;
        if regex.capture_names().flatten().next().is_none() {
            return Err(format!(
                "`{}` has no named group; name each part to keep, as in (?P<level>\\w+)",
                self.regex
            ));
        }
        Ok(BuiltRegex {
            parser: self.keys.build()?,
            regex,
        })
    }
}

impl Operate for BuiltRegex {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        self.parser.run(entry, |text| {
            let captures = self
                .regex
                .captures(text)
                .ok_or_else(|| "the regular expression does not match".to_owned())?;
            Ok(self
                .regex
                .capture_names()
                .flatten()
                .map(|name| {
                    let value = captures.name(name).map_or("", |m| m.as_str());
                    (name.to_owned(), Value::String(value.to_owned()))
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_numbers_are_doubles_unless_parse_ints() {
        let parser: JsonParser = serde_norway::from_str("{}").unwrap();
        let mut entry = Entry::new(r#"{"status": 200, "nested": {"n": 1}, "ok": true}"#.into());
        parser.build().unwrap().operate(&mut entry).unwrap();
        assert!(entry.attributes["status"].is_f64());
        assert!(entry.attributes["nested"]["n"].is_f64());
        assert_eq!(entry.attributes["ok"], json!(true));
        assert!(entry.body.is_string(), "the parsed field is kept");
        let ints: JsonParser =
            serde_norway::from_str("{parse_ints: true, parse_to: body}").unwrap();
        let mut entry = Entry::new(r#"{"status": 200}"#.into());
        ints.build().unwrap().operate(&mut entry).unwrap();
        assert_eq!(entry.body, json!({"status": 200}));
    }

    #[test]
    fn regex_groups_become_keys() {
        let parser: RegexParser =
            serde_norway::from_str(r#"{regex: '^(?P<ip>\S+) (?P<code>\d+)(?: (?P<extra>.*))?$'}"#)
                .unwrap();
        let mut entry = Entry::new("10.0.0.1 404".into());
        parser.build().unwrap().operate(&mut entry).unwrap();
        assert_eq!(
            entry.attributes,
            json!({"ip": "10.0.0.1", "code": "404", "extra": ""})
        );
        let mut other = Entry::new("nothing like it".into());
        assert!(parser.build().unwrap().operate(&mut other).is_err());
    }
}
