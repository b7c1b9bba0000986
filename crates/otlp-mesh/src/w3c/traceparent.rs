//! `traceparent`: read by fixed offsets and written into a stack buffer, so neither direction
//! allocates more than the one `String` the carrier takes.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

use crate::Error;

pub(crate) const TRACEPARENT: &str = "traceparent";

/// W3C Trace Context Level 2's `random-trace-id` flag (bit `0x02` of `trace-flags`): at least the
/// right-most 7 bytes of the trace ID were chosen (pseudo-)randomly. `opentelemetry` 0.33 names
/// only [`TraceFlags::SAMPLED`], so the constant lives here.
pub const RANDOM_TRACE_ID: TraceFlags = TraceFlags::new(0x02);

/// The flags this version of the specification defines (sampled, random-trace-id). Level 2, "Other
/// Flags": "Vendors MUST set those to zero", so nothing else is kept or written.
pub(crate) const KNOWN_FLAGS: u8 = 0x03;

/// A version-`00` header is exactly this long; later versions are at least this long.
const LEN: usize = 55;

/// The fields of a valid `traceparent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Traceparent {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) flags: TraceFlags,
}

/// Lower-case hex digit values; `INVALID` for every other byte (W3C: `HEXDIGLC`).
const INVALID: u8 = 0xff;
const HEX_VALUE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut digit = 0;
    while digit < 10 {
        table[b'0' as usize + digit] = digit as u8;
        digit += 1;
    }
    let mut letter = 0;
    while letter < 6 {
        table[b'a' as usize + letter] = 10 + letter as u8;
        letter += 1;
    }
    table
};
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Folds lower-case hex digits into an integer; `None` if any byte is not one. The validity check is
/// one OR over all digit values, so the loop has no early exit to mispredict.
fn fold_hex(digits: &[u8]) -> Option<u128> {
    let mut value = 0u128;
    let mut seen = 0u8;
    for &byte in digits {
        let digit = HEX_VALUE[usize::from(byte)];
        seen |= digit;
        value = (value << 4) | u128::from(digit & 0x0f);
    }
    (seen != INVALID && seen & 0xf0 == 0).then_some(value)
}

fn hex_byte(high: u8, low: u8) -> Option<u8> {
    let (high, low) = (HEX_VALUE[usize::from(high)], HEX_VALUE[usize::from(low)]);
    ((high | low) & 0xf0 == 0).then_some((high << 4) | low)
}

/// Parses a `traceparent` value (optional whitespace around it is ignored).
///
/// Level 2, "traceparent Header Field Values" and "Versioning of traceparent": `version` is two
/// lower-case hex digits and not `ff`; version `00` is exactly 55 characters; a higher version is at
/// least 55 characters and its flags are "either at the end of the string or followed by a dash";
/// `trace-id` and `parent-id` are lower-case hex and not all zeros. Of `trace-flags` only the bits
/// this version defines are kept.
pub(crate) fn parse(value: &str) -> Result<Traceparent, Error> {
    let value = super::tracestate::trim_ows(value);
    let bytes = value.as_bytes();
    let Some(head) = bytes.first_chunk::<LEN>() else {
        return Err(malformed("shorter than 55 characters"));
    };
    let Some(version) = hex_byte(head[0], head[1]).filter(|_| head[2] == b'-') else {
        return Err(malformed("version is not two lower-case hex digits"));
    };
    if version == 0xff {
        return Err(malformed("version ff is forbidden"));
    }
    let trace_id = match fold_hex(&head[3..35]) {
        Some(id) if head[35] == b'-' => id,
        _ => return Err(malformed("trace-id is not 32 lower-case hex digits")),
    };
    let span_id = match fold_hex(&head[36..52]) {
        Some(id) if head[52] == b'-' => id as u64,
        _ => return Err(malformed("parent-id is not 16 lower-case hex digits")),
    };
    let Some(flags) = hex_byte(head[53], head[54]) else {
        return Err(malformed("trace-flags are not two lower-case hex digits"));
    };
    if bytes.len() > LEN && (version == 0 || bytes.get(LEN) != Some(&b'-')) {
        return Err(malformed("unexpected characters after trace-flags"));
    }
    if trace_id == 0 {
        return Err(malformed("trace-id is all zeros"));
    }
    if span_id == 0 {
        return Err(malformed("parent-id is all zeros"));
    }
    Ok(Traceparent {
        trace_id: TraceId::from(trace_id),
        span_id: SpanId::from(span_id),
        flags: TraceFlags::new(flags & KNOWN_FLAGS),
    })
}

fn malformed(reason: &'static str) -> Error {
    Error::malformed(TRACEPARENT, reason)
}

fn write_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
        pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
    }
}

/// Formats a version-`00` header. Only the flags this version defines are written ("Other Flags":
/// "Vendors MUST set those to zero").
pub(crate) fn format(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> String {
    let mut buffer = [b'-'; LEN];
    buffer[0] = b'0';
    buffer[1] = b'0';
    write_hex(&mut buffer[3..35], &trace_id.to_bytes());
    write_hex(&mut buffer[36..52], &span_id.to_bytes());
    write_hex(&mut buffer[53..55], &[flags.to_u8() & KNOWN_FLAGS]);
    // Every byte written above is an ASCII hex digit or a dash, so this never falls back.
    std::str::from_utf8(&buffer)
        .map(str::to_owned)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &str = "12345678901234567890123456789012-1234567890123456";

    #[test]
    fn shapes_follow_the_versioning_rules() {
        assert!(parse(&format!("00-{IDS}-01")).is_ok());
        assert!(parse(&format!("cc-{IDS}-01-what-the-future-will-be-like")).is_ok());
        for invalid in [
            format!("cc-{IDS}-01.what"),
            format!("00-{IDS}-01-"),
            format!("0-{IDS}-01"),
            format!("ff-{IDS}-01"),
            format!("00-{IDS}-0g"),
            format!("00-{IDS}-A1"),
            "00-é".to_owned(),
        ] {
            assert!(parse(&invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn flags_keep_only_sampled_and_random() {
        let parsed = parse(&format!("00-{IDS}-ff")).unwrap();
        assert_eq!(parsed.flags, TraceFlags::new(0x03));
        let parsed = parse(&format!("00-{IDS}-02")).unwrap();
        assert_eq!(parsed.flags, RANDOM_TRACE_ID);
    }

    #[test]
    fn format_round_trips_and_masks_unknown_flags() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
        let parsed = parse(value).unwrap();
        assert_eq!(format(parsed.trace_id, parsed.span_id, parsed.flags), value);
        assert_eq!(
            format(parsed.trace_id, parsed.span_id, TraceFlags::new(0xff)),
            value
        );
    }
}
