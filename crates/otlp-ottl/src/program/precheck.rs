//! Conditions decided on the item alone, compiled to closures over a bare span or log record:
//! the engines use them to skip items no statement will touch and to decide filter
//! conditions without building a context. They give the same results as the full evaluation:
//! a term they cannot decide (it needs the context, or might fail) leaves the check undecided.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::ast::CmpOp;
use crate::context::Field;
use crate::program::cond::{Cond, LiteralScalar, PathLiteral};
use crate::program::expr::KeyExpr;
use crate::program::scalar::{Scalar, compare_scalars};

/// A condition on a bare item: `Some(decision)`, or `None` when it cannot be decided alone.
pub(crate) type Check<T> = Box<dyn Fn(&T) -> Option<bool> + Send + Sync>;

/// A test telling that a group does nothing to a bare item.
pub(crate) type SkipCheck<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// An item whose own fields checks can read.
pub(crate) trait CheckedItem: Sized + 'static {
    /// A scalar field of the item.
    fn scalar(field: Field) -> Option<for<'i> fn(&'i Self) -> Scalar<'i>>;
    /// An attribute-like map of the item.
    fn map(field: Field) -> Option<for<'i> fn(&'i Self) -> &'i [KeyValue]>;
    /// `field == literal` (or `!=`) on a string field, as direct as a hand-written test.
    fn str_equals(field: Field, literal: Box<str>, equal: bool) -> Option<Check<Self>>;
}

impl CheckedItem for Span {
    fn scalar(field: Field) -> Option<for<'i> fn(&'i Self) -> Scalar<'i>> {
        Some(match field {
            Field::SpanName => |s| Scalar::Str(&s.name),
            Field::SpanKind => |s| Scalar::Int(i64::from(s.kind)),
            Field::SpanStatusCode => {
                |s| Scalar::Int(i64::from(s.status.as_ref().map_or(0, |st| st.code)))
            }
            _ => return None,
        })
    }

    fn map(field: Field) -> Option<for<'i> fn(&'i Self) -> &'i [KeyValue]> {
        match field {
            Field::SpanAttributes => Some(|s| &s.attributes),
            _ => None,
        }
    }

    fn str_equals(field: Field, literal: Box<str>, equal: bool) -> Option<Check<Self>> {
        match field {
            Field::SpanName => Some(Box::new(move |s: &Span| {
                Some((s.name == *literal) == equal)
            })),
            _ => None,
        }
    }
}

impl CheckedItem for LogRecord {
    fn scalar(field: Field) -> Option<for<'i> fn(&'i Self) -> Scalar<'i>> {
        Some(match field {
            Field::LogSeverityNumber => |l| Scalar::Int(i64::from(l.severity_number)),
            Field::LogSeverityText => |l| Scalar::Str(&l.severity_text),
            _ => return None,
        })
    }

    fn map(field: Field) -> Option<for<'i> fn(&'i Self) -> &'i [KeyValue]> {
        match field {
            Field::LogAttributes => Some(|l| &l.attributes),
            _ => None,
        }
    }

    fn str_equals(field: Field, literal: Box<str>, equal: bool) -> Option<Check<Self>> {
        match field {
            Field::LogSeverityText => Some(Box::new(move |l: &LogRecord| {
                Some((l.severity_text == *literal) == equal)
            })),
            _ => None,
        }
    }
}

/// The value a map holds under `key`; `None` for lists, maps and bytes.
#[inline]
fn lookup<'m>(map: &'m [KeyValue], key: &str) -> Option<Scalar<'m>> {
    match map.iter().find(|kv| kv.key == key) {
        Some(kv) => Scalar::from_any(kv.value.as_ref()),
        None => Some(Scalar::Nil),
    }
}

fn leaf<T: CheckedItem>(c: &PathLiteral) -> Option<Check<T>> {
    let literal = LiteralScalar::new(&c.literal)?;
    let op = c.op;
    match c.path.keys.as_slice() {
        [] => {
            if let (LiteralScalar::Str(text), CmpOp::Eq | CmpOp::Ne) = (&literal, op)
                && let Some(check) = T::str_equals(c.path.field, text.clone(), op == CmpOp::Eq)
            {
                return Some(check);
            }
            let read = T::scalar(c.path.field)?;
            Some(Box::new(move |item: &T| {
                Some(compare_scalars(read(item), op, literal.scalar()))
            }))
        }
        [KeyExpr::Str(key)] => {
            let read = T::map(c.path.field)?;
            let key: Box<str> = key.as_str().into();
            Some(Box::new(move |item: &T| {
                lookup(read(item), &key).map(|found| compare_scalars(found, op, literal.scalar()))
            }))
        }
        _ => None,
    }
}

