//! String converters: `Concat`, `ConvertCase`, `Split`, `Substring`, `IsMatch`, `HasPrefix`,
//! `HasSuffix`, `ToLowerCase`, `ToUpperCase`, `ToCamelCase`, `ToSnakeCase`, `Trim`,
//! `TrimPrefix`, `TrimSuffix`, `Len`.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::AnyValue;
use regex::Regex;

use super::maps::{floor_boundary, regex_arg};
use super::{
    Args, ConverterFn, FunctionDef, ParamKind, TARGET, expect_string, optional, required, unary,
    unary_def,
};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::Expr;
use crate::value::{Value, format_go_float, string_value};

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    unary_def(
        "Concat",
        &[
            required("values", ParamKind::GetterList),
            required("delimiter", ParamKind::Str),
        ],
        build_concat,
    ),
    unary_def(
        "ConvertCase",
        &[
            required("target", ParamKind::Getter),
            required("to_case", ParamKind::Str),
        ],
        build_convert_case,
    ),
    unary_def(
        "Split",
        &[
            required("target", ParamKind::Getter),
            required("delimiter", ParamKind::Str),
        ],
        build_split,
    ),
    unary_def(
        "Substring",
        &[
            required("target", ParamKind::Getter),
            required("start", ParamKind::Getter),
            required("length", ParamKind::Getter),
            optional("utf8_safe", ParamKind::Bool),
        ],
        build_substring,
    ),
    unary_def(
        "IsMatch",
        &[
            required("target", ParamKind::Getter),
            required("pattern", ParamKind::Str),
        ],
        build_is_match,
    ),
    unary_def(
        "HasPrefix",
        &[
            required("value", ParamKind::Getter),
            required("prefix", ParamKind::Str),
        ],
        |a| build_affix(a, true),
    ),
    unary_def(
        "HasSuffix",
        &[
            required("value", ParamKind::Getter),
            required("suffix", ParamKind::Str),
        ],
        |a| build_affix(a, false),
    ),
    unary_def("ToLowerCase", TARGET, |a| {
        unary(a, |v| case(v, "ToLowerCase", Case::Lower))
    }),
    unary_def("ToUpperCase", TARGET, |a| {
        unary(a, |v| case(v, "ToUpperCase", Case::Upper))
    }),
    unary_def("Len", TARGET, |a| unary(a, len)),
    unary_def(
        "Trim",
        &[
            required("target", ParamKind::Getter),
            optional("replacement", ParamKind::Str),
        ],
        build_trim,
    ),
    unary_def(
        "TrimPrefix",
        &[
            required("value", ParamKind::Getter),
            required("prefix", ParamKind::Str),
        ],
        |a| build_trim_affix(a, true),
    ),
    unary_def(
        "TrimSuffix",
        &[
            required("value", ParamKind::Getter),
            required("suffix", ParamKind::Str),
        ],
        |a| build_trim_affix(a, false),
    ),
    unary_def("ToCamelCase", TARGET, |a| {
        unary(a, |v| case(v, "ToCamelCase", Case::Camel))
    }),
    unary_def("ToSnakeCase", TARGET, |a| {
        unary(a, |v| case(v, "ToSnakeCase", Case::Snake))
    }),
];

/// The text a value contributes to `Concat` and `IsMatch`: strings as they are, numbers and
/// booleans in Go's formatting, bytes and IDs in hex (`Concat`) or base64 (`IsMatch`).
fn scalar_text<'v>(value: &'v Value<'_>) -> Option<Cow<'v, str>> {
    Some(match value {
        Value::Str(s) => Cow::Borrowed(s.as_ref()),
        Value::Int(i) => Cow::Owned(i.to_string()),
        Value::Double(d) => Cow::Owned(format_go_float(*d)),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Bytes(b) => Cow::Owned(hex::encode(b)),
        Value::TraceId(id) => Cow::Owned(hex::encode(id)),
        Value::SpanId(id) => Cow::Owned(hex::encode(id)),
        _ => return None,
    })
}

/// `Concat(values, delimiter)`.
struct Concat {
    values: Vec<Expr>,
    delimiter: String,
}

fn build_concat(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Concat {
        values: args.getter_list(0)?,
        delimiter: args.str(1)?,
    }))
}

impl ConverterFn for Concat {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let mut out = String::new();
        let mut first = true;
        for expr in &self.values {
            let value = expr.eval(ctx)?;
            let text = match &value {
                // A missing value prints as Go prints a nil pointer.
                Value::Nil => Cow::Borrowed("<nil>"),
                other => match scalar_text(other) {
                    Some(text) => text,
                    // Lists and maps are left out: they could blow up the result.
                    None => continue,
                },
            };
            if !first {
                out.push_str(&self.delimiter);
            }
            first = false;
            out.push_str(&text);
        }
        Ok(Value::Str(Cow::Owned(out)))
    }
}

