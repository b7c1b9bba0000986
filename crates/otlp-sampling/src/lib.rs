//! ```
//! use std::time::{Duration, Instant};
//!
//! use opentelemetry::trace::{SpanKind, TraceId};
//! use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
//! use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
//! use otlp_sampling::head::{ConsistentProbabilitySampler, parent_based};
//! use otlp_sampling::tail::{TailSampler, TailSamplingConfig};
//!
//! // Head: a 25% consistent-probability sampler behind the SDK's parent-based sampler.
//! let sampler = parent_based(ConsistentProbabilitySampler::new(0.25)?);
//! let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736")?;
//! let result = sampler.should_sample(None, trace_id, "GET /", &SpanKind::Server, &[], &[]);
//! // The low 56 bits of this trace ID (0xce929d0e0e4736) are above the 25% threshold
//! // (0xc0000000000000), so it is kept and `th` records the probability.
//! assert_eq!(result.decision, SamplingDecision::RecordAndSample);
//! assert_eq!(result.trace_state.get("ot"), Some("th:c"));
//!
//! // Tail: the collector's `tail_sampling` block, parsed verbatim.
//! let config: TailSamplingConfig = serde_json::from_str(r#"{
//!     "decision_wait": "10s",
//!     "policies": [{"name": "errors", "type": "status_code",
//!                   "status_code": {"status_codes": ["ERROR"]}}]
//! }"#)?;
//! let mut engine = TailSampler::new(config)?;
//! let failed = Span {
//!     trace_id: vec![7; 16],
//!     span_id: vec![1; 8],
//!     status: Some(Status { code: 2, ..Default::default() }), // STATUS_CODE_ERROR
//!     ..Default::default()
//! };
//! let batch = vec![ResourceSpans {
//!     scope_spans: vec![ScopeSpans { spans: vec![failed], ..Default::default() }],
//!     ..Default::default()
//! }];
//! let start = Instant::now();
//! assert_eq!(engine.ingest(batch, start).released_spans, 0); // buffered until decided
//! let decided = engine.tick(start + Duration::from_secs(10));
//! assert_eq!((decided.sampled_traces, decided.released_spans), (1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sampling for OpenTelemetry traces, in the SDK (head) and in the collector (tail).
//!
//! * [`consistent`] — the specification's consistent probability sampling: thresholds
//!   (`th`), randomness (`rv`), the `ot` tracestate entry, with its validation rules.
//! * [`head`] — samplers implementing `opentelemetry_sdk::trace::ShouldSample`: fixed
//!   ratio ([`head::ConsistentProbabilitySampler`]), rules ([`head::RuleSampler`]),
//!   per-operation rate targets ([`head::AdaptiveSampler`]), a hard rate cap
//!   ([`head::RateLimitedSampler`]), an online anomaly model
//!   ([`head::AnomalySampler`]) and combinations ([`head::CompositeSampler`]); compose
//!   with the SDK's `ParentBasedSampler` via [`head::parent_based`].
//! * [`tail`] — otelcol's `tail_sampling` processor as a library: the YAML config types
//!   and the [`tail::TailSampler`] engine over OTLP `ResourceSpans`.
//! * [`probabilistic`] — otelcol's `probabilistic_sampler` processor logic (`hash_seed`,
//!   `proportional`, `equalizing`) for spans and log records.
//! * [`randomness`] — where a consistent decision's randomness comes from (`rv`, else the trace
//!   ID, marked random by W3C Trace Context Level 2's flag or presumed), and the metric that counts
//!   presumptions.
//! * [`shed`] — load shedding that keeps every error span: consistent sampling at a threshold
//!   a load controller moves (otlp-control's degradation levels, applied by the collector).
//!
//! Everything rate- or time-based takes time from the caller ([`clock::Clock`] for head
//! samplers, an `Instant` argument for the tail engine), so tests run on simulated time.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod clock;
pub mod consistent;
pub mod duration;
mod error;
pub mod head;
pub mod probabilistic;
pub mod randomness;
pub mod shed;
pub mod tail;

pub use error::{Error, Result};

/// The OTLP types the samplers take (spans, requests), at the version this crate was built with.
pub use opentelemetry_proto;

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