/// The condition as a check on a bare item, if every term can be read from the item.
pub(crate) fn check<T: CheckedItem>(cond: &Cond) -> Option<Check<T>> {
    Some(match cond {
        Cond::Const(b) => {
            let b = *b;
            Box::new(move |_: &T| Some(b))
        }
        Cond::PathLiteral(c) => leaf(c)?,
        Cond::Not(inner) => {
            let inner = check::<T>(inner)?;
            Box::new(move |item: &T| inner(item).map(|b| !b))
        }
        // Terms are decided in order, as evaluation runs them: an undecided term before the
        // deciding one leaves the whole undecided.
        Cond::And(terms) => {
            let terms = terms.iter().map(check::<T>).collect::<Option<Vec<_>>>()?;
            Box::new(move |item: &T| {
                for term in &terms {
                    if !term(item)? {
                        return Some(false);
                    }
                }
                Some(true)
            })
        }
        Cond::Or(terms) => {
            let terms = terms.iter().map(check::<T>).collect::<Option<Vec<_>>>()?;
            Box::new(move |item: &T| {
                for term in &terms {
                    if term(item)? {
                        return Some(true);
                    }
                }
                Some(false)
            })
        }
        Cond::Compare(..) | Cond::Value(_) => return None,
    })
}

/// Decides `any of conditions` on a bare item, when each condition up to the deciding one can.
pub(crate) fn any_of<T: CheckedItem>(conditions: &[&Cond]) -> Option<Check<T>> {
    let checks = conditions
        .iter()
        .map(|c| check::<T>(c))
        .collect::<Option<Vec<_>>>()?;
    Some(Box::new(move |item: &T| {
        for check in &checks {
            if check(item)? {
                return Some(true);
            }
        }
        Some(false)
    }))
}

/// Whether a group certainly does nothing to an item: its conditions all decide false, or
/// every statement's condition decides false. Exact: when a statement does not run nothing
/// changes, so the next one sees the same item.
pub(crate) fn skip<T: CheckedItem>(
    group_conditions: &[&Cond],
    statement_conditions: &[Option<&Cond>],
) -> Option<SkipCheck<T>> {
    let group = if group_conditions.is_empty() {
        None
    } else {
        Some(any_of::<T>(group_conditions)?)
    };
    // A statement without a condition always runs: nothing can be skipped.
    let statements = statement_conditions
        .iter()
        .map(|c| c.and_then(check::<T>))
        .collect::<Option<Vec<_>>>();
    match (group, statements) {
        (Some(group), statements) => Some(Box::new(move |item: &T| match group(item) {
            Some(false) => true,
            Some(true) => statements
                .as_ref()
                .is_some_and(|s| s.iter().all(|check| check(item) == Some(false))),
            None => false,
        })),
        (None, Some(statements)) => Some(Box::new(move |item: &T| {
            statements.iter().all(|check| check(item) == Some(false))
        })),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{ContextKind, ResourceParts, ScopeParts, TransformContext};
    use crate::parse::compile_condition;

    /// Every check that decides must agree with the full evaluation, on realistic spans.
    #[test]
    fn checks_agree_with_evaluation() {
        let conditions = [
            r#"name == "GET /api/cart""#,
            r#"name != "GET /api/cart""#,
            r#"name < "M""#,
            "kind == SPAN_KIND_SERVER",
            "kind >= 3",
            "status.code == STATUS_CODE_ERROR",
            r#"attributes["http.route"] == "/api/cart""#,
            r#"attributes["http.response.status_code"] >= 500"#,
            r#"attributes["app.cart.items"] > 2.5"#,
            r#"attributes["missing"] == nil"#,
            r#"attributes["app.feature_flags"] == "x""#,
            r#"not (kind == SPAN_KIND_CLIENT or name == "GET /api/cart") and true"#,
            r#"kind == 2 and attributes["http.route"] != nil"#,
        ];
        let mut request = otlp_testkit::Generator::new(31).traces(400);
        let mut cache = Vec::new();
        let mut decided = 0;
        for text in conditions {
            let condition = compile_condition(ContextKind::Span, text, true).unwrap();
            let check = check::<Span>(&condition.cond).unwrap();
            for rs in &mut request.resource_spans {
                for ss in &mut rs.scope_spans {
                    for span in &mut ss.spans {
                        let quick = check(span);
                        let ctx = TransformContext::for_span(
                            ResourceParts {
                                resource: &mut rs.resource,
                                schema_url: &mut rs.schema_url,
                            },
                            ScopeParts {
                                scope: &mut ss.scope,
                                schema_url: &mut ss.schema_url,
                            },
                            span,
                            &mut cache,
                        );
                        let full = condition.eval(&ctx).unwrap();
                        if let Some(quick) = quick {
                            decided += 1;
                            assert_eq!(
                                quick,
                                full,
                                "{text} on {}",
                                ctx.span(Field::SpanName).unwrap().name
                            );
                        }
                    }
                }
            }
        }
        assert!(
            decided > 4_000,
            "most spans are decided by the checks ({decided})"
        );
    }

    #[test]
    fn terms_that_need_the_context_leave_the_check_undecided() {
        let condition = compile_condition(
            ContextKind::Span,
            r#"resource.attributes["service.name"] == "cart" or name == "x""#,
            true,
        )
        .unwrap();
        assert!(check::<Span>(&condition.cond).is_none());
        let statement =
            compile_condition(ContextKind::Span, r#"IsMatch(name, "x")"#, true).unwrap();
        assert!(check::<Span>(&statement.cond).is_none());
    }
}
