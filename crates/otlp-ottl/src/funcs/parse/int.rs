//! `ParseInt`: Go's `strconv.ParseInt`, with its base prefixes, underscore rules and error texts.

use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::Value;

/// `ParseInt(target, base)`: Go's `strconv.ParseInt(target, base, 64)`.
struct ParseInt {
    target: Expr,
    base: Expr,
}

pub(super) fn build_parse_int(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(ParseInt {
        target: args.getter(0)?,
        base: args.getter(1)?,
    }))
}

impl ConverterFn for ParseInt {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let target = expect_string(self.target.eval(ctx)?, "ParseInt", "target")?;
        if target.is_empty() {
            return Err(Error::eval(
                "ParseInt: invalid target value for ParseInt function, target cannot be empty",
            ));
        }
        let base = match self.base.eval(ctx)? {
            Value::Int(b) => b,
            other => {
                return Err(Error::eval(format!(
                    "ParseInt: `base` must be an int, got {}",
                    other.type_name()
                )));
            }
        };
        if base < 0 {
            return Err(Error::eval(format!(
                "ParseInt: invalid base value: {base} for ParseInt function, base cannot be negative"
            )));
        }
        go_parse_int(&target, base)
            .map(Value::Int)
            .map_err(|e| Error::eval(format!("ParseInt: {e}")))
    }
}

/// Go's `strconv.ParseInt(s, base, 64)`, with its error texts.
fn go_parse_int(s: &str, base: i64) -> std::result::Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {s:?}: invalid syntax");
    let range = || format!("strconv.ParseInt: parsing {s:?}: value out of range");
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err(syntax());
    }
    let (base, digits, underscores) = if base == 0 {
        let b = body.as_bytes();
        let prefixed = b.len() >= 3 && b[0] == b'0';
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if prefixed => (2, &body[2..], true),
            Some(b'o') if prefixed => (8, &body[2..], true),
            Some(b'x') if prefixed => (16, &body[2..], true),
            _ if b[0] == b'0' => (8, &body[1..], true),
            _ => (10, body, true),
        }
    } else if (2..=36).contains(&base) {
        (base as u32, body, false)
    } else {
        return Err(format!(
            "strconv.ParseInt: parsing {s:?}: invalid base {base}"
        ));
    };
    let mut value: u128 = 0;
    for c in digits.chars() {
        if c == '_' && underscores {
            continue;
        }
        let digit = c.to_digit(36).filter(|d| *d < base).ok_or_else(syntax)?;
        value = value * u128::from(base) + u128::from(digit);
        if value > 1u128 << 64 {
            // Keep going only to report a syntax error before a range error, as Go does.
            value = 1u128 << 64;
        }
    }
    if underscores && !underscores_ok(body) {
        return Err(syntax());
    }
    let limit = if negative {
        1u128 << 63
    } else {
        (1u128 << 63) - 1
    };
    if value > limit {
        return Err(range());
    }
    Ok(if negative {
        (value as i128).wrapping_neg() as i64
    } else {
        value as i64
    })
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_like_strconv() {
        assert_eq!(go_parse_int("0b1111_0000", 0), Ok(240));
        assert_eq!(go_parse_int("-0o123", 0), Ok(-83));
        assert_eq!(go_parse_int("0755", 0), Ok(493));
        assert_eq!(go_parse_int("-9223372036854775808", 10), Ok(i64::MIN));
        assert!(go_parse_int("9223372036854775808", 10).is_err());
        assert!(go_parse_int("1__0", 0).is_err());
        assert!(go_parse_int("1_0", 10).is_err());
    }
}
