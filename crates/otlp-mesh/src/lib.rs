//! Trace-context propagation for service meshes, and mesh-aware spans.
//!
//! A trace breaks wherever two hops disagree on the header format. This crate reads and writes the
//! formats found behind Envoy, Istio and Linkerd, all as
//! [`opentelemetry::propagation::TextMapPropagator`]s:
//!
//! | format | propagator | headers |
//! |---|---|---|
//! | W3C Trace Context Level 2 | [`W3cTraceContextPropagator`] | `traceparent`, `tracestate` |
//! | Zipkin B3 | [`B3Propagator`] | `b3`, `X-B3-*` |
//! | AWS X-Ray | [`XRayPropagator`] | `X-Amzn-Trace-Id` |
//! | Jaeger | [`JaegerPropagator`] | `uber-trace-id` |
//! | OpenCensus | [`OpenCensusPropagator`] | `grpc-trace-bin` |
//! | Linkerd 1.x | [`LinkerdPropagator`] | `l5d-ctx-trace` |
//! | Envoy | [`EnvoyPropagator`] | `x-request-id`, `x-client-trace-id`, `x-envoy-force-trace` |
//!
//! [`MeshPropagator`] combines them with a configurable precedence and carries W3C Baggage
//! (`opentelemetry_sdk`'s propagator) alongside. [`MeshTraceLayer`] is a tower layer that extracts
//! or injects context and records Envoy/Linkerd facts, rollout labels and the mTLS peer identity.
//!
//! The W3C propagator implements Trace Context Level 2: the `random-trace-id` flag
//! ([`RANDOM_TRACE_ID`]) is read, kept and sent, `tracestate` keys follow the Level 2 grammar, and
//! invalid `tracestate` members are dropped one by one or the list as a whole
//! ([`TraceStatePolicy`]); the [`w3c`] module docs list every rule with the sentence of the
//! specification it rests on. The layer keeps the flag on spans the
//! SDK starts and marks new root spans ([`MeshTraceLayer::with_random_trace_ids`]).
//!
//! ```
//! use std::collections::HashMap;
//! use opentelemetry::propagation::TextMapPropagator;
//! use opentelemetry::trace::TraceContextExt;
//! use otlp_mesh::{Format, MeshPropagator, SamplingHint, sampling_hint};
//!
//! // An Envoy (Zipkin tracer) hop sent B3 without a sampling decision.
//! let mut incoming = HashMap::new();
//! incoming.insert("x-b3-traceid".to_owned(), "463ac35c9f6413ad48485a3953bb6124".to_owned());
//! incoming.insert("x-b3-spanid".to_owned(), "a2fb4a1d1a96d312".to_owned());
//!
//! let propagator = MeshPropagator::builder()
//!     .precedence([Format::TraceContext, Format::B3, Format::XRay])
//!     .inject([Format::TraceContext, Format::XRay])
//!     .build();
//! let cx = propagator.extract(&incoming);
//! assert_eq!(
//!     cx.span().span_context().trace_id().to_string(),
//!     "463ac35c9f6413ad48485a3953bb6124"
//! );
//! // "Deferred" is kept beside the span context, not in the W3C flags.
//! assert_eq!(sampling_hint(&cx), Some(SamplingHint::Deferred));
//!
//! let mut outgoing = HashMap::new();
//! propagator.inject_context(&cx, &mut outgoing);
//! assert_eq!(
//!     outgoing["traceparent"],
//!     "00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-00"
//! );
//! assert_eq!(
//!     outgoing["x-amzn-trace-id"],
//!     "Root=1-463ac35c-9f6413ad48485a3953bb6124;Parent=a2fb4a1d1a96d312;Sampled=?"
//! );
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod attributes;
mod b3;
mod composite;
mod context;
mod envoy;
mod error;
mod flagged_span;
mod headers;
mod ids;
mod jaeger;
mod layer;
mod linkerd;
mod opencensus;
mod peer;
mod resource;
pub mod w3c;
mod xray;

pub use attributes::MeshLabels;
pub use b3::{B3Encoding, B3Propagator};
pub use composite::{Format, MeshPropagator, MeshPropagatorBuilder};
pub use context::{
    Decision, EnvoyRequest, EnvoyTraceReason, SamplingHint, XRayFields, envoy_request,
    extracted_from, sampling_hint, with_sampling_hint, xray_fields,
};
pub use envoy::{EnvoyPropagator, trace_reason};
pub use error::Error;
pub use headers::{HeaderExtractor, HeaderInjector};
pub use jaeger::JaegerPropagator;
pub use layer::{MeshRoute, MeshTraceFuture, MeshTraceLayer, MeshTraceService, RouteResolver};
pub use linkerd::LinkerdPropagator;
pub use opencensus::OpenCensusPropagator;
pub use peer::PeerIdentity;
pub use resource::MeshResourceDetector;
pub use w3c::{BaggagePropagator, RANDOM_TRACE_ID, TraceStatePolicy, W3cTraceContextPropagator};
pub use xray::XRayPropagator;

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
