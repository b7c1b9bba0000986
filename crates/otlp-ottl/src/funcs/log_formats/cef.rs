//! `ParseCEF(target)`: an ArcSight Common Event Format message, after an optional syslog
//! header.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList, any_value};

use crate::value::{put, string_value};

/// `CEF:Version` and the six header fields; everything after the seventh pipe is the extension.
const HEADER_FIELDS: usize = 7;

pub(super) fn parse(message: &str) -> Result<Vec<KeyValue>, String> {
    // Anything before `CEF:` is taken for a syslog header, as in otelcol.
    let start = message
        .find("CEF:")
        .ok_or("invalid CEF message: 'CEF:' not found")?;
    let (fields, extension) = split_header(&message[start..])?;
    let version = fields[0].strip_prefix("CEF:").unwrap_or(fields[0]);
    if version.is_empty() {
        return Err("invalid CEF message: missing version".to_owned());
    }
    let mut out = Vec::new();
    put(&mut out, "cef.version", string_value(version));
    let names = [
        "cef.device_vendor",
        "cef.device_product",
        "cef.device_version",
        "cef.device_event_class_id",
        "cef.name",
        "cef.severity",
    ];
    for (name, field) in names.iter().zip(&fields[1..]) {
        put(&mut out, name, string_value(unescape_header(field)));
    }
    let extensions = extension.map(parse_extensions).unwrap_or_default();
    put(
        &mut out,
        "cef.extensions",
        AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: extensions,
            })),
        },
    );
    Ok(out)
}

/// Splits on the pipes that are not escaped: the seven header fields (escapes kept) and the
/// extension, when there is a seventh pipe.
fn split_header(message: &str) -> Result<(Vec<&str>, Option<&str>), String> {
    let bytes = message.as_bytes();
    let mut fields = Vec::with_capacity(HEADER_FIELDS);
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if matches!(bytes.get(i + 1), Some(b'|' | b'\\')) => i += 2,
            b'|' => {
                fields.push(&message[start..i]);
                start = i + 1;
                i += 1;
                if fields.len() == HEADER_FIELDS {
                    return Ok((fields, Some(&message[start..])));
                }
            }
            _ => i += 1,
        }
    }
    fields.push(&message[start..]);
    if fields.len() < HEADER_FIELDS {
        return Err(format!(
            "invalid CEF header: expected at least {HEADER_FIELDS} pipe-delimited fields (CEF:Version, Device Vendor, Device Product, Device Version, Device Event Class ID, Name, Severity), got {}",
            fields.len()
        ));
    }
    Ok((fields, None))
}

/// `\|` and `\\`, the two escapes of a header field.
fn unescape_header(field: &str) -> Cow<'_, str> {
    unescape(field, |c| matches!(c, '|' | '\\').then_some(c))
}

/// `\\`, `\=`, `\n` and `\r`, the escapes of an extension value.
fn unescape_value(value: &str) -> Cow<'_, str> {
    unescape(value, |c| match c {
        '\\' | '=' => Some(c),
        'n' => Some('\n'),
        'r' => Some('\r'),
        _ => None,
    })
}

/// Replaces `\c` by `escape(c)` where that is known; other backslashes stay.
fn unescape(text: &str, escape: impl Fn(char) -> Option<char>) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(replacement) = chars.peek().and_then(|next| escape(*next))
        {
            out.push(replacement);
            chars.next();
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// The start of a `key=` token: at the start of the extension or after a space, a letter, then
/// letters, digits or underscores, then `=`. Returns where the match starts (the space, if
/// any) and where the value starts.
fn key_at(extension: &[u8], at: usize) -> Option<(usize, usize, usize)> {
    let key_start = if at == 0 && extension.first().is_some_and(u8::is_ascii_alphabetic) {
        0
    } else if extension.get(at) == Some(&b' ') {
        at + 1
    } else {
        return None;
    };
    if !extension
        .get(key_start)
        .is_some_and(u8::is_ascii_alphabetic)
    {
        return None;
    }
    let mut end = key_start + 1;
    while extension
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        end += 1;
    }
    (extension.get(end) == Some(&b'=')).then_some((key_start, end, end + 1))
}

/// otelcol's extension parsing: each value runs up to the next `key=` token (so values may hold
/// spaces), trailing spaces trimmed. A repeated key keeps its last value, in the place where
/// it first appeared (otelcol's order is that of a Go map, so random).
fn parse_extensions(extension: &str) -> Vec<KeyValue> {
    let bytes = extension.as_bytes();
    // (match start, key start, key end, value start) of each token, not overlapping.
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match key_at(bytes, at) {
            Some((key_start, key_end, value_start)) => {
                tokens.push((at, key_start, key_end, value_start));
                at = value_start;
            }
            None => at += 1,
        }
    }
    let mut out = Vec::new();
    for (n, &(_, key_start, key_end, value_start)) in tokens.iter().enumerate() {
        let value_end = tokens.get(n + 1).map_or(bytes.len(), |t| t.0);
        let value = extension[value_start..value_end].trim_end_matches(' ');
        put(
            &mut out,
            &extension[key_start..key_end],
            string_value(unescape_value(value)),
        );
    }
    out
}
