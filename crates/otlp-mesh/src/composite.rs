//! A propagator that reads several formats in a configured order and writes a configured set.

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::TraceContextExt,
};

use crate::context::{ExtractedFrom, sampling_hint};
use crate::w3c::BaggagePropagator;
use crate::{
    B3Encoding, B3Propagator, EnvoyPropagator, JaegerPropagator, LinkerdPropagator,
    OpenCensusPropagator, TraceStatePolicy, W3cTraceContextPropagator, XRayPropagator,
};

/// A trace-context header format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// W3C `traceparent`/`tracestate`.
    TraceContext,
    /// Zipkin B3, single and multi header.
    B3,
    /// AWS X-Ray `X-Amzn-Trace-Id`.
    XRay,
    /// Jaeger `uber-trace-id`.
    Jaeger,
    /// OpenCensus `grpc-trace-bin`.
    OpenCensus,
    /// Linkerd 1.x `l5d-ctx-trace`.
    Linkerd,
}

impl Format {
    /// Every format, in the default extraction precedence.
    pub const ALL: [Format; 6] = [
        Format::TraceContext,
        Format::B3,
        Format::XRay,
        Format::Jaeger,
        Format::OpenCensus,
        Format::Linkerd,
    ];

    /// The name used by `OTEL_PROPAGATORS` where one exists, and for the
    /// `mesh.propagation.format` span attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::TraceContext => "tracecontext",
            Format::B3 => "b3",
            Format::XRay => "xray",
            Format::Jaeger => "jaeger",
            Format::OpenCensus => "opencensus",
            Format::Linkerd => "linkerd",
        }
    }
}

type BoxedPropagator = Box<dyn TextMapPropagator + Send + Sync>;

/// Extracts from the first format in the precedence list that yields a valid span context, injects
/// every configured format, and always carries W3C baggage and Envoy's `x-request-id` alongside.
///
/// W3C Trace Context is this crate's Level 2 [`W3cTraceContextPropagator`]; W3C Baggage is
/// `opentelemetry_sdk`'s propagator.
#[derive(Debug)]
pub struct MeshPropagator {
    extract: Vec<(Format, BoxedPropagator)>,
    inject: Vec<BoxedPropagator>,
    baggage: Option<BaggagePropagator>,
    envoy: Option<EnvoyPropagator>,
    fields: Vec<String>,
}

/// Builds a [`MeshPropagator`].
#[derive(Clone, Debug)]
pub struct MeshPropagatorBuilder {
    precedence: Vec<Format>,
    inject: Vec<Format>,
    b3_encoding: B3Encoding,
    tracestate_policy: TraceStatePolicy,
    baggage: bool,
    envoy: bool,
}

impl Default for MeshPropagatorBuilder {
    fn default() -> Self {
        Self {
            precedence: Format::ALL.to_vec(),
            inject: vec![Format::TraceContext, Format::B3],
            b3_encoding: B3Encoding::Multi,
            tracestate_policy: TraceStatePolicy::default(),
            baggage: true,
            envoy: true,
        }
    }
}

impl MeshPropagatorBuilder {
    /// The formats to read, highest precedence first (default: [`Format::ALL`]). Duplicates are
    /// ignored.
    pub fn precedence(mut self, formats: impl IntoIterator<Item = Format>) -> Self {
        self.precedence = dedup(formats);
        self
    }

    /// The formats to write (default: W3C Trace Context and B3).
    pub fn inject(mut self, formats: impl IntoIterator<Item = Format>) -> Self {
        self.inject = dedup(formats);
        self
    }

    /// Which B3 headers to write (default: multi).
    pub fn b3_encoding(mut self, encoding: B3Encoding) -> Self {
        self.b3_encoding = encoding;
        self
    }

