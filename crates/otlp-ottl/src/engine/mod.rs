//! What the transform and filter engines share: `error_mode`, and a group of statements with
//! its conditions run over a request.

pub(crate) mod walk;

use serde::Deserialize;

use crate::context::{ContextKind, TransformContext};
use crate::error::{Error, Result};
use crate::program::cond::Cond;
use crate::program::precheck::{self, Check, SkipCheck};
use crate::program::{Condition, Statement};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;

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

type Skip<T> = Option<SkipCheck<T>>;

/// Statements run in one context, guarded by group conditions (any may hold).
pub(crate) struct Group {
    pub(crate) context: ContextKind,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) statements: Vec<Statement>,
    pub(crate) error_mode: ErrorMode,
    skip_span: Skip<Span>,
    skip_log: Skip<LogRecord>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("context", &self.context)
            .field("conditions", &self.conditions)
            .field("statements", &self.statements)
            .field("error_mode", &self.error_mode)
            .finish_non_exhaustive()
    }
}

impl Group {
    pub(crate) fn new(
        context: ContextKind,
        conditions: Vec<Condition>,
        statements: Vec<Statement>,
        error_mode: ErrorMode,
    ) -> Self {
        let group_conditions: Vec<&Cond> = conditions.iter().map(|c| &c.cond).collect();
        let statement_conditions: Vec<Option<&Cond>> =
            statements.iter().map(|s| s.condition.as_ref()).collect();
        let skip_span = (context == ContextKind::Span)
            .then(|| precheck::skip::<Span>(&group_conditions, &statement_conditions))
            .flatten();
        let skip_log = (context == ContextKind::Log)
            .then(|| precheck::skip::<LogRecord>(&group_conditions, &statement_conditions))
            .flatten();
        Group {
            context,
            conditions,
            statements,
            error_mode,
            skip_span,
            skip_log,
        }
    }

    /// Whether the group certainly does nothing to this span (decided on the span alone).
    #[inline]
    pub(crate) fn skips_span(&self, span: &Span) -> bool {
        self.skip_span.as_ref().is_some_and(|skip| skip(span))
    }

    /// Whether the group certainly does nothing to this log record.
    #[inline]
    pub(crate) fn skips_log(&self, log: &LogRecord) -> bool {
        self.skip_log.as_ref().is_some_and(|skip| skip(log))
    }

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
#[derive(Default)]
pub(crate) struct AnyOf {
    pub(crate) conditions: Vec<Condition>,
    decide_span: Option<Check<Span>>,
    decide_log: Option<Check<LogRecord>>,
}

impl std::fmt::Debug for AnyOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyOf")
            .field("conditions", &self.conditions)
            .finish_non_exhaustive()
    }
}

impl AnyOf {
    pub(crate) fn new(conditions: Vec<Condition>) -> Self {
        let conds: Vec<&Cond> = conditions.iter().map(|c| &c.cond).collect();
        let context = conditions.first().map(|c| c.context);
        AnyOf {
            decide_span: (context == Some(ContextKind::Span))
                .then(|| precheck::any_of::<Span>(&conds))
                .flatten(),
            decide_log: (context == Some(ContextKind::Log))
                .then(|| precheck::any_of::<LogRecord>(&conds))
                .flatten(),
            conditions,
        }
    }

    /// The decision on a bare span, when the conditions can be read from it alone.
    #[inline]
    pub(crate) fn decide_span(&self, span: &Span) -> Option<bool> {
        self.decide_span.as_ref().and_then(|decide| decide(span))
    }

    /// The decision on a bare log record, when the conditions can be read from it alone.
    #[inline]
    pub(crate) fn decide_log(&self, log: &LogRecord) -> Option<bool> {
        self.decide_log.as_ref().and_then(|decide| decide(log))
    }

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
