//! W3C Trace Context with the strictness of the W3C test suite, on top of `opentelemetry_sdk`'s
//! [`TraceContextPropagator`].
//!
//! The SDK propagator does the parsing and formatting; this wrapper only decides *what it gets to
//! see*. The SDK reads one value per header and is lenient where the suite is strict: it accepts
//! `0-…` or `000-…` versions and short or over-long IDs (it parses fields with `from_str_radix`,
//! which takes any length and a leading `+`), truncates more than 32 `tracestate` members instead of
//! refusing them, and accepts duplicate `tracestate` keys. So the wrapper screens the headers first:
//! a repeated `traceparent` or one whose shape is wrong is withheld (a new trace starts), repeated
//! `tracestate` headers are combined in order and withheld as a whole when any member is invalid.

use std::borrow::Cow;
use std::sync::OnceLock;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{TraceContextExt, TraceId, TraceState},
};
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::Error;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const MAX_MEMBERS: usize = 32;

/// W3C `traceparent`/`tracestate` propagator: `opentelemetry_sdk`'s [`TraceContextPropagator`] behind
/// a screen that applies the W3C test suite's strictest rules (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct W3cTraceContextPropagator {
    sdk: TraceContextPropagator,
}

impl W3cTraceContextPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A `tracestate` this crate validated but `opentelemetry` 0.33's `TraceState` refused: its key check
/// rejects a 14-character system ID after `@`, which W3C allows. Kept so the list is still passed on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct UnrepresentableTraceState {
    trace_id: TraceId,
    header: String,
}

/// The two headers as the screen lets the SDK see them.
struct Screened<'a> {
    traceparent: &'a str,
    tracestate: Option<&'a str>,
}

impl Extractor for Screened<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            Some(self.traceparent)
        } else if key.eq_ignore_ascii_case(TRACESTATE) {
            self.tracestate
        } else {
            None
        }
    }

    fn keys(&self) -> Vec<&str> {
        let mut keys = vec![TRACEPARENT];
        if self.tracestate.is_some() {
            keys.push(TRACESTATE);
        }
        keys
    }
}

/// Drops the empty `tracestate` the SDK writes when there is none: an empty header is legal but says
/// nothing, and some receivers log it as a malformed list.
struct SkipEmptyTraceState<'a>(&'a mut dyn Injector);

impl Injector for SkipEmptyTraceState<'_> {
    fn set(&mut self, key: &str, value: String) {
        if !(key == TRACESTATE && value.is_empty()) {
            self.0.set(key, value);
        }
    }
}

impl TextMapPropagator for W3cTraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let mut screened = SkipEmptyTraceState(injector);
        self.sdk.inject_context(cx, &mut screened);
        let Some(kept) = cx.get::<UnrepresentableTraceState>() else {
            return;
        };
        let span = cx.span();
        let span_context = span.span_context();
        if kept.trace_id == span_context.trace_id()
            && span_context.is_valid()
            && *span_context.trace_state() == TraceState::NONE
        {
            screened.set(TRACESTATE, kept.header.clone());
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Ok(traceparent) = screen_traceparent(extractor) else {
            return cx.clone();
        };
        let tracestate = screen_tracestate(extractor).ok().flatten();
        let extracted = self.sdk.extract_with_context(
            cx,
            &Screened {
                traceparent,
                tracestate: tracestate.as_deref(),
            },
        );
        let Some(header) = tracestate else {
            return extracted;
        };
        let unrepresentable = {
            let span = extracted.span();
            let span_context = span.span_context();
            (span_context.is_valid() && *span_context.trace_state() == TraceState::NONE)
                .then(|| span_context.trace_id())
        };
        match unrepresentable {
            Some(trace_id) => extracted.with_value(UnrepresentableTraceState {
                trace_id,
                header: header.into_owned(),
            }),
            None => extracted,
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: OnceLock<[String; 2]> = OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]))
    }
}

fn screen_traceparent(extractor: &dyn Extractor) -> Result<&str, Error> {
    let value = match extractor.get_all(TRACEPARENT).as_deref() {
        Some([value]) => *value,
        Some([]) | None => return Err(Error::malformed(TRACEPARENT, "missing")),
        Some(_) => return Err(Error::DuplicateHeader(TRACEPARENT)),
    };
    let value = value.trim_matches([' ', '\t']);
    check_traceparent(value)?;
    Ok(value)
}

/// Checks the `traceparent` layout: `vv-<32 hex>-<16 hex>-ff`, lower-case hex, version `ff` refused,
/// version `00` exactly 55 characters, later versions either 55 characters or followed by `-`.
pub(crate) fn check_traceparent(value: &str) -> Result<(), Error> {
    let bytes = value.as_bytes();
    let lower_hex = |range: std::ops::Range<usize>| {
        bytes.get(range).is_some_and(|field| {
            field
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        })
    };
    let dash_at = |index: usize| bytes.get(index) == Some(&b'-');
    if bytes.len() < 55 {
        return Err(Error::malformed(TRACEPARENT, "shorter than 55 characters"));
    }
    if !lower_hex(0..2) || !dash_at(2) {
        return Err(Error::malformed(
            TRACEPARENT,
            "version is not two lower-case hex digits",
        ));
    }
    if bytes.get(0..2) == Some(b"ff") {
        return Err(Error::malformed(TRACEPARENT, "version ff is forbidden"));
    }
    if !lower_hex(3..35) || !dash_at(35) {
        return Err(Error::malformed(
            TRACEPARENT,
            "trace-id is not 32 lower-case hex digits",
        ));
    }
    if !lower_hex(36..52) || !dash_at(52) {
        return Err(Error::malformed(
            TRACEPARENT,
            "parent-id is not 16 lower-case hex digits",
        ));
    }
    if !lower_hex(53..55) {
        return Err(Error::malformed(
            TRACEPARENT,
            "trace-flags are not two lower-case hex digits",
        ));
    }
    let version_zero = bytes.get(0..2) == Some(b"00");
    if bytes.len() > 55 && (version_zero || !dash_at(55)) {
        return Err(Error::malformed(
            TRACEPARENT,
            "unexpected characters after trace-flags",
        ));
    }
    Ok(())
}

