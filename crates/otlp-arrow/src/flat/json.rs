//! OTLP/JSON text of the `AnyValue`s the typed fields of a flat value cannot hold:
//! arrays, key-value lists, the empty value and `string_value_strindex`.
//!
//! The text is the proto3 JSON mapping that OTLP/JSON uses (`{"arrayValue":{"values":
//! [{"stringValue":"a"},{"intValue":"1"}]}}`), so DuckDB's `json_extract` and any OTLP/JSON
//! parser read it. It is exact: 64-bit integers are decimal strings, doubles are
//! written in their shortest round-tripping form (`"NaN"`, `"Infinity"` and
//! `"-Infinity"` as strings, as proto3 JSON says), bytes are base64 (standard alphabet,
//! padded), and the parser reads numbers with Rust's correctly rounded `f64` parsing.

use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};

use super::value::ValueRef;
use crate::{Error, MAX_NESTING};

mod encoded;
pub(crate) use encoded::write_encoded;

const TABLE: &str = "attributes";

/// Appends the OTLP/JSON of `value` (`{}` for the empty value) to `out`; values nested
/// deeper than [`MAX_NESTING`] are refused, as every reader would refuse them.
#[cfg(test)]
pub(crate) fn write_any_value(out: &mut String, value: &AnyValue) -> Result<(), Error> {
    write_nested(out, value, 0)
}

fn write_nested(out: &mut String, value: &AnyValue, depth: usize) -> Result<(), Error> {
    if depth > MAX_NESTING {
        return Err(Error::NestingTooDeep(MAX_NESTING));
    }
    match &value.value {
        None => out.push_str("{}"),
        Some(Value::StringValue(s)) => {
            out.push_str("{\"stringValue\":");
            write_string(out, s);
            out.push('}');
        }
        Some(Value::BoolValue(b)) => {
            out.push_str(if *b {
                "{\"boolValue\":true}"
            } else {
                "{\"boolValue\":false}"
            });
        }
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{{\"intValue\":\"{i}\"}}");
        }
        Some(Value::DoubleValue(d)) => {
            out.push_str("{\"doubleValue\":");
            write_double(out, *d);
            out.push('}');
        }
        Some(Value::BytesValue(b)) => {
            out.push_str("{\"bytesValue\":\"");
            base64_encode(out, b);
            out.push_str("\"}");
        }
        Some(Value::StringValueStrindex(i)) => {
            let _ = write!(out, "{{\"stringValueStrindex\":{i}}}");
        }
        Some(Value::ArrayValue(array)) => write_array(out, array, depth)?,
        Some(Value::KvlistValue(list)) => write_kvlist(out, list, depth)?,
    }
    Ok(())
}

/// Appends the OTLP/JSON of a borrowed value; nothing for [`ValueRef::Absent`].
pub(crate) fn write_value_ref(out: &mut String, value: ValueRef<'_>) -> Result<(), Error> {
    match value {
        ValueRef::Absent => {}
        ValueRef::Empty => out.push_str("{}"),
        ValueRef::Str(s) => {
            out.push_str("{\"stringValue\":");
            write_string(out, s);
            out.push('}');
        }
        ValueRef::Bool(b) => out.push_str(if b {
            "{\"boolValue\":true}"
        } else {
            "{\"boolValue\":false}"
        }),
        ValueRef::Int(i) => {
            let _ = write!(out, "{{\"intValue\":\"{i}\"}}");
        }
        ValueRef::Double(d) => {
            out.push_str("{\"doubleValue\":");
            write_double(out, d);
            out.push('}');
        }
        ValueRef::Bytes(b) => {
            out.push_str("{\"bytesValue\":\"");
            base64_encode(out, b);
            out.push_str("\"}");
        }
        ValueRef::StrIndex(i) => {
            let _ = write!(out, "{{\"stringValueStrindex\":{i}}}");
        }
        ValueRef::Array(a) => write_array(out, a, 0)?,
        ValueRef::Kvlist(l) => write_kvlist(out, l, 0)?,
        ValueRef::Json(json) => out.push_str(json.text()),
    }
    Ok(())
}