#[derive(Clone, Copy)]
enum Case {
    Lower,
    Upper,
    Snake,
    Camel,
}

/// `ConvertCase(target, toCase)`.
struct ConvertCase {
    target: Expr,
    case: Case,
}

fn build_convert_case(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let case = match args.str(1)?.as_str() {
        "lower" => Case::Lower,
        "upper" => Case::Upper,
        "snake" => Case::Snake,
        "camel" => Case::Camel,
        other => {
            return Err(args.error(
                1,
                format!(
                    "\"{other}\" is not a case; use \"lower\", \"upper\", \"snake\" or \"camel\""
                ),
            ));
        }
    };
    Ok(Box::new(ConvertCase { target, case }))
}

impl ConverterFn for ConvertCase {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        case(self.target.eval(ctx)?, "ConvertCase", self.case)
    }
}

fn case<'c>(value: Value<'c>, function: &str, case: Case) -> Result<Value<'c>> {
    let text = expect_string(value, function, "target")?;
    Ok(Value::Str(Cow::Owned(match case {
        Case::Lower => text.to_lowercase(),
        Case::Upper => text.to_uppercase(),
        Case::Snake => words(&text)
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("_"),
        Case::Camel => words(&text)
            .iter()
            .map(|w| {
                let mut chars = w.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            })
            .collect(),
    })))
}

/// Splits an identifier into words at separators (`_`, `-`, `.`, spaces) and case changes
/// (`myHTTPServer` → `my`, `HTTP`, `Server`).
fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.' | ' ' | '\t') {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && previous.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `Split(target, delimiter)`, as Go's `strings.Split`.
struct Split {
    target: Expr,
    delimiter: String,
}

fn build_split(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Split {
        target: args.getter(0)?,
        delimiter: args.str(1)?,
    }))
}

impl ConverterFn for Split {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let text = expect_string(self.target.eval(ctx)?, "Split", "target")?;
        let parts: Vec<AnyValue> = if self.delimiter.is_empty() {
            text.chars().map(|c| string_value(c.to_string())).collect()
        } else {
            text.split(self.delimiter.as_str())
                .map(string_value)
                .collect()
        };
        Ok(Value::List(Cow::Owned(parts)))
    }
}

/// `Substring(target, start, length, utf8_safe?)`, in bytes.
struct Substring {
    target: Expr,
    start: Expr,
    length: Expr,
    utf8_safe: bool,
}

fn build_substring(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Substring {
        target: args.getter(0)?,
        start: args.getter(1)?,
        length: args.getter(2)?,
        utf8_safe: args.opt_bool(3).unwrap_or(false),
    }))
}

fn int_arg(expr: &Expr, ctx: &TransformContext<'_>, name: &str) -> Result<i64> {
    match expr.eval(ctx)? {
        Value::Int(i) => Ok(i),
        other => Err(Error::eval(format!(
            "Substring: `{name}` must be an int, got {}",
            other.type_name()
        ))),
    }
}

impl ConverterFn for Substring {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let start = int_arg(&self.start, ctx, "start")?;
        let length = int_arg(&self.length, ctx, "length")?;
        let text = expect_string(self.target.eval(ctx)?, "Substring", "target")?;
        if start < 0 {
            return Err(Error::eval(format!(
                "Substring: invalid start {start}, it cannot be negative"
            )));
        }
        if length <= 0 {
            return Err(Error::eval(format!(
                "Substring: invalid length {length}, it must be positive"
            )));
        }
        let (start, length) = (start as usize, length as usize);
        if start.saturating_add(length) > text.len() {
            return Err(Error::eval(format!(
                "Substring: range {start}..{} is beyond the end of a {}-byte string",
                start + length,
                text.len()
            )));
        }
        let end = start + length;
        let (start, end) = if self.utf8_safe {
            let mut start = start;
            while !text.is_char_boundary(start) {
                start += 1;
            }
            let end = floor_boundary(&text, end).len().max(start);
            (start, end)
        } else {
            (start, end)
        };
        if text.get(start..end).is_none() {
            return Err(Error::eval(format!(
                "Substring: {start}..{end} cuts a multi-byte character; pass utf8_safe = true"
            )));
        }
        // In bounds and on character boundaries: checked just above.
        Ok(Value::Str(match text {
            Cow::Borrowed(s) => Cow::Borrowed(&s[start..end]),
            Cow::Owned(s) => Cow::Owned(s[start..end].to_owned()),
        }))
    }
}

