//! The traces waiting, each with the spans that came for it, in the order their first span came (which, the wait
//! being the same for all, is the order they fall due).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::collections::{HashMap, VecDeque};
use tokio::time::Instant;

/// A trace id: 16 bytes, not all zero.
pub(super) type TraceId = [u8; 16];

/// One trace's spans so far, under their resources and scopes.
struct Waiting {
    due: Instant,
    parts: Vec<ResourceSpans>,
}

/// The waiting traces.
#[derive(Default)]
pub(super) struct Traces {
    waiting: HashMap<TraceId, Waiting>,
    /// Trace ids in the order they came; an id released early stays here until its turn, and is skipped then.
    order: VecDeque<(Instant, TraceId)>,
}

impl Traces {
    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }

    /// When the first waiting trace falls due.
    pub(super) fn next_due(&mut self) -> Option<Instant> {
        while let Some((due, id)) = self.order.front() {
            match self.waiting.get(id) {
                Some(waiting) if waiting.due == *due => return Some(*due),
                _ => {
                    self.order.pop_front();
                }
            }
        }
        None
    }

    /// Adds the spans of `id` that came under `resource` and `scope` (shells without spans); a trace not waiting
    /// starts to wait until `due`.
    pub(super) fn add(
        &mut self,
        id: TraceId,
        resource: &ResourceSpans,
        scope: &ScopeSpans,
        spans: Vec<Span>,
        due: Instant,
    ) {
        let waiting = self.waiting.entry(id).or_insert_with(|| {
            self.order.push_back((due, id));
            Waiting {
                due,
                parts: Vec::new(),
            }
        });
        waiting.parts.push(ResourceSpans {
            resource: resource.resource.clone(),
            scope_spans: vec![ScopeSpans {
                scope: scope.scope.clone(),
                spans,
                schema_url: scope.schema_url.clone(),
            }],
            schema_url: resource.schema_url.clone(),
        });
    }

    /// Takes the traces due by `now` (every trace with `None`) into one request, whole traces one after the other,
    /// with how many traces it holds.
    pub(super) fn take_due(&mut self, now: Option<Instant>) -> (ExportTraceServiceRequest, usize) {
        let mut request = ExportTraceServiceRequest::default();
        let mut traces = 0;
        while let Some((due, id)) = self.order.front().copied() {
            if now.is_some_and(|now| due > now) {
                break;
            }
            self.order.pop_front();
            if let Some(waiting) = self.waiting.remove(&id)
                && waiting.due == due
            {
                request.resource_spans.extend(waiting.parts);
                traces += 1;
            }
        }
        (request, traces)
    }

    /// Takes the oldest waiting trace, to make room.
    pub(super) fn take_oldest(&mut self) -> Option<ExportTraceServiceRequest> {
        let due = self.next_due()?;
        let (_, id) = self.order.pop_front()?;
        let waiting = self.waiting.remove(&id)?;
        debug_assert_eq!(waiting.due, due);
        Some(ExportTraceServiceRequest {
            resource_spans: waiting.parts,
        })
    }
}

/// The spans of `request` by trace, in the order each trace first appears, under their resource and scope; spans
/// without a valid trace id stay in `request`.
pub(super) fn split(
    request: &mut ExportTraceServiceRequest,
) -> Vec<(TraceId, ResourceSpans, ScopeSpans, Vec<Span>)> {
    let mut parts = Vec::new();
    for rs in &mut request.resource_spans {
        let shell = ResourceSpans {
            resource: rs.resource.clone(),
            scope_spans: Vec::new(),
            schema_url: rs.schema_url.clone(),
        };
        for ss in &mut rs.scope_spans {
            let scope = ScopeSpans {
                scope: ss.scope.clone(),
                spans: Vec::new(),
                schema_url: ss.schema_url.clone(),
            };
            let mut by_trace: Vec<(TraceId, Vec<Span>)> = Vec::new();
            let mut at: HashMap<TraceId, usize> = HashMap::new();
            let mut kept = Vec::new();
            for span in std::mem::take(&mut ss.spans) {
                match TraceId::try_from(span.trace_id.as_slice()) {
                    Ok(id) if id != [0; 16] => {
                        let slot = *at.entry(id).or_insert_with(|| {
                            by_trace.push((id, Vec::new()));
                            by_trace.len() - 1
                        });
                        by_trace[slot].1.push(span);
                    }
                    _ => kept.push(span),
                }
            }
            ss.spans = kept;
            for (id, spans) in by_trace {
                parts.push((id, shell.clone(), scope.clone(), spans));
            }
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    request
        .resource_spans
        .retain(|rs| !rs.scope_spans.is_empty());
    parts
}

#[cfg(test)]
mod tests;
