//! `ParseLEEF(target)`: an IBM QRadar Log Event Extended Format message (1.0 or 2.0), after an
//! optional syslog header.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList, any_value};

use crate::value::{put, string_value};

/// The header fields and how the attributes are delimited.
struct Header<'a> {
    vendor: &'a str,
    product_name: &'a str,
    product_version: &'a str,
    event_id: &'a str,
    delimiter: Vec<u8>,
}

pub(super) fn parse(message: &str) -> Result<Vec<KeyValue>, String> {
    // The first `LEEF:` starts the header, so anything before it is taken for a syslog header
    // (and a `LEEF:` inside that header would be misread, as in otelcol).
    let start = message
        .find("LEEF:")
        .ok_or("invalid LEEF message: 'LEEF:' not found")?;
    let (version_field, remainder) = message[start..]
        .split_once('|')
        .ok_or("invalid LEEF message: missing pipe delimiter in header")?;
    let version = version_field.strip_prefix("LEEF:").unwrap_or(version_field);
    let (header, attributes) = match version {
        "1.0" => header_v1(remainder)?,
        "2.0" => header_v2(remainder)?,
        other => {
            return Err(format!(
                "unsupported LEEF version: {other} (supported: 1.0, 2.0)"
            ));
        }
    };
    let mut out = Vec::new();
    put(&mut out, "leef.version", string_value(version));
    put(&mut out, "leef.vendor", string_value(header.vendor));
    put(
        &mut out,
        "leef.product.name",
        string_value(header.product_name),
    );
    put(
        &mut out,
        "leef.product.version",
        string_value(header.product_version),
    );
    put(&mut out, "leef.event.id", string_value(header.event_id));
    put(
        &mut out,
        "leef.attributes",
        AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: parse_attributes(attributes, &header.delimiter),
            })),
        },
    );
    Ok(out)
}

fn too_few(version: &str, got: usize) -> String {
    format!(
        "invalid LEEF {version} header: expected at least 4 fields (vendor, product, version, eventID), got {got}"
    )
}

/// LEEF 1.0: four header fields, then tab-delimited attributes.
fn header_v1(remainder: &str) -> Result<(Header<'_>, &str), String> {
    let parts: Vec<&str> = remainder.splitn(5, '|').collect();
    if parts.len() < 4 {
        return Err(too_few("1.0", parts.len()));
    }
    Ok((
        Header {
            vendor: parts[0],
            product_name: parts[1],
            product_version: parts[2],
            event_id: parts[3],
            delimiter: vec![b'\t'],
        },
        parts.get(4).copied().unwrap_or(""),
    ))
}

/// LEEF 2.0: four header fields, an optional delimiter field, then the attributes.
fn header_v2(remainder: &str) -> Result<(Header<'_>, &str), String> {
    let parts: Vec<&str> = remainder.splitn(6, '|').collect();
    if parts.len() < 4 {
        return Err(too_few("2.0", parts.len()));
    }
    let header = |delimiter| Header {
        vendor: parts[0],
        product_name: parts[1],
        product_version: parts[2],
        event_id: parts[3],
        delimiter,
    };
    let Some(spec) = parts.get(4) else {
        return Ok((header(vec![b'\t']), ""));
    };
    // A fifth field holding `=` is the first attribute: the delimiter was left out. The
    // attributes are then everything after the fourth pipe, pipes included.
    if spec.contains('=') {
        let attributes = remainder.splitn(5, '|').nth(4).unwrap_or("");
        return Ok((header(vec![b'\t']), attributes));
    }
    let delimiter =
        parse_delimiter(spec).map_err(|e| format!("invalid LEEF 2.0 delimiter: {e}"))?;
    Ok((header(delimiter), parts.get(5).copied().unwrap_or("")))
}

/// One character, or `0x`/`0X` and hex for one byte; empty means tab.
fn parse_delimiter(spec: &str) -> Result<Vec<u8>, String> {
    if spec.is_empty() {
        return Ok(vec![b'\t']);
    }
    if let Some(hex_digits) = spec.strip_prefix("0x").or_else(|| spec.strip_prefix("0X")) {
        if hex_digits.is_empty() {
            return Err("empty hex value".to_owned());
        }
        let decoded =
            hex::decode(hex_digits).map_err(|e| format!("invalid hex delimiter {spec:?}: {e}"))?;
        if decoded.len() != 1 {
            return Err(format!(
                "hex delimiter must decode to a single byte, got {} bytes",
                decoded.len()
            ));
        }
        return Ok(decoded);
    }
    // Go counts bytes: a character outside ASCII is refused.
    if spec.len() != 1 {
        return Err(format!(
            "delimiter must be a single character or 0x-prefixed hex value, got {spec:?}"
        ));
    }
    Ok(spec.as_bytes().to_vec())
}

/// Splits the attributes on the delimiter, skipping pairs without `=` or with an empty key;
/// a repeated key keeps its last value, in the place where it first appeared (otelcol's order
/// is that of a Go map, so random). Whitespace is kept: a LEEF value runs up to the delimiter.
fn parse_attributes(attributes: &str, delimiter: &[u8]) -> Vec<KeyValue> {
    let mut out = Vec::new();
    if attributes.is_empty() || delimiter.is_empty() {
        return out;
    }
    // Split as bytes: a hex delimiter may be a byte that is not a character on its own.
    let bytes = attributes.as_bytes();
    let mut start = 0;
    let mut pieces = Vec::new();
    let mut i = 0;
    while i + delimiter.len() <= bytes.len() {
        if bytes[i..].starts_with(delimiter) {
            pieces.push(&bytes[start..i]);
            i += delimiter.len();
            start = i;
        } else {
            i += 1;
        }
    }
    pieces.push(&bytes[start..]);
    for piece in pieces {
        let pair = String::from_utf8_lossy(piece);
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        put(&mut out, key, string_value(value));
    }
    out
}
