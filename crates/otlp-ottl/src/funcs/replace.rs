//! `replace_pattern`, `replace_all_patterns` (regex) and `replace_match`,
//! `replace_all_matches` (glob), with the optional `function` applied to each replacement and
//! `replacement_format` wrapped around its result.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;

use super::maps::regex_arg;
use super::{Args, EditorFn, FunctionDef, ParamKind, StringFn, editor_def, optional, required};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::{Expr, PathExpr};
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    editor_def(
        "replace_pattern",
        &[
            required("target", ParamKind::Setter),
            required("regex", ParamKind::Str),
            required("replacement", ParamKind::Getter),
            optional("function", ParamKind::Function),
            optional("replacement_format", ParamKind::Str),
        ],
        build_replace_pattern,
    ),
    editor_def(
        "replace_all_patterns",
        &[
            required("target", ParamKind::Setter),
            required("mode", ParamKind::Str),
            required("regex", ParamKind::Str),
            required("replacement", ParamKind::Getter),
            optional("function", ParamKind::Function),
            optional("replacement_format", ParamKind::Str),
        ],
        build_replace_all_patterns,
    ),
    editor_def(
        "replace_match",
        &[
            required("target", ParamKind::Setter),
            required("pattern", ParamKind::Str),
            required("replacement", ParamKind::Getter),
            optional("function", ParamKind::Function),
            optional("replacement_format", ParamKind::Str),
        ],
        build_replace_match,
    ),
    editor_def(
        "replace_all_matches",
        &[
            required("target", ParamKind::Setter),
            required("pattern", ParamKind::Str),
            required("replacement", ParamKind::Getter),
            optional("function", ParamKind::Function),
            optional("replacement_format", ParamKind::Str),
        ],
        build_replace_all_matches,
    ),
];

/// The replacement of one call: a value evaluated per item, an optional function applied to it
/// and an optional `%s` format around the result.
struct Replacement {
    value: Expr,
    function: Option<StringFn>,
    format: Option<String>,
}

impl Replacement {
    fn from_args(args: &mut Args<'_>, value: usize) -> Result<Self> {
        let expr = args.getter(value)?;
        let function = args.opt_function(value + 1).map(|(_, f)| f);
        let format = args.opt_str(value + 2);
        if let Some(format) = &format
            && format.matches("%s").count() != 1
        {
            return Err(args.error(
                value + 2,
                format!("\"{format}\" must contain `%s` exactly once"),
            ));
        }
        if format.is_some() && function.is_none() {
            return Err(args.error(value + 2, "is only used together with `function`"));
        }
        Ok(Replacement {
            value: expr,
            function,
            format,
        })
    }

    /// The replacement text on this item.
    fn text<'c>(&'c self, ctx: &'c TransformContext<'_>, function: &str) -> Result<Cow<'c, str>> {
        match self.value.eval(ctx)? {
            Value::Str(s) => Ok(s),
            other => Err(Error::eval(format!(
                "{function}: `replacement` must be a string, got {}",
                other.type_name()
            ))),
        }
    }

    /// `function(text)` wrapped in the format.
    fn transformed(&self, text: &str) -> Result<String> {
        let Some(function) = self.function else {
            return Ok(text.to_owned());
        };
        let result = function(text)?;
        Ok(match &self.format {
            Some(format) => format.replacen("%s", &result, 1),
            None => result,
        })
    }

    /// Every match of `regex` in `input` replaced. Without a function, `$1`/`${name}` expand as
    /// Go's `regexp.Expand` does; with one, each expanded replacement goes through the function
    /// and replaces every occurrence of the text it matched, as otelcol does.
    fn replace_regex(&self, regex: &Regex, input: &str, replacement: &str) -> Result<String> {
        if self.function.is_none() {
            return Ok(regex.replace_all(input, replacement).into_owned());
        }
        let mut updated = input.to_owned();
        for captures in regex.captures_iter(input) {
            let Some(full) = captures.get(0) else {
                continue;
            };
            let mut expanded = String::new();
            captures.expand(replacement, &mut expanded);
            let value = self.transformed(&expanded)?;
            updated = updated.replace(full.as_str(), &value);
        }
        Ok(updated)
    }
}

