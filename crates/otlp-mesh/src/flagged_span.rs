//! Keeps W3C Trace Context Level 2's `random-trace-id` flag on spans the SDK starts.
//!
//! `opentelemetry_sdk` 0.33 builds a span's flags from its parent's (so a sampled child of a random
//! parent keeps the flag), but a dropped span gets empty flags and a root span never gets the flag,
//! whatever its ID generator. Level 2 ("Random Trace ID Flag") requires a participant that continues
//! a trace to send the flag it received, and OpenTelemetry's SDK specification ("Random trace flag")
//! asks root span contexts to carry it when the trace ID is random. The SDK's span context cannot be
//! changed after the fact, so the span is wrapped and reports a corrected copy; everything else is
//! delegated.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{Span, SpanContext, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::RANDOM_TRACE_ID;

/// A span whose context reports corrected trace flags.
#[derive(Debug)]
struct Flagged<S> {
    inner: S,
    span_context: SpanContext,
}

impl<S: Span> Span for Flagged<S> {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.inner
            .add_event_with_timestamp(name, timestamp, attributes);
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        self.inner.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.inner.set_attribute(attribute);
    }

    fn set_status(&mut self, status: Status) {
        self.inner.set_status(status);
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.inner.update_name(new_name);
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.inner.add_link(span_context, attributes);
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.inner.end_with_timestamp(timestamp);
    }
}

/// `parent` with `span` as its active span, the span's `random-trace-id` flag set to what Level 2
/// requires: the parent's flag when the span continues the parent's trace, `random_roots` when it
/// starts a new one.
pub(crate) fn with_span<S>(parent: &Context, span: S, random_roots: bool) -> Context
where
    S: Span + Send + Sync + 'static,
{
    let parent_span = parent.span();
    let parent_context = parent_span.span_context();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return parent.with_span(span);
    }
    let random =
        if parent_context.is_valid() && parent_context.trace_id() == span_context.trace_id() {
            parent_context.trace_flags() & RANDOM_TRACE_ID == RANDOM_TRACE_ID
        } else {
            random_roots
        };
    let flags = span_context.trace_flags();
    let wanted = if random {
        flags | RANDOM_TRACE_ID
    } else {
        flags & !RANDOM_TRACE_ID
    };
    if wanted == flags {
        return parent.with_span(span);
    }
    let span_context = SpanContext::new(
        span_context.trace_id(),
        span_context.span_id(),
        wanted,
        span_context.is_remote(),
        span_context.trace_state().clone(),
    );
    parent.with_span(Flagged {
        inner: span,
        span_context,
    })
}
