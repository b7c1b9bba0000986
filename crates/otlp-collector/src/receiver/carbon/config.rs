//! The `carbon` receiver's settings, with otelcol-contrib's keys and defaults.

use super::parse::{Parser, Rule};
use crate::component::Invalid;
use crate::de;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `carbon` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarbonConfig {
    /// Where to listen (`localhost:2003`).
    pub endpoint: String,
    /// `tcp` (the default) or `udp`.
    pub transport: String,
    /// How long a TCP connection may stay silent before it is closed.
    #[serde(deserialize_with = "de::duration")]
    pub tcp_idle_timeout: Duration,
    /// How a line's metric path becomes a metric name and attributes.
    pub parser: ParserConfig,
}

impl Default for CarbonConfig {
    fn default() -> Self {
        CarbonConfig {
            endpoint: "localhost:2003".to_owned(),
            transport: "tcp".to_owned(),
            tcp_idle_timeout: Duration::from_secs(30),
            parser: ParserConfig::default(),
        }
    }
}

/// `parser`: `plaintext` (Graphite's tags, `name;key=value`) or `regex` (attributes out of the path's parts).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParserConfig {
    /// `plaintext` or `regex`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The `regex` parser's rules; the `plaintext` parser takes none.
    pub config: Option<RegexParserConfig>,
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig {
            kind: "plaintext".to_owned(),
            config: None,
        }
    }
}

/// `parser.config` of the `regex` parser.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegexParserConfig {
    /// Tried in order; the first whose expression matches the path applies, and a path no rule matches is read
    /// as the `plaintext` parser reads it.
    pub rules: Vec<RegexRule>,
    /// Put between the rule's `name_prefix` and each `name_` capture.
    pub name_separator: String,
}

/// One rule of the `regex` parser.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegexRule {
    /// Named captures `key_<attribute>` become attributes, `name_<part>` parts of the metric name (in the order
    /// of their names); no other capture names are allowed.
    pub regexp: String,
    /// The start of the metric name; without it and without `name_` captures the name is the whole path.
    pub name_prefix: String,
    /// Attributes added to every point the rule matches (over a capture of the same key).
    pub labels: BTreeMap<String, String>,
    /// `gauge` (the default) or `cumulative` (a monotonic sum).
    #[serde(rename = "type")]
    pub kind: String,
}

impl CarbonConfig {
    /// Every problem of the settings, each at its key.
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if !matches!(self.transport.as_str(), "tcp" | "udp") {
            problems.push(Invalid::at(
                "transport",
                format!("`{}` is not tcp or udp", self.transport),
            ));
        }
        if self.tcp_idle_timeout.is_zero() && self.transport == "tcp" {
            problems.push(Invalid::at("tcp_idle_timeout", "must be more than 0s"));
        }
        if let Err((key, message)) = self.parser.build() {
            problems.push(Invalid::at(key, message));
        }
        Invalid::all(problems)
    }
}

impl ParserConfig {
    /// The parser these settings describe, or the key at fault and why.
    pub(super) fn build(&self) -> Result<Parser, (String, String)> {
        match (self.kind.as_str(), &self.config) {
            ("plaintext", None) => Ok(Parser::Plaintext),
            ("plaintext", Some(_)) => Err((
                "parser.config".to_owned(),
                "the plaintext parser takes no settings (rules are the regex parser's)".to_owned(),
            )),
            ("regex", config) => {
                let config = config.clone().unwrap_or_default();
                if config.rules.is_empty() {
                    return Err((
                        "parser.config.rules".to_owned(),
                        "the regex parser needs at least one rule".to_owned(),
                    ));
                }
                let rules = config
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| {
                        Rule::new(rule).map_err(|m| (format!("parser.config.rules[{i}]"), m))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Parser::Regex {
                    rules,
                    separator: config.name_separator,
                })
            }
            (other, _) => Err((
                "parser.type".to_owned(),
                format!("`{other}` is not plaintext or regex"),
            )),
        }
    }
}
