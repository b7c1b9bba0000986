//! InfluxDB line protocol: `measurement,tag=value field=value timestamp`, tags and fields sorted by key, escaped
//! as InfluxDB reads them.

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Field {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Field {
    /// An attribute's value as a field, typed as otel2influx types it: maps and lists as JSON, bytes as base64; a
    /// value that is not set, or a float line protocol cannot carry (NaN, infinite), is none.
    pub(super) fn from_any(value: Option<&AnyValue>) -> Option<Field> {
        match value?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(Field::Str(s.clone())),
            any_value::Value::IntValue(i) => Some(Field::Int(*i)),
            any_value::Value::DoubleValue(d) => Field::float(*d),
            any_value::Value::BoolValue(b) => Some(Field::Bool(*b)),
            _ => Some(Field::Str(text(value))),
        }
    }

    pub(super) fn float(value: f64) -> Option<Field> {
        value.is_finite().then_some(Field::Float(value))
    }

    /// A count, as an integer (InfluxDB 1.x takes no unsigned integers).
    pub(super) fn count(value: u64) -> Field {
        i64::try_from(value).map_or(Field::Float(value as f64), Field::Int)
    }
}

/// An attribute's value as a tag or JSON text: pdata's `AsString`.
pub(super) fn text(value: Option<&AnyValue>) -> String {
    value
        .map(|value| otlp_ottl::Value::from_any(value).as_string().into_owned())
        .unwrap_or_default()
}

/// Ids as lowercase hex, as otel2influx writes them.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One point.
#[derive(Debug, Default)]
pub(super) struct Line {
    pub(super) measurement: String,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) fields: BTreeMap<String, Field>,
    pub(super) time_unix_nano: u64,
}

impl Line {
    pub(super) fn new(measurement: &str, time_unix_nano: u64) -> Line {
        Line {
            measurement: measurement.to_owned(),
            time_unix_nano,
            ..Line::default()
        }
    }

    /// Sets a tag; an empty key or value is left out, as InfluxDB cannot store it.
    pub(super) fn tag(&mut self, key: &str, value: String) {
        if !key.is_empty() && !value.is_empty() {
            self.tags.insert(key.to_owned(), value);
        }
    }

    pub(super) fn field(&mut self, key: &str, value: Option<Field>) {
        if let Some(value) = value
            && !key.is_empty()
        {
            self.fields.insert(key.to_owned(), value);
        }
    }

    /// Sets a string field, unless `value` is empty.
    pub(super) fn text_field(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.field(key, Some(Field::Str(value.to_owned())));
        }
    }

    /// Appends the line, newline included; a line without fields, which InfluxDB refuses, is not written.
    pub(super) fn write(&self, out: &mut String) -> bool {
        if self.fields.is_empty() || self.measurement.is_empty() {
            return false;
        }
        escape(out, &self.measurement, &[',', ' ']);
        for (key, value) in &self.tags {
            out.push(',');
            escape(out, key, &[',', '=', ' ']);
            out.push('=');
            escape(out, value, &[',', '=', ' ']);
        }
        let mut separator = ' ';
        for (key, value) in &self.fields {
            out.push(separator);
            separator = ',';
            escape(out, key, &[',', '=', ' ']);
            out.push('=');
            match value {
                Field::Str(s) => {
                    out.push('"');
                    for c in s.chars() {
                        if matches!(c, '"' | '\\') {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                }
                Field::Int(i) => {
                    let _ = write!(out, "{i}i");
                }
                Field::Float(f) => {
                    let _ = write!(out, "{f:?}");
                }
                Field::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            }
        }
        let _ = writeln!(out, " {}", self.time_unix_nano);
        true
    }
}

/// `text` with a backslash before each of `special` and before a backslash ending it; a line break (which would
/// end the line) becomes a space.
fn escape(out: &mut String, text: &str, special: &[char]) {
    for c in text.chars() {
        let c = if matches!(c, '\n' | '\r') { ' ' } else { c };
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    if text.ends_with('\\') {
        out.push('\\');
    }
}

#[cfg(test)]
mod tests;