/// `IsMatch(target, pattern)`: unanchored regex search; `nil` never matches.
struct IsMatch {
    target: Expr,
    regex: Regex,
}

fn build_is_match(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(IsMatch {
        target: args.getter(0)?,
        regex: regex_arg(args, 1)?,
    }))
}

impl ConverterFn for IsMatch {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let value = self.target.eval(ctx)?;
        let matched = match &value {
            Value::Nil => false,
            Value::Str(s) => self.regex.is_match(s),
            // Bytes, maps and lists match against pdata's AsString (base64, JSON).
            Value::Bytes(_) | Value::Map(_) | Value::List(_) => {
                self.regex.is_match(&value.as_string())
            }
            other => match scalar_text(other) {
                Some(text) => self.regex.is_match(&text),
                None => self.regex.is_match(&other.as_string()),
            },
        };
        Ok(Value::Bool(matched))
    }
}

/// `HasPrefix(value, prefix)` / `HasSuffix(value, suffix)`.
struct Affix {
    value: Expr,
    affix: String,
    prefix: bool,
}

fn build_affix(args: &mut Args<'_>, prefix: bool) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Affix {
        value: args.getter(0)?,
        affix: args.str(1)?,
        prefix,
    }))
}

impl ConverterFn for Affix {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let function = if self.prefix {
            "HasPrefix"
        } else {
            "HasSuffix"
        };
        let text = expect_string(self.value.eval(ctx)?, function, "value")?;
        Ok(Value::Bool(if self.prefix {
            text.starts_with(self.affix.as_str())
        } else {
            text.ends_with(self.affix.as_str())
        }))
    }
}

/// `Len(target)`: bytes of a string, entries of a map, elements of a list.
fn len(value: Value<'_>) -> Result<Value<'_>> {
    let n = match &value {
        Value::Str(s) => s.len(),
        Value::Map(m) => m.len(),
        Value::List(l) => l.len(),
        Value::Object(o) if o.len().is_some() => o.len().unwrap_or_default(),
        other => {
            return Err(Error::eval(format!(
                "Len: expected a string, map or slice, got {}",
                other.type_name()
            )));
        }
    };
    Ok(Value::Int(n as i64))
}

/// `Trim(target, replacement?)`: Go's `strings.Trim`, so `replacement` is a set of characters
/// stripped from both ends (a space by default), not a substring.
struct Trim {
    target: Expr,
    cutset: Vec<char>,
}

fn build_trim(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Trim {
        target: args.getter(0)?,
        cutset: args
            .opt_str(1)
            .map_or_else(|| vec![' '], |r| r.chars().collect()),
    }))
}

impl ConverterFn for Trim {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let text = expect_string(self.target.eval(ctx)?, "Trim", "target")?;
        let cutset = self.cutset.as_slice();
        Ok(Value::Str(match text {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim_matches(cutset)),
            Cow::Owned(s) => Cow::Owned(s.trim_matches(cutset).to_owned()),
        }))
    }
}

/// `TrimPrefix(value, prefix)` / `TrimSuffix(value, suffix)`: one occurrence removed, the value
/// unchanged when it does not start (end) with it.
struct TrimAffix {
    value: Expr,
    affix: String,
    prefix: bool,
}

fn build_trim_affix(args: &mut Args<'_>, prefix: bool) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(TrimAffix {
        value: args.getter(0)?,
        affix: args.str(1)?,
        prefix,
    }))
}

impl ConverterFn for TrimAffix {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let function = if self.prefix {
            "TrimPrefix"
        } else {
            "TrimSuffix"
        };
        let text = expect_string(self.value.eval(ctx)?, function, "value")?;
        let cut = |s: &str| -> usize {
            let kept = if self.prefix {
                s.strip_prefix(self.affix.as_str())
            } else {
                s.strip_suffix(self.affix.as_str())
            };
            kept.map_or(s.len(), str::len)
        };
        let keep = cut(&text);
        let range = if self.prefix {
            text.len() - keep..text.len()
        } else {
            0..keep
        };
        // The range comes from strip_prefix/strip_suffix, so it is on character boundaries.
        Ok(Value::Str(match text {
            Cow::Borrowed(s) => Cow::Borrowed(&s[range]),
            Cow::Owned(s) => Cow::Owned(s[range].to_owned()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_splitting() {
        assert_eq!(words("myMetric"), ["my", "Metric"]);
        assert_eq!(words("my_metric"), ["my", "metric"]);
        assert_eq!(words("myHTTPServer"), ["my", "HTTP", "Server"]);
        assert_eq!(words("MY_METRIC"), ["MY", "METRIC"]);
    }
}
