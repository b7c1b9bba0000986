//! `ExtractGrokPatterns`: grok patterns (`%{SYNTAX:ID:TYPE}`) expanded to one regex whose
//! captures become a map, as otelcol's `func_extract_grok_patterns.go` does with
//! `github.com/elastic/go-grok`.
//!
//! Expansion follows go-grok: `%{NAME:field}` becomes a capture named `field`, `%{NAME}` a
//! capture named `NAME` unless `namedCapturesOnly` (then a plain group), `%{NAME:field:int}`
//! converts the text (`int`/`long`, `float`/`double`, `bool`/`boolean`, `string`), named regex
//! groups written by hand are captured too, a group that matched nothing or only "" is left out,
//! and when two captures share a name the later one wins. Custom `patternDefinitions` take
//! precedence over the built-in table (`patterns`).
//!
//! Captures are renamed to internal names before compiling, because Go's regexp accepts one name
//! on several groups (go-grok relies on it: `%{IPORHOST}` twice) and Rust's `regex` does not.
//! Go's `\w`, `\d`, `\s` and `\b` are ASCII-only where Rust's are Unicode, so they are rewritten
//! to their ASCII forms, which keeps matches on non-ASCII text the same as in otelcol.

mod expand;
mod go_regex;
mod patterns;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use self::expand::{Definitions, Grok};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::Value;

/// Where the pattern comes from: compiled once when it is a literal, otherwise per call with a
/// one-entry cache (go-grok recompiles too, and reuses the regex when the text is the same).
enum Source {
    Literal(Grok),
    Dynamic {
        pattern: Expr,
        definitions: Definitions,
        last: Mutex<Option<(String, Arc<Grok>)>>,
    },
}

/// `ExtractGrokPatterns(target, pattern, namedCapturesOnly?, patternDefinitions?)`.
/// Internal capture names: `_grok` followed by the index into the expansion's fields; both the
/// expansion and the Go regex rewrite write them.
const CAPTURE_PREFIX: &str = "_grok";

struct ExtractGrokPatterns {
    target: Expr,
    source: Source,
    named_captures_only: bool,
}

const NO_CAPTURES: &str = "at least 1 named capture group must be supplied in the given regex";

pub(super) fn build_extract_grok_patterns(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let pattern = args.getter(1)?;
    let named_captures_only = args.opt_bool(2).unwrap_or(false);
    let mut custom = HashMap::new();
    if args.has(3) {
        for (index, definition) in args.str_list(3)?.into_iter().enumerate() {
            let Some((name, regex)) = definition.split_once('=') else {
                let shown = if definition.chars().count() > 20 {
                    format!("{}...", definition.chars().take(17).collect::<String>())
                } else {
                    definition.clone()
                };
                return Err(args.error(
                    3,
                    format!(
                        "pattern {shown:?} supplied to ExtractGrokPatterns at index {index} has incorrect format, expecting PATTERNNAME=pattern definition"
                    ),
                ));
            };
            if name.contains(':') {
                return Err(args.error(3, format!("pattern ID {name:?} should not contain ':'")));
            }
            // A later definition of the same name replaces the earlier one, as in go-grok.
            custom.insert(name.to_owned(), regex.to_owned());
        }
    }
    let definitions = Definitions { custom };
    let source = match pattern.as_literal() {
        Some(Value::Str(text)) => {
            let grok = definitions
                .compile(text, named_captures_only)
                .map_err(|e| args.error(1, invalid_pattern(text, &e)))?;
            if named_captures_only && !grok.has_captures() {
                return Err(args.error(1, NO_CAPTURES));
            }
            Source::Literal(grok)
        }
        Some(other) => {
            return Err(args.error(1, format!("must be a string, got {}", other.type_name())));
        }
        None => Source::Dynamic {
            pattern,
            definitions,
            last: Mutex::new(None),
        },
    };
    Ok(Box::new(ExtractGrokPatterns {
        target,
        source,
        named_captures_only,
    }))
}

/// otelcol's message for a pattern that does not compile.
fn invalid_pattern(pattern: &str, reason: &str) -> String {
    format!(
        "the regex pattern supplied to ExtractGrokPatterns {pattern:?} is not a valid pattern: {reason}"
    )
}

impl ExtractGrokPatterns {
    /// The compiled pattern of a dynamic source for this item.
    fn dynamic(
        &self,
        pattern: &Expr,
        definitions: &Definitions,
        last: &Mutex<Option<(String, Arc<Grok>)>>,
        ctx: &TransformContext<'_>,
    ) -> Result<Arc<Grok>> {
        let text = expect_string(pattern.eval(ctx)?, "ExtractGrokPatterns", "pattern")?;
        // A poisoned lock only means another thread panicked while swapping the cache entry.
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, grok)) = last.as_ref()
            && *cached == *text
        {
            return Ok(Arc::clone(grok));
        }
        let grok = definitions
            .compile(&text, self.named_captures_only)
            .map_err(|e| {
                Error::eval(format!(
                    "ExtractGrokPatterns: {}",
                    invalid_pattern(&text, &e)
                ))
            })?;
        if self.named_captures_only && !grok.has_captures() {
            return Err(Error::eval(format!("ExtractGrokPatterns: {NO_CAPTURES}")));
        }
        let grok = Arc::new(grok);
        *last = Some((text.into_owned(), Arc::clone(&grok)));
        Ok(grok)
    }
}

impl ConverterFn for ExtractGrokPatterns {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        match &self.source {
            Source::Literal(grok) => {
                let text = expect_string(self.target.eval(ctx)?, "ExtractGrokPatterns", "target")?;
                grok.extract(&text)
            }
            Source::Dynamic {
                pattern,
                definitions,
                last,
            } => {
                let grok = self.dynamic(pattern, definitions, last, ctx)?;
                let text = expect_string(self.target.eval(ctx)?, "ExtractGrokPatterns", "target")?;
                grok.extract(&text)
            }
        }
    }
}
