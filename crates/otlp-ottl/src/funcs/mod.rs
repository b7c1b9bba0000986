//! The standard OTTL functions (otelcol's `ottlfuncs`): editors change the item, converters
//! compute values. Each function declares its parameters; the compiler binds positional and
//! named arguments to them and hands the builder compiled arguments, so literal arguments
//! (regexes, case names, delimiters) are checked and prepared once.

pub(crate) mod adjusted_count;
pub(crate) mod collections;
pub(crate) mod convert;
pub(crate) mod editors;
pub(crate) mod flatten;
pub(crate) mod hash;
pub(crate) mod ids;
pub(crate) mod json;
pub(crate) mod log_formats;
pub(crate) mod maps;
pub(crate) mod math;
pub(crate) mod metrics;
pub(crate) mod network;
pub(crate) mod parse;
pub(crate) mod predicates;
pub(crate) mod replace;
pub(crate) mod semconv_span_name;
pub(crate) mod strings;
pub(crate) mod time;

use crate::ast::Span;
use crate::context::{ContextKind, TransformContext};
use crate::error::{Error, Position, Result};
use crate::program::expr::{Expr, PathExpr};
use crate::value::Value;

/// A converter bound to its arguments.
pub(crate) trait ConverterFn: Send + Sync {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>>;
}

/// An editor bound to its arguments.
pub(crate) trait EditorFn: Send + Sync {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()>;
}

/// A string-to-string converter usable as the `function` argument of the `replace_*` editors.
pub(crate) type StringFn = fn(&str) -> Result<String>;

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// Any value: literal, path, converter, math, list, map.
    Getter,
    /// A path that can be written.
    Setter,
    /// A list literal whose items are any values.
    GetterList,
    /// A string literal.
    Str,
    /// An integer literal.
    Int,
    /// A boolean literal.
    Bool,
    /// A list literal of string literals.
    StrList,
    /// The name of a string converter (`SHA256`).
    Function,
}

/// One declared parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) kind: ParamKind,
    pub(crate) optional: bool,
}

pub(crate) const fn required(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: false,
    }
}

pub(crate) const fn optional(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: true,
    }
}

