//! Compiled values: literals kept ready to borrow, paths resolved to fields, converters bound to
//! their implementation. Evaluating one touches no parser structure and allocates only when the
//! value is computed (a converter result, a list built from paths).

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use crate::ast::MathOp;
use crate::context::{
    Field, ResolvedKey, TransformContext, index_value, set_in_map, set_in_value, value_at_keys_mut,
};
use crate::error::{Error, Result};
use crate::funcs::ConverterFn;
use crate::program::trace_state;
use crate::value::{Value, key_value};

/// A compiled value expression.
pub(crate) enum Expr {
    Literal(Value<'static>),
    Path(Box<PathExpr>),
    Converter(Box<ConverterCall>),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    Math(Box<Expr>, MathOp, Box<Expr>),
}

/// A converter with its bound arguments, and the keys applied to its result.
pub(crate) struct ConverterCall {
    pub(crate) func: Box<dyn ConverterFn>,
    pub(crate) keys: Vec<KeyExpr>,
}

/// A key in a path or after a converter.
pub(crate) enum KeyExpr {
    Str(String),
    Int(i64),
    Dynamic(Expr),
}

/// A path resolved to a field of the context, with its keys.
pub(crate) struct PathExpr {
    pub(crate) field: Field,
    pub(crate) keys: Vec<KeyExpr>,
    /// The path as written, for error messages.
    pub(crate) text: String,
}

impl Value<'_> {
    /// This value, borrowing from `self` instead of copying.
    pub(crate) fn reborrow(&self) -> Value<'_> {
        match self {
            Value::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
            Value::Bytes(b) => Value::Bytes(Cow::Borrowed(b.as_ref())),
            Value::Map(m) => Value::Map(Cow::Borrowed(m.as_ref())),
            Value::List(l) => Value::List(Cow::Borrowed(l.as_ref())),
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::Double(d) => Value::Double(*d),
            Value::TraceId(id) => Value::TraceId(*id),
            Value::SpanId(id) => Value::SpanId(*id),
            Value::Time(t) => Value::Time(*t),
            Value::Duration(d) => Value::Duration(*d),
            Value::Object(o) => Value::Object(o.clone()),
        }
    }
}

impl Expr {
    /// The value of this expression on one item.
    pub(crate) fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        match self {
            Expr::Literal(value) => Ok(value.reborrow()),
            Expr::Path(path) => path.get(ctx),
            Expr::Converter(call) => {
                let mut value = call.func.eval(ctx)?;
                for key in &call.keys {
                    let key = resolve_key(key, ctx)?;
                    value = index_value(value, &key)?;
                }
                Ok(value)
            }
            Expr::List(items) => {
                let values = items
                    .iter()
                    .map(|item| item.eval(ctx).and_then(Value::into_any_value))
                    .collect::<Result<Vec<AnyValue>>>()?;
                Ok(Value::List(Cow::Owned(values)))
            }
            Expr::Map(entries) => {
                let values = entries
                    .iter()
                    .map(|(key, item)| {
                        item.eval(ctx)
                            .and_then(Value::into_any_value)
                            .map(|v| key_value(key.as_str(), v))
                    })
                    .collect::<Result<Vec<KeyValue>>>()?;
                Ok(Value::Map(Cow::Owned(values)))
            }
            Expr::Math(left, op, right) => {
                let left = left.eval(ctx)?;
                let right = right.eval(ctx)?;
                math(&left, *op, &right)
            }
        }
    }

    /// The literal value, if this expression is one.
    pub(crate) fn as_literal(&self) -> Option<&Value<'static>> {
        match self {
            Expr::Literal(value) => Some(value),
            _ => None,
        }
    }
}

/// A key's value on one item.
pub(crate) fn resolve_key<'c>(
    key: &'c KeyExpr,
    ctx: &'c TransformContext<'_>,
) -> Result<ResolvedKey<'c>> {
    match key {
        KeyExpr::Str(s) => Ok(ResolvedKey::Str(Cow::Borrowed(s))),
        KeyExpr::Int(i) => Ok(ResolvedKey::Int(*i)),
        KeyExpr::Dynamic(expr) => match expr.eval(ctx)? {
            Value::Str(s) => Ok(ResolvedKey::Str(s)),
            Value::Int(i) => Ok(ResolvedKey::Int(i)),
            other => Err(Error::eval(format!(
                "a key must be a string or an int, got {}",
                other.type_name()
            ))),
        },
    }
}

