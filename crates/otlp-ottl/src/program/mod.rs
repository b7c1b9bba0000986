//! Compiled statements, conditions and expressions: what [`Parser`](crate::Parser) produces and
//! the engines run per item.

pub(crate) mod cond;
pub(crate) mod expr;
pub(crate) mod precheck;
pub(crate) mod scalar;
pub(crate) mod trace_state;

use crate::context::{ContextKind, TransformContext};
use crate::error::{Error, Result};
use crate::funcs::EditorFn;
use crate::value::Value;
use cond::Cond;
use expr::Expr;

/// A compiled statement: an editor and its optional `where` condition, bound to one context.
pub struct Statement {
    pub(crate) editor: Box<dyn EditorFn>,
    pub(crate) condition: Option<Cond>,
    pub(crate) text: String,
    pub(crate) context: ContextKind,
}

impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement")
            .field("text", &self.text)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Statement {
    /// The statement as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The context it runs in.
    pub fn context(&self) -> ContextKind {
        self.context
    }

    /// Runs the statement on one item: evaluates the condition, and when it holds (or there is
    /// none) runs the editor. Returns whether the editor ran.
    ///
    /// # Errors
    ///
    /// [`Error::Execution`] when the condition or the editor fails on this item (a value of the
    /// wrong type, a missing map...). The item may have been partly changed.
    #[inline]
    pub fn execute(&self, ctx: &mut TransformContext<'_>) -> Result<bool> {
        if let Some(condition) = &self.condition
            && !condition.eval(ctx).map_err(|e| self.failed(e))?
        {
            return Ok(false);
        }
        self.editor.exec(ctx).map_err(|e| self.failed(e))?;
        Ok(true)
    }

    fn failed(&self, error: Error) -> Error {
        execution_error(&self.text, error)
    }
}

/// A compiled condition (a filter condition, a group condition).
pub struct Condition {
    pub(crate) cond: Cond,
    pub(crate) text: String,
    pub(crate) context: ContextKind,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Condition")
            .field("text", &self.text)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Condition {
    /// The condition as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The context it runs in.
    pub fn context(&self) -> ContextKind {
        self.context
    }

    /// Evaluates the condition on one item.
    ///
    /// # Errors
    ///
    /// [`Error::Execution`] when evaluation fails on this item.
    #[inline]
    pub fn eval(&self, ctx: &TransformContext<'_>) -> Result<bool> {
        self.cond
            .eval(ctx)
            .map_err(|e| execution_error(&self.text, e))
    }
}

/// A compiled value expression (`Concat([span.name, "x"], "-")`).
pub struct Expression {
    pub(crate) expr: Expr,
    pub(crate) text: String,
    pub(crate) context: ContextKind,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expression")
            .field("text", &self.text)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Expression {
    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The context it runs in.
    pub fn context(&self) -> ContextKind {
        self.context
    }

    /// The value on one item (it may borrow from the item or the expression).
    ///
    /// # Errors
    ///
    /// [`Error::Execution`] when evaluation fails on this item.
    pub fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        self.expr
            .eval(ctx)
            .map_err(|e| execution_error(&self.text, e))
    }
}

fn execution_error(text: &str, error: Error) -> Error {
    match error {
        Error::Eval(message) => Error::Execution {
            text: text.to_owned(),
            message,
        },
        other => other,
    }
}
