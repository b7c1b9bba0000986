//! The OpenTelemetry Transformation Language (OTTL) over the OTLP wire types.
//!
//! ```
//! use otlp_ottl::{ContextKind, evaluate, parse_statement, Value};
//!
//! // Converters can be tried without telemetry.
//! assert_eq!(
//!     evaluate(r#"Concat(["GET", "/health"], " ")"#).unwrap(),
//!     Value::string("GET /health"),
//! );
//!
//! // Statements compile once, with errors that point at the column.
//! let error = parse_statement(ContextKind::Span, r#"sett(attributes["x"], "y")"#).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     r#"invalid OTTL at column 1: unknown editor `sett`; did you mean `set`? (in `sett(attributes["x"], "y")`)"#
//! );
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod actions;
mod ast;
mod compare;
mod compile;
mod context;
mod engine;
mod error;
mod filter;
mod funcs;
mod infer;
mod lexer;
mod parse;
mod parser;
mod program;
mod transform;
pub mod validate;
mod value;

pub use ast::{CmpOp, MathOp};
pub use context::{ContextKind, DataPointMut, ResourceParts, ScopeParts, Signal, TransformContext};
pub use engine::ErrorMode;
pub use error::{ConfigProblem, Error, Position, Result};
pub use filter::{
    Filter, FilterConfig, FilterStats, LogConditions, MetricConditions, TraceConditions,
};
pub use parse::{
    evaluate, infer_conditions_context, infer_statements_context, parse_condition,
    parse_expression, parse_statement,
};
pub use program::{Condition, Expression, Statement};
pub use transform::{
    ContextStatements, StatementsEntry, Transform, TransformConfig, TransformStats,
};
pub use value::{Object, Value, key_value, string_value};