/// `replace_pattern(target, regex, replacement, function?, replacement_format?)`.
struct ReplacePattern {
    target: PathExpr,
    regex: Regex,
    replacement: Replacement,
}

fn build_replace_pattern(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(ReplacePattern {
        target: args.setter(0)?,
        regex: regex_arg(args, 1)?,
        replacement: Replacement::from_args(args, 2)?,
    }))
}

impl EditorFn for ReplacePattern {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let updated = {
            let Value::Str(current) = self.target.get(ctx)? else {
                // Only strings are replaced; other values are left alone.
                return Ok(());
            };
            if !self.regex.is_match(&current) {
                return Ok(());
            }
            let replacement = self.replacement.text(ctx, "replace_pattern")?;
            self.replacement
                .replace_regex(&self.regex, &current, &replacement)?
        };
        self.target.set(ctx, Value::Str(Cow::Owned(updated)))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Key,
    Value,
}

/// `replace_all_patterns(target, mode, regex, replacement, function?, replacement_format?)`.
struct ReplaceAllPatterns {
    target: PathExpr,
    mode: Mode,
    regex: Regex,
    replacement: Replacement,
}

fn build_replace_all_patterns(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let target = args.setter(0)?;
    let mode = match args.str(1)?.as_str() {
        "key" => Mode::Key,
        "value" => Mode::Value,
        other => {
            return Err(args.error(
                1,
                format!("\"{other}\" is not a mode; use \"key\" or \"value\""),
            ));
        }
    };
    Ok(Box::new(ReplaceAllPatterns {
        target,
        mode,
        regex: regex_arg(args, 2)?,
        replacement: Replacement::from_args(args, 3)?,
    }))
}

impl EditorFn for ReplaceAllPatterns {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let replacement = self
            .replacement
            .text(ctx, "replace_all_patterns")?
            .into_owned();
        let map = self.target.map_mut(ctx)?;
        match self.mode {
            Mode::Value => {
                for kv in map.iter_mut() {
                    if let Some(AnyValue {
                        value: Some(any_value::Value::StringValue(s)),
                    }) = &mut kv.value
                        && self.regex.is_match(s)
                    {
                        *s = self
                            .replacement
                            .replace_regex(&self.regex, s, &replacement)?;
                    }
                }
            }
            Mode::Key => {
                let entries = std::mem::take(map);
                let mut renamed: Vec<KeyValue> = Vec::with_capacity(entries.len());
                for kv in entries {
                    let key = if self.regex.is_match(&kv.key) {
                        self.replacement
                            .replace_regex(&self.regex, &kv.key, &replacement)?
                    } else {
                        kv.key
                    };
                    // Two keys renamed to the same name: the later value wins, as in otelcol.
                    match renamed.iter_mut().find(|existing| existing.key == key) {
                        Some(existing) => existing.value = kv.value,
                        None => renamed.push(KeyValue {
                            key,
                            value: kv.value,
                            ..Default::default()
                        }),
                    }
                }
                *map = renamed;
            }
        }
        Ok(())
    }
}

/// `replace_match(target, pattern, replacement, function?, replacement_format?)`.
struct ReplaceMatch {
    target: PathExpr,
    glob: Regex,
    replacement: Replacement,
}

fn build_replace_match(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(ReplaceMatch {
        target: args.setter(0)?,
        glob: glob_arg(args, 1)?,
        replacement: Replacement::from_args(args, 2)?,
    }))
}

impl EditorFn for ReplaceMatch {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let updated = {
            let Value::Str(current) = self.target.get(ctx)? else {
                return Ok(());
            };
            if !self.glob.is_match(&current) {
                return Ok(());
            }
            let replacement = self.replacement.text(ctx, "replace_match")?;
            self.replacement.transformed(&replacement)?
        };
        self.target.set(ctx, Value::Str(Cow::Owned(updated)))
    }
}

