//! From syntax tree to runnable program: paths resolved to fields of the context, enums to
//! integers, function names to implementations with their arguments bound, constant
//! sub-expressions folded. Every error points at the offending part of the text.

use std::borrow::Cow;

use crate::ast::{self, BoolExpr, Call, CmpOp, ExprKind, Key, Span};
use crate::context::{ContextKind, Field, enum_value, resolve_field};
use crate::error::{Error, Position, Result};
use crate::funcs::{self, Args, Bound, Build, ParamKind, lookup, nearest};
use crate::program::cond::{Cond, PathLiteral};
use crate::program::expr::{ConverterCall, Expr, KeyExpr, PathExpr, math};
use crate::program::{Condition, Expression, Statement};
use crate::value::{Value, key_value};

/// Compiles the parts of one statement or condition.
pub(crate) struct Compiler<'t> {
    text: &'t str,
    context: ContextKind,
    /// Whether paths may leave out the context prefix (the group named its context, as in
    /// configurations written before context inference existed).
    unprefixed_paths: bool,
}

impl<'t> Compiler<'t> {
    pub(crate) fn new(text: &'t str, context: ContextKind, unprefixed_paths: bool) -> Self {
        Compiler {
            text,
            context,
            unprefixed_paths,
        }
    }

    fn error(&self, span: Span, message: impl Into<String>) -> Error {
        Error::Compile {
            text: self.text.to_owned(),
            position: Position::at(self.text, span.start),
            message: message.into(),
        }
    }

    pub(crate) fn statement(&self, statement: &ast::Statement) -> Result<Statement> {
        let editor = self.editor(&statement.editor)?;
        let condition = statement
            .condition
            .as_ref()
            .map(|c| self.condition(c))
            .transpose()?;
        Ok(Statement {
            editor,
            condition,
            text: self.text.to_owned(),
            context: self.context,
        })
    }

    pub(crate) fn standalone_condition(&self, condition: &BoolExpr) -> Result<Condition> {
        Ok(Condition {
            cond: self.condition(condition)?,
            text: self.text.to_owned(),
            context: self.context,
        })
    }

    pub(crate) fn standalone_expression(&self, expr: &ast::Expr) -> Result<Expression> {
        Ok(Expression {
            expr: self.expr(expr)?,
            text: self.text.to_owned(),
            context: self.context,
        })
    }

    fn editor(&self, call: &Call) -> Result<Box<dyn funcs::EditorFn>> {
        let def = match lookup(&call.name) {
            Some(def) if def.is_editor() => def,
            _ => {
                let hint = nearest(&call.name, funcs::names(true))
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(self.error(
                    call.name_span,
                    format!("unknown editor `{}`{hint}", call.name),
                ));
            }
        };
        self.check_context(def, call)?;
        let mut args = self.bind(def, call)?;
        match def.build {
            Build::Editor(build) => build(&mut args),
            Build::Converter(_) => Err(self.error(call.name_span, "internal: not an editor")),
        }
    }

    fn check_context(&self, def: &funcs::FunctionDef, call: &Call) -> Result<()> {
        if def.available_in(self.context) {
            return Ok(());
        }
        let contexts = def
            .contexts
            .unwrap_or_default()
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ");
        Err(self.error(
            call.name_span,
            format!(
                "`{}` is not available in the {} context (only in: {contexts})",
                def.name, self.context
            ),
        ))
    }

    fn condition(&self, expr: &BoolExpr) -> Result<Cond> {
        Ok(match expr {
            BoolExpr::Or(terms) => Cond::Or(
                terms
                    .iter()
                    .map(|t| self.condition(t))
                    .collect::<Result<_>>()?,
            ),
            BoolExpr::And(terms) => Cond::And(
                terms
                    .iter()
                    .map(|t| self.condition(t))
                    .collect::<Result<_>>()?,
            ),
            BoolExpr::Not(inner) => Cond::Not(Box::new(self.condition(inner)?)),
            BoolExpr::Comparison { left, op, right } => {
                match (self.expr(left)?, self.expr(right)?) {
                    (Expr::Path(path), Expr::Literal(literal)) => {
                        Cond::PathLiteral(Box::new(PathLiteral::new(*path, *op, literal)))
                    }
                    (Expr::Literal(literal), Expr::Path(path)) => {
                        Cond::PathLiteral(Box::new(PathLiteral::new(*path, flip(*op), literal)))
                    }
                    (left, right) => Cond::Compare(left, *op, right),
                }
            }
            BoolExpr::Term(value) => match &value.kind {
                ExprKind::Bool(b) => Cond::Const(*b),
                ExprKind::Converter(_) => Cond::Value(self.expr(value)?),
                ExprKind::Path(path) => {
                    return Err(self.error(
                        value.span,
                        format!(
                            "a path alone is not a condition; compare it, e.g. `{} == true`",
                            path.dotted()
                        ),
                    ));
                }
                _ => {
                    return Err(self.error(
                        value.span,
                        "expected a condition: a comparison, `true`/`false` or a converter returning a boolean",
                    ));
                }
            },
        })
    }

