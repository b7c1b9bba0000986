//! Linkerd 1.x `l5d-ctx-trace`: Finagle's binary `TraceId`, base64-encoded.
//!
//! Layout (big-endian `u64`s): span ID, parent ID, trace ID (low 64 bits), flags, and for 128-bit
//! traces a fifth word with the high 64 bits (40 bytes instead of 32). Flags: `1` debug, `2` sampling
//! known, `4` sampled.

use std::sync::OnceLock;

use base64::{Engine, engine::general_purpose::STANDARD};
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};

use crate::Error;
use crate::context::{Decision, Extracted, SamplingHint, outgoing_decision};
use crate::headers::single;

const HEADER: &str = "l5d-ctx-trace";
const FLAG_DEBUG: u64 = 1;
const FLAG_SAMPLING_KNOWN: u64 = 2;
const FLAG_SAMPLED: u64 = 4;

/// Linkerd 1.x (Finagle) `l5d-ctx-trace` propagator.
#[derive(Clone, Debug, Default)]
pub struct LinkerdPropagator {
    _private: (),
}

impl LinkerdPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

fn word(bytes: &[u8], index: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(index * 8..index * 8 + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(chunk))
}

/// Decodes an `l5d-ctx-trace` value.
pub(crate) fn parse(value: &str) -> Result<Extracted, Error> {
    let bytes = STANDARD
        .decode(value.trim_matches([' ', '\t']))
        .map_err(|error| Error::malformed(HEADER, format!("not base64: {error}")))?;
    if bytes.len() != 32 && bytes.len() != 40 {
        return Err(Error::malformed(
            HEADER,
            format!("{} bytes, expected 32 or 40", bytes.len()),
        ));
    }
    let read = |index| word(&bytes, index).ok_or_else(|| Error::malformed(HEADER, "truncated"));
    let span = read(0)?;
    let trace_low = read(2)?;
    let flags = read(3)?;
    let trace_high = if bytes.len() == 40 { read(4)? } else { 0 };
    let trace = (u128::from(trace_high) << 64) | u128::from(trace_low);
    if trace == 0 || span == 0 {
        return Err(Error::malformed(HEADER, "zero trace or span ID"));
    }
    let (trace_flags, hint) = if flags & FLAG_DEBUG != 0 {
        (TraceFlags::SAMPLED, Some(SamplingHint::Debug))
    } else if flags & FLAG_SAMPLING_KNOWN == 0 {
        (TraceFlags::default(), Some(SamplingHint::Deferred))
    } else if flags & FLAG_SAMPLED != 0 {
        (TraceFlags::SAMPLED, None)
    } else {
        (TraceFlags::default(), None)
    };
    let span_context = SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        trace_flags,
        true,
        TraceState::default(),
    );
    Ok(Extracted::Span(span_context, hint))
}

/// Encodes the span in `cx`; the parent word is zero because an OpenTelemetry span context does not
/// carry its parent, and Finagle reads zero as "no parent".
pub(crate) fn format(cx: &Context) -> Option<String> {
    let span = cx.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    let flags = match outgoing_decision(cx) {
        Some(Decision::Debug) => FLAG_DEBUG | FLAG_SAMPLING_KNOWN | FLAG_SAMPLED,
        Some(Decision::Accept) => FLAG_SAMPLING_KNOWN | FLAG_SAMPLED,
        Some(Decision::Deny) => FLAG_SAMPLING_KNOWN,
        None => 0,
    };
    let trace = u128::from_be_bytes(span_context.trace_id().to_bytes());
    let trace_high = (trace >> 64) as u64;
    let mut bytes = Vec::with_capacity(40);
    bytes.extend_from_slice(&span_context.span_id().to_bytes());
    bytes.extend_from_slice(&0u64.to_be_bytes());
    bytes.extend_from_slice(&(trace as u64).to_be_bytes());
    bytes.extend_from_slice(&flags.to_be_bytes());
    if trace_high != 0 {
        bytes.extend_from_slice(&trace_high.to_be_bytes());
    }
    Some(STANDARD.encode(bytes))
}

impl TextMapPropagator for LinkerdPropagator {
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
