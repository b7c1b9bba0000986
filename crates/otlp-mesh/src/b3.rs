//! Zipkin B3 propagation, single (`b3`) and multi (`X-B3-*`) header
//! (<https://github.com/openzipkin/b3-propagation>).

use std::sync::OnceLock;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, TraceContextExt, TraceFlags, TraceState},
};

use crate::Error;
use crate::context::{Decision, Extracted, SamplingHint, outgoing_decision};
use crate::headers::single;
use crate::ids::{HexCase, span_id, trace_id};

const B3: &str = "b3";
const TRACE_ID: &str = "x-b3-traceid";
const SPAN_ID: &str = "x-b3-spanid";
const PARENT_SPAN_ID: &str = "x-b3-parentspanid";
const SAMPLED: &str = "x-b3-sampled";
const FLAGS: &str = "x-b3-flags";

/// Which B3 headers [`B3Propagator`] writes. Extraction always reads both, the single header first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum B3Encoding {
    /// `b3: {trace}-{span}-{state}`.
    Single,
    /// `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled` / `X-B3-Flags`.
    #[default]
    Multi,
    /// Both, for meshes where some hops only read one of them.
    SingleAndMulti,
}

/// B3 propagator. Reads 64- and 128-bit trace IDs, the debug flag, decision-only headers (`b3: 0`),
/// and the legacy `true`/`false` sampled values; when the single header is present and valid it wins
/// over the multi headers.
#[derive(Clone, Debug, Default)]
pub struct B3Propagator {
    encoding: B3Encoding,
}

impl B3Propagator {
    /// A propagator that writes `encoding`.
    pub fn new(encoding: B3Encoding) -> Self {
        Self { encoding }
    }
}

fn decision_from_single(state: &str) -> Result<Decision, Error> {
    match state {
        "0" => Ok(Decision::Deny),
        "1" => Ok(Decision::Accept),
        "d" => Ok(Decision::Debug),
        other => Err(Error::malformed(
            B3,
            format!("sampling state `{other}` is not 0, 1 or d"),
        )),
    }
}

fn b3_trace_id(value: &str, header: &'static str) -> Result<opentelemetry::trace::TraceId, Error> {
    if value.len() != 16 && value.len() != 32 {
        return Err(Error::malformed(
            header,
            "trace ID must be 16 or 32 lower-hex characters",
        ));
    }
    trace_id(value, HexCase::Lower)
        .ok_or_else(|| Error::malformed(header, "trace ID is not non-zero lower-case hex"))
}

fn b3_span_id(value: &str, header: &'static str) -> Result<opentelemetry::trace::SpanId, Error> {
    if value.len() != 16 {
        return Err(Error::malformed(
            header,
            "span ID must be 16 lower-hex characters",
        ));
    }
    span_id(value, HexCase::Lower)
        .ok_or_else(|| Error::malformed(header, "span ID is not non-zero lower-case hex"))
}

fn span(
    trace_id: opentelemetry::trace::TraceId,
    span_id: opentelemetry::trace::SpanId,
    decision: Option<Decision>,
) -> Extracted {
    let (flags, hint) = match decision {
        None => (TraceFlags::default(), Some(SamplingHint::Deferred)),
        Some(Decision::Deny) => (TraceFlags::default(), None),
        Some(Decision::Accept) => (TraceFlags::SAMPLED, None),
        Some(Decision::Debug) => (TraceFlags::SAMPLED, Some(SamplingHint::Debug)),
    };
    Extracted::Span(
        SpanContext::new(trace_id, span_id, flags, true, TraceState::default()),
        hint,
    )
}

/// Parses a `b3` single-header value.
pub(crate) fn parse_single(value: &str) -> Result<Extracted, Error> {
    let value = value.trim_matches([' ', '\t']);
    let parts: Vec<&str> = value.split('-').collect();
    match parts.as_slice() {
        [state] => Ok(Extracted::DecisionOnly(decision_from_single(state)?)),
        [trace, span_part, rest @ ..] if rest.len() <= 2 => {
            let trace_id = b3_trace_id(trace, B3)?;
            let span_id = b3_span_id(span_part, B3)?;
            let decision = match rest.first() {
                Some(state) => Some(decision_from_single(state)?),
                None => None,
            };
            if let Some(parent) = rest.get(1) {
                b3_span_id(parent, B3)?;
            }
            Ok(span(trace_id, span_id, decision))
        }
        _ => Err(Error::malformed(
            B3,
            "expected {trace}-{span}[-{state}[-{parent}]] or a bare state",
        )),
    }
}