/// How a function is built from its bound arguments.
pub(crate) enum Build {
    Editor(fn(&mut Args<'_>) -> Result<Box<dyn EditorFn>>),
    Converter(fn(&mut Args<'_>) -> Result<Box<dyn ConverterFn>>),
}

/// A function of the standard library.
pub(crate) struct FunctionDef {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [Param],
    pub(crate) build: Build,
    /// The contexts it works in; `None` for all.
    pub(crate) contexts: Option<&'static [ContextKind]>,
    /// Set for converters that take one string and return one.
    pub(crate) string_fn: Option<StringFn>,
}

impl FunctionDef {
    pub(crate) fn is_editor(&self) -> bool {
        matches!(self.build, Build::Editor(_))
    }

    pub(crate) fn available_in(&self, context: ContextKind) -> bool {
        self.contexts.is_none_or(|c| c.contains(&context))
    }
}

/// Every standard function.
pub(crate) fn registry() -> impl Iterator<Item = &'static FunctionDef> {
    editors::FUNCTIONS
        .iter()
        .chain(maps::FUNCTIONS)
        .chain(replace::FUNCTIONS)
        .chain(flatten::FUNCTIONS)
        .chain(convert::FUNCTIONS)
        .chain(predicates::FUNCTIONS)
        .chain(strings::FUNCTIONS)
        .chain(hash::FUNCTIONS)
        .chain(json::FUNCTIONS)
        .chain(time::FUNCTIONS)
        .chain(parse::FUNCTIONS)
        .chain(collections::FUNCTIONS)
        .chain(network::FUNCTIONS)
        .chain(ids::FUNCTIONS)
        .chain(metrics::FUNCTIONS)
        .chain(math::FUNCTIONS)
        .chain(log_formats::FUNCTIONS)
        .chain(semconv_span_name::FUNCTIONS)
        .chain(adjusted_count::FUNCTIONS)
}

/// The function called `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static FunctionDef> {
    registry().find(|f| f.name == name)
}

/// The names of every editor (`editors = true`) or converter.
pub(crate) fn names(editors: bool) -> impl Iterator<Item = &'static str> {
    registry()
        .filter(move |f| f.is_editor() == editors)
        .map(|f| f.name)
}

/// Levenshtein distance, for "did you mean" suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let insertion = current[j] + 1;
            let deletion = previous[j + 1] + 1;
            current.push(substitution.min(insertion).min(deletion));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The candidate closest to `name`, when it is close enough to be a plausible typo (case is
/// ignored, so `concat` finds `Concat`).
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A compiled argument.
pub(crate) enum Bound {
    Getter(Expr),
    Setter(PathExpr),
    GetterList(Vec<Expr>),
    Str(String),
    Int(i64),
    Bool(bool),
    StrList(Vec<String>),
    Function(&'static str, StringFn),
}

/// The compiled arguments of one call, by parameter position.
pub(crate) struct Args<'t> {
    pub(crate) function: &'static str,
    pub(crate) text: &'t str,
    pub(crate) call_span: Span,
    pub(crate) params: &'static [Param],
    pub(crate) slots: Vec<Option<(Bound, Span)>>,
}

impl Args<'_> {
    /// A compile error at argument `index` (or at the call when it was not given).
    pub(crate) fn error(&self, index: usize, message: impl Into<String>) -> Error {
        let span = self
            .slots
            .get(index)
            .and_then(|s| s.as_ref())
            .map_or(self.call_span, |(_, span)| *span);
        let name = self.params.get(index).map_or("?", |p| p.name);
        Error::Compile {
            text: self.text.to_owned(),
            position: Position::at(self.text, span.start),
            message: format!(
                "argument `{name}` of `{}`: {}",
                self.function,
                message.into()
            ),
        }
    }

    fn take(&mut self, index: usize) -> Option<Bound> {
        self.slots
            .get_mut(index)
            .and_then(Option::take)
            .map(|(bound, _)| bound)
    }

    fn missing(&self, index: usize) -> Error {
        self.error(index, "missing")
    }

    pub(crate) fn getter(&mut self, index: usize) -> Result<Expr> {
        self.opt_getter(index).ok_or_else(|| self.missing(index))
    }

    pub(crate) fn opt_getter(&mut self, index: usize) -> Option<Expr> {
        match self.take(index) {
            Some(Bound::Getter(expr)) => Some(expr),
            _ => None,
        }
    }

    pub(crate) fn setter(&mut self, index: usize) -> Result<PathExpr> {
        match self.take(index) {
            Some(Bound::Setter(path)) => Ok(path),
            _ => Err(self.missing(index)),
        }
    }

    pub(crate) fn getter_list(&mut self, index: usize) -> Result<Vec<Expr>> {
        match self.take(index) {
            Some(Bound::GetterList(items)) => Ok(items),
            _ => Err(self.missing(index)),
        }
    }

    pub(crate) fn str(&mut self, index: usize) -> Result<String> {
        self.opt_str(index).ok_or_else(|| self.missing(index))
    }

    pub(crate) fn opt_str(&mut self, index: usize) -> Option<String> {
        match self.take(index) {
            Some(Bound::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn int(&mut self, index: usize) -> Result<i64> {
        self.opt_int(index).ok_or_else(|| self.missing(index))
    }

    pub(crate) fn opt_int(&mut self, index: usize) -> Option<i64> {
        match self.take(index) {
            Some(Bound::Int(i)) => Some(i),
            _ => None,
        }
    }

    pub(crate) fn opt_bool(&mut self, index: usize) -> Option<bool> {
        match self.take(index) {
            Some(Bound::Bool(b)) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn str_list(&mut self, index: usize) -> Result<Vec<String>> {
        match self.take(index) {
            Some(Bound::StrList(items)) => Ok(items),
            _ => Err(self.missing(index)),
        }
    }

    pub(crate) fn opt_function(&mut self, index: usize) -> Option<(&'static str, StringFn)> {
        match self.take(index) {
            Some(Bound::Function(name, f)) => Some((name, f)),
            _ => None,
        }
    }

    /// Whether argument `index` was given (and not yet taken).
    pub(crate) fn has(&self, index: usize) -> bool {
        self.slots.get(index).is_some_and(Option::is_some)
    }
}

/// Evaluates a getter to a string, or an error naming the function and argument.
pub(crate) fn expect_string<'c>(
    value: Value<'c>,
    function: &str,
    argument: &str,
) -> Result<std::borrow::Cow<'c, str>> {
    match value {
        Value::Str(s) => Ok(s),
        other => Err(Error::eval(format!(
            "{function}: `{argument}` must be a string, got {}",
            other.type_name()
        ))),
    }
}

/// A value-to-value function.
pub(crate) type ValueFn = for<'c> fn(Value<'c>) -> Result<Value<'c>>;

/// A converter of one argument.
pub(crate) struct Unary {
    arg: Expr,
    f: ValueFn,
}

impl ConverterFn for Unary {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        (self.f)(self.arg.eval(ctx)?)
    }
}

/// Builds a converter that applies `f` to its first argument.
pub(crate) fn unary(args: &mut Args<'_>, f: ValueFn) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Unary {
        arg: args.getter(0)?,
        f,
    }))
}

/// A converter definition taking one value.
pub(crate) const fn unary_def(
    name: &'static str,
    params: &'static [Param],
    build: fn(&mut Args<'_>) -> Result<Box<dyn ConverterFn>>,
) -> FunctionDef {
    FunctionDef {
        name,
        params,
        build: Build::Converter(build),
        contexts: None,
        string_fn: None,
    }
}

/// An editor definition that works in every context (set `contexts` with struct update syntax
/// for one that does not).
pub(crate) const fn editor_def(
    name: &'static str,
    params: &'static [Param],
    build: fn(&mut Args<'_>) -> Result<Box<dyn EditorFn>>,
) -> FunctionDef {
    FunctionDef {
        name,
        params,
        build: Build::Editor(build),
        contexts: None,
        string_fn: None,
    }
}

/// The one-parameter list most converters declare.
pub(crate) const VALUE: &[Param] = &[required("value", ParamKind::Getter)];
/// The same, named `target` as otelcol names it for some converters.
pub(crate) const TARGET: &[Param] = &[required("target", ParamKind::Getter)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos_but_not_strangers() {
        assert_eq!(nearest("sett", names(true)), Some("set"));
        assert_eq!(nearest("concat", names(false)), Some("Concat"));
        assert_eq!(nearest("IsMatchh", names(false)), Some("IsMatch"));
        assert_eq!(nearest("frobnicate", names(true)), None);
    }

    /// The README's lists are what operators read to know whether their config will move over.
    #[test]
    fn the_readme_lists_every_function_and_no_other() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("**Editors:**")
            .expect("the README lists the editors");
        let end = readme
            .find("An unknown name is a compile error")
            .expect("and ends the lists");
        let mut listed: Vec<&str> = readme[start..end]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        listed.sort_unstable();
        listed.dedup();
        let mut registered: Vec<&str> = registry().map(|f| f.name).collect();
        registered.sort_unstable();
        assert_eq!(listed, registered);
    }

    #[test]
    fn names_are_unique() {
        let mut all: Vec<&str> = registry().map(|f| f.name).collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count);
    }
}
