//! `Format`: Go's `fmt.Sprintf` over OTTL values, with its verbs, flags and in-band error
//! texts; a separate file because reproducing Go's number and quoting output takes most of it.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::context::TransformContext;
use crate::error::Result;
use crate::funcs::{Args, ConverterFn};
use crate::program::expr::Expr;
use crate::value::Value;

/// `Format(format, vals)`: Go's `fmt.Sprintf` for the verbs configs use.
struct Format {
    format: String,
    values: Vec<Expr>,
}

pub(super) fn build_format(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Format {
        format: args.str(0)?,
        values: args.getter_list(1)?,
    }))
}

impl ConverterFn for Format {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let values = self
            .values
            .iter()
            .map(|e| e.eval(ctx))
            .collect::<Result<Vec<_>>>()?;
        Ok(Value::Str(Cow::Owned(go_sprintf(&self.format, &values))))
    }
}

/// The flags, width and precision of one directive.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    /// Pads `body` to the width: left with spaces, right with `-`, or with zeros after any sign
    /// when `zero` applies.
    fn pad(&self, body: &str, zero_ok: bool) -> String {
        let len = body.chars().count();
        let Some(width) = self.width.filter(|w| *w > len) else {
            return body.to_owned();
        };
        let fill = width - len;
        if self.minus {
            format!("{body}{}", " ".repeat(fill))
        } else if self.zero && zero_ok {
            let (sign, digits) = match body.as_bytes().first() {
                Some(b'-' | b'+' | b' ') => body.split_at(1),
                _ => ("", body),
            };
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{body}", " ".repeat(fill))
        }
    }
}