    /// What the W3C propagator does with invalid `tracestate` lists (default:
    /// [`TraceStatePolicy::PerMember`]).
    pub fn w3c_tracestate_policy(mut self, policy: TraceStatePolicy) -> Self {
        self.tracestate_policy = policy;
        self
    }

    /// Whether to carry W3C `baggage` (default: yes).
    pub fn baggage(mut self, enabled: bool) -> Self {
        self.baggage = enabled;
        self
    }

    /// Whether to read Envoy's request headers and pass `x-request-id` on (default: yes).
    pub fn envoy(mut self, enabled: bool) -> Self {
        self.envoy = enabled;
        self
    }

    /// Builds the propagator.
    pub fn build(self) -> MeshPropagator {
        let make = |format: Format| -> BoxedPropagator {
            match format {
                Format::TraceContext => Box::new(
                    W3cTraceContextPropagator::with_tracestate_policy(self.tracestate_policy),
                ),
                Format::B3 => Box::new(B3Propagator::new(self.b3_encoding)),
                Format::XRay => Box::new(XRayPropagator::new()),
                Format::Jaeger => Box::new(JaegerPropagator::new()),
                Format::OpenCensus => Box::new(OpenCensusPropagator::new()),
                Format::Linkerd => Box::new(LinkerdPropagator::new()),
            }
        };
        let extract: Vec<(Format, BoxedPropagator)> = self
            .precedence
            .iter()
            .map(|&format| (format, make(format)))
            .collect();
        let inject: Vec<BoxedPropagator> = self.inject.iter().map(|&format| make(format)).collect();
        let baggage = self.baggage.then(BaggagePropagator::new);
        let envoy = self.envoy.then(EnvoyPropagator::new);
        let mut fields: Vec<String> = Vec::new();
        let all_fields = extract
            .iter()
            .flat_map(|(_, propagator)| propagator.fields())
            .chain(inject.iter().flat_map(|propagator| propagator.fields()))
            .chain(baggage.iter().flat_map(|propagator| propagator.fields()))
            .chain(envoy.iter().flat_map(|propagator| propagator.fields()));
        for field in all_fields {
            if !fields.iter().any(|known| known == field) {
                fields.push(field.to_owned());
            }
        }
        MeshPropagator {
            extract,
            inject,
            baggage,
            envoy,
            fields,
        }
    }
}

fn dedup(formats: impl IntoIterator<Item = Format>) -> Vec<Format> {
    let mut unique = Vec::new();
    for format in formats {
        if !unique.contains(&format) {
            unique.push(format);
        }
    }
    unique
}

impl MeshPropagator {
    /// A builder with the defaults described on its methods.
    pub fn builder() -> MeshPropagatorBuilder {
        MeshPropagatorBuilder::default()
    }
}

impl Default for MeshPropagator {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl TextMapPropagator for MeshPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        for propagator in &self.inject {
            propagator.inject_context(cx, injector);
        }
        if let Some(baggage) = &self.baggage {
            baggage.inject_context(cx, injector);
        }
        if let Some(envoy) = &self.envoy {
            envoy.inject_context(cx, injector);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let before = cx.span();
        let before = before.span_context();
        let mut decision_only = None;
        let mut chosen = None;
        for (format, propagator) in &self.extract {
            let extracted = propagator.extract_with_context(cx, extractor);
            let found = {
                let span = extracted.span();
                let span_context = span.span_context();
                span_context.is_valid() && span_context != before
            };
            if found {
                chosen = Some(extracted.with_value(ExtractedFrom(*format)));
                break;
            }
            if decision_only.is_none() && sampling_hint(&extracted).is_some() {
                decision_only = Some(extracted);
            }
        }
        let mut result = chosen.or(decision_only).unwrap_or_else(|| cx.clone());
        if let Some(baggage) = &self.baggage {
            result = baggage.extract_with_context(&result, extractor);
        }
        if let Some(envoy) = &self.envoy {
            result = envoy.extract_with_context(&result, extractor);
        }
        result
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}
