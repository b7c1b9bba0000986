//! Prometheus's text exposition format (0.0.4), as a scrape target answers: `# HELP` and `# TYPE` lines, then
//! samples `name{label="value",...} value [timestamp]`. Samples are grouped into the families their `# TYPE`
//! declares (`x_bucket`, `x_sum` and `x_count` belong to histogram `x`); a sample without one is its own untyped
//! family.

use std::fmt;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// A sample's labels, in the order written.
pub(super) type Labels = Vec<(String, String)>;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    pub(super) name: String,
    pub(super) labels: Labels,
    pub(super) value: f64,
    pub(super) timestamp_ms: Option<i64>,
}

/// A family: its name, type, help and samples in the order they came.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Family {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) help: String,
    pub(super) samples: Vec<Sample>,
}

/// A line that is not the format, with its number (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParseError {
    pub(super) line: usize,
    pub(super) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Every family of `text`.
pub(super) fn parse(text: &str) -> Result<Vec<Family>, ParseError> {
    let mut families: Vec<Family> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let error = |message: String| ParseError {
            line: i + 1,
            message,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, char::is_whitespace);
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    let kind = match kind.trim() {
                        "counter" => Kind::Counter,
                        "gauge" => Kind::Gauge,
                        "histogram" => Kind::Histogram,
                        "summary" => Kind::Summary,
                        "untyped" | "unknown" => Kind::Untyped,
                        other => return Err(error(format!("unknown metric type `{other}`"))),
                    };
                    family_named(&mut families, name).kind = kind;
                }
                (Some("HELP"), Some(name), help) => {
                    family_named(&mut families, name).help = unescape_help(help.unwrap_or(""));
                }
                _ => {}
            }
            continue;
        }
        let sample = parse_sample(line).map_err(error)?;
        let owner = families
            .iter()
            .rposition(|family| owns(family, &sample.name))
            .unwrap_or_else(|| {
                families.push(Family {
                    name: sample.name.clone(),
                    kind: Kind::Untyped,
                    help: String::new(),
                    samples: Vec::new(),
                });
                families.len() - 1
            });
        families[owner].samples.push(sample);
    }
    families.retain(|family| !family.samples.is_empty());
    Ok(families)
}

/// The family `name`, added (untyped, empty) if the text has not named it yet.
fn family_named<'a>(families: &'a mut Vec<Family>, name: &str) -> &'a mut Family {
    let at = families
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| {
            families.push(Family {
                name: name.to_owned(),
                kind: Kind::Untyped,
                help: String::new(),
                samples: Vec::new(),
            });
            families.len() - 1
        });
    &mut families[at]
}

/// Whether sample `name` belongs to `family`.
fn owns(family: &Family, name: &str) -> bool {
    let suffixes: &[&str] = match family.kind {
        Kind::Histogram => &["_bucket", "_sum", "_count"],
        Kind::Summary => &["", "_sum", "_count"],
        _ => &[""],
    };
    suffixes
        .iter()
        .any(|suffix| name.strip_suffix(suffix) == Some(family.name.as_str()))
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or_else(|| format!("a sample needs a value: `{line}`"))?;
    let name = &line[..name_end];
    if name.is_empty() {
        return Err(format!("a sample needs a metric name: `{line}`"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(inside)?;
        labels = parsed;
        rest = after;
    }
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .ok_or_else(|| format!("`{name}` has no value"))?;
    let value = parse_value(value).ok_or_else(|| format!("`{value}` is not a number"))?;
    let timestamp_ms = fields
        .next()
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| format!("`{t}` is not a timestamp"))
        })
        .transpose()?;
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

/// The labels up to the closing `}`, and what follows it.
fn parse_labels(mut text: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = text
            .split_once('=')
            .ok_or_else(|| format!("a label needs `=\"value\"`: `{text}`"))?;
        let after = after
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| format!("label `{}`'s value is not quoted", name.trim()))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("a label value ends in `\\`".into()),
                },
                Some((at, '"')) => break at,
                Some((_, c)) => value.push(c),
                None => return Err(format!("label `{}`'s value is not closed", name.trim())),
            }
        };
        labels.push((name.trim().to_owned(), value));
        text = after[end + 1..].trim_start();
        text = text.strip_prefix(',').unwrap_or(text);
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
