//! W3C Trace Context Level 2 (Candidate Recommendation, <https://www.w3.org/TR/trace-context-2/>):
//! `traceparent` with the `random-trace-id` flag, and `tracestate` handled member by member.
//!
//! The propagator parses and writes both headers itself rather than through `opentelemetry_sdk`'s
//! `TraceContextPropagator`, which is Level 1 only (it clears the random flag), lenient where the
//! specification is strict (it takes `0-…` versions and short IDs, since `from_str_radix` accepts
//! any length and a leading `+`) and all-or-nothing where the specification lets a receiver keep
//! the valid part of a list. Each rule, with the sentence it rests on (section names are those of
//! Level 2; "§4.3" is "A traceparent is Received" in the processing model):
//!
//! **`traceparent`**
//! - *Shape* ("traceparent Header Field Values", "Versioning of traceparent"): two lower-case hex
//!   digits of version, not `ff`; version `00` exactly 55 characters; a higher version is parsed by
//!   the same offsets and its flags must be "either at the end of the string or followed by a
//!   dash"; `trace-id` and `parent-id` lower-case hex and not all zeros ("vendors MUST ignore the
//!   `traceparent`"). Spaces and tabs around the value are ignored. Anything else restarts the trace.
//! - *Repeated header*: `traceparent` is not a list, so two fields cannot be combined (RFC 9110
//!   §5.3) and it is ambiguous which one to trust; both are ignored and the trace restarts, as the
//!   W3C test suite's `test_traceparent_duplicated` expects.
//! - *Random flag* ("Random Trace ID Flag"): bit `0x02` is read, kept in the span context's
//!   [`TraceFlags`](opentelemetry::trace::TraceFlags) ([`RANDOM_TRACE_ID`]) and written back: "A
//!   participant that continues a trace started upstream … MUST set the `random-trace-id` flag …
//!   to the same value that was found in the incoming `traceparent` header." (The tower layer keeps
//!   it on spans the SDK starts, which would otherwise lose it; see [`crate::MeshTraceLayer`].)
//! - *Other flags* ("Other Flags"): "Vendors MUST set those to zero", so bits above `0x02` are
//!   neither kept nor written; a higher version's header is written back as version `00`.
//!
//! **`tracestate`**
//! - *Only after a valid `traceparent`*: "If the vendor failed to parse `traceparent`, it MUST NOT
//!   attempt to parse `tracestate`."
//! - *Several fields* ("tracestate Header Field Values"): "When receiving multiple `tracestate`
//!   header fields, they MUST be combined into a single header", in order. Empty and
//!   whitespace-only members are skipped ("Vendors MUST accept empty `tracestate` headers but SHOULD
//!   avoid sending them"), and an empty list is not sent.
//! - *Key grammar* ("Key"): `key = ( lcalpha / DIGIT ) 0*255 ( keychar )` with `@` among the
//!   `keychar`s, so `vendor@tenant` keys of any split up to 256 characters, `foo@` and `a@b@c` are
//!   all valid; `@foo`, upper case and `.` are not. Values ("Value"): 1-256 printable ASCII
//!   characters without `,` or `=`, not ending in a space.
//! - *Invalid members* (§4.3): "If the tracestate header cannot be parsed the vendor MAY discard the
//!   entire header. Invalid tracestate entries MAY also be discarded." A choice: by default
//!   ([`TraceStatePolicy::PerMember`]) only the invalid members are dropped, which keeps the most
//!   valid context. [`TraceStatePolicy::WholeList`] discards the list instead, which is what the
//!   W3C test suite checks at `STRICT_LEVEL=2`.
//! - *Duplicated keys* ("Combined Header Value"): "Only one entry per key is allowed because the
//!   entry represents that last position in the trace." A choice between dropping the list and
//!   dropping the repeat: under both policies the first (left-most) member of a key is kept and later
//!   ones are dropped. Modified keys move to the left ("Mutating the tracestate Field"), so the
//!   left-most member is the most recent position, and every other member survives.
//! - *More than 32 members* ("list": "There can be a maximum of 32 `list-member`s"): under
//!   [`TraceStatePolicy::PerMember`] the list is truncated as "tracestate Limits" prescribes for
//!   truncation: "Entries larger than `128` characters long SHOULD be removed first. Then entries
//!   SHOULD be removed starting from the end", only as many as needed. Under
//!   [`TraceStatePolicy::WholeList`] the list is discarded.
//! - *Members `opentelemetry` cannot hold*: `opentelemetry` 0.33's [`TraceState`] refuses some
//!   valid Level 2 keys (a second `@`, more than 13 characters after `@`). Those members are kept
//!   beside the span context, bound to its trace ID, and written back on injection in their original
//!   place relative to the members nobody modified ("the order of unmodified key/value pairs MUST
//!   be preserved"), whatever a sampler did to the rest of the list meanwhile.

