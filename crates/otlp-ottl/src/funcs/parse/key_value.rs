//! `ParseKeyValue` and `ToKeyValueString`: the two directions of otelcol's `key=value`
//! text format, sharing its quoting rules.

use std::borrow::Cow;

use super::owned_map;
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::{Value, put, string_value};

/// `ParseKeyValue(target, delimiter?, pair_delimiter?)`.
struct ParseKeyValue {
    target: Expr,
    delimiter: String,
    pair_delimiter: String,
}

pub(super) fn build_parse_key_value(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    // An empty delimiter means the default, as in otelcol.
    let delimiter = args
        .opt_str(1)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "=".to_owned());
    let pair_delimiter = args
        .opt_str(2)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| " ".to_owned());
    if pair_delimiter == delimiter {
        return Err(args.error(
            2,
            format!("pair delimiter {pair_delimiter:?} cannot be equal to delimiter {delimiter:?}"),
        ));
    }
    Ok(Box::new(ParseKeyValue {
        target,
        delimiter,
        pair_delimiter,
    }))
}

impl ConverterFn for ParseKeyValue {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let source = expect_string(self.target.eval(ctx)?, "ParseKeyValue", "target")?;
        if source.is_empty() {
            return Err(Error::eval("ParseKeyValue: cannot parse from empty target"));
        }
        let pairs = split_quoted(&source, &self.pair_delimiter).ok_or_else(|| {
            Error::eval(format!(
                "ParseKeyValue: splitting source {source:?} into pairs failed: never reached the end of a quoted value"
            ))
        })?;
        let mut out = Vec::new();
        for pair in pairs {
            let Some((key, value)) = pair.split_once(self.delimiter.as_str()) else {
                return Err(Error::eval(format!(
                    "ParseKeyValue: cannot split {pair:?} into 2 items, got 1 item(s)"
                )));
            };
            // A repeated key keeps its last value, as Go's map assignment does.
            put(&mut out, key.trim(), string_value(value.trim()));
        }
        Ok(owned_map(out))
    }
}

/// otelcol's `parseutils.SplitString`: splits on `delimiter` outside single or double quotes,
/// drops the quote characters themselves and empty pieces; `None` for an unclosed quote.
fn split_quoted(input: &str, delimiter: &str) -> Option<Vec<String>> {
    let bytes = input.as_bytes();
    let delimiter = delimiter.as_bytes();
    let mut result = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        if quote.is_none() && bytes[i..].starts_with(delimiter) {
            if !current.is_empty() {
                result.push(String::from_utf8_lossy(&current).into_owned());
                current.clear();
            }
            i += delimiter.len();
            continue;
        }
        let b = bytes[i];
        match quote {
            None if b == b'"' || b == b'\'' => quote = Some(b),
            Some(q) if b == q => quote = None,
            _ => current.push(b),
        }
        i += 1;
    }
    if quote.is_some() {
        return None;
    }
    if !current.is_empty() {
        // Only ASCII quote bytes were removed, so the pieces stay valid UTF-8.
        result.push(String::from_utf8_lossy(&current).into_owned());
    }
    Some(result)
}

// ---------------------------------------------------------------------------------------------
// ToKeyValueString

/// `ToKeyValueString(target, delimiter?, pair_delimiter?, sort_output?)`.
struct ToKeyValueString {
    target: Expr,
    delimiter: String,
    pair_delimiter: String,
    sort: bool,
}

pub(super) fn build_to_key_value_string(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let delimiter = match args.opt_str(1) {
        Some(d) if d.is_empty() => {
            return Err(args.error(1, "delimiter cannot be set to an empty string"));
        }
        Some(d) => d,
        None => "=".to_owned(),
    };
    let pair_delimiter = match args.opt_str(2) {
        Some(d) if d.is_empty() => {
            return Err(args.error(2, "pair delimiter cannot be set to an empty string"));
        }
        Some(d) => d,
        None => " ".to_owned(),
    };
    if pair_delimiter == delimiter {
        return Err(args.error(
            2,
            format!("pair delimiter {pair_delimiter:?} cannot be equal to delimiter {delimiter:?}"),
        ));
    }
    Ok(Box::new(ToKeyValueString {
        target,
        delimiter,
        pair_delimiter,
        sort: args.opt_bool(3).unwrap_or(false),
    }))
}

impl ToKeyValueString {
    /// Escapes double quotes, and quotes text holding either delimiter, so the output parses
    /// back with `ParseKeyValue`.
    fn quote(&self, text: &str) -> String {
        let escaped = text.replace('"', "\\\"");
        if escaped.contains(self.pair_delimiter.as_str())
            || escaped.contains(self.delimiter.as_str())
        {
            format!("\"{escaped}\"")
        } else {
            escaped
        }
    }
}

impl ConverterFn for ToKeyValueString {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let value = self.target.eval(ctx)?;
        let Value::Map(entries) = &value else {
            return Err(Error::eval(format!(
                "ToKeyValueString: `target` must be a map, got {}",
                value.type_name()
            )));
        };
        let mut pairs: Vec<(&str, Value<'_>)> = entries
            .iter()
            .map(|kv| (kv.key.as_str(), Value::from_opt_any(kv.value.as_ref())))
            .collect();
        if self.sort {
            pairs.sort_by(|a, b| a.0.cmp(b.0));
        }
        let text = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}{}{}",
                    self.quote(k),
                    self.delimiter,
                    self.quote(&v.as_string())
                )
            })
            .collect::<Vec<_>>()
            .join(&self.pair_delimiter);
        Ok(Value::Str(Cow::Owned(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_split() {
        assert_eq!(
            split_quoted(r#"a=1 b="x y" c='p q'"#, " ").unwrap(),
            ["a=1", "b=x y", "c=p q"]
        );
        assert_eq!(split_quoted("  a=1  ", " ").unwrap(), ["a=1"]);
        assert!(split_quoted(r#"a="1"#, " ").is_none());
    }
}