    pub(crate) fn expr(&self, expr: &ast::Expr) -> Result<Expr> {
        Ok(match &expr.kind {
            ExprKind::Nil => Expr::Literal(Value::Nil),
            ExprKind::Bool(b) => Expr::Literal(Value::Bool(*b)),
            ExprKind::Int(i) => Expr::Literal(Value::Int(*i)),
            ExprKind::Float(f) => Expr::Literal(Value::Double(*f)),
            ExprKind::Str(s) => Expr::Literal(Value::Str(Cow::Owned(s.clone()))),
            ExprKind::Bytes(b) => Expr::Literal(Value::Bytes(Cow::Owned(b.clone()))),
            ExprKind::Enum(symbol) => {
                Expr::Literal(Value::Int(self.enum_symbol(symbol, expr.span)?))
            }
            ExprKind::List(items) => {
                let items = items
                    .iter()
                    .map(|item| self.expr(item))
                    .collect::<Result<Vec<_>>>()?;
                fold_list(items)
            }
            ExprKind::Map(entries) => {
                let entries = entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.expr(v)?)))
                    .collect::<Result<Vec<_>>>()?;
                fold_map(entries)
            }
            ExprKind::Path(path) => Expr::Path(Box::new(self.path(path)?)),
            ExprKind::Converter(call) => Expr::Converter(Box::new(self.converter(call)?)),
            ExprKind::Math(left, op, right) => {
                let left = self.expr(left)?;
                let right = self.expr(right)?;
                match (left.as_literal(), right.as_literal()) {
                    (Some(l), Some(r)) => Expr::Literal(
                        math(l, *op, r).map_err(|e| self.error(expr.span, e.to_string()))?,
                    ),
                    _ => Expr::Math(Box::new(left), *op, Box::new(right)),
                }
            }
        })
    }

    fn enum_symbol(&self, symbol: &str, span: Span) -> Result<i64> {
        if let Some(value) = enum_value(self.context, symbol) {
            return Ok(value);
        }
        if lookup(symbol).is_some() {
            return Err(self.error(
                span,
                format!("`{symbol}` is a converter; call it as `{symbol}(...)`"),
            ));
        }
        if crate::context::any_context_knows(symbol) {
            return Err(self.error(
                span,
                format!(
                    "enum `{symbol}` is not available in the {} context",
                    self.context
                ),
            ));
        }
        let hint = nearest(symbol, crate::context::enum_names(self.context))
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        Err(self.error(span, format!("unknown enum `{symbol}`{hint}")))
    }

    fn converter(&self, call: &Call) -> Result<ConverterCall> {
        let def = match lookup(&call.name) {
            Some(def) if !def.is_editor() => def,
            _ => {
                let hint = nearest(&call.name, funcs::names(false))
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(self.error(
                    call.name_span,
                    format!("unknown converter `{}`{hint}", call.name),
                ));
            }
        };
        self.check_context(def, call)?;
        let mut args = self.bind(def, call)?;
        let func = match def.build {
            Build::Converter(build) => build(&mut args)?,
            Build::Editor(_) => {
                return Err(self.error(call.name_span, "internal: not a converter"));
            }
        };
        Ok(ConverterCall {
            func,
            keys: self.keys(&call.keys)?,
        })
    }

    fn keys(&self, keys: &[Key]) -> Result<Vec<KeyExpr>> {
        keys.iter()
            .map(|key| {
                Ok(match key {
                    Key::Str(s, _) => KeyExpr::Str(s.clone()),
                    Key::Int(i, _) => KeyExpr::Int(*i),
                    Key::Expr(expr) => KeyExpr::Dynamic(self.expr(expr)?),
                })
            })
            .collect()
    }

    pub(crate) fn path(&self, path: &ast::Path) -> Result<PathExpr> {
        let text = self
            .text
            .get(path.span.start..path.span.end)
            .unwrap_or_default()
            .to_owned();
        let first = &path.segments[0];
        let prefixed = if first.keys.is_empty() {
            ContextKind::from_path_prefix(&first.name)
        } else {
            None
        };
        let (owner, rest) = match prefixed {
            Some(owner) => (owner, &path.segments[1..]),
            None if self.unprefixed_paths => (self.context, &path.segments[..]),
            None => {
                return Err(self.error(
                    path.span,
                    format!(
                        "path `{}` has no context prefix; write `{}.{}` (or give the statement group a `context`)",
                        path.dotted(),
                        self.context,
                        path.dotted()
                    ),
                ));
            }
        };
        if !self.context.reaches(owner) {
            return Err(self.error(
                path.span,
                format!(
                    "`{}` paths are not reachable from the {} context",
                    owner, self.context
                ),
            ));
        }
        if rest.is_empty() {
            let field = match owner {
                ContextKind::Resource => Field::Resource,
                ContextKind::Scope => Field::Scope,
                other => {
                    return Err(self.error(
                        path.span,
                        format!("`{other}` alone is not a value; name one of its fields, such as `{other}.attributes`"),
                    ));
                }
            };
            return Ok(PathExpr {
                field,
                keys: Vec::new(),
                text,
            });
        }
        if let Some(segment) = rest[..rest.len() - 1].iter().find(|s| !s.keys.is_empty()) {
            return Err(self.error(
                segment.span,
                format!(
                    "`{}` cannot be indexed here; keys go on the last path segment",
                    segment.name
                ),
            ));
        }
        let names: Vec<&str> = rest.iter().map(|s| s.name.as_str()).collect();
        let field =
            resolve_field(owner, self.context, &names).map_err(|unresolved| match unresolved {
                crate::context::Unresolved::Unknown { suggestion } => self.error(
                    path.span,
                    format!(
                        "unknown path `{}` in the {} context{}",
                        text_without_keys(owner, prefixed.is_some(), &names),
                        owner,
                        suggestion
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default()
                    ),
                ),
                crate::context::Unresolved::Unreachable(message) => self.error(path.span, message),
            })?;
        let keys = &rest[rest.len() - 1].keys;
        if !keys.is_empty() && !field.takes_keys() {
            return Err(self.error(
                path.span,
                format!("`{}` cannot be indexed with `[...]`", names.join(".")),
            ));
        }
        if field == Field::SpanTraceState && keys.len() > 1 {
            return Err(self.error(
                path.span,
                "trace_state takes exactly one key: `span.trace_state[\"key\"]`",
            ));
        }
        Ok(PathExpr {
            field,
            keys: self.keys(keys)?,
            text,
        })
    }

    /// Binds the call's arguments to the function's parameters and compiles each as its
    /// parameter kind requires.
    fn bind<'a>(&'a self, def: &'static funcs::FunctionDef, call: &Call) -> Result<Args<'a>> {
        let params = def.params;
        let mut slots: Vec<Option<(Bound, Span)>> = (0..params.len()).map(|_| None).collect();
        let mut next_positional = 0;
        let mut seen_named = false;
        for arg in &call.args {
            let index = match &arg.name {
                Some((name, span)) => {
                    seen_named = true;
                    let normalized = snake_case(name);
                    let Some(index) = params.iter().position(|p| p.name == normalized) else {
                        let hint = nearest(&normalized, params.iter().map(|p| p.name))
                            .map(|n| format!("; did you mean `{n}`?"))
                            .unwrap_or_default();
                        return Err(self.error(
                            *span,
                            format!(
                                "`{}` has no parameter named `{name}`{hint}; it takes {}",
                                def.name,
                                signature(def)
                            ),
                        ));
                    };
                    if slots[index].is_some() {
                        return Err(self.error(
                            *span,
                            format!(
                                "argument `{}` of `{}` is given twice",
                                params[index].name, def.name
                            ),
                        ));
                    }
                    index
                }
                None => {
                    if seen_named {
                        return Err(self.error(
                            arg.value.span,
                            "positional arguments must come before named arguments",
                        ));
                    }
                    if next_positional >= params.len() {
                        return Err(self.error(
                            arg.value.span,
                            format!(
                                "too many arguments: `{}` takes {} ({} at most)",
                                def.name,
                                signature(def),
                                params.len()
                            ),
                        ));
                    }
                    next_positional += 1;
                    next_positional - 1
                }
            };
            let bound = self.bind_arg(def, params[index].name, params[index].kind, &arg.value)?;
            slots[index] = Some((bound, arg.value.span));
        }
        if let Some(missing) = params
            .iter()
            .zip(&slots)
            .find(|(p, slot)| !p.optional && slot.is_none())
        {
            return Err(self.error(
                call.span,
                format!(
                    "missing argument `{}`: `{}` takes {}",
                    missing.0.name,
                    def.name,
                    signature(def)
                ),
            ));
        }
        Ok(Args {
            function: def.name,
            text: self.text,
            call_span: call.span,
            params,
            slots,
        })
    }

    fn bind_arg(
        &self,
        def: &funcs::FunctionDef,
        param: &str,
        kind: ParamKind,
        value: &ast::Expr,
    ) -> Result<Bound> {
        let wrong = |what: &str| {
            self.error(
                value.span,
                format!("argument `{param}` of `{}` must be {what}", def.name),
            )
        };
        Ok(match (kind, &value.kind) {
            (ParamKind::Getter, _) => Bound::Getter(self.expr(value)?),
            (ParamKind::Setter, ExprKind::Path(path)) => Bound::Setter(self.path(path)?),
            (ParamKind::Setter, _) => {
                return Err(wrong(
                    "a path to a field, such as `span.attributes[\"key\"]`",
                ));
            }
            (ParamKind::GetterList, ExprKind::List(items)) => Bound::GetterList(
                items
                    .iter()
                    .map(|item| self.expr(item))
                    .collect::<Result<_>>()?,
            ),
            (ParamKind::GetterList, _) => return Err(wrong("a list `[...]`")),
            (ParamKind::Str, ExprKind::Str(s)) => Bound::Str(s.clone()),
            (ParamKind::Str, _) => return Err(wrong("a string literal")),
            (ParamKind::Int, ExprKind::Int(i)) => Bound::Int(*i),
            (ParamKind::Int, ExprKind::Enum(symbol)) => {
                Bound::Int(self.enum_symbol(symbol, value.span)?)
            }
            (ParamKind::Int, _) => return Err(wrong("an integer literal")),
            (ParamKind::Bool, ExprKind::Bool(b)) => Bound::Bool(*b),
            (ParamKind::Bool, _) => return Err(wrong("`true` or `false`")),
            (ParamKind::StrList, ExprKind::List(items)) => Bound::StrList(
                items
                    .iter()
                    .map(|item| match &item.kind {
                        ExprKind::Str(s) => Ok(s.clone()),
                        _ => Err(self.error(
                            item.span,
                            format!(
                                "argument `{param}` of `{}` must be a list of string literals",
                                def.name
                            ),
                        )),
                    })
                    .collect::<Result<_>>()?,
            ),
            (ParamKind::StrList, _) => {
                return Err(wrong("a list of string literals `[\"a\", \"b\"]`"));
            }
            (ParamKind::Function, ExprKind::Enum(name)) => match lookup(name) {
                Some(f) => match f.string_fn {
                    Some(string_fn) => Bound::Function(f.name, string_fn),
                    None => {
                        return Err(wrong(&format!(
                            "a converter from one string to a string; `{name}` is not"
                        )));
                    }
                },
                None => {
                    let hint = nearest(name, funcs::names(false))
                        .map(|n| format!("; did you mean `{n}`?"))
                        .unwrap_or_default();
                    return Err(self.error(value.span, format!("unknown converter `{name}`{hint}")));
                }
            },
            (ParamKind::Function, _) => {
                return Err(wrong("the name of a converter, such as `SHA256`"));
            }
        })
    }
}

