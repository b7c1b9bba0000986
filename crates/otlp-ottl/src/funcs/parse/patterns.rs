//! `ExtractPatterns`: the named capture groups of a regex match, as a map.

use regex::Regex;

use super::owned_map;
use crate::context::TransformContext;
use crate::error::Result;
use crate::funcs::maps::regex_arg;
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::{Value, put, string_value};

/// `ExtractPatterns(target, pattern)`: the named groups of the first match, as strings.
struct ExtractPatterns {
    target: Expr,
    regex: Regex,
}

pub(super) fn build_extract_patterns(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let regex = regex_arg(args, 1)?;
    if regex.capture_names().flatten().next().is_none() {
        return Err(args.error(
            1,
            "at least 1 named capture group must be supplied in the given regex",
        ));
    }
    Ok(Box::new(ExtractPatterns { target, regex }))
}

impl ConverterFn for ExtractPatterns {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let text = expect_string(self.target.eval(ctx)?, "ExtractPatterns", "target")?;
        let mut out = Vec::new();
        if let Some(captures) = self.regex.captures(&text) {
            for (index, name) in self.regex.capture_names().enumerate() {
                if let Some(name) = name {
                    // A group that took no part in the match is "", as Go's submatch is.
                    let value = captures.get(index).map_or("", |m| m.as_str());
                    put(&mut out, name, string_value(value));
                }
            }
        }
        Ok(owned_map(out))
    }
}
