//! `set` and `append`: the editors that write a value to a path.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::AnyValue;

use super::{Args, Build, EditorFn, FunctionDef, ParamKind, optional, required};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::{Expr, PathExpr};
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "set",
        params: &[
            required("target", ParamKind::Setter),
            required("value", ParamKind::Getter),
        ],
        build: Build::Editor(build_set),
        contexts: None,
        string_fn: None,
    },
    FunctionDef {
        name: "append",
        params: &[
            required("target", ParamKind::Setter),
            optional("value", ParamKind::Getter),
            optional("values", ParamKind::GetterList),
        ],
        build: Build::Editor(build_append),
        contexts: None,
        string_fn: None,
    },
];

/// `set(target, value)`: writes `value`; a `nil` value leaves the target as it is.
struct Set {
    target: PathExpr,
    value: Expr,
}

fn build_set(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(Set {
        target: args.setter(0)?,
        value: args.getter(1)?,
    }))
}

impl EditorFn for Set {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let value = self.value.eval(ctx)?;
        if value.is_nil() {
            return Ok(());
        }
        let value = value.into_owned();
        self.target.set(ctx, value)
    }
}

/// `append(target, value?, values?)`: the target becomes a list (a scalar turns into its first
/// element, a missing field into an empty list) with the new values at the end.
struct Append {
    target: PathExpr,
    value: Option<Expr>,
    values: Vec<Expr>,
}

fn build_append(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let target = args.setter(0)?;
    let value = args.opt_getter(1);
    let values = if args.has(2) {
        args.getter_list(2)?
    } else {
        Vec::new()
    };
    if value.is_none() && values.is_empty() {
        return Err(args.error(1, "append needs `value` or `values`"));
    }
    Ok(Box::new(Append {
        target,
        value,
        values,
    }))
}

impl EditorFn for Append {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let mut items: Vec<AnyValue> = match self.target.get(ctx)? {
            Value::Nil => Vec::new(),
            Value::List(list) => list.into_owned(),
            scalar => vec![scalar.into_owned().into_any_value()?],
        };
        for expr in self.value.iter().chain(&self.values) {
            let value = expr.eval(ctx)?;
            if value.is_nil() {
                continue;
            }
            items.push(
                value
                    .into_owned()
                    .into_any_value()
                    .map_err(|e| Error::eval(format!("append: {e}")))?,
            );
        }
        self.target.set(ctx, Value::List(Cow::Owned(items)))
    }
}
