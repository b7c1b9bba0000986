//! Grok expansion: `%{SYNTAX:ID:TYPE}` references expanded into one regex, with the output
//! field and type conversion of each capture.

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use regex::Regex;

use super::super::owned_map;
use super::CAPTURE_PREFIX;
use super::go_regex::rewrite_regex;
use super::patterns::PATTERNS;
use crate::error::{Error, Result};
use crate::value::{Value, put};

/// How a capture's text is converted (go-grok's type hints).
#[derive(Debug, Clone, PartialEq)]
enum Conversion {
    Str,
    Int,
    Float,
    Bool,
    /// A hint go-grok does not know: like go-grok, an error only when the field captures.
    Unknown(String),
}

impl Conversion {
    fn from_hint(hint: &str) -> Self {
        match hint {
            "" | "string" => Conversion::Str,
            "int" | "long" => Conversion::Int,
            "double" | "float" => Conversion::Float,
            "bool" | "boolean" => Conversion::Bool,
            other => Conversion::Unknown(other.to_owned()),
        }
    }

    fn convert(&self, name: &str, text: &str) -> Result<AnyValue> {
        let invalid = |kind: &str| {
            Error::eval(format!(
                "ExtractGrokPatterns: cannot convert {text:?} captured as `{name}` to {kind}"
            ))
        };
        let value = match self {
            Conversion::Str => any_value::Value::StringValue(text.to_owned()),
            Conversion::Int => {
                any_value::Value::IntValue(text.parse().map_err(|_| invalid("int"))?)
            }
            Conversion::Float => {
                any_value::Value::DoubleValue(text.parse().map_err(|_| invalid("float"))?)
            }
            // Go's strconv.ParseBool.
            Conversion::Bool => any_value::Value::BoolValue(match text {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                _ => return Err(invalid("bool")),
            }),
            Conversion::Unknown(hint) => {
                return Err(Error::eval(format!(
                    "ExtractGrokPatterns: invalid type {hint:?} for `{name}`: type not specified"
                )));
            }
        };
        Ok(AnyValue { value: Some(value) })
    }
}

/// A compiled grok pattern: the regex and, by internal capture number, the output field.
pub(super) struct Grok {
    regex: Regex,
    /// Internal capture `_grokN` → (output name, conversion).
    fields: Vec<(String, Conversion)>,
}

impl Grok {
    pub(super) fn has_captures(&self) -> bool {
        !self.fields.is_empty()
    }

    /// The captures of the first match; an empty map when there is none.
    pub(super) fn extract(&self, text: &str) -> Result<Value<'static>> {
        let mut out = Vec::new();
        let Some(captures) = self.regex.captures(text) else {
            return Ok(owned_map(out));
        };
        // Capture names come in group order, so a later group of the same name wins, as in Go.
        for (group, name) in self.regex.capture_names().enumerate() {
            let Some(field) = name
                .and_then(|n| n.strip_prefix(CAPTURE_PREFIX))
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| self.fields.get(n))
            else {
                continue;
            };
            // go-grok leaves out groups that did not take part, or matched nothing.
            let Some(m) = captures.get(group).filter(|m| !m.is_empty()) else {
                continue;
            };
            let (name, conversion) = field;
            put(&mut out, name, conversion.convert(name, m.as_str())?);
        }
        Ok(owned_map(out))
    }
}

/// The pattern set a call sees: its own definitions first, then the built-in table.
pub(super) struct Definitions {
    pub(super) custom: HashMap<String, String>,
}

impl Definitions {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.custom.get(name).map(String::as_str).or_else(|| {
            PATTERNS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, pattern)| *pattern)
        })
    }

    /// Expands and compiles `pattern`; the error is the reason, without the function's name.
    pub(super) fn compile(
        &self,
        pattern: &str,
        named_captures_only: bool,
    ) -> std::result::Result<Grok, String> {
        let mut expansion = Expansion {
            definitions: self,
            named_captures_only,
            names: Vec::new(),
            hints: HashMap::new(),
            stack: Vec::new(),
        };
        let expanded = expansion.expand(pattern)?;
        let regex_text = rewrite_regex(&expanded, &mut expansion.names)?;
        let regex = Regex::new(&regex_text).map_err(|e| e.to_string())?;
        let fields = expansion
            .names
            .into_iter()
            .map(|name| {
                let conversion = expansion
                    .hints
                    .get(&name)
                    .map_or(Conversion::Str, |h| Conversion::from_hint(h));
                (name, conversion)
            })
            .collect();
        Ok(Grok { regex, fields })
    }
}