impl PathExpr {
    /// Reads the path without the general machinery for attributes with a literal key;
    /// `None` when it is something else.
    #[inline]
    pub(crate) fn get_fast<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Option<Value<'c>> {
        match self.keys.as_slice() {
            [KeyExpr::Str(key)] => ctx.map_field(self.field).map(|map| {
                map.iter()
                    .find(|kv| kv.key == *key)
                    .map_or(Value::Nil, |kv| Value::from_opt_any(kv.value.as_ref()))
            }),
            _ => None,
        }
    }

    /// Reads the path.
    #[inline]
    pub(crate) fn get<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        match self.get_fast(ctx) {
            Some(value) => Ok(value),
            None => self.get_general(ctx),
        }
    }

    fn get_general<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        if self.field == Field::SpanTraceState
            && let Some(key) = self.keys.first()
        {
            let key = resolve_key(key, ctx)?;
            let ResolvedKey::Str(key) = key else {
                return Err(Error::eval("trace_state is indexed by a string key"));
            };
            let state = ctx.get_field(Field::SpanTraceState)?;
            return Ok(trace_state::get(state.as_str().unwrap_or_default(), &key));
        }
        let mut value = ctx.get_field(self.field)?;
        for key in &self.keys {
            let key = resolve_key(key, ctx)?;
            value = index_value(value, &key)?;
        }
        Ok(value)
    }

    /// The keys resolved to values that do not borrow the context, so the context can then be
    /// borrowed mutably. Literal keys are borrowed from the statement, without copying.
    fn owned_keys(&self, ctx: &TransformContext<'_>) -> Result<Vec<ResolvedKey<'_>>> {
        self.keys
            .iter()
            .map(|key| match key {
                KeyExpr::Str(s) => Ok(ResolvedKey::Str(Cow::Borrowed(s.as_str()))),
                KeyExpr::Int(i) => Ok(ResolvedKey::Int(*i)),
                KeyExpr::Dynamic(_) => resolve_key(key, ctx).map(ResolvedKey::into_owned),
            })
            .collect()
    }

    fn has_dynamic_keys(&self) -> bool {
        self.keys.iter().any(|k| matches!(k, KeyExpr::Dynamic(_)))
    }

    fn static_keys(&self) -> impl Iterator<Item = ResolvedKey<'_>> {
        self.keys.iter().filter_map(|key| match key {
            KeyExpr::Str(s) => Some(ResolvedKey::Str(Cow::Borrowed(s.as_str()))),
            KeyExpr::Int(i) => Some(ResolvedKey::Int(*i)),
            KeyExpr::Dynamic(_) => None,
        })
    }

    /// Writes the path.
    pub(crate) fn set(&self, ctx: &mut TransformContext<'_>, value: Value<'_>) -> Result<()> {
        if self.keys.is_empty() {
            return ctx.set_field(self.field, value);
        }
        if self.field == Field::SpanTraceState {
            let keys = self.owned_keys(ctx)?;
            let Some(ResolvedKey::Str(key)) = keys.first() else {
                return Err(Error::eval("trace_state is indexed by a string key"));
            };
            let Value::Str(entry) = value else {
                return Err(Error::eval(format!(
                    "trace_state entries must be set to a string, got {}",
                    value.type_name()
                )));
            };
            let span = ctx.span_mut(self.field)?;
            if let Some(updated) = trace_state::insert(&span.trace_state, key, &entry) {
                span.trace_state = updated;
            }
            return Ok(());
        }
        let any = value.into_any_value()?;
        if self.has_dynamic_keys() {
            let keys: Vec<ResolvedKey<'static>> = self
                .owned_keys(ctx)?
                .into_iter()
                .map(ResolvedKey::into_owned)
                .collect();
            self.set_with_keys(ctx, keys, any)
        } else {
            self.set_with_keys(ctx, self.static_keys(), any)
        }
    }

    fn set_with_keys<'k>(
        &self,
        ctx: &mut TransformContext<'_>,
        keys: impl IntoIterator<Item = ResolvedKey<'k>>,
        value: AnyValue,
    ) -> Result<()> {
        if self.field == Field::LogBody {
            let body = ctx.body_mut()?;
            return match body {
                Some(
                    target @ AnyValue {
                        value:
                            Some(any_value::Value::KvlistValue(_) | any_value::Value::ArrayValue(_)),
                    },
                ) => set_in_value(target, keys, value),
                other => Err(Error::eval(format!(
                    "log bodies of type {} cannot be indexed",
                    Value::from_opt_any(other.as_ref()).type_name()
                ))),
            };
        }
        let map = ctx
            .map_field_mut(self.field)?
            .ok_or_else(|| Error::eval(format!("{} cannot be indexed", self.text)))?;
        set_in_map(map, keys, value)
    }

    /// The map this path names, for editors that change a map in place (`delete_key`,
    /// `keep_keys`, `merge_maps`, ...). A path that does not hold a map is an error.
    pub(crate) fn map_mut<'c>(
        &self,
        ctx: &'c mut TransformContext<'_>,
    ) -> Result<&'c mut Vec<KeyValue>> {
        let keys: Vec<ResolvedKey<'static>> = if self.has_dynamic_keys() {
            self.owned_keys(ctx)?
                .into_iter()
                .map(ResolvedKey::into_owned)
                .collect()
        } else {
            self.static_keys().map(ResolvedKey::into_owned).collect()
        };
        let not_a_map =
            |found: &str| Error::eval(format!("expected {} to be a map, got {found}", self.text));
        let target: &'c mut AnyValue = if self.field == Field::LogBody {
            let body = ctx.body_mut()?;
            let body = body.get_or_insert_with(AnyValue::default);
            if keys.is_empty() {
                body
            } else {
                match &mut body.value {
                    Some(any_value::Value::KvlistValue(map)) => {
                        value_at_keys_mut(&mut map.values, keys)?.ok_or_else(|| not_a_map("nil"))?
                    }
                    _ => return Err(not_a_map("a body that cannot be indexed")),
                }
            }
        } else if self.field.is_map() {
            let map = ctx
                .map_field_mut(self.field)?
                .ok_or_else(|| not_a_map("no map"))?;
            if keys.is_empty() {
                return Ok(map);
            }
            value_at_keys_mut(map, keys)?.ok_or_else(|| not_a_map("nil"))?
        } else {
            let found = ctx.get_field(self.field)?.type_name();
            return Err(not_a_map(found));
        };
        match &mut target.value {
            Some(any_value::Value::KvlistValue(map)) => Ok(&mut map.values),
            other => Err(not_a_map(
                Value::from_opt_any(Some(&AnyValue {
                    value: other.clone(),
                }))
                .type_name(),
            )),
        }
    }
}