/// Appends the OTLP/JSON of a `KeyValue` without its key, for the rare attribute with a
/// `key_strindex`: `{"keyStrindex":3,"value":{...}}`.
pub(crate) fn write_keyed(
    out: &mut String,
    value: ValueRef<'_>,
    key_strindex: i32,
) -> Result<(), Error> {
    let _ = write!(out, "{{\"keyStrindex\":{key_strindex}");
    if value != ValueRef::Absent {
        out.push_str(",\"value\":");
        write_value_ref(out, value)?;
    }
    out.push('}');
    Ok(())
}

/// Appends the OTLP/JSON of an array value (`{"arrayValue":{"values":[...]}}`).
pub(crate) fn write_array(out: &mut String, array: &ArrayValue, depth: usize) -> Result<(), Error> {
    out.push_str("{\"arrayValue\":{\"values\":[");
    for (i, v) in array.values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_nested(out, v, depth + 1)?;
    }
    out.push_str("]}}");
    Ok(())
}

/// Appends the OTLP/JSON of a key-value list value (`{"kvlistValue":{"values":[...]}}`).
pub(crate) fn write_kvlist(
    out: &mut String,
    list: &KeyValueList,
    depth: usize,
) -> Result<(), Error> {
    out.push_str("{\"kvlistValue\":{\"values\":[");
    for (i, kv) in list.values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_key_value(out, kv, depth + 1)?;
    }
    out.push_str("]}}");
    Ok(())
}

fn write_key_value(out: &mut String, kv: &KeyValue, depth: usize) -> Result<(), Error> {
    out.push_str("{\"key\":");
    write_string(out, &kv.key);
    if let Some(value) = &kv.value {
        out.push_str(",\"value\":");
        write_nested(out, value, depth)?;
    }
    if kv.key_strindex != 0 {
        let _ = write!(out, ",\"keyStrindex\":{}", kv.key_strindex);
    }
    out.push('}');
    Ok(())
}

