//! Compiled boolean expressions.

use crate::ast::CmpOp;
use crate::compare::compare;
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::Expr;
use crate::value::Value;

/// A compiled condition.
pub(crate) enum Cond {
    Const(bool),
    Compare(Expr, CmpOp, Expr),
    /// A converter (or literal) that must produce a boolean.
    Value(Expr),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    /// Evaluates the condition; `and` and `or` stop at the first term that decides.
    pub(crate) fn eval(&self, ctx: &TransformContext<'_>) -> Result<bool> {
        match self {
            Cond::Const(b) => Ok(*b),
            Cond::Compare(left, op, right) => {
                let left = left.eval(ctx)?;
                let right = right.eval(ctx)?;
                Ok(compare(&left, *op, &right))
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
