//! Identifier converters: `UUID()` (random, version 4) and `UUIDv7()` (Unix-millisecond time
//! ordered, version 7), each as the canonical lowercase hyphenated string otelcol's
//! `github.com/google/uuid` prints.

use uuid::Uuid;

use super::{Args, Build, ConverterFn, FunctionDef};
use crate::context::TransformContext;
use crate::error::Result;
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "UUID",
        params: &[],
        build: Build::Converter(build_v4),
        contexts: None,
        string_fn: None,
    },
    FunctionDef {
        name: "UUIDv7",
        params: &[],
        build: Build::Converter(build_v7),
        contexts: None,
        string_fn: None,
    },
];

/// A UUID generator; each evaluation makes a fresh identifier, so one compiled statement tags
/// every item it runs on with a different one.
struct Generate(fn() -> Uuid);

impl ConverterFn for Generate {
    fn eval<'c>(&'c self, _: &'c TransformContext<'_>) -> Result<Value<'c>> {
        Ok(Value::string((self.0)().hyphenated().to_string()))
    }
}

fn build_v4(_: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Generate(Uuid::new_v4)))
}

/// `Uuid::now_v7` shares one context across the process, so identifiers made in sequence sort
/// in the order they were made, as google/uuid's `NewV7` promises.
fn build_v7(_: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Generate(Uuid::now_v7)))
}
