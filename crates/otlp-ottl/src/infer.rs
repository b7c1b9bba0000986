//! Context inference from path prefixes, as otelcol does for statements and conditions written
//! without a `context`: the most specific context named by a path prefix wins (log, datapoint,
//! metric, spanevent, span, resource, scope), unless a function or enum in the statements is not
//! available there, in which case the lower contexts of that signal are tried in the same order.

use std::collections::BTreeSet;

use crate::ast::{self, BoolExpr, Call, ExprKind, Key};
use crate::context::{ContextKind, Signal, enum_value};
use crate::error::{Error, Result};
use crate::funcs::lookup;

/// What the statements of a group mention.
#[derive(Default)]
pub(crate) struct Hints {
    contexts: BTreeSet<ContextKind>,
    functions: BTreeSet<String>,
    enums: BTreeSet<String>,
}

impl Hints {
    pub(crate) fn statement(&mut self, statement: &ast::Statement) {
        self.call(&statement.editor);
        if let Some(condition) = &statement.condition {
            self.condition(condition);
        }
    }

    pub(crate) fn condition(&mut self, condition: &BoolExpr) {
        match condition {
            BoolExpr::Or(terms) | BoolExpr::And(terms) => {
                terms.iter().for_each(|t| self.condition(t));
            }
            BoolExpr::Not(inner) => self.condition(inner),
            BoolExpr::Comparison { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
            BoolExpr::Term(value) => self.expr(value),
        }
    }

    fn call(&mut self, call: &Call) {
        self.functions.insert(call.name.clone());
        call.args.iter().for_each(|arg| self.expr(&arg.value));
        self.keys(&call.keys);
    }

    fn keys(&mut self, keys: &[Key]) {
        for key in keys {
            if let Key::Expr(expr) = key {
                self.expr(expr);
            }
        }
    }

    fn expr(&mut self, expr: &ast::Expr) {
        match &expr.kind {
            ExprKind::Enum(symbol) => {
                self.enums.insert(symbol.clone());
            }
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i)),
            ExprKind::Map(entries) => entries.iter().for_each(|(_, v)| self.expr(v)),
            ExprKind::Path(path) => {
                if let Some(first) = path.segments.first()
                    && first.keys.is_empty()
                    && let Some(context) = ContextKind::from_path_prefix(&first.name)
                {
                    self.contexts.insert(context);
                }
                for segment in &path.segments {
                    self.keys(&segment.keys);
                }
            }
            ExprKind::Converter(call) => self.call(call),
            ExprKind::Math(left, _, right) => {
                self.expr(left);
                self.expr(right);
            }
            ExprKind::Nil
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Bytes(_) => {}
        }
    }

    /// The context the statements run in, for `signal`.
    pub(crate) fn infer(&self, signal: Signal, what: &str) -> Result<ContextKind> {
        let allowed = signal.contexts();
        if let Some(stray) = self.contexts.iter().find(|c| !allowed.contains(c)) {
            return Err(Error::Context(format!(
                "`{stray}` paths cannot be used in {} {what}; allowed prefixes are {}",
                signal.name(),
                allowed
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let Some(inferred) = self
            .contexts
            .iter()
            .copied()
            .min_by_key(|c| c.inference_priority())
        else {
            return Err(Error::Context(format!(
                "cannot infer the context of these {what}: no path starts with a context name \
                 (such as `{}.attributes`); add one, or set `context`",
                allowed.get(2).map_or("resource", |c| c.name())
            )));
        };
        if self.supported_by(inferred) {
            return Ok(inferred);
        }
        let mut lower: Vec<ContextKind> = allowed
            .iter()
            .copied()
            .filter(|c| *c != inferred && c.reaches(inferred))
            .collect();
        lower.sort_by_key(|c| c.inference_priority());
        lower
            .into_iter()
            .find(|c| self.supported_by(*c))
            .ok_or_else(|| {
                Error::Context(format!(
                    "the {what} use paths of the {inferred} context, but {} not available there \
                     nor in any context below it; split them into separate groups",
                    self.unsupported_in(inferred)
                ))
            })
    }

    /// Whether every function and enum the statements use exists in `context`. Names that do
    /// not exist anywhere are left for the compiler to report.
    fn supported_by(&self, context: ContextKind) -> bool {
        self.functions
            .iter()
            .all(|f| lookup(f).is_none_or(|def| def.available_in(context)))
            && self.enums.iter().all(|e| {
                enum_value(context, e).is_some()
                    || lookup(e).is_some()
                    || !crate::context::any_context_knows(e)
            })
    }

    fn unsupported_in(&self, context: ContextKind) -> String {
        let mut names: Vec<String> = self
            .functions
            .iter()
            .filter(|f| lookup(f).is_some_and(|def| !def.available_in(context)))
            .map(|f| format!("`{f}`"))
            .collect();
        names.extend(
            self.enums
                .iter()
                .filter(|e| {
                    enum_value(context, e).is_none()
                        && lookup(e).is_none()
                        && crate::context::any_context_knows(e)
                })
                .map(|e| format!("`{e}`")),
        );
        match names.len() {
            1 => format!("{} is", names.join(", ")),
            _ => format!("{} are", names.join(", ")),
        }
    }
}
