//! `trace_state["key"]`: entries of a W3C `tracestate` header, read and inserted the way
//! go.opentelemetry.io/otel/trace's `TraceState` does (a new or updated entry moves to the front;
//! an invalid key or value leaves the trace state unchanged).

use std::borrow::Cow;

use crate::value::Value;

/// The value of `key`, `""` when absent, `nil` when the trace state does not parse.
pub(crate) fn get(state: &str, key: &str) -> Value<'static> {
    let Some(entries) = parse(state) else {
        return Value::Nil;
    };
    let found = entries
        .into_iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, v)| v);
    Value::Str(Cow::Owned(found.to_owned()))
}

/// The trace state with `key=value` first and any old `key` entry removed; `None` when the
/// state, the key or the value is invalid.
pub(crate) fn insert(state: &str, key: &str, value: &str) -> Option<String> {
    if !valid_key(key) || !valid_value(value) {
        return None;
    }
    let entries = parse(state)?;
    let mut out = format!("{key}={value}");
    for (k, v) in entries.into_iter().filter(|(k, _)| *k != key) {
        out.push(',');
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Some(out)
}

fn parse(state: &str) -> Option<Vec<(&str, &str)>> {
    let mut entries = Vec::new();
    for member in state.split(',') {
        let member = member.trim_matches(|c| c == ' ' || c == '\t');
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !valid_key(key) || !valid_value(value) {
            return None;
        }
        entries.push((key, value));
    }
    Some(entries)
}

/// `simple-key` or `tenant@system` keys of the W3C grammar.
fn valid_key(key: &str) -> bool {
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '*' | '/')
    };
    let part_ok = |part: &str, first_digit_ok: bool| {
        let mut chars = part.chars();
        match chars.next() {
            Some(c) if c.is_ascii_lowercase() || (first_digit_ok && c.is_ascii_digit()) => {
                chars.all(allowed)
            }
            _ => false,
        }
    };
    if key.is_empty() || key.len() > 256 {
        return false;
    }
    match key.split_once('@') {
        Some((tenant, system)) => part_ok(tenant, true) && part_ok(system, false),
        None => part_ok(key, false),
    }
}

fn valid_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && value
            .chars()
            .all(|c| (' '..='~').contains(&c) && c != ',' && c != '=')
        && !value.ends_with(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_moves_the_entry_first() {
        assert_eq!(insert("a=1,b=2", "b", "3").as_deref(), Some("b=3,a=1"));
        assert_eq!(insert("", "svc", "example").as_deref(), Some("svc=example"));
        assert_eq!(insert("a=1", "Bad", "x"), None);
        assert_eq!(get("a=1, b=2", "b"), Value::string("2"));
        assert_eq!(get("a=1", "missing"), Value::string(""));
    }
}