/// The operator that keeps `a op b` true when the operands swap sides.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        same => same,
    }
}

fn text_without_keys(owner: ContextKind, prefixed: bool, names: &[&str]) -> String {
    if prefixed {
        format!("{}.{}", owner, names.join("."))
    } else {
        names.join(".")
    }
}

/// `set(target, value)`, `truncate_all(target, limit[, utf8_safe][, truncation_marker])`.
pub(crate) fn signature(def: &funcs::FunctionDef) -> String {
    let mut out = format!("{}(", def.name);
    for (i, p) in def.params.iter().enumerate() {
        if p.optional {
            out.push_str(if i == 0 { "[" } else { "[, " });
            out.push_str(p.name);
            out.push(']');
        } else {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(p.name);
        }
    }
    out.push(')');
    out
}

/// `resolveConflicts` → `resolve_conflicts`: argument names are snake_case, but otelcol's own
/// README writes some in camelCase.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A list whose items are all literals becomes one literal.
fn fold_list(items: Vec<Expr>) -> Expr {
    if items.iter().all(|i| i.as_literal().is_some()) {
        let values: Option<Vec<_>> = items
            .iter()
            .filter_map(Expr::as_literal)
            .map(|v| v.clone().into_any_value().ok())
            .collect();
        if let Some(values) = values {
            return Expr::Literal(Value::List(Cow::Owned(values)));
        }
    }
    Expr::List(items)
}

fn fold_map(entries: Vec<(String, Expr)>) -> Expr {
    if entries.iter().all(|(_, v)| v.as_literal().is_some()) {
        let values: Option<Vec<_>> = entries
            .iter()
            .filter_map(|(k, v)| v.as_literal().map(|v| (k, v)))
            .map(|(k, v)| {
                v.clone()
                    .into_any_value()
                    .ok()
                    .map(|v| key_value(k.as_str(), v))
            })
            .collect();
        if let Some(values) = values {
            return Expr::Literal(Value::Map(Cow::Owned(values)));
        }
    }
    Expr::Map(entries)
}