/// Go's `%T` name of a value.
fn go_type(value: &Value<'_>) -> &'static str {
    match value {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::Double(_) => "float64",
        Value::Str(_) => "string",
        Value::Bytes(_) => "[]uint8",
        Value::Map(_) => "pcommon.Map",
        Value::List(_) => "pcommon.Slice",
        Value::TraceId(_) => "pcommon.TraceID",
        Value::SpanId(_) => "pcommon.SpanID",
        Value::Time(_) => "time.Time",
        Value::Duration(_) => "time.Duration",
        Value::Object(_) => "object",
    }
}

/// Go's `time.Time.String()` for a UTC time.
fn go_time_string(nanos: i128) -> String {
    match jiff::Timestamp::from_nanosecond(nanos) {
        Ok(ts) => {
            let mut out = ts.strftime("%Y-%m-%d %H:%M:%S").to_string();
            let frac = ts.subsec_nanosecond();
            if frac != 0 {
                let digits = format!("{frac:09}");
                out.push('.');
                out.push_str(digits.trim_end_matches('0'));
            }
            out.push_str(" +0000 UTC");
            out
        }
        Err(_) => format!("{nanos}"),
    }
}

/// `%v` of a value.
fn go_default(value: &Value<'_>) -> String {
    match value {
        Value::Nil => "<nil>".to_owned(),
        Value::Double(d) => go_float_g(*d, None, false),
        Value::Bytes(b) => format!(
            "[{}]",
            b.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
        ),
        Value::Time(t) => go_time_string(*t),
        Value::TraceId(_) | Value::SpanId(_) => value.as_string().into_owned(),
        other => other.as_string().into_owned(),
    }
}

/// A float in Go's `%e` form (`1.234560e+08`).
fn go_float_e(v: f64, precision: Option<usize>, upper: bool) -> String {
    if !v.is_finite() {
        return go_nonfinite(v);
    }
    let raw = match precision {
        Some(p) => format!("{v:.p$e}"),
        None => format!("{v:e}"),
    };
    let (mantissa, exp) = raw.split_once('e').unwrap_or((&raw, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    let exp = if digits.len() < 2 {
        format!("0{digits}")
    } else {
        digits.to_owned()
    };
    format!("{mantissa}{}{sign}{exp}", if upper { 'E' } else { 'e' })
}

fn go_nonfinite(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v > 0.0 {
        "+Inf".to_owned()
    } else {
        "-Inf".to_owned()
    }
}

/// A float in Go's `%g` form: shortest digits (or `precision` significant ones), exponent form
/// when the exponent is below -4 or at least the precision (6 for the shortest form, as `%v`).
fn go_float_g(v: f64, precision: Option<usize>, upper: bool) -> String {
    if !v.is_finite() {
        return go_nonfinite(v);
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let raw = match precision {
        Some(p) => format!("{v:.prec$e}", prec = p.max(1) - 1),
        None => format!("{v:e}"),
    };
    let (mantissa, exp) = raw.split_once('e').unwrap_or((&raw, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let eprec = match precision {
        None => 6,
        Some(p) => {
            let nd = digits.len() as i32;
            let p = p.max(1) as i32;
            if p > nd && nd > exp { nd } else { p }
        }
    };
    let sign = if negative { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let e = if upper { 'E' } else { 'e' };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{rest}{e}{esign}{:02}", exp.abs())
    } else if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

/// Go's `strconv.Quote`.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An integer in `radix`, with Go's precision (minimum digits), sign flags and `#` prefixes.
fn go_int(value: i64, radix: u32, upper: bool, spec: &Spec) -> String {
    let magnitude = value.unsigned_abs();
    let mut digits = match radix {
        2 => format!("{magnitude:b}"),
        8 => format!("{magnitude:o}"),
        16 if upper => format!("{magnitude:X}"),
        16 => format!("{magnitude:x}"),
        _ => magnitude.to_string(),
    };
    if let Some(p) = spec.precision {
        if p == 0 && value == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = format!("{}{digits}", "0".repeat(p - digits.len()));
        }
    }
    let prefix = match (spec.sharp, radix) {
        (true, 16) if upper => "0X",
        (true, 16) => "0x",
        (true, 8) if !digits.starts_with('0') => "0",
        (true, 2) => "0b",
        _ => "",
    };
    let sign = if value < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    format!("{sign}{prefix}{digits}")
}

/// One directive applied to one value, or `None` when the verb does not fit the value's type.
fn format_one(verb: char, spec: &Spec, value: &Value<'_>) -> Option<String> {
    // Zero padding applies to numbers, and (as Go does) to strings.
    let numeric_zero = spec.precision.is_none();
    let body = match (verb, value) {
        ('T', v) => return Some(spec.pad(go_type(v), false)),
        ('v', Value::Int(i)) | ('d', Value::Int(i)) => {
            return Some(spec.pad(&go_int(*i, 10, false, spec), numeric_zero));
        }
        ('d', Value::Duration(n)) => {
            return Some(spec.pad(&go_int(*n, 10, false, spec), numeric_zero));
        }
        ('b', Value::Int(i)) => return Some(spec.pad(&go_int(*i, 2, false, spec), numeric_zero)),
        ('o', Value::Int(i)) => return Some(spec.pad(&go_int(*i, 8, false, spec), numeric_zero)),
        ('x', Value::Int(i)) => return Some(spec.pad(&go_int(*i, 16, false, spec), numeric_zero)),
        ('X', Value::Int(i)) => return Some(spec.pad(&go_int(*i, 16, true, spec), numeric_zero)),
        ('c', Value::Int(i)) => u32::try_from(*i)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or(char::REPLACEMENT_CHARACTER)
            .to_string(),
        ('q', Value::Int(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            let quoted = go_quote(&c.to_string());
            let inner = &quoted[1..quoted.len() - 1];
            format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
        }
        ('v' | 'f' | 'F' | 'e' | 'E' | 'g' | 'G', Value::Double(d)) => {
            let mut body = match verb {
                'f' | 'F' if d.is_finite() => format!("{d:.p$}", p = spec.precision.unwrap_or(6)),
                'f' | 'F' => go_nonfinite(*d),
                'e' | 'E' => go_float_e(*d, Some(spec.precision.unwrap_or(6)), verb == 'E'),
                'G' => go_float_g(*d, spec.precision, true),
                _ => go_float_g(*d, spec.precision, false),
            };
            if !body.starts_with(['-', '+']) {
                if spec.plus {
                    body.insert(0, '+');
                } else if spec.space {
                    body.insert(0, ' ');
                }
            }
            return Some(spec.pad(&body, d.is_finite()));
        }
        ('t' | 'v', Value::Bool(b)) => b.to_string(),
        ('s' | 'v', Value::Str(s)) => truncate(s, spec.precision),
        ('s', Value::Bytes(b)) => truncate(&String::from_utf8_lossy(b), spec.precision),
        ('q', Value::Str(s)) => go_quote(&truncate(s, spec.precision)),
        ('q', Value::Bytes(b)) => go_quote(&String::from_utf8_lossy(b)),
        ('x' | 'X', Value::Str(_) | Value::Bytes(_)) => {
            let bytes: &[u8] = match value {
                Value::Str(s) => s.as_bytes(),
                Value::Bytes(b) => b,
                _ => &[],
            };
            let bytes = match spec.precision {
                Some(p) if p < bytes.len() => &bytes[..p],
                _ => bytes,
            };
            let mut hex = hex::encode(bytes);
            if verb == 'X' {
                hex = hex.to_uppercase();
            }
            if spec.sharp && !hex.is_empty() {
                hex.insert_str(0, if verb == 'X' { "0X" } else { "0x" });
            }
            hex
        }
        ('s' | 'v', Value::Duration(n)) => crate::funcs::time::format_go_duration(*n),
        ('s' | 'v', Value::Time(t)) => go_time_string(*t),
        ('v', v) => go_default(v),
        ('s', Value::Map(_) | Value::List(_) | Value::TraceId(_) | Value::SpanId(_)) => {
            value.as_string().into_owned()
        }
        ('d', Value::Bytes(b)) => go_default(&Value::Bytes(Cow::Borrowed(b))),
        _ => return None,
    };
    Some(spec.pad(&body, true))
}

fn truncate(text: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => text.chars().take(p).collect(),
        None => text.to_owned(),
    }
}

/// Go's `fmt.Sprintf` over OTTL values: flags `-+# 0`, width, precision, and the verbs
/// `%v %s %d %f %F %e %E %g %G %x %X %o %b %c %q %t %T %%`, with Go's in-band error texts
/// (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`, `%!(NOVERB)`).
fn go_sprintf(format: &str, values: &[Value<'_>]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut next = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        spec.width = width.parse().ok();
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut precision = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                precision.push(d);
                chars.next();
            }
            spec.precision = Some(precision.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(value) = values.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        match format_one(verb, &spec, value) {
            Some(text) => out.push_str(&text),
            None if value.is_nil() => {
                let _ = write!(out, "%!{verb}(<nil>)");
            }
            None => {
                let _ = write!(out, "%!{verb}({}={})", go_type(value), go_default(value));
            }
        }
    }
    if next < values.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = values[next..]
            .iter()
            .map(|v| {
                if v.is_nil() {
                    "<nil>".to_owned()
                } else {
                    format!("{}={}", go_type(v), go_default(v))
                }
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_floats() {
        assert_eq!(go_float_g(1_000_000.0, None, false), "1e+06");
        assert_eq!(go_float_g(3.5, None, false), "3.5");
        assert_eq!(go_float_g(0.0001, None, false), "0.0001");
        assert_eq!(go_float_g(0.00001, None, false), "1e-05");
        assert_eq!(go_float_g(123_456.0, None, false), "123456");
        assert_eq!(go_float_g(1.0, Some(3), false), "1");
        assert_eq!(go_float_e(1234.5678, Some(2), false), "1.23e+03");
    }
}