/// Arithmetic under OTTL's rules: int with int, double with double, time and duration with
/// `+`/`-` only; mixing int and double, or dividing by zero, is an error.
pub(crate) fn math(left: &Value<'_>, op: MathOp, right: &Value<'_>) -> Result<Value<'static>> {
    let symbol = match op {
        MathOp::Add => "+",
        MathOp::Sub => "-",
        MathOp::Mul => "*",
        MathOp::Div => "/",
    };
    match (left, right) {
        (Value::Int(a), Value::Int(b)) => Ok(Value::Int(match op {
            MathOp::Add => a.wrapping_add(*b),
            MathOp::Sub => a.wrapping_sub(*b),
            MathOp::Mul => a.wrapping_mul(*b),
            MathOp::Div => {
                if *b == 0 {
                    return Err(Error::eval("attempted to divide by zero"));
                }
                a.wrapping_div(*b)
            }
        })),
        (Value::Double(a), Value::Double(b)) => Ok(Value::Double(match op {
            MathOp::Add => a + b,
            MathOp::Sub => a - b,
            MathOp::Mul => a * b,
            MathOp::Div => {
                if *b == 0.0 {
                    return Err(Error::eval("attempted to divide by zero"));
                }
                a / b
            }
        })),
        (Value::Time(t), Value::Duration(d)) => match op {
            MathOp::Add => Ok(Value::Time(t + i128::from(*d))),
            MathOp::Sub => Ok(Value::Time(t - i128::from(*d))),
            _ => Err(time_op_error(symbol)),
        },
        (Value::Duration(d), Value::Time(t)) if op == MathOp::Add => {
            Ok(Value::Time(t + i128::from(*d)))
        }
        (Value::Time(a), Value::Time(b)) if op == MathOp::Sub => {
            let nanos = i64::try_from(a - b).unwrap_or(if a > b { i64::MAX } else { i64::MIN });
            Ok(Value::Duration(nanos))
        }
        (Value::Duration(a), Value::Duration(b)) => match op {
            MathOp::Add => Ok(Value::Duration(a.saturating_add(*b))),
            MathOp::Sub => Ok(Value::Duration(a.saturating_sub(*b))),
            _ => Err(time_op_error(symbol)),
        },
        (Value::Time(_) | Value::Duration(_), _) | (_, Value::Time(_) | Value::Duration(_)) => {
            Err(time_op_error(symbol))
        }
        (Value::Int(_), Value::Double(_)) | (Value::Double(_), Value::Int(_)) => Err(Error::eval(
            format!("cannot {symbol} an int and a double; convert one with Int() or Double()"),
        )),
        (a, b) => Err(Error::eval(format!(
            "math expressions support int, double, time and duration, got {} {symbol} {}",
            a.type_name(),
            b.type_name()
        ))),
    }
}

fn time_op_error(symbol: &str) -> Error {
    Error::eval(format!(
        "`{symbol}` does not apply to these operands: times and durations support only time - time, \
         time ± duration and duration ± duration"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_rules() {
        assert_eq!(
            math(&Value::Int(7), MathOp::Div, &Value::Int(2)).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            math(&Value::Int(-7), MathOp::Div, &Value::Int(2)).unwrap(),
            Value::Int(-3),
            "Go truncates toward zero"
        );
        assert!(math(&Value::Int(1), MathOp::Add, &Value::Double(1.0)).is_err());
        assert!(math(&Value::Int(1), MathOp::Div, &Value::Int(0)).is_err());
        assert_eq!(
            math(&Value::Time(100), MathOp::Sub, &Value::Time(40)).unwrap(),
            Value::Duration(60)
        );
        assert_eq!(
            math(&Value::Duration(5), MathOp::Add, &Value::Time(10)).unwrap(),
            Value::Time(15)
        );
        assert!(math(&Value::Time(1), MathOp::Mul, &Value::Duration(2)).is_err());
    }
}
