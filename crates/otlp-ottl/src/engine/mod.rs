//! What the transform and filter engines share: `error_mode`, and a group of statements with
//! its conditions run over a request.

pub(crate) mod walk;

use serde::Deserialize;

use crate::context::{ContextKind, TransformContext};
use crate::error::{Error, Result};
use crate::program::{Condition, Statement};

/// How errors of statements and conditions on single items are treated (otelcol's
/// `error_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorMode {
    /// Log the error and go on with the next statement (or treat the condition as false).
    #[default]
    Ignore,
    /// Go on without logging.
    Silent,
    /// Stop and return the error: the whole request should be dropped, as otelcol does.
    Propagate,
}

impl ErrorMode {
    /// Handles one item's error: `Err` to stop (propagate), `Ok` to carry on.
    pub(crate) fn handle(self, error: Error, errors: &mut usize) -> Result<()> {
        *errors += 1;
        match self {
            ErrorMode::Propagate => Err(error),
            ErrorMode::Ignore => {
                tracing::warn!(error = %error, "OTTL error ignored (error_mode: ignore)");
                Ok(())
            }
            ErrorMode::Silent => Ok(()),
        }
    }
}

/// Statements run in one context, guarded by group conditions (any may hold).
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) context: ContextKind,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) statements: Vec<Statement>,
    pub(crate) error_mode: ErrorMode,
}

impl Group {
    /// Runs the group on one item. Errors the error mode lets through are counted in `errors`.
    #[inline]
    pub(crate) fn run(&self, ctx: &mut TransformContext<'_>, errors: &mut usize) -> Result<()> {
        if !self.conditions.is_empty() {
            let mut any = false;
            for condition in &self.conditions {
                match condition.eval(ctx) {
                    Ok(true) => {
                        any = true;
                        break;
                    }
                    Ok(false) => {}
                    Err(error) => self.error_mode.handle(error, errors)?,
                }
            }
            if !any {
                return Ok(());
            }
        }
        for statement in &self.statements {
            if let Err(error) = statement.execute(ctx) {
                self.error_mode.handle(error, errors)?;
            }
        }
        Ok(())
    }
}

/// Conditions of which any drops an item.
#[derive(Debug, Default)]
pub(crate) struct AnyOf {
    pub(crate) conditions: Vec<Condition>,
}

impl AnyOf {
    pub(crate) fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Whether any condition holds; an error counts as "does not hold" unless it propagates.
    pub(crate) fn matches(
        &self,
        ctx: &TransformContext<'_>,
        mode: ErrorMode,
        errors: &mut usize,
    ) -> Result<bool> {
        for condition in &self.conditions {
            match condition.eval(ctx) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(error) => mode.handle(error, errors)?,
            }
        }
        Ok(false)
    }
}
