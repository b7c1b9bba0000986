//! OpenCensus binary trace context, `grpc-trace-bin`
//! (<https://github.com/census-instrumentation/opencensus-specs/blob/master/encodings/BinaryEncoding.md>).
//!
//! Layout: version `0`, then fields `0` (16-byte trace ID), `1` (8-byte span ID), `2` (1-byte options,
//! bit 0 = sampled), each preceded by its field ID. gRPC sends `-bin` metadata base64-encoded over
//! HTTP/2, so that is the text form read and written here (padded or not on input, unpadded on output
//! as gRPC recommends).

use std::sync::OnceLock;

use base64::{
    Engine,
    engine::{
        DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD_NO_PAD,
    },
};
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};

use crate::Error;
use crate::context::Extracted;
use crate::headers::single;

const HEADER: &str = "grpc-trace-bin";
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// OpenCensus `grpc-trace-bin` propagator.
#[derive(Clone, Debug, Default)]
pub struct OpenCensusPropagator {
    _private: (),
}

impl OpenCensusPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Decodes the binary layout (after base64).
pub(crate) fn parse_bytes(bytes: &[u8]) -> Result<Extracted, Error> {
    let malformed = |why: &str| Error::malformed(HEADER, why.to_owned());
    let (&version, mut rest) = bytes.split_first().ok_or_else(|| malformed("empty"))?;
    if version != 0 {
        return Err(malformed("unsupported version"));
    }
    let mut trace_id = None;
    let mut span_id = None;
    let mut options = 0u8;
    // Fields come in ascending order; unknown later fields are a newer minor version and are skipped.
    while let Some((&field, tail)) = rest.split_first() {
        match field {
            0 if trace_id.is_none() && span_id.is_none() => {
                let (id, tail) = tail
                    .split_first_chunk::<16>()
                    .ok_or_else(|| malformed("short trace ID"))?;
                trace_id = Some(TraceId::from_bytes(*id));
                rest = tail;
            }
            1 if span_id.is_none() => {
                let (id, tail) = tail
                    .split_first_chunk::<8>()
                    .ok_or_else(|| malformed("short span ID"))?;
                span_id = Some(SpanId::from_bytes(*id));
                rest = tail;
            }
            2 => {
                let (&value, _) = tail
                    .split_first()
                    .ok_or_else(|| malformed("missing trace options"))?;
                options = value;
                break;
            }
            _ => break,
        }
    }
    let (Some(trace_id), Some(span_id)) = (trace_id, span_id) else {
        return Err(malformed("trace ID or span ID missing"));
    };
    let flags = if options & 1 == 1 {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let span_context = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
    if !span_context.is_valid() {
        return Err(malformed("zero trace or span ID"));
    }
    Ok(Extracted::Span(span_context, None))
}

/// Decodes a base64 `grpc-trace-bin` value.
pub(crate) fn parse(value: &str) -> Result<Extracted, Error> {
    let bytes = LENIENT
        .decode(value.trim_matches([' ', '\t']))
        .map_err(|error| Error::malformed(HEADER, format!("not base64: {error}")))?;
    parse_bytes(&bytes)
}

/// The 29-byte encoding of the span in `cx`, base64 without padding.
pub(crate) fn format(cx: &Context) -> Option<String> {
    let span = cx.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    let mut bytes = Vec::with_capacity(29);
    bytes.push(0);
    bytes.push(0);
    bytes.extend_from_slice(&span_context.trace_id().to_bytes());
    bytes.push(1);
    bytes.extend_from_slice(&span_context.span_id().to_bytes());
    bytes.push(2);
    bytes.push(u8::from(span_context.is_sampled()));
    Some(STANDARD_NO_PAD.encode(bytes))
}

impl TextMapPropagator for OpenCensusPropagator {
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
