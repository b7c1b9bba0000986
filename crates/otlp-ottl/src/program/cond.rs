//! Compiled boolean expressions.

use crate::ast::CmpOp;
use crate::compare::compare;
use crate::context::{FastRead, TransformContext, fast_read};
use crate::error::{Error, Result};
use crate::program::expr::{Expr, KeyExpr, PathExpr};
use crate::program::scalar::{Scalar, compare_scalars};
use crate::value::Value;

/// A compiled condition.
pub(crate) enum Cond {
    Const(bool),
    Compare(Expr, CmpOp, Expr),
    /// `path op literal` (or `literal op path`, with the operator flipped at compile time):
    /// the hot shape of conditions, read and compared without building two values.
    PathLiteral(Box<PathLiteral>),
    /// A converter (or literal) that must produce a boolean.
    Value(Expr),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

/// A literal scalar, kept ready for [`compare_scalars`].
#[derive(Clone)]
pub(crate) enum LiteralScalar {
    Nil,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Box<str>),
}

impl LiteralScalar {
    pub(crate) fn new(value: &Value<'_>) -> Option<Self> {
        Some(match Scalar::from_value(value)? {
            Scalar::Nil => LiteralScalar::Nil,
            Scalar::Bool(b) => LiteralScalar::Bool(b),
            Scalar::Int(i) => LiteralScalar::Int(i),
            Scalar::Double(d) => LiteralScalar::Double(d),
            Scalar::Str(s) => LiteralScalar::Str(s.into()),
        })
    }

    #[inline]
    pub(crate) fn scalar(&self) -> Scalar<'_> {
        match self {
            LiteralScalar::Nil => Scalar::Nil,
            LiteralScalar::Bool(b) => Scalar::Bool(*b),
            LiteralScalar::Int(i) => Scalar::Int(*i),
            LiteralScalar::Double(d) => Scalar::Double(*d),
            LiteralScalar::Str(s) => Scalar::Str(s),
        }
    }
}

/// `path op literal`, with a read chosen at compile time and the literal prepared as a scalar
/// when both allow it.
pub(crate) struct PathLiteral {
    pub(crate) path: PathExpr,
    pub(crate) op: CmpOp,
    pub(crate) literal: Value<'static>,
    fast: Option<(FastRead, Option<Box<str>>, LiteralScalar)>,
}

impl PathLiteral {
    pub(crate) fn new(path: PathExpr, op: CmpOp, literal: Value<'static>) -> Self {
        let key = match path.keys.as_slice() {
            [] => Some(None),
            [KeyExpr::Str(key)] => Some(Some(key.as_str().into())),
            _ => None,
        };
        let fast = key.and_then(|key: Option<Box<str>>| {
            let read = fast_read(path.field, key.is_some())?;
            Some((read, key, LiteralScalar::new(&literal)?))
        });
        PathLiteral {
            path,
            op,
            literal,
            fast,
        }
    }

    /// The comparison through the compile-time read; `None` when it needs the general path
    /// (a list or map value, a field read another way).
    #[inline]
    fn eval_fast(&self, ctx: &TransformContext<'_>) -> Option<bool> {
        let (read, key, literal) = self.fast.as_ref()?;
        let found = match (read, key) {
            (FastRead::Scalar(read), _) => read(ctx)?,
            (FastRead::Map(read), Some(key)) => {
                match read(ctx)?.iter().find(|kv| kv.key == **key) {
                    Some(kv) => Scalar::from_any(kv.value.as_ref())?,
                    None => Scalar::Nil,
                }
            }
            (FastRead::Map(_), None) => return None,
        };
        Some(compare_scalars(found, self.op, literal.scalar()))
    }
}

impl Cond {
    /// Evaluates the condition; `and` and `or` stop at the first term that decides.
    #[inline]
    pub(crate) fn eval(&self, ctx: &TransformContext<'_>) -> Result<bool> {
        // The hot shape stays small and inlined; everything else goes through the general code.
        if let Cond::PathLiteral(c) = self
            && let Some(result) = c.eval_fast(ctx)
        {
            return Ok(result);
        }
        self.eval_general(ctx)
    }

    #[inline(never)]
    fn eval_general(&self, ctx: &TransformContext<'_>) -> Result<bool> {
        match self {
            Cond::Const(b) => Ok(*b),
            Cond::Compare(left, op, right) => {
                let left = left.eval(ctx)?;
                let right = right.eval(ctx)?;
                Ok(compare(&left, *op, &right))
            }
            Cond::PathLiteral(c) => {
                let value = c.path.get(ctx)?;
                Ok(compare(&value, c.op, &c.literal.reborrow()))
            }
            Cond::Value(expr) => match expr.eval(ctx)? {
                Value::Bool(b) => Ok(b),
                other => Err(Error::eval(format!(
                    "a condition must be a boolean, got {}",
                    other.type_name()
                ))),
            },
            Cond::Not(inner) => Ok(!inner.eval(ctx)?),
            Cond::And(terms) => {
                for term in terms {
                    if !term.eval(ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Cond::Or(terms) => {
                for term in terms {
                    if term.eval(ctx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }
}
