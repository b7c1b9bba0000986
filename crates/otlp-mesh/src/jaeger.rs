//! Jaeger `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`
//! (<https://www.jaegertracing.io/docs/latest/client-libraries/#propagation-format>).
//!
//! IDs are hex of up to 32/16 digits with leading zeros optional; flags are hex, `0x01` sampled and
//! `0x02` debug. The value may arrive URL-encoded (`%3A` for `:`), which Jaeger clients accept.
//! Jaeger has no "deferred" state, so a deferred decision is written as not sampled.

use std::sync::OnceLock;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, TraceContextExt, TraceFlags, TraceState},
};

use crate::Error;
use crate::context::{Decision, Extracted, SamplingHint, outgoing_decision};
use crate::headers::single;
use crate::ids::{HexCase, is_hex, span_id, trace_id};

const HEADER: &str = "uber-trace-id";
const FLAG_SAMPLED: u8 = 0x01;
const FLAG_DEBUG: u8 = 0x02;

/// Jaeger `uber-trace-id` propagator.
#[derive(Clone, Debug, Default)]
pub struct JaegerPropagator {
    _private: (),
}

impl JaegerPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Parses an `uber-trace-id` value.
pub(crate) fn parse(value: &str) -> Result<Extracted, Error> {
    let decoded;
    let value = if value.contains('%') {
        decoded = value.replace("%3A", ":").replace("%3a", ":");
        decoded.as_str()
    } else {
        value
    };
    let parts: Vec<&str> = value.trim_matches([' ', '\t']).split(':').collect();
    let [trace, span_part, parent, flags] = parts.as_slice() else {
        return Err(Error::malformed(
            HEADER,
            "expected four `:`-separated fields",
        ));
    };
    let trace_id = trace_id(trace, HexCase::Any).ok_or_else(|| {
        Error::malformed(
            HEADER,
            format!("trace ID `{trace}` is not 1-32 hex digits, non-zero"),
        )
    })?;
    let span_id = span_id(span_part, HexCase::Any).ok_or_else(|| {
        Error::malformed(
            HEADER,
            format!("span ID `{span_part}` is not 1-16 hex digits, non-zero"),
        )
    })?;
    if parent.len() > 16 || !is_hex(parent, HexCase::Any) {
        return Err(Error::malformed(
            HEADER,
            format!("parent ID `{parent}` is not 1-16 hex digits"),
        ));
    }
    if flags.len() > 2 || !is_hex(flags, HexCase::Any) {
        return Err(Error::malformed(
            HEADER,
            format!("flags `{flags}` are not 1-2 hex digits"),
        ));
    }
    let flags = u8::from_str_radix(flags, 16)
        .map_err(|error| Error::malformed(HEADER, format!("flags: {error}")))?;
    let (trace_flags, hint) = if flags & FLAG_DEBUG != 0 {
        (TraceFlags::SAMPLED, Some(SamplingHint::Debug))
    } else if flags & FLAG_SAMPLED != 0 {
        (TraceFlags::SAMPLED, None)
    } else {
        (TraceFlags::default(), None)
    };
    Ok(Extracted::Span(
        SpanContext::new(trace_id, span_id, trace_flags, true, TraceState::default()),
        hint,
    ))
}

/// Formats the span in `cx`; `0` for the deprecated parent field.
pub(crate) fn format(cx: &Context) -> Option<String> {
    let span = cx.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    let flags = match outgoing_decision(cx) {
        Some(Decision::Debug) => FLAG_DEBUG | FLAG_SAMPLED,
        Some(Decision::Accept) => FLAG_SAMPLED,
        Some(Decision::Deny) | None => 0,
    };
    Some(format!(
        "{:032x}:{:016x}:0:{flags:x}",
        span_context.trace_id(),
        span_context.span_id()
    ))
}

impl TextMapPropagator for JaegerPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if let Some(value) = format(cx) {
            injector.set(HEADER, value);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match single(extractor, HEADER).map(parse) {
            Some(Ok(extracted)) => extracted.apply(cx),
            _ => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: OnceLock<[String; 1]> = OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| [HEADER.to_owned()]))
    }
}