/// Combines every `tracestate` header in order and validates the list. `Ok(None)` when there is no
/// member at all; `Err` when any member is invalid, a key repeats, or there are more than 32 members.
fn screen_tracestate(extractor: &dyn Extractor) -> Result<Option<Cow<'_, str>>, Error> {
    let Some(values) = extractor.get_all(TRACESTATE) else {
        return Ok(None);
    };
    // At most 32 keys: a stack array and a scan are cheaper than a hash set.
    let mut keys: [&str; MAX_MEMBERS] = [""; MAX_MEMBERS];
    let mut count = 0;
    for member in values.iter().flat_map(|value| value.split(',')) {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member
            .split_once('=')
            .ok_or_else(|| Error::malformed(TRACESTATE, format!("member `{member}` has no `=`")))?;
        check_key(key)?;
        check_value(value)?;
        if keys.get(..count).is_some_and(|seen| seen.contains(&key)) {
            return Err(Error::malformed(TRACESTATE, format!("key `{key}` repeats")));
        }
        let Some(slot) = keys.get_mut(count) else {
            return Err(Error::malformed(
                TRACESTATE,
                format!("more than {MAX_MEMBERS} members"),
            ));
        };
        *slot = key;
        count += 1;
    }
    if count == 0 {
        return Ok(None);
    }
    Ok(Some(match values.as_slice() {
        [only] => Cow::Borrowed(*only),
        several => Cow::Owned(several.join(",")),
    }))
}

fn key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
}

/// `simple-key = lcalpha 0*255(keychar)`; `multi-tenant-key = (lcalpha / DIGIT) 0*240(keychar) "@"
/// lcalpha 0*13(keychar)`.
pub(crate) fn check_key(key: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::malformed(TRACESTATE, format!("key `{key}` {why}")));
    let (tenant, system) = match key.split_once('@') {
        Some((tenant, system)) => (tenant, Some(system)),
        None => (key, None),
    };
    let tenant_bytes = tenant.as_bytes();
    let Some(&first) = tenant_bytes.first() else {
        return bad("is empty before `@` or entirely");
    };
    if !tenant_bytes.iter().all(|&b| key_char(b)) {
        return bad("has a character outside a-z 0-9 _ - * /");
    }
    match system {
        None => {
            if !first.is_ascii_lowercase() {
                return bad("must start with a lower-case letter");
            }
            if tenant_bytes.len() > 256 {
                return bad("is longer than 256 characters");
            }
        }
        Some(system) => {
            if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
                return bad("tenant must start with a lower-case letter or digit");
            }
            if tenant_bytes.len() > 241 {
                return bad("tenant is longer than 241 characters");
            }
            let system_bytes = system.as_bytes();
            if !system_bytes.first().is_some_and(u8::is_ascii_lowercase) {
                return bad("system id must start with a lower-case letter");
            }
            if system_bytes.len() > 14 || !system_bytes.iter().all(|&b| key_char(b)) {
                return bad("system id must be at most 14 of a-z 0-9 _ - * /");
            }
        }
    }
    Ok(())
}

/// `value = 0*255(chr) nblk-chr`, printable ASCII without `,` and `=`, not ending in a space.
pub(crate) fn check_value(value: &str) -> Result<(), Error> {
    let bytes = value.as_bytes();
    let printable = bytes
        .iter()
        .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=');
    if bytes.is_empty() || bytes.len() > 256 || !printable || bytes.last() == Some(&b' ') {
        return Err(Error::malformed(
            TRACESTATE,
            format!("value `{value}` must be 1-256 printable characters without `,` or `=`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_shapes_follow_the_suite() {
        let id = "12345678901234567890123456789012-1234567890123456";
        assert!(check_traceparent(&format!("00-{id}-01")).is_ok());
        assert!(check_traceparent(&format!("cc-{id}-01-what-the-future-will-be-like")).is_ok());
        assert!(check_traceparent(&format!("cc-{id}-01.what")).is_err());
        assert!(check_traceparent(&format!("00-{id}-01-")).is_err());
        assert!(check_traceparent(&format!("0-{id}-01")).is_err());
        assert!(check_traceparent(&format!("ff-{id}-01")).is_err());
        assert!(check_traceparent("00-é").is_err());
    }

    #[test]
    fn keys_follow_the_grammar() {
        assert!(check_key(&"z".repeat(256)).is_ok());
        assert!(check_key(&"z".repeat(257)).is_err());
        assert!(check_key(&format!("{}@{}", "t".repeat(241), "v".repeat(14))).is_ok());
        assert!(check_key(&format!("{}@v", "t".repeat(242))).is_err());
        assert!(check_key(&format!("t@{}", "v".repeat(15))).is_err());
        for bad in [
            "foo@",
            "@foo",
            "foo@@bar",
            "foo@bar@baz",
            "FOO",
            "foo.bar",
            "foo ",
        ] {
            assert!(check_key(bad).is_err(), "{bad} must be refused");
        }
    }
}
