//! Load shedding that never drops an error: consistent probability sampling at a threshold that
//! a load controller raises and lowers, with error spans kept whatever their randomness.
//!
//! Every collector that sheds at the same threshold keeps the same traces, whole (the decision
//! depends only on the trace's randomness), and a kept span's `th` is raised to the threshold,
//! so span counts estimated downstream stay unbiased. Error spans below the threshold are kept
//! as they are: they were not sampled, so their `th` is left alone.
//!
//! ```
//! use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
//! use otlp_sampling::consistent::Threshold;
//! use otlp_sampling::shed::{Shed, shed_traces};
//!
//! let span = |last: u8, code: i32| Span {
//!     trace_id: [[0; 8], [last; 8]].concat(),
//!     span_id: vec![1; 8],
//!     status: Some(Status { code, ..Default::default() }),
//!     ..Default::default()
//! };
//! // Keep half: randomness 0x0101… is below the threshold, 0xf0f0… above it.
//! let mut batch = vec![ResourceSpans {
//!     scope_spans: vec![ScopeSpans {
//!         spans: vec![span(0x01, 0), span(0xf0, 0), span(0x01, 2)], // the last is an error
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! }];
//! let counts = shed_traces(&mut batch, Shed::Below(Threshold::from_probability(0.5)?));
//! assert_eq!((counts.kept, counts.dropped_not_sampled), (2, 1));
//! let kept = &batch[0].scope_spans[0].spans;
//! assert_eq!(kept[0].trace_state, "ot=th:8"); // sampled at 50%
//! assert_eq!(kept[1].trace_state, ""); // the error, kept below the threshold
//! # Ok::<(), otlp_sampling::Error>(())
//! ```

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, status::StatusCode};

use crate::consistent::{Threshold, ot_from_w3c, set_ot_in_w3c};
use crate::probabilistic::SampleCounts;
use crate::randomness::{TraceIdRandomness, decide_randomness};

/// What to drop while overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// Keep the spans whose randomness reaches the threshold, and every error span.
    Below(Threshold),
    /// Keep error spans only.
    AllButErrors,
}

/// Sheds spans in place: removes the ones not kept (and scopes and resources left empty) and
/// raises the `th` of kept, sampled spans to the threshold. A span whose sampling information
/// cannot be read (an invalid `ot` entry, a trace ID that is not 16 bytes) is judged by its
/// trace ID alone, or dropped if it has none, unless it is an error.
pub fn shed_traces(resource_spans: &mut Vec<ResourceSpans>, shed: Shed) -> SampleCounts {
    let mut counts = SampleCounts::default();
    for rs in resource_spans.iter_mut() {
        for ss in rs.scope_spans.iter_mut() {
            ss.spans.retain_mut(|span| {
                let kept = keep(span, shed);
                if kept {
                    counts.kept += 1;
                } else {
                    counts.dropped_not_sampled += 1;
                }
                kept
            });
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    resource_spans.retain(|rs| !rs.scope_spans.is_empty());
    counts
}

fn keep(span: &mut Span, shed: Shed) -> bool {
    let is_error = span
        .status
        .as_ref()
        .is_some_and(|status| status.code == StatusCode::Error as i32);
    let Shed::Below(threshold) = shed else {
        return is_error;
    };
    let Ok(trace_id) = <[u8; 16]>::try_from(span.trace_id.as_slice()) else {
        return is_error;
    };
    let ot = ot_from_w3c(&span.trace_state);
    let randomness = decide_randomness(
        ot.as_ref().unwrap_or(&Default::default()),
        trace_id,
        TraceIdRandomness::from_trace_flags((span.flags & 0xff) as u8),
    );
    if !threshold.should_sample(randomness) {
        return is_error;
    }
    if let Ok(mut ot) = ot
        && ot.threshold.is_none_or(|existing| existing < threshold)
    {
        ot.threshold = Some(threshold);
        span.trace_state = set_ot_in_w3c(&span.trace_state, &ot);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consistent::Randomness;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Status};

    fn span(randomness: u64, error: bool, trace_state: &str) -> Span {
        let mut trace_id = [0xab_u8; 16];
        trace_id[9..].copy_from_slice(&randomness.to_be_bytes()[1..]);
        Span {
            trace_id: trace_id.to_vec(),
            span_id: vec![1; 8],
            trace_state: trace_state.to_owned(),
            status: error.then(|| Status {
                code: StatusCode::Error as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn batch(spans: Vec<Span>) -> Vec<ResourceSpans> {
        vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }]
    }

    #[test]
    fn keeps_what_reaches_the_threshold_and_every_error() {
        let threshold = Threshold::from_probability(0.1).unwrap();
        let mut spans = Vec::new();
        let mut expected = 0;
        for i in 0..1000_u64 {
            let randomness = i * ((1 << 56) / 1000);
            let error = i % 7 == 0;
            if error || threshold.should_sample(Randomness::from_raw(randomness)) {
                expected += 1;
            }
            spans.push(span(randomness, error, ""));
        }
        let mut batch = batch(spans);
        let counts = shed_traces(&mut batch, Shed::Below(threshold));
        assert_eq!(counts.kept, expected);
        assert_eq!(counts.kept + counts.dropped_not_sampled, 1000);
        // Kept non-errors and kept errors that reach the threshold carry it; errors below it carry nothing.
        for kept in &batch[0].scope_spans[0].spans {
            let ot = ot_from_w3c(&kept.trace_state).unwrap();
            let randomness =
                Randomness::from_trace_id(kept.trace_id.as_slice().try_into().unwrap());
            assert_eq!(
                ot.threshold.is_some(),
                threshold.should_sample(randomness),
                "{}",
                kept.trace_state
            );
        }
    }

    #[test]
    fn a_stricter_existing_threshold_is_kept_and_a_laxer_one_raised() {
        let half = Threshold::from_probability(0.5).unwrap();
        let mut batch = batch(vec![
            span(u64::MAX >> 8, false, "ot=th:c,vendor=x"),
            span(u64::MAX >> 8, false, "ot=th:4"),
        ]);
        shed_traces(&mut batch, Shed::Below(half));
        let spans = &batch[0].scope_spans[0].spans;
        assert_eq!(spans[0].trace_state, "ot=th:c,vendor=x");
        assert_eq!(spans[1].trace_state, "ot=th:8");
    }

    #[test]
    fn all_but_errors_keeps_errors_only_and_empties_what_it_empties() {
        let mut batch = batch(vec![span(u64::MAX >> 8, false, ""), span(0, true, "")]);
        let counts = shed_traces(&mut batch, Shed::AllButErrors);
        assert_eq!((counts.kept, counts.dropped_not_sampled), (1, 1));
        let mut none = self::batch(vec![span(u64::MAX >> 8, false, "")]);
        shed_traces(&mut none, Shed::AllButErrors);
        assert!(none.is_empty());
    }

    #[test]
    fn unreadable_sampling_information_keeps_only_errors() {
        let mut bad = span(u64::MAX >> 8, false, "");
        bad.trace_id = vec![1; 3];
        let mut bad_error = bad.clone();
        bad_error.status = Some(Status {
            code: StatusCode::Error as i32,
            ..Default::default()
        });
        let mut batch = batch(vec![bad, bad_error]);
        let counts = shed_traces(&mut batch, Shed::Below(Threshold::ALWAYS_SAMPLE));
        assert_eq!((counts.kept, counts.dropped_not_sampled), (1, 1));
    }
}