mod baggage;
mod traceparent;
mod tracestate;

use std::sync::OnceLock;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, TraceContextExt, TraceState},
};

pub use baggage::BaggagePropagator;
pub use traceparent::RANDOM_TRACE_ID;
pub use tracestate::TraceStatePolicy;

use crate::Error;
use traceparent::TRACEPARENT;
use tracestate::{ForeignMembers, TRACESTATE};

/// W3C Trace Context Level 2 `traceparent`/`tracestate` propagator (see the module docs for every
/// rule and choice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W3cTraceContextPropagator {
    policy: TraceStatePolicy,
}

impl W3cTraceContextPropagator {
    /// Creates the propagator with [`TraceStatePolicy::PerMember`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates the propagator with the given treatment of invalid `tracestate` lists.
    pub fn with_tracestate_policy(policy: TraceStatePolicy) -> Self {
        Self { policy }
    }

    /// The treatment of invalid `tracestate` lists in use.
    pub fn tracestate_policy(&self) -> TraceStatePolicy {
        self.policy
    }

    /// Parses a received `traceparent` and `tracestate` (every field of it, in order) into a remote
    /// [`SpanContext`], or says why the `traceparent` is refused. Invalid `tracestate` members never
    /// make this fail: they are dropped, or empty the list, according to the policy.
    pub fn parse(&self, traceparent: &str, tracestate: &[&str]) -> Result<SpanContext, Error> {
        let parent = traceparent::parse(traceparent)?;
        let (trace_state, _) = self.trace_state(tracestate, &parent);
        Ok(SpanContext::new(
            parent.trace_id,
            parent.span_id,
            parent.flags,
            true,
            trace_state,
        ))
    }

    fn trace_state(
        &self,
        fields: &[&str],
        parent: &traceparent::Traceparent,
    ) -> (TraceState, Option<ForeignMembers>) {
        tracestate::trace_state(fields, self.policy, parent.trace_id)
    }
}

fn single_traceparent(extractor: &dyn Extractor) -> Result<&str, Error> {
    match extractor.get_all(TRACEPARENT).as_deref() {
        Some([value]) => Ok(*value),
        Some([]) | None => Err(Error::malformed(TRACEPARENT, "missing")),
        Some(_) => Err(Error::DuplicateHeader(TRACEPARENT)),
    }
}

impl TextMapPropagator for W3cTraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        injector.set(
            TRACEPARENT,
            traceparent::format(
                span_context.trace_id(),
                span_context.span_id(),
                span_context.trace_flags(),
            ),
        );
        let foreign = cx
            .get::<ForeignMembers>()
            .filter(|foreign| foreign.applies_to(span_context.trace_id()));
        let header = match foreign {
            Some(foreign) => foreign.merge(span_context.trace_state()),
            None => tracestate::header(span_context.trace_state()),
        };
        if !header.is_empty() {
            injector.set(TRACESTATE, header);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Ok(parent) = single_traceparent(extractor).and_then(traceparent::parse) else {
            return cx.clone();
        };
        let fields = extractor.get_all(TRACESTATE).unwrap_or_default();
        let (trace_state, foreign) = self.trace_state(&fields, &parent);
        let span_context = SpanContext::new(
            parent.trace_id,
            parent.span_id,
            parent.flags,
            true,
            trace_state,
        );
        let extracted = cx.with_remote_span_context(span_context);
        match foreign {
            Some(foreign) => extracted.with_value(foreign),
            // A list kept for the same trace by an earlier extraction must not outlive this one.
            None if cx.get::<ForeignMembers>().is_some() => {
                extracted.with_value(ForeignMembers::none(parent.trace_id))
            }
            None => extracted,
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: OnceLock<[String; 2]> = OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]))
    }
}
