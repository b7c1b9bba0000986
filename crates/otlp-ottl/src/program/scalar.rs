//! Scalars without drop glue for the hot comparison `path op literal`: reading a name or an
//! attribute and comparing it with a literal builds no [`Value`] at all.

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};

use crate::ast::CmpOp;
use crate::value::Value;

/// A scalar read from an item or a literal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(&'a str),
}

impl<'a> Scalar<'a> {
    /// The scalar in an attribute value; `None` for lists, maps and bytes.
    #[inline]
    pub(crate) fn from_any(value: Option<&'a AnyValue>) -> Option<Self> {
        Some(match value.and_then(|v| v.value.as_ref()) {
            None | Some(any_value::Value::StringValueStrindex(_)) => Scalar::Nil,
            Some(any_value::Value::StringValue(s)) => Scalar::Str(s),
            Some(any_value::Value::IntValue(i)) => Scalar::Int(*i),
            Some(any_value::Value::DoubleValue(d)) => Scalar::Double(*d),
            Some(any_value::Value::BoolValue(b)) => Scalar::Bool(*b),
            Some(_) => return None,
        })
    }

    /// The scalar of a value; `None` for the other types.
    pub(crate) fn from_value(value: &'a Value<'_>) -> Option<Self> {
        Some(match value {
            Value::Nil => Scalar::Nil,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Int(i) => Scalar::Int(*i),
            Value::Double(d) => Scalar::Double(*d),
            Value::Str(s) => Scalar::Str(s),
            _ => return None,
        })
    }
}

/// `left op right` under OTTL's comparison rules (the same as [`crate::compare::compare`]).
#[inline]
pub(crate) fn compare_scalars(left: Scalar<'_>, op: CmpOp, right: Scalar<'_>) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (left, right) {
        (Scalar::Str(a), Scalar::Str(b)) => {
            if matches!(op, CmpOp::Eq | CmpOp::Ne) {
                return (a == b) == (op == CmpOp::Eq);
            }
            Some(a.as_bytes().cmp(b.as_bytes()))
        }
        (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(&b)),
        (Scalar::Int(a), Scalar::Double(b)) => (a as f64).partial_cmp(&b),
        (Scalar::Double(a), Scalar::Int(b)) => a.partial_cmp(&(b as f64)),
        (Scalar::Double(a), Scalar::Double(b)) => a.partial_cmp(&b),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(&b)),
        (Scalar::Nil, Scalar::Nil) => {
            return op == CmpOp::Eq;
        }
        _ => None,
    };
    match ordering {
        Some(o) => match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        },
        // Different types (or NaN): only `!=` holds.
        None => op == CmpOp::Ne,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::compare;
    use std::borrow::Cow;

    #[test]
    fn agrees_with_the_general_comparison() {
        let values = [
            Value::Nil,
            Value::Bool(false),
            Value::Bool(true),
            Value::Int(1),
            Value::Int(2),
            Value::Double(1.0),
            Value::Double(f64::NAN),
            Value::Str(Cow::Borrowed("a")),
            Value::Str(Cow::Borrowed("b")),
        ];
        let ops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ];
        for a in &values {
            for b in &values {
                for op in ops {
                    let fast = compare_scalars(
                        Scalar::from_value(a).unwrap(),
                        op,
                        Scalar::from_value(b).unwrap(),
                    );
                    assert_eq!(fast, compare(a, op, b), "{a:?} {op:?} {b:?}");
                }
            }
        }
    }
}
