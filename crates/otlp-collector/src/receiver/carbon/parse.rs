//! Carbon's plaintext lines (`<path> <value> <timestamp>`) read as otelcol's parsers read them, and as Carbon
//! itself accepts them: fields apart by any whitespace, a timestamp of `-1` meaning now, fractional seconds.

use super::config::RegexRule;
use crate::receiver::number_points::{Attributes, Number, Point};
use regex::Regex;

/// The capture names of a `regex` rule: parts of the metric name, and attributes.
const NAME_CAPTURE: &str = "name_";
const KEY_CAPTURE: &str = "key_";

/// How metric paths are read.
#[derive(Debug, Clone)]
pub(super) enum Parser {
    /// `name;key=value;...`, Graphite's tags.
    Plaintext,
    /// The first matching rule names the metric; a path no rule matches is read as plaintext.
    Regex { rules: Vec<Rule>, separator: String },
}

/// A compiled `regex` rule.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    regex: Regex,
    name_prefix: String,
    labels: Vec<(String, String)>,
    cumulative: bool,
    /// The `name_` captures, sorted by name, as otelcol joins them.
    name_parts: Vec<String>,
}

impl Rule {
    pub(super) fn new(rule: &RegexRule) -> Result<Self, String> {
        let regex = Regex::new(&rule.regexp).map_err(|e| format!("regexp: {e}"))?;
        let cumulative = match rule.kind.as_str() {
            "" | "gauge" => false,
            "cumulative" => true,
            other => return Err(format!("type `{other}` is not gauge or cumulative")),
        };
        let mut name_parts = Vec::new();
        for name in regex.capture_names().flatten() {
            if name.starts_with(NAME_CAPTURE) {
                name_parts.push(name.to_owned());
            } else if !name.starts_with(KEY_CAPTURE) {
                return Err(format!(
                    "capture `{name}` must start with `{NAME_CAPTURE}` (a part of the name) or `{KEY_CAPTURE}` (an attribute)"
                ));
            }
        }
        name_parts.sort();
        Ok(Rule {
            regex,
            name_prefix: rule.name_prefix.clone(),
            labels: rule
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            cumulative,
            name_parts,
        })
    }

    /// The rule's reading of `path`, if its expression matches it.
    fn read(&self, path: &str, separator: &str) -> Option<Path> {
        let captures = self.regex.captures(path)?;
        let mut attributes = Attributes::default();
        for (group, name) in self.regex.capture_names().enumerate() {
            let (Some(name), Some(value)) = (name, captures.get(group)) else {
                continue;
            };
            if let Some(key) = name.strip_prefix(KEY_CAPTURE)
                && !value.as_str().is_empty()
            {
                attributes.put(key, value.as_str());
            }
        }
        for (key, value) in &self.labels {
            attributes.put(key, value);
        }
        let mut name = self.name_prefix.clone();
        for part in &self.name_parts {
            name.push_str(separator);
            name.push_str(captures.name(part).map_or("", |m| m.as_str()));
        }
        if name.is_empty() {
            name = path.to_owned();
        }
        Some(Path {
            name,
            attributes: attributes.0,
            cumulative: self.cumulative,
        })
    }
}

/// A metric path, read.
struct Path {
    name: String,
    attributes: Vec<(String, String)>,
    cumulative: bool,
}

impl Parser {
    /// Reads one line (without its newline); `now` is the time a timestamp of `-1` stands for.
    pub(super) fn parse(&self, line: &str, now: u64) -> Result<Point, String> {
        let mut fields = line.split_whitespace();
        let (Some(path), Some(value), Some(timestamp), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("`{line}` is not `<path> <value> <timestamp>`"));
        };
        let path = match self {
            Parser::Plaintext => plaintext(path),
            Parser::Regex { rules, separator } => {
                match rules.iter().find_map(|rule| rule.read(path, separator)) {
                    Some(path) => Ok(path),
                    None => plaintext(path),
                }
            }
        }
        .map_err(|e| format!("`{line}`: {e}"))?;
        let value = match value.parse::<i64>() {
            Ok(int) => Number::Int(int),
            Err(_) => value
                .parse::<f64>()
                .map(Number::Double)
                .map_err(|_| format!("`{line}`: the value `{value}` is not a number"))?,
        };
        let time_unix_nano = unix_nanos(timestamp, now).ok_or_else(|| {
            format!("`{line}`: the timestamp `{timestamp}` is not Unix seconds (or -1 for now)")
        })?;
        Ok(Point {
            name: path.name,
            attributes: path.attributes,
            cumulative: path.cumulative,
            value,
            time_unix_nano,
        })
    }
}

/// `name[;key=value...]`: a key is at least one character, a value may be empty.
fn plaintext(path: &str) -> Result<Path, String> {
    let (name, tags) = path.split_once(';').unwrap_or((path, ""));
    if name.is_empty() {
        return Err("the metric path has no name".to_owned());
    }
    let mut attributes = Attributes::default();
    if !tags.is_empty() {
        for tag in tags.split(';') {
            match tag.split_once('=') {
                Some((key, value)) if !key.is_empty() => attributes.put(key, value),
                _ => return Err(format!("the tag `{tag}` is not `key=value`")),
            }
        }
    }
    Ok(Path {
        name: name.to_owned(),
        attributes: attributes.0,
        cumulative: false,
    })
}

/// Unix seconds, whole or with a decimal fraction (kept to the nanosecond, read as digits rather than through a
/// float, which would be off by a few hundred nanoseconds); `-1`, as Carbon reads it, is `now`.
fn unix_nanos(timestamp: &str, now: u64) -> Option<u64> {
    if timestamp == "-1" {
        return Some(now);
    }
    let (whole, fraction) = timestamp.split_once('.').unwrap_or((timestamp, ""));
    if whole.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0, |nanos, digit| nanos * 10 + u64::from(digit - b'0'));
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests;
