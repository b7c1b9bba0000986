//! The log-format parsers of otelcol's transform processor ("Logs only functions"):
//! `ParseCLF`, `ParseCEF`, `ParseLEEF` and `ParseELF`. Each turns one formatted line (or, for
//! ELF, one block) into a map under the format's prefix (`clf.status`, `cef.extensions`, ...).
//!
//! otelcol registers them in the log context only, so they are available there only: a
//! statement that works here then also works in otelcol.

mod cef;
mod clf;
mod elf;
mod leef;

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::KeyValue;

use super::{
    Args, Build, ConverterFn, FunctionDef, ParamKind, TARGET, expect_string, optional, required,
};
use crate::context::{ContextKind, TransformContext};
use crate::error::{Error, Result};
use crate::program::expr::Expr;
use crate::value::Value;

const LOG_ONLY: Option<&[ContextKind]> = Some(&[ContextKind::Log]);

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "ParseCLF",
        params: &[
            required("target", ParamKind::Getter),
            optional("format", ParamKind::Str),
        ],
        build: Build::Converter(clf::build_parse_clf),
        contexts: LOG_ONLY,
        string_fn: None,
    },
    FunctionDef {
        name: "ParseCEF",
        params: TARGET,
        build: Build::Converter(|a| build_parser(a, "ParseCEF", "CEF", cef::parse)),
        contexts: LOG_ONLY,
        string_fn: None,
    },
    FunctionDef {
        name: "ParseLEEF",
        params: TARGET,
        build: Build::Converter(|a| build_parser(a, "ParseLEEF", "LEEF", leef::parse)),
        contexts: LOG_ONLY,
        string_fn: None,
    },
    FunctionDef {
        name: "ParseELF",
        params: TARGET,
        build: Build::Converter(|a| build_parser(a, "ParseELF", "ELF", elf::parse)),
        contexts: LOG_ONLY,
        string_fn: None,
    },
];

/// Parses a non-empty message into map entries, or says why it is not in the format (the
/// message is prefixed with the function's name by the caller).
type ParseFn = fn(&str) -> std::result::Result<Vec<KeyValue>, String>;

/// A parser converter of one string argument: the shape CEF, LEEF and ELF share.
struct Parser {
    target: Expr,
    function: &'static str,
    format: &'static str,
    parse: ParseFn,
}

fn build_parser(
    args: &mut Args<'_>,
    function: &'static str,
    format: &'static str,
    parse: ParseFn,
) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Parser {
        target: args.getter(0)?,
        function,
        format,
        parse,
    }))
}

impl ConverterFn for Parser {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let source = expect_string(self.target.eval(ctx)?, self.function, "target")?;
        parse_with(&source, self.function, self.format, |s| (self.parse)(s))
    }
}

/// The steps every parser shares: otelcol refuses an empty message before looking at it, and
/// its errors name the function here so an operator sees which statement failed.
fn parse_with(
    source: &str,
    function: &str,
    format: &str,
    parse: impl FnOnce(&str) -> std::result::Result<Vec<KeyValue>, String>,
) -> Result<Value<'static>> {
    if source.is_empty() {
        return Err(Error::eval(format!(
            "{function}: cannot parse empty {format} message"
        )));
    }
    parse(source)
        .map(|entries| Value::Map(Cow::Owned(entries)))
        .map_err(|message| Error::eval(format!("{function}: {message}")))
}
