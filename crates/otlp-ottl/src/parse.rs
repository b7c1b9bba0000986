//! Entry points from text to compiled statements, conditions and expressions.

use crate::compile::Compiler;
use crate::context::{ContextKind, ResourceParts, Signal, TransformContext};
use crate::error::Result;
use crate::infer::Hints;
use crate::parser;
use crate::program::{Condition, Expression, Statement};
use crate::value::Value;

/// Compiles a statement for `context`. Paths may name their context (`span.name`) or leave it
/// out (`name`), as in groups that set `context` in otelcol's configuration.
///
/// # Errors
///
/// [`Error::Syntax`](crate::Error::Syntax) or [`Error::Compile`](crate::Error::Compile), with
/// the line and column of the problem.
pub fn parse_statement(context: ContextKind, text: &str) -> Result<Statement> {
    compile_statement(context, text, true)
}

/// Compiles a condition for `context` (paths with or without their context prefix).
///
/// # Errors
///
/// As [`parse_statement`].
pub fn parse_condition(context: ContextKind, text: &str) -> Result<Condition> {
    compile_condition(context, text, true)
}

/// Compiles a value expression for `context` (paths with or without their context prefix).
///
/// # Errors
///
/// As [`parse_statement`].
pub fn parse_expression(context: ContextKind, text: &str) -> Result<Expression> {
    let expr = parser::parse_value(text)?;
    Compiler::new(text, context, true).standalone_expression(&expr)
}

/// The context otelcol would infer for a group of statements of `signal` written with
/// context-prefixed paths (`span.attributes["k"]`, `resource.attributes["k"]`).
///
/// # Errors
///
/// A syntax error in one of the statements, or [`Error::Context`](crate::Error::Context) when
/// no path names a context or the functions and paths used exist in no single context.
pub fn infer_statements_context(signal: Signal, statements: &[&str]) -> Result<ContextKind> {
    let mut hints = Hints::default();
    for text in statements {
        hints.statement(&parser::parse_statement(text)?);
    }
    hints.infer(signal, "statements")
}

/// [`infer_statements_context`] for conditions.
///
/// # Errors
///
/// As [`infer_statements_context`].
pub fn infer_conditions_context(signal: Signal, conditions: &[&str]) -> Result<ContextKind> {
    let mut hints = Hints::default();
    for text in conditions {
        hints.condition(&parser::parse_condition(text)?);
    }
    hints.infer(signal, "conditions")
}

/// Evaluates an expression that reads no telemetry (literals and converters), for trying OTTL
/// out: `evaluate("Concat([\"a\", \"b\"], \"-\")")`.
///
/// # Errors
///
/// A syntax or compile error, or the error of the evaluation.
pub fn evaluate(text: &str) -> Result<Value<'static>> {
    let expression = parse_expression(ContextKind::Resource, text)?;
    let mut resource = None;
    let mut schema_url = String::new();
    let mut cache = Vec::new();
    let ctx = TransformContext::for_resource(
        ResourceParts {
            resource: &mut resource,
            schema_url: &mut schema_url,
        },
        &mut cache,
    );
    expression.eval(&ctx).map(Value::into_owned)
}

pub(crate) fn compile_statement(
    context: ContextKind,
    text: &str,
    unprefixed_paths: bool,
) -> Result<Statement> {
    let statement = parser::parse_statement(text)?;
    Compiler::new(text, context, unprefixed_paths).statement(&statement)
}

pub(crate) fn compile_condition(
    context: ContextKind,
    text: &str,
    unprefixed_paths: bool,
) -> Result<Condition> {
    let condition = parser::parse_condition(text)?;
    Compiler::new(text, context, unprefixed_paths).standalone_condition(&condition)
}
