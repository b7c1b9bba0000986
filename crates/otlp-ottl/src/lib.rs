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
//!
//! # What is here
//!
//! - The language: [`parse_statement`], [`parse_condition`] and [`parse_expression`] compile
//!   text for a [`ContextKind`] into a [`Statement`], [`Condition`] or [`Expression`] that runs
//!   on a [`TransformContext`] (an item of an OTLP request, the resource and scope above it, and
//!   a cache). [`infer_statements_context`] picks the context from path prefixes as otelcol
//!   does; [`evaluate`] runs an expression that reads no telemetry.
//! - The engines of otelcol's processors, configured with otelcol's keys: [`Transform`]
//!   ([`TransformConfig`]), [`Filter`] ([`FilterConfig`]), and in [`actions`] the
//!   `attributes`, `resource` and `span` processors; [`SpanConditions`] asks whether any span or span event
//!   of a trace satisfies a condition, as the tail sampling processor's `ottl_condition` policy does.
//! - [`validate`]: every problem of a processor configuration at once, each with its key path.
//!
//! Applying a transform to a request in place:
//!
//! ```
//! use otlp_ottl::{Transform, TransformConfig};
//!
//! let config: TransformConfig = serde_norway::from_str(r#"
//! trace_statements:
//!   - context: span
//!     statements:
//!       - set(attributes["route.kind"], "cart") where name == "GET /api/cart"
//! "#).unwrap();
//! let transform = Transform::new(&config).unwrap();
//! let mut request = otlp_testkit::Generator::new(7).traces(500);
//! let stats = transform.apply_traces(&mut request).unwrap();
//! assert_eq!(stats.errors, 0);
//! let marked = request.resource_spans.iter()
//!     .flat_map(|rs| &rs.scope_spans)
//!     .flat_map(|ss| &ss.spans)
//!     .filter(|span| span.attributes.iter().any(|kv| kv.key == "route.kind"))
//!     .count();
//! assert!(marked > 0);
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
mod span_conditions;
mod transform;
pub mod validate;
mod value;

pub use ast::{CmpOp, MathOp};
pub use context::{ContextKind, DataPointMut, ResourceParts, ScopeParts, Signal, TransformContext};
pub use engine::ErrorMode;
pub use engine::walk::{for_each_point, point_count};
pub use error::{ConfigProblem, Error, Position, Result};
pub use filter::{
    Filter, FilterConfig, FilterStats, LogConditions, LogMatchProperties, MetricConditions,
    MetricMatchProperties, MetricMatchType, SpanMatchConfig, TraceConditions,
};
pub use funcs::metrics::aggregate::{Aggregation, aggregate_metric};
pub use funcs::time::TimeLayout;
pub use parse::{
    evaluate, infer_conditions_context, infer_statements_context, parse_condition,
    parse_expression, parse_statement,
};
pub use program::{Condition, Expression, Statement};
pub use span_conditions::{SpanConditions, SpanMatch};
pub use transform::{
    ContextStatements, StatementsEntry, Transform, TransformConfig, TransformStats,
};
pub use value::{Object, Value, json_value, key_value, string_value};

/// The OTLP types statements run on (spans, log records, data points), at the version this crate was built with.
pub use opentelemetry_proto;

// The README's examples run as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
