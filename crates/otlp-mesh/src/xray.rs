//! AWS X-Ray `X-Amzn-Trace-Id`
//! (<https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader>).

use std::sync::OnceLock;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState},
};

use crate::Error;
use crate::context::{
    Decision, Extracted, SamplingHint, XRayFields, outgoing_decision, xray_fields,
};
use crate::headers::single;
use crate::ids::{HexCase, is_hex, span_id};

const HEADER: &str = "x-amzn-trace-id";

/// X-Ray propagator. `Sampled=?` (or no `Sampled`) becomes [`SamplingHint::Deferred`]; `Self`,
/// `Lineage` and unknown keys are kept in [`XRayFields`] and written back on injection.
#[derive(Clone, Debug, Default)]
pub struct XRayPropagator {
    _private: (),
}

impl XRayPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Parses `Root=1-{8 hex}-{24 hex}` into a trace ID.
fn root(value: &str) -> Result<TraceId, Error> {
    let mut parts = value.split('-');
    let (Some("1"), Some(epoch), Some(unique), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::malformed(
            HEADER,
            format!("Root `{value}` is not 1-<8 hex>-<24 hex>"),
        ));
    };
    if epoch.len() != 8
        || unique.len() != 24
        || !is_hex(epoch, HexCase::Any)
        || !is_hex(unique, HexCase::Any)
    {
        return Err(Error::malformed(
            HEADER,
            format!("Root `{value}` is not 1-<8 hex>-<24 hex>"),
        ));
    }
    let (Ok(epoch), Ok(unique)) = (
        u32::from_str_radix(epoch, 16),
        u128::from_str_radix(unique, 16),
    ) else {
        return Err(Error::malformed(
            HEADER,
            format!("Root `{value}` is not hex"),
        ));
    };
    let trace = (u128::from(epoch) << 96) | unique;
    if trace == 0 {
        return Err(Error::malformed(HEADER, "Root trace ID is all zeros"));
    }
    Ok(TraceId::from(trace))
}

/// Parses an `X-Amzn-Trace-Id` value into the span context and the fields to keep.
pub(crate) fn parse(value: &str) -> Result<(Extracted, XRayFields), Error> {
    let mut trace_id = None;
    let mut parent = None;
    let mut decision = None;
    let mut fields = XRayFields {
        trace_id: TraceId::INVALID,
        self_id: None,
        lineage: None,
        other: Vec::new(),
    };
    for part in value.split(';') {
        let part = part.trim_matches([' ', '\t']);
        if part.is_empty() {
            continue;
        }
        let (key, field) = part
            .split_once('=')
            .ok_or_else(|| Error::malformed(HEADER, format!("`{part}` is not key=value")))?;
        let repeated = |name: &str| Error::malformed(HEADER, format!("{name} appears twice"));
        match key {
            "Root" => {
                if trace_id.replace(root(field)?).is_some() {
                    return Err(repeated("Root"));
                }
            }
            "Parent" => {
                let id = (field.len() == 16)
                    .then(|| span_id(field, HexCase::Any))
                    .flatten()
                    .ok_or_else(|| {
                        Error::malformed(HEADER, format!("Parent `{field}` is not 16 hex digits"))
                    })?;
                if parent.replace(id).is_some() {
                    return Err(repeated("Parent"));
                }
            }
            "Sampled" => {
                let value = match field {
                    "1" => Some(Decision::Accept),
                    "0" => Some(Decision::Deny),
                    "?" => None,
                    other => {
                        return Err(Error::malformed(
                            HEADER,
                            format!("Sampled `{other}` is not 1, 0 or ?"),
                        ));
                    }
                };
                if decision.replace(value).is_some() {
                    return Err(repeated("Sampled"));
                }
            }
            "Self" => fields.self_id = Some(field.to_owned()),
            "Lineage" => fields.lineage = Some(field.to_owned()),
            "" => return Err(Error::malformed(HEADER, "empty key")),
            other => fields.other.push((other.to_owned(), field.to_owned())),
        }
    }
    let trace_id = trace_id.ok_or_else(|| Error::malformed(HEADER, "no Root"))?;
    let parent = parent.ok_or_else(|| Error::malformed(HEADER, "no Parent"))?;
    fields.trace_id = trace_id;
    let (flags, hint) = match decision.flatten() {
        Some(Decision::Accept | Decision::Debug) => (TraceFlags::SAMPLED, None),
        Some(Decision::Deny) => (TraceFlags::default(), None),
        None => (TraceFlags::default(), Some(SamplingHint::Deferred)),
    };
    let span_context = SpanContext::new(trace_id, parent, flags, true, TraceState::default());
    Ok((Extracted::Span(span_context, hint), fields))
}

/// Formats the header for the span in `cx`, or `None` when it has no valid span.
pub(crate) fn format(cx: &Context) -> Option<String> {
    let span = cx.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    let trace = format!("{:032x}", span_context.trace_id());
    let (epoch, unique) = trace.split_at(8);
    let sampled = match outgoing_decision(cx) {
        Some(Decision::Accept | Decision::Debug) => "1",
        Some(Decision::Deny) => "0",
        None => "?",
    };
    let mut value = format!(
        "Root=1-{epoch}-{unique};Parent={:016x};Sampled={sampled}",
        span_context.span_id()
    );
    if let Some(fields) = xray_fields(cx) {
        if let Some(self_id) = &fields.self_id {
            value.push_str(";Self=");
            value.push_str(self_id);
        }
        if let Some(lineage) = &fields.lineage {
            value.push_str(";Lineage=");
            value.push_str(lineage);
        }
        for (key, field) in &fields.other {
            value.push(';');
            value.push_str(key);
            value.push('=');
            value.push_str(field);
        }
    }
    Some(value)
}

impl TextMapPropagator for XRayPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if let Some(value) = format(cx) {
            injector.set(HEADER, value);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match single(extractor, HEADER).map(parse) {
            Some(Ok((extracted, fields))) => {
                let has_fields = fields.self_id.is_some()
                    || fields.lineage.is_some()
                    || !fields.other.is_empty();
                // Storing an empty value would cost a context copy on every request for nothing.
                if has_fields {
                    extracted.apply(cx).with_value(fields)
                } else {
                    extracted.apply(cx)
                }
            }
            _ => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: OnceLock<[String; 1]> = OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| [HEADER.to_owned()]))
    }
}
