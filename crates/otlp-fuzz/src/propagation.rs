//! Trace-context headers, as the mesh layer reads them from every incoming request.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use otlp_mesh::{
    B3Encoding, B3Propagator, EnvoyTraceReason, Format, HeaderExtractor, HeaderInjector,
    JaegerPropagator, MeshPropagator, SamplingHint, TraceStatePolicy, W3cTraceContextPropagator,
    XRayFields, XRayPropagator, envoy_request, sampling_hint, xray_fields,
};

/// Reads `data` as HTTP headers, one `name: value` a line (see [`headers`]), and extracts a context from them
/// with every single-format propagator: W3C Trace Context (both `tracestate` policies), B3 writing the single
/// header, the multi headers and both, Jaeger and X-Ray.
///
/// Extraction must never panic, and whatever a propagator reads (a span context, a sampling fact such as B3's
/// deferred or debug state, X-Ray's extra fields) it must write: injecting the context into empty headers and
/// extracting again gives the same span context and the same facts.
pub fn propagators(data: &[u8]) {
    let headers = headers(data);
    round_trip("w3c", &W3cTraceContextPropagator::new(), &headers);
    round_trip(
        "w3c (whole-list tracestate)",
        &W3cTraceContextPropagator::with_tracestate_policy(TraceStatePolicy::WholeList),
        &headers,
    );
    for encoding in [
        B3Encoding::Single,
        B3Encoding::Multi,
        B3Encoding::SingleAndMulti,
    ] {
        round_trip("b3", &B3Propagator::new(encoding), &headers);
    }
    round_trip("jaeger", &JaegerPropagator::new(), &headers);
    round_trip("xray", &XRayPropagator::new(), &headers);
}

/// Reads `data` as HTTP headers (see [`headers`]) and extracts a context with [`MeshPropagator`]s: the default
/// one, and one that reads and writes every format.
///
/// Extraction must never panic, and the context it gives must come back from injecting it and extracting again:
/// the same span context, baggage and Envoy request id. (A sampling fact only one format can carry, such as
/// B3's deferred state, is not compared: the composite extracts from the first format that has a span, and
/// W3C, first by default, has no such state.)
pub fn propagator_mesh(data: &[u8]) {
    let headers = headers(data);
    let every_format = MeshPropagator::builder()
        .inject(Format::ALL)
        .b3_encoding(B3Encoding::SingleAndMulti)
        .build();
    for propagator in [MeshPropagator::default(), every_format] {
        let first = propagator.extract(&HeaderExtractor(&headers));
        let mut injected = HeaderMap::new();
        propagator.inject_context(&first, &mut HeaderInjector(&mut injected));
        let second = propagator.extract(&HeaderExtractor(&injected));
        assert_eq!(
            mesh_facts(&first),
            mesh_facts(&second),
            "mesh: a context did not survive inject and extract; headers written: {injected:?}"
        );
    }
}

/// What a single-format propagator reads into a context.
#[derive(Debug, PartialEq)]
struct Facts {
    span_context: SpanContext,
    hint: Option<SamplingHint>,
    xray: Option<XRayFields>,
}

fn facts(cx: &Context) -> Facts {
    Facts {
        span_context: cx.span().span_context().clone(),
        hint: sampling_hint(cx),
        xray: xray_fields(cx).cloned(),
    }
}

/// What a [`MeshPropagator`] reads into a context, less the format-specific sampling facts.
#[derive(Debug, PartialEq)]
struct MeshFacts {
    span_context: SpanContext,
    baggage: Vec<(String, String, String)>,
    /// `x-request-id` and the trace reason it carries: what the composite passes on (`x-client-trace-id` and
    /// `x-envoy-force-trace` are requests from the edge, for the first hop only).
    envoy: Option<(String, Option<EnvoyTraceReason>)>,
}

fn mesh_facts(cx: &Context) -> MeshFacts {
    let mut baggage: Vec<(String, String, String)> = cx
        .baggage()
        .iter()
        .map(|(key, (value, metadata))| {
            (
                key.as_str().to_owned(),
                value.as_str().to_owned(),
                metadata.as_str().to_owned(),
            )
        })
        .collect();
    baggage.sort();
    MeshFacts {
        span_context: cx.span().span_context().clone(),
        baggage,
        envoy: envoy_request(cx)
            .and_then(|request| Some((request.request_id.clone()?, request.trace_reason))),
    }
}

fn round_trip(name: &str, propagator: &dyn TextMapPropagator, headers: &HeaderMap) {
    let first = propagator.extract(&HeaderExtractor(headers));
    let read = facts(&first);
    let mut injected = HeaderMap::new();
    propagator.inject_context(&first, &mut HeaderInjector(&mut injected));
    if !read.span_context.is_valid() && read.hint.is_none() {
        return;
    }
    let second = propagator.extract(&HeaderExtractor(&injected));
    assert_eq!(
        read,
        facts(&second),
        "{name}: a context did not survive inject and extract; headers written: {injected:?}"
    );
}

/// HTTP headers from fuzz input: one `name: value` a line, spaces and tabs around the value dropped, as an
/// HTTP parser does. Lines without a colon, and names or values HTTP does not allow, are left out; a name
/// given twice keeps both values, as a repeated header does.
pub fn headers(data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|byte| *byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|byte| *byte == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(trim(name)),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

fn trim(bytes: &[u8]) -> &[u8] {
    let is_space = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |end| end + 1);
    &bytes[start..end]
}
