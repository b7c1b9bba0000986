//! Envoy's request headers: `x-request-id` (with the trace-reason nibble), `x-client-trace-id` and
//! `x-envoy-force-trace`
//! (<https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/observability/tracing>).
//!
//! None of them carries span IDs, so this propagator never sets a span context; it records an
//! [`EnvoyRequest`] beside whatever another format extracted. Envoy decides sampling from the UUID's
//! version nibble (position 14), so `x-request-id` must reach the next hop byte for byte; the
//! other two headers are edge inputs that Envoy consumes, so they are read but not re-sent.

use std::sync::OnceLock;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
};

use crate::context::{EnvoyRequest, EnvoyTraceReason, envoy_request};
use crate::headers::single;

const REQUEST_ID: &str = "x-request-id";
const CLIENT_TRACE_ID: &str = "x-client-trace-id";
const FORCE_TRACE: &str = "x-envoy-force-trace";
const UUID_LENGTH: usize = 36;
const TRACE_BYTE_POSITION: usize = 14;

/// Envoy request-ID propagator (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct EnvoyPropagator {
    _private: (),
}

impl EnvoyPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Reads the trace reason Envoy packed into a UUID `x-request-id`; `None` when it is not a UUID
/// (Envoy then treats the request as not traceable by reason, and so do we).
pub fn trace_reason(request_id: &str) -> Option<EnvoyTraceReason> {
    let bytes = request_id.as_bytes();
    let is_uuid = bytes.len() == UUID_LENGTH
        && bytes.iter().enumerate().all(|(index, &b)| match index {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    if !is_uuid {
        return None;
    }
    match bytes.get(TRACE_BYTE_POSITION)? {
        b'9' => Some(EnvoyTraceReason::Sampled),
        b'a' => Some(EnvoyTraceReason::Forced),
        b'b' => Some(EnvoyTraceReason::Client),
        _ => Some(EnvoyTraceReason::NotTraced),
    }
}

/// Reads the Envoy headers; `None` when none of them is present.
pub(crate) fn parse(extractor: &dyn Extractor) -> Option<EnvoyRequest> {
    let text = |key| {
        single(extractor, key)
            .map(|value| value.trim_matches([' ', '\t']))
            .filter(|v| !v.is_empty())
    };
    let request_id = text(REQUEST_ID);
    let client_trace_id = text(CLIENT_TRACE_ID);
    let force_trace = extractor.get(FORCE_TRACE).is_some();
    if request_id.is_none() && client_trace_id.is_none() && !force_trace {
        return None;
    }
    Some(EnvoyRequest {
        request_id: request_id.map(str::to_owned),
        trace_reason: request_id.and_then(trace_reason),
        client_trace_id: client_trace_id.map(str::to_owned),
        force_trace,
    })
}

impl TextMapPropagator for EnvoyPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if let Some(request_id) = envoy_request(cx).and_then(|request| request.request_id.clone()) {
            injector.set(REQUEST_ID, request_id);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match parse(extractor) {
            Some(request) => cx.with_value(request),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: OnceLock<[String; 3]> = OnceLock::new();
        FieldIter::new(
            FIELDS.get_or_init(|| [REQUEST_ID, CLIENT_TRACE_ID, FORCE_TRACE].map(str::to_owned)),
        )
    }
}
