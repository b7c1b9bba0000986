//! Type tests (`IsString`, `IsInt`, `IsMap`, `IsBool`, `IsDouble`, `IsList`, `IsEmpty`) and
//! `IsRootSpan`.

use super::{Args, Build, ConverterFn, FunctionDef, VALUE, unary, unary_def};
use crate::context::{ContextKind, Field, TransformContext};
use crate::error::Result;
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    unary_def("IsString", VALUE, |a| {
        unary(a, |v| Ok(Value::Bool(matches!(v, Value::Str(_)))))
    }),
    unary_def("IsInt", VALUE, |a| {
        unary(a, |v| Ok(Value::Bool(matches!(v, Value::Int(_)))))
    }),
    unary_def("IsDouble", VALUE, |a| {
        unary(a, |v| Ok(Value::Bool(matches!(v, Value::Double(_)))))
    }),
    unary_def("IsBool", VALUE, |a| {
        unary(a, |v| Ok(Value::Bool(matches!(v, Value::Bool(_)))))
    }),
    unary_def("IsMap", VALUE, |a| {
        unary(a, |v| Ok(Value::Bool(matches!(v, Value::Map(_)))))
    }),
    unary_def("IsList", VALUE, |a| {
        unary(a, |v| {
            Ok(Value::Bool(match &v {
                Value::List(_) => true,
                Value::Object(o) => o.len().is_some(),
                _ => false,
            }))
        })
    }),
    unary_def("IsEmpty", VALUE, |a| {
        unary(a, |v| Ok(Value::Bool(is_empty(&v))))
    }),
    FunctionDef {
        name: "IsRootSpan",
        params: &[],
        build: Build::Converter(build_is_root_span),
        contexts: Some(&[ContextKind::Span]),
        string_fn: None,
    },
];

/// `IsEmpty`: nil, empty strings, maps, lists and bytes, and zero values (0, 0.0, false, all-zero
/// IDs).
fn is_empty(value: &Value<'_>) -> bool {
    match value {
        Value::Nil => true,
        Value::Str(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Int(i) => *i == 0,
        Value::Double(d) => *d == 0.0,
        Value::Bool(b) => !*b,
        Value::TraceId(id) => id.iter().all(|b| *b == 0),
        Value::SpanId(id) => id.iter().all(|b| *b == 0),
        Value::Time(t) => *t == 0,
        Value::Duration(d) => *d == 0,
        Value::Object(o) => o.is_empty(),
    }
}

/// `IsRootSpan()`: the span has no parent (an empty or all-zero parent span ID).
struct IsRootSpan;

fn build_is_root_span(_: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(IsRootSpan))
}

impl ConverterFn for IsRootSpan {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let span = ctx.span(Field::SpanParentSpanId)?;
        Ok(Value::Bool(span.parent_span_id.iter().all(|b| *b == 0)))
    }
}
