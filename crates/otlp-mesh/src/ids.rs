//! Strict hexadecimal ID parsing shared by the text formats.
//!
//! `u128::from_str_radix` accepts a leading `+` and any length up to the type's width, so it cannot be
//! used on its own to validate a fixed-width field; these helpers check the characters first.

use opentelemetry::trace::{SpanId, TraceId};

/// Which letter case a format allows for hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HexCase {
    /// Lower-case only (W3C, B3).
    Lower,
    /// Either case (X-Ray, Jaeger: their reference parsers use generic hex parsing).
    Any,
}

pub(crate) fn is_hex(s: &str, case: HexCase) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| match case {
            HexCase::Lower => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            HexCase::Any => b.is_ascii_hexdigit(),
        })
}

/// Parses a trace ID of `1..=32` hex digits (shorter IDs are left-padded with zeros). Returns `None`
/// for the all-zero ID, which every format treats as "no trace".
pub(crate) fn trace_id(s: &str, case: HexCase) -> Option<TraceId> {
    if s.len() > 32 || !is_hex(s, case) {
        return None;
    }
    let value = u128::from_str_radix(s, 16).ok()?;
    (value != 0).then(|| TraceId::from(value))
}

/// Parses a span ID of `1..=16` hex digits; `None` for the all-zero ID.
pub(crate) fn span_id(s: &str, case: HexCase) -> Option<SpanId> {
    if s.len() > 16 || !is_hex(s, case) {
        return None;
    }
    let value = u64::from_str_radix(s, 16).ok()?;
    (value != 0).then(|| SpanId::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_signs_case_and_zero() {
        assert_eq!(span_id("+123", HexCase::Any), None);
        assert_eq!(span_id("ABCDEF0123456789", HexCase::Lower), None);
        assert_eq!(
            span_id("ABCDEF0123456789", HexCase::Any),
            Some(SpanId::from(0xabcd_ef01_2345_6789))
        );
        assert_eq!(trace_id("0000", HexCase::Lower), None);
        assert_eq!(trace_id(&"1".repeat(33), HexCase::Lower), None);
        assert_eq!(trace_id("", HexCase::Lower), None);
    }
}
