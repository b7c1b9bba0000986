//! `ParseELF(target)`: a W3C Extended Log Format block (IIS and others), directives and data
//! lines in one string.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};

use crate::value::{key_value, put, string_value};

fn list(values: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
    }
}

/// The directives kept, by their case-insensitive names.
const DIRECTIVES: &[(&str, &str)] = &[
    ("version", "elf.version"),
    ("software", "elf.software"),
    ("date", "elf.date"),
    ("start-date", "elf.start_date"),
    ("end-date", "elf.end_date"),
    ("remark", "elf.remark"),
];

pub(super) fn parse(input: &str) -> Result<Vec<KeyValue>, String> {
    // otelcol creates `elf.entries` first and `elf.fields` last; the same order here.
    let mut out = vec![key_value("elf.entries", list(Vec::new()))];
    let mut entries = Vec::new();
    let mut has_version = false;
    let mut fields: Vec<&str> = Vec::new();
    // Lines end at `\n`, `\r` or `\r\n`; blank lines are skipped.
    for line in input
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if let Some(body) = line.strip_prefix('#') {
            let Some((key, value)) = body.split_once(':') else {
                // A `#Fields` that cannot be read would leave the data lines unreadable, so
                // it is an error; other malformed directives (a bare `#Remark`) are skipped.
                let trimmed = body.trim();
                if trimmed
                    .get(..6)
                    .is_some_and(|p| p.eq_ignore_ascii_case("fields"))
                {
                    return Err(format!(
                        "invalid ELF: malformed #Fields directive {line:?}: directive {line:?} has no colon separator"
                    ));
                }
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            if key.eq_ignore_ascii_case("fields") {
                fields = value.split_whitespace().collect();
            } else if let Some((_, name)) = DIRECTIVES
                .iter()
                .find(|(directive, _)| key.eq_ignore_ascii_case(directive))
            {
                has_version |= *name == "elf.version";
                put(&mut out, name, string_value(value));
            }
            continue;
        }
        if fields.is_empty() {
            return Err("invalid ELF: data entry found before #Fields directive".to_owned());
        }
        let values = split_data_line(line)?;
        if values.len() != fields.len() {
            tracing::warn!(
                field_count = fields.len(),
                value_count = values.len(),
                "ParseELF: ELF data line has a different number of values than fields; \
                 missing values are '-', extra values are dropped"
            );
        }
        let entry = fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let value = values.get(i).map_or("-", String::as_str);
                key_value(*field, string_value(value))
            })
            .fold(Vec::new(), |mut map, kv| {
                // A field named twice keeps its last value, as pcommon's PutStr does.
                match kv.value {
                    Some(value) => put(&mut map, &kv.key, value),
                    None => map.push(kv),
                }
                map
            });
        entries.push(AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: entry,
            })),
        });
    }
    if !has_version {
        return Err("invalid ELF: missing #Version directive".to_owned());
    }
    out[0] = key_value("elf.entries", list(entries));
    let fields = fields.iter().map(|f| string_value(*f)).collect();
    put(&mut out, "elf.fields", list(fields));
    Ok(out)
}

/// Splits a data line on spaces and tabs; a double-quoted value may hold them, with `""` for a
/// quote (W3C ELF §2, as IIS writes).
fn split_data_line(line: &str) -> Result<Vec<String>, String> {
    let bytes = line.as_bytes();
    let n = bytes.len();
    let mut values = Vec::new();
    let mut i = 0;
    let unterminated = || format!("invalid ELF: unterminated quoted value in data line: {line:?}");
    while i < n {
        while i < n && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        if i >= n {
            break;
        }
        if bytes[i] != b'"' {
            let start = i;
            while i < n && !matches!(bytes[i], b' ' | b'\t') {
                i += 1;
            }
            values.push(line[start..i].to_owned());
            continue;
        }
        i += 1;
        let mut value = String::new();
        let mut start = i;
        loop {
            match bytes[i..].iter().position(|b| *b == b'"') {
                None => return Err(unterminated()),
                Some(offset) => {
                    let quote = i + offset;
                    value.push_str(&line[start..quote]);
                    if bytes.get(quote + 1) == Some(&b'"') {
                        value.push('"');
                        i = quote + 2;
                        start = i;
                    } else {
                        i = quote + 1;
                        break;
                    }
                }
            }
        }
        values.push(value);
    }
    Ok(values)
}