/// One expansion in progress.
struct Expansion<'d> {
    definitions: &'d Definitions,
    named_captures_only: bool,
    /// Output names of the captures made so far, by internal number.
    names: Vec<String>,
    /// Type hints by output name; the last one given for a name wins, as in go-grok's map.
    hints: HashMap<String, String>,
    /// The definitions being expanded, to report a cycle instead of recursing forever (go-grok
    /// stops after 1000 rounds and leaves the reference in the regex).
    stack: Vec<String>,
}

/// A `%{SYNTAX}`, `%{SYNTAX:ID}` or `%{SYNTAX:ID:TYPE}` reference at the start of `text`, with
/// go-grok's grammar `%{(\w+(?::[\w+.]+(?::\w+)?)?)}`: (length, syntax, id, type).
fn reference(text: &str) -> Option<(usize, &str, Option<&str>, Option<&str>)> {
    let body = text.strip_prefix("%{")?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let take = |s: &str, allowed: &dyn Fn(char) -> bool| {
        let end = s.find(|c: char| !allowed(c)).unwrap_or(s.len());
        (end > 0).then_some(end)
    };
    let syntax_end = take(body, &word)?;
    let syntax = &body[..syntax_end];
    let mut rest = &body[syntax_end..];
    let mut id = None;
    let mut hint = None;
    if let Some(after) = rest.strip_prefix(':') {
        let end = take(after, &|c| word(c) || c == '+' || c == '.')?;
        id = Some(&after[..end]);
        rest = &after[end..];
        if let Some(after) = rest.strip_prefix(':') {
            let end = take(after, &word)?;
            hint = Some(&after[..end]);
            rest = &after[end..];
        }
    }
    rest.strip_prefix('}')?;
    let len = text.len() - rest.len() + 1;
    Some((len, syntax, id, hint))
}

impl Expansion<'_> {
    fn expand(&mut self, pattern: &str) -> std::result::Result<String, String> {
        let mut out = String::with_capacity(pattern.len());
        let mut rest = pattern;
        while let Some(at) = rest.find("%{") {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            let Some((len, syntax, id, hint)) = reference(rest) else {
                // Not a reference (`%{a-b}`): kept as written, as go-grok keeps it.
                out.push('%');
                rest = &rest[1..];
                continue;
            };
            let definition = self
                .definitions
                .lookup(syntax)
                .ok_or_else(|| format!("pattern definition {syntax:?} unknown"))?;
            if self.stack.iter().any(|s| s == syntax) {
                return Err(format!("pattern definition {syntax:?} refers to itself"));
            }
            self.stack.push(syntax.to_owned());
            let inner = self.expand(definition)?;
            self.stack.pop();
            match id {
                None if self.named_captures_only => {
                    out.push_str("(?:");
                    out.push_str(&inner);
                    out.push(')');
                }
                _ => {
                    let name = id.unwrap_or(syntax);
                    if let Some(hint) = hint {
                        self.hints.insert(name.to_owned(), hint.to_owned());
                    }
                    out.push_str(&format!("(?P<{CAPTURE_PREFIX}{}>", self.names.len()));
                    self.names.push(name.to_owned());
                    out.push_str(&inner);
                    out.push(')');
                }
            }
            rest = &rest[len..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::patterns::PATTERNS;
    use super::*;

    fn defaults() -> Definitions {
        Definitions {
            custom: HashMap::new(),
        }
    }

    /// Every built-in pattern expands (no unknown reference, no cycle) and compiles, in both
    /// capture modes.
    #[test]
    fn every_builtin_pattern_compiles() {
        for (name, _) in PATTERNS {
            for named in [false, true] {
                let reference = format!("%{{{name}}}");
                if let Err(e) = defaults().compile(&reference, named) {
                    panic!("{name} (named captures only: {named}): {e}");
                }
            }
        }
    }

    #[test]
    fn references_follow_go_grok_grammar() {
        assert_eq!(reference("%{WORD}x"), Some((7, "WORD", None, None)));
        assert_eq!(
            reference("%{INT:a.b:int}"),
            Some((14, "INT", Some("a.b"), Some("int")))
        );
        assert_eq!(reference("%{A:}"), None);
        assert_eq!(reference("%{a-b}"), None);
        assert_eq!(reference("%{A:b:c:d}"), None);
    }
}