/// `replace_all_matches(target, pattern, replacement, function?, replacement_format?)`.
struct ReplaceAllMatches {
    target: PathExpr,
    glob: Regex,
    replacement: Replacement,
}

fn build_replace_all_matches(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(ReplaceAllMatches {
        target: args.setter(0)?,
        glob: glob_arg(args, 1)?,
        replacement: Replacement::from_args(args, 2)?,
    }))
}

impl EditorFn for ReplaceAllMatches {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let replacement = self.replacement.text(ctx, "replace_all_matches")?;
        let replacement = self.replacement.transformed(&replacement)?;
        let map = self.target.map_mut(ctx)?;
        for kv in map.iter_mut() {
            if let Some(AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            }) = &kv.value
                && self.glob.is_match(s)
            {
                kv.value = Some(AnyValue {
                    value: Some(any_value::Value::StringValue(replacement.clone())),
                });
            }
        }
        Ok(())
    }
}

fn glob_arg(args: &mut Args<'_>, index: usize) -> Result<Regex> {
    let pattern = args.str(index)?;
    glob_to_regex(&pattern)
        .and_then(|re| Regex::new(&re).map_err(|e| e.to_string()))
        .map_err(|e| args.error(index, format!("invalid glob pattern: {e}")))
}

/// A glob (`*` any text, `?` one character, `[a-z]`/`[!a-z]` classes, `{a,b}` alternatives,
/// `\` escapes, as the glob library otelcol uses) as an anchored regex.
pub(crate) fn glob_to_regex(glob: &str) -> std::result::Result<String, String> {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    let mut alternatives = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match chars.next() {
                Some(escaped) => out.push_str(&regex::escape(&escaped.to_string())),
                None => return Err("trailing `\\`".to_owned()),
            },
            '[' => {
                out.push('[');
                if matches!(chars.peek(), Some('!' | '^')) {
                    chars.next();
                    out.push('^');
                }
                let mut closed = false;
                for class_char in chars.by_ref() {
                    if class_char == ']' {
                        closed = true;
                        break;
                    }
                    if matches!(class_char, '\\' | '[' | '&' | '~' | '^') {
                        out.push('\\');
                    }
                    out.push(class_char);
                }
                if !closed {
                    return Err("unclosed `[`".to_owned());
                }
                out.push(']');
            }
            '{' => {
                alternatives += 1;
                out.push_str("(?:");
            }
            ',' if alternatives > 0 => out.push('|'),
            '}' if alternatives > 0 => {
                alternatives -= 1;
                out.push(')');
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    if alternatives > 0 {
        return Err("unclosed `{`".to_owned());
    }
    out.push('$');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(glob: &str, text: &str) -> bool {
        Regex::new(&glob_to_regex(glob).unwrap())
            .unwrap()
            .is_match(text)
    }

    #[test]
    fn globs() {
        assert!(matches("/user/*/list/*", "/user/123/list/456"));
        assert!(!matches("/user/*/list/*", "/users/123"));
        assert!(matches("file.?", "file.c"));
        assert!(matches("[!a]x", "bx"));
        assert!(!matches("[!a]x", "ax"));
        assert!(matches("{GET,POST} /health", "POST /health"));
        assert!(matches("a\\*b", "a*b"));
        assert!(!matches("a\\*b", "axb"));
        assert!(glob_to_regex("[abc").is_err());
    }

    #[test]
    fn replacement_functions_apply_per_match() {
        let r = Replacement {
            value: Expr::Literal(Value::Nil),
            function: Some(|s| Ok(s.to_uppercase())),
            format: Some("<%s>".to_owned()),
        };
        let re = Regex::new("id=([0-9]+)").unwrap();
        assert_eq!(
            r.replace_regex(&re, "id=12 x id=34", "n$1").unwrap(),
            "<N12> x <N34>"
        );
    }
}
