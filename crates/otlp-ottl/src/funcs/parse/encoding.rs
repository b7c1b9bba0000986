//! `Base64Encode`, `Base64Decode` and `Decode`: byte encodings of text, sharing the base64
//! variants otelcol names and Go's base64 error texts.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::Value;

/// The base64 variants otelcol names.
fn base64_engine(variant: &str) -> Option<&'static base64::engine::GeneralPurpose> {
    Some(match variant {
        "base64" => &STANDARD,
        "base64-raw" => &STANDARD_NO_PAD,
        "base64-url" => &URL_SAFE,
        "base64-raw-url" => &URL_SAFE_NO_PAD,
        _ => return None,
    })
}

/// `Base64Encode(target, variant?)`.
struct Base64Encode {
    target: Expr,
    variant: Option<Expr>,
}

pub(super) fn build_base64_encode(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let variant = args.opt_getter(1);
    if let Some(Expr::Literal(literal)) = &variant {
        match literal.as_str() {
            Some(v) if base64_engine(v).is_some() => {}
            _ => {
                return Err(args.error(
                    1,
                    format!(
                        "unsupported base64 variant {}; use \"base64\", \"base64-raw\", \"base64-url\" or \"base64-raw-url\"",
                        literal.as_string()
                    ),
                ));
            }
        }
    }
    Ok(Box::new(Base64Encode { target, variant }))
}

impl ConverterFn for Base64Encode {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let text = expect_string(self.target.eval(ctx)?, "Base64Encode", "target")?;
        let variant = match &self.variant {
            Some(expr) => expect_string(expr.eval(ctx)?, "Base64Encode", "variant")?,
            None => Cow::Borrowed("base64"),
        };
        let engine = base64_engine(&variant).ok_or_else(|| {
            Error::eval(format!(
                "Base64Encode: unsupported base64 variant: {variant}"
            ))
        })?;
        Ok(Value::Str(Cow::Owned(engine.encode(text.as_bytes()))))
    }
}

pub(super) fn base64_decode(value: Value<'_>) -> Result<Value<'_>> {
    let text = expect_string(value, "Base64Decode", "value")?;
    let bytes = STANDARD
        .decode(text.as_bytes())
        .map_err(|e| Error::eval(format!("Base64Decode: {}", go_base64_error(&e))))?;
    Ok(Value::Str(Cow::Owned(
        String::from_utf8_lossy(&bytes).into_owned(),
    )))
}

/// Go's `base64.CorruptInputError` text, which configs and alerts match on.
fn go_base64_error(error: &base64::DecodeError) -> String {
    let offset = match error {
        base64::DecodeError::InvalidByte(offset, _)
        | base64::DecodeError::InvalidLastSymbol(offset, _) => *offset,
        base64::DecodeError::InvalidLength(len) => *len,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {offset}")
}

/// A decoder `Decode` resolved from its encoding name.
#[derive(Clone, Copy)]
enum Decoder {
    Base64(&'static base64::engine::GeneralPurpose),
    /// UTF-8 (and what otelcol maps to it: ASCII); invalid sequences become U+FFFD.
    Utf8,
    /// Bytes as they are (`nop`).
    Nop,
    Latin1,
    Windows1252,
    Utf16 {
        big_endian: bool,
    },
}

fn decoder(name: &str) -> Option<Decoder> {
    if let Some(engine) = base64_engine(name) {
        return Some(Decoder::Base64(engine));
    }
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "" | "nop" => Decoder::Nop,
        "utf-8" | "utf8" | "csutf8" | "ascii" | "us-ascii" | "iso646-us" | "csascii"
        | "ansi_x3.4-1968" => Decoder::Utf8,
        "utf-16" | "utf16" | "utf-16le" | "csutf16le" => Decoder::Utf16 { big_endian: false },
        "utf-16be" | "csutf16be" => Decoder::Utf16 { big_endian: true },
        "iso-8859-1" | "iso_8859-1" | "iso_8859-1:1987" | "latin1" | "l1" | "ibm819" | "cp819"
        | "csisolatin1" | "iso-ir-100" => Decoder::Latin1,
        "windows-1252" | "cswindows1252" => Decoder::Windows1252,
        _ => return None,
    })
}

/// The characters windows-1252 puts at 0x80..=0x9F (the undefined ones map to C1 controls,
/// as the WHATWG table Go's charmap follows does).
const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}', '\u{017D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{9D}', '\u{017E}', '\u{0178}',
];

impl Decoder {
    fn decode(self, bytes: &[u8]) -> Result<String> {
        Ok(match self {
            Decoder::Base64(engine) => {
                // Go trims surrounding whitespace and skips line breaks inside.
                let cleaned: Vec<u8> = trim_ascii_space(bytes)
                    .iter()
                    .copied()
                    .filter(|b| *b != b'\r' && *b != b'\n')
                    .collect();
                let decoded = engine.decode(&cleaned).map_err(|e| {
                    Error::eval(format!("Decode: could not decode: {}", go_base64_error(&e)))
                })?;
                String::from_utf8_lossy(&decoded).into_owned()
            }
            Decoder::Utf8 | Decoder::Nop => String::from_utf8_lossy(bytes).into_owned(),
            Decoder::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Decoder::Windows1252 => bytes
                .iter()
                .map(|&b| match b {
                    0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
                    _ => char::from(b),
                })
                .collect(),
            Decoder::Utf16 { big_endian } => {
                let units = bytes.chunks(2).map(|pair| match pair {
                    [a, b] if big_endian => u16::from_be_bytes([*a, *b]),
                    [a, b] => u16::from_le_bytes([*a, *b]),
                    // A dangling odd byte decodes to the replacement character.
                    _ => 0xFFFD,
                });
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect()
            }
        })
    }
}

fn trim_ascii_space(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// `Decode(target, encoding)`.
struct Decode {
    target: Expr,
    encoding: Expr,
    /// Resolved once when `encoding` is a literal.
    fixed: Option<Decoder>,
}

pub(super) fn build_decode(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let encoding = args.getter(1)?;
    let fixed = match &encoding {
        Expr::Literal(literal) => {
            let name = literal.as_string();
            Some(
                decoder(&name)
                    .ok_or_else(|| args.error(1, format!("unsupported encoding '{name}'")))?,
            )
        }
        _ => None,
    };
    Ok(Box::new(Decode {
        target,
        encoding,
        fixed,
    }))
}

impl ConverterFn for Decode {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let decoder = match self.fixed {
            Some(d) => d,
            None => {
                let name = expect_string(self.encoding.eval(ctx)?, "Decode", "encoding")?;
                decoder(&name)
                    .ok_or_else(|| Error::eval(format!("Decode: unsupported encoding '{name}'")))?
            }
        };
        let text = match self.target.eval(ctx)? {
            Value::Bytes(b) => decoder.decode(&b)?,
            Value::Str(s) => {
                if let Decoder::Base64(_) = decoder {
                    decoder.decode(s.trim().as_bytes())?
                } else {
                    decoder.decode(s.as_bytes())?
                }
            }
            // pdata values other than bytes go through AsString, as otelcol does.
            v @ (Value::Int(_)
            | Value::Double(_)
            | Value::Bool(_)
            | Value::Map(_)
            | Value::List(_)) => decoder.decode(v.as_string().as_bytes())?,
            other => {
                return Err(Error::eval(format!(
                    "Decode: unsupported type provided to Decode function: {}",
                    other.type_name()
                )));
            }
        };
        Ok(Value::Str(Cow::Owned(text)))
    }
}