fn sampled_multi(value: &str) -> Result<bool, Error> {
    match value.trim_matches([' ', '\t']) {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        other => Err(Error::malformed(
            SAMPLED,
            format!("`{other}` is not 1, 0, true or false"),
        )),
    }
}

/// `X-B3-Flags: 1` means debug. Any other value is ignored rather than fatal, as in
/// opentelemetry-rust's and Brave's B3 readers: the flag is advisory.
fn debug_multi(extractor: &dyn Extractor) -> bool {
    single(extractor, FLAGS).map(|value| value.trim_matches([' ', '\t'])) == Some("1")
}

/// Parses the `X-B3-*` headers.
pub(crate) fn parse_multi(extractor: &dyn Extractor) -> Result<Extracted, Error> {
    let debug = debug_multi(extractor);
    let sampled = single(extractor, SAMPLED).map(sampled_multi).transpose()?;
    let decision = match (debug, sampled) {
        (true, _) => Some(Decision::Debug),
        (false, Some(true)) => Some(Decision::Accept),
        (false, Some(false)) => Some(Decision::Deny),
        (false, None) => None,
    };
    let trace = single(extractor, TRACE_ID);
    let span_value = single(extractor, SPAN_ID);
    match (trace, span_value, decision) {
        (None, None, Some(decision)) => Ok(Extracted::DecisionOnly(decision)),
        (Some(trace), Some(span_value), decision) => {
            let trace_id = b3_trace_id(trace.trim_matches([' ', '\t']), TRACE_ID)?;
            let span_id = b3_span_id(span_value.trim_matches([' ', '\t']), SPAN_ID)?;
            if let Some(parent) = single(extractor, PARENT_SPAN_ID) {
                b3_span_id(parent.trim_matches([' ', '\t']), PARENT_SPAN_ID)?;
            }
            Ok(span(trace_id, span_id, decision))
        }
        _ => Err(Error::malformed(
            TRACE_ID,
            "X-B3-TraceId and X-B3-SpanId must come together",
        )),
    }
}

/// Reads B3 from `extractor`: a valid single header first, then the multi headers.
pub(crate) fn extract(extractor: &dyn Extractor) -> Result<Extracted, Error> {
    match single(extractor, B3).map(parse_single) {
        Some(Ok(extracted)) => Ok(extracted),
        Some(Err(single_error)) => parse_multi(extractor).map_err(|_| single_error),
        None => parse_multi(extractor),
    }
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        let decision = outgoing_decision(cx);
        let single_header = matches!(
            self.encoding,
            B3Encoding::Single | B3Encoding::SingleAndMulti
        );
        let multi_header = matches!(
            self.encoding,
            B3Encoding::Multi | B3Encoding::SingleAndMulti
        );
        let state = |decision: Decision| match decision {
            Decision::Deny => "0",
            Decision::Accept => "1",
            Decision::Debug => "d",
        };
        if !span_context.is_valid() {
            // Only a decision-only hint is worth sending without IDs.
            let Some(SamplingHint::DecisionOnly(decision)) = crate::context::sampling_hint(cx)
            else {
                return;
            };
            if single_header {
                injector.set(B3, state(decision).to_owned());
            }
            if multi_header {
                inject_multi_decision(injector, Some(decision));
            }
            return;
        }
        let trace = format!("{:032x}", span_context.trace_id());
        let span_hex = format!("{:016x}", span_context.span_id());
        if single_header {
            let value = match decision {
                Some(decision) => format!("{trace}-{span_hex}-{}", state(decision)),
                None => format!("{trace}-{span_hex}"),
            };
            injector.set(B3, value);
        }
        if multi_header {
            injector.set(TRACE_ID, trace);
            injector.set(SPAN_ID, span_hex);
            inject_multi_decision(injector, decision);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extract(extractor) {
            Ok(extracted) => extracted.apply(cx),
            Err(_) => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: OnceLock<Vec<String>> = OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| {
            [B3, TRACE_ID, SPAN_ID, PARENT_SPAN_ID, SAMPLED, FLAGS]
                .map(str::to_owned)
                .to_vec()
        }))
    }
}

fn inject_multi_decision(injector: &mut dyn Injector, decision: Option<Decision>) {
    match decision {
        // Debug implies accept, and the spec says not to send X-B3-Sampled alongside it.
        Some(Decision::Debug) => injector.set(FLAGS, "1".to_owned()),
        Some(Decision::Accept) => injector.set(SAMPLED, "1".to_owned()),
        Some(Decision::Deny) => injector.set(SAMPLED, "0".to_owned()),
        None => {}
    }
}
