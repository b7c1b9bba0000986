//! OTTL's comparison rules (LANGUAGE.md, "Comparison Rules"): numbers compare across int and
//! double as float64, strings and bytes bytewise, booleans with false < true, maps and lists by
//! deep equality only, and values of different types are only ever "not equal".

use std::cmp::Ordering;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use crate::ast::CmpOp;
use crate::value::Value;

/// `left op right` under the OTTL rules.
#[inline]
pub(crate) fn compare(left: &Value<'_>, op: CmpOp, right: &Value<'_>) -> bool {
    // String equality is the most common comparison: lengths decide most of them at once.
    if let (Value::Str(a), Value::Str(b), CmpOp::Eq | CmpOp::Ne) = (left, right, op) {
        return (a == b) == (op == CmpOp::Eq);
    }
    match order(left, right) {
        Comparison::Ordered(ordering) => match op {
            CmpOp::Eq => ordering == Ordering::Equal,
            CmpOp::Ne => ordering != Ordering::Equal,
            CmpOp::Lt => ordering == Ordering::Less,
            CmpOp::Le => ordering != Ordering::Greater,
            CmpOp::Gt => ordering == Ordering::Greater,
            CmpOp::Ge => ordering != Ordering::Less,
        },
        Comparison::EqualOnly(equal) => match op {
            CmpOp::Eq => equal,
            CmpOp::Ne => !equal,
            _ => false,
        },
        // Different types, or a NaN: only `!=` holds.
        Comparison::Unrelated => op == CmpOp::Ne,
    }
}

enum Comparison {
    Ordered(Ordering),
    EqualOnly(bool),
    Unrelated,
}

fn order(left: &Value<'_>, right: &Value<'_>) -> Comparison {
    use Comparison::{EqualOnly, Ordered, Unrelated};
    match (left, right) {
        (Value::Nil, Value::Nil) => EqualOnly(true),
        // A nil byte slice is nil.
        (Value::Nil, Value::Bytes(b)) | (Value::Bytes(b), Value::Nil) => EqualOnly(b.is_empty()),
        (Value::Bool(a), Value::Bool(b)) => Ordered(a.cmp(b)),
        (Value::Int(a), Value::Int(b)) => Ordered(a.cmp(b)),
        (Value::Int(a), Value::Double(b)) => float_order(*a as f64, *b),
        (Value::Double(a), Value::Int(b)) => float_order(*a, *b as f64),
        (Value::Double(a), Value::Double(b)) => float_order(*a, *b),
        (Value::Str(a), Value::Str(b)) => Ordered(a.as_bytes().cmp(b.as_bytes())),
        (Value::Bytes(a), Value::Bytes(b)) => Ordered(a.as_ref().cmp(b.as_ref())),
        (Value::Time(a), Value::Time(b)) => Ordered(a.cmp(b)),
        (Value::Duration(a), Value::Duration(b)) => Ordered(a.cmp(b)),
        (Value::TraceId(a), Value::TraceId(b)) => EqualOnly(a == b),
        (Value::SpanId(a), Value::SpanId(b)) => EqualOnly(a == b),
        (Value::Map(a), Value::Map(b)) => EqualOnly(maps_equal(a, b)),
        (Value::List(a), Value::List(b)) => EqualOnly(lists_equal(a, b)),
        (Value::Object(a), Value::Object(b)) => EqualOnly(a == b),
        _ => Unrelated,
    }
}

fn float_order(a: f64, b: f64) -> Comparison {
    a.partial_cmp(&b)
        .map_or(Comparison::Unrelated, Comparison::Ordered)
}

/// pcommon `Map.Equal`: same keys with equal values, in any order.
pub(crate) fn maps_equal(a: &[KeyValue], b: &[KeyValue]) -> bool {
    a.len() == b.len()
        && a.iter().all(|kv| {
            b.iter()
                .find(|other| other.key == kv.key)
                .is_some_and(|other| opt_any_equal(kv.value.as_ref(), other.value.as_ref()))
        })
}

fn lists_equal(a: &[AnyValue], b: &[AnyValue]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| any_equal(x, y))
}

fn opt_any_equal(a: Option<&AnyValue>, b: Option<&AnyValue>) -> bool {
    let empty = AnyValue { value: None };
    any_equal(a.unwrap_or(&empty), b.unwrap_or(&empty))
}

/// Typed deep equality of attribute values (an int never equals a double here, as in pdata).
pub(crate) fn any_equal(a: &AnyValue, b: &AnyValue) -> bool {
    match (&a.value, &b.value) {
        (Some(any_value::Value::KvlistValue(x)), Some(any_value::Value::KvlistValue(y))) => {
            maps_equal(&x.values, &y.values)
        }
        (Some(any_value::Value::ArrayValue(x)), Some(any_value::Value::ArrayValue(y))) => {
            lists_equal(&x.values, &y.values)
        }
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn table_cases() {
        let s = |v: &'static str| Value::Str(Cow::Borrowed(v));
        assert!(compare(&Value::Int(1), CmpOp::Eq, &Value::Double(1.0)));
        assert!(compare(&Value::Int(1), CmpOp::Lt, &Value::Double(1.5)));
        assert!(compare(&Value::Bool(true), CmpOp::Gt, &Value::Bool(false)));
        assert!(compare(&s("a"), CmpOp::Lt, &s("b")));
        assert!(compare(&s("1"), CmpOp::Ne, &Value::Int(1)));
        assert!(!compare(&s("1"), CmpOp::Lt, &Value::Int(1)));
        assert!(compare(&Value::Nil, CmpOp::Eq, &Value::Nil));
        assert!(!compare(&Value::Nil, CmpOp::Le, &Value::Nil));
        assert!(compare(
            &Value::Nil,
            CmpOp::Eq,
            &Value::Bytes(Cow::Borrowed(&[]))
        ));
        assert!(compare(
            &Value::Double(f64::NAN),
            CmpOp::Ne,
            &Value::Double(f64::NAN)
        ));
        assert!(!compare(
            &Value::Double(f64::NAN),
            CmpOp::Eq,
            &Value::Double(f64::NAN)
        ));
    }
}