fn write_double(out: &mut String, d: f64) {
    if d.is_nan() {
        out.push_str("\"NaN\"");
    } else if d == f64::INFINITY {
        out.push_str("\"Infinity\"");
    } else if d == f64::NEG_INFINITY {
        out.push_str("\"-Infinity\"");
    } else {
        // `{:?}` is the shortest text that parses back to the same bits, in a form JSON
        // accepts (`1.0`, `-0.0`, `1e-7`, `1e300`).
        let _ = write!(out, "{d:?}");
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
}

fn base64_decode(text: &str) -> Result<Vec<u8>, Error> {
    let digits = text.trim_end_matches('=');
    if !text.len().is_multiple_of(4) || text.len() - digits.len() > 2 {
        return Err(invalid(format!("bytesValue {text:?} is not padded base64")));
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in digits.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(invalid(format!("bytesValue {text:?} is not base64"))),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

fn invalid(reason: String) -> Error {
    Error::InvalidData {
        table: TABLE,
        reason,
    }
}

/// A JSON value, as much of one as OTLP/JSON needs.
#[derive(Debug)]
enum Json {
    Null,
    Bool(bool),
    /// A number, kept as its text so it is converted exactly once, to the type the
    /// field needs.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> Error {
        invalid(format!("invalid JSON value at byte {}: {what}", self.at))
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Error> {
        self.skip_whitespace();
        if self.text.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, Error> {
        if self.text[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("unknown literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, Error> {
        // Each AnyValue level is three JSON levels (object, `values` object, array).
        if depth > 3 * MAX_NESTING + 8 {
            return Err(Error::NestingTooDeep(MAX_NESTING));
        }
        self.skip_whitespace();
        match self.text.get(self.at) {
            None => Err(self.error("unexpected end")),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.text.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_whitespace();
                    match self.text.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.error("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_whitespace();
                if self.text.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_whitespace();
                    let key = self.string()?;
                    self.expect(b':')?;
                    members.push((key, self.value(depth + 1)?));
                    self.skip_whitespace();
                    match self.text.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(self.error("expected `,` or `}`")),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') =
                    self.text.get(self.at)
                {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.text[start..self.at])
                    .map_err(|_| self.error("number"))?;
                Ok(Json::Number(text.to_owned()))
            }
            Some(_) => Err(self.error("unexpected character")),
        }
    }

    fn string(&mut self) -> Result<String, Error> {
        if self.text.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a string"));
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.at) else {
                return Err(self.error("unterminated string"));
            };
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&escape) = self.text.get(self.at) else {
                        return Err(self.error("unterminated escape"));
                    };
                    self.at += 1;
                    match escape {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) {
                                // A high surrogate must be followed by a low one.
                                if self.text.get(self.at..self.at + 2) != Some(b"\\u") {
                                    return Err(self.error("lone surrogate"));
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(self.error("lone surrogate"));
                                }
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            }
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.error("invalid \\u escape"))?;
                            let mut buf = [0; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        self.at += 4;
        Ok(digits)
    }
}

fn parse(text: &str) -> Result<Json, Error> {
    let mut parser = Parser {
        text: text.as_bytes(),
        at: 0,
    };
    let json = parser.value(0)?;
    parser.skip_whitespace();
    if parser.at != text.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(json)
}

/// Parses OTLP/JSON text written by [`write_any_value`] (or any OTLP/JSON encoder)
/// back into an `AnyValue`.
pub(crate) fn parse_any_value(text: &str) -> Result<AnyValue, Error> {
    any_value(parse(text)?, 0)
}

/// Parses the `json` field of an attribute value: an `AnyValue`, or (when it has a
/// `keyStrindex` member) a `KeyValue` without its key. Gives the value and the
/// `key_strindex`.
pub(crate) fn parse_attribute_value(text: &str) -> Result<(Option<AnyValue>, i32), Error> {
    let json = parse(text)?;
    let keyed =
        matches!(&json, Json::Object(members) if members.iter().any(|(k, _)| k == "keyStrindex"));
    if keyed {
        let kv = key_value(json, 0)?;
        Ok((kv.value, kv.key_strindex))
    } else {
        Ok((Some(any_value(json, 0)?), 0))
    }
}

fn any_value(json: Json, depth: usize) -> Result<AnyValue, Error> {
    if depth > MAX_NESTING {
        return Err(Error::NestingTooDeep(MAX_NESTING));
    }
    let Json::Object(members) = json else {
        return Err(invalid("an AnyValue must be a JSON object".into()));
    };
    let mut members = members.into_iter();
    let Some((field, value)) = members.next() else {
        return Ok(AnyValue { value: None });
    };
    if members.next().is_some() {
        return Err(invalid("an AnyValue has at most one field".into()));
    }
    let value = match (field.as_str(), value) {
        ("stringValue", Json::String(s)) => Value::StringValue(s),
        ("boolValue", Json::Bool(b)) => Value::BoolValue(b),
        ("intValue", Json::String(n) | Json::Number(n)) => Value::IntValue(
            n.parse()
                .map_err(|_| invalid(format!("intValue {n:?} is not an int64")))?,
        ),
        ("doubleValue", Json::Number(n)) => Value::DoubleValue(
            n.parse()
                .map_err(|_| invalid(format!("doubleValue {n:?} is not a number")))?,
        ),
        ("doubleValue", Json::String(s)) => Value::DoubleValue(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => other
                .parse()
                .map_err(|_| invalid(format!("doubleValue {other:?} is not a number")))?,
        }),
        ("bytesValue", Json::String(s)) => Value::BytesValue(base64_decode(&s)?),
        ("stringValueStrindex", Json::Number(n) | Json::String(n)) => Value::StringValueStrindex(
            n.parse()
                .map_err(|_| invalid(format!("stringValueStrindex {n:?} is not an int32")))?,
        ),
        ("arrayValue", Json::Object(fields)) => {
            let mut values = Vec::new();
            for item in values_of(fields)? {
                values.push(any_value(item, depth + 1)?);
            }
            Value::ArrayValue(ArrayValue { values })
        }
        ("kvlistValue", Json::Object(fields)) => {
            let mut values = Vec::new();
            for item in values_of(fields)? {
                values.push(key_value(item, depth + 1)?);
            }
            Value::KvlistValue(KeyValueList { values })
        }
        (field, _) => {
            return Err(invalid(format!(
                "`{field}` is not an AnyValue field of the right JSON type"
            )));
        }
    };
    Ok(AnyValue { value: Some(value) })
}

/// The `values` array of an `ArrayValue` or `KeyValueList` (absent when empty).
fn values_of(fields: Vec<(String, Json)>) -> Result<Vec<Json>, Error> {
    let mut values = Vec::new();
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("values", Json::Array(items)) => values = items,
            (other, _) => {
                return Err(invalid(format!(
                    "unexpected `{other}` in an array or kvlist value"
                )));
            }
        }
    }
    Ok(values)
}

fn key_value(json: Json, depth: usize) -> Result<KeyValue, Error> {
    let Json::Object(members) = json else {
        return Err(invalid("a KeyValue must be a JSON object".into()));
    };
    let mut kv = KeyValue::default();
    for (name, value) in members {
        match (name.as_str(), value) {
            ("key", Json::String(key)) => kv.key = key,
            ("value", value) => kv.value = Some(any_value(value, depth)?),
            ("keyStrindex", Json::Number(n) | Json::String(n)) => {
                kv.key_strindex = n
                    .parse()
                    .map_err(|_| invalid(format!("keyStrindex {n:?} is not an int32")))?;
            }
            (other, _) => {
                return Err(invalid(format!("unexpected `{other}` in a KeyValue")));
            }
        }
    }
    Ok(kv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: AnyValue) {
        let mut text = String::new();
        write_any_value(&mut text, &value).unwrap();
        assert_eq!(parse_any_value(&text).unwrap(), value, "{text}");
    }

    fn v(value: Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip(AnyValue { value: None });
        round_trip(v(Value::StringValue("a\"b\\c\n\u{1}é😀".into())));
        round_trip(v(Value::BoolValue(false)));
        round_trip(v(Value::IntValue(i64::MIN)));
        for d in [
            0.1,
            -0.0,
            1e-300,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            round_trip(v(Value::DoubleValue(d)));
        }
        for len in 0..6 {
            round_trip(v(Value::BytesValue((0..len).map(|i| 250 + i).collect())));
        }
        round_trip(v(Value::StringValueStrindex(-7)));
        round_trip(v(Value::ArrayValue(ArrayValue {
            values: vec![
                v(Value::IntValue(1)),
                AnyValue { value: None },
                v(Value::KvlistValue(KeyValueList {
                    values: vec![
                        KeyValue {
                            key: "k".into(),
                            value: None,
                            key_strindex: 3,
                        },
                        KeyValue {
                            key: String::new(),
                            value: Some(v(Value::ArrayValue(ArrayValue::default()))),
                            key_strindex: 0,
                        },
                    ],
                })),
            ],
        })));
    }

    #[test]
    fn the_text_is_otlp_json() {
        let mut text = String::new();
        write_any_value(
            &mut text,
            &v(Value::ArrayValue(ArrayValue {
                values: vec![v(Value::StringValue("a".into())), v(Value::IntValue(5))],
            })),
        )
        .unwrap();
        assert_eq!(
            text,
            r#"{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"5"}]}}"#
        );
    }

    #[test]
    fn nan_is_written_as_proto3_json_says() {
        let mut text = String::new();
        write_any_value(&mut text, &v(Value::DoubleValue(f64::NAN))).unwrap();
        assert_eq!(text, r#"{"doubleValue":"NaN"}"#);
        let back = parse_any_value(&text).unwrap();
        assert!(matches!(back.value, Some(Value::DoubleValue(d)) if d.is_nan()));
    }

    #[test]
    fn hostile_text_is_an_error_not_a_panic() {
        for text in [
            "",
            "{",
            "[",
            "{\"intValue\":\"x\"}",
            "{\"bytesValue\":\"a\"}",
            "{\"stringValue\":\"\\ud800\"}",
            "{\"a\":1,\"b\":2}",
            "{\"arrayValue\":{\"values\":[1]}}",
            "{} x",
            "\"\\u12\"",
        ] {
            assert!(parse_any_value(text).is_err(), "{text:?}");
        }
        let deep = "{\"arrayValue\":{\"values\":[".repeat(200);
        assert!(parse_any_value(&deep).is_err());
        let mut value = AnyValue { value: None };
        for _ in 0..=MAX_NESTING + 1 {
            value = v(Value::ArrayValue(ArrayValue {
                values: vec![value],
            }));
        }
        assert!(matches!(
            write_any_value(&mut String::new(), &value),
            Err(Error::NestingTooDeep(_))
        ));
    }
}
