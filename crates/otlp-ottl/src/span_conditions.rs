//! OTTL conditions asked of a whole trace: does any of its spans, or any of their events, satisfy
//! one? The engine behind the `ottl_condition` policy of otelcol's tail sampling processor.

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::context::{ContextKind, ResourceParts, ScopeParts, TransformContext};
use crate::engine::{AnyOf, ErrorMode};
use crate::error::{ConfigProblem, Error, Result};
use crate::parse::compile_condition;

/// Compiled `span` and `spanevent` conditions.
///
/// ```
/// use otlp_ottl::{ErrorMode, SpanConditions};
///
/// let conditions = SpanConditions::new(
///     ErrorMode::Ignore,
///     &[r#"name == "checkout" and attributes["cart.items"] > 10"#.to_owned()],
///     &["name == \"exception\"".to_owned()],
/// )
/// .unwrap();
/// let mut trace = otlp_testkit::Generator::new(7).traces(50).resource_spans;
/// let found = conditions.any_match(&mut trace).unwrap();
/// assert_eq!(found.errors, 0);
/// ```
#[derive(Debug)]
pub struct SpanConditions {
    error_mode: ErrorMode,
    span: AnyOf,
    spanevent: AnyOf,
}

/// What [`SpanConditions::any_match`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanMatch {
    /// Whether a condition held for a span or a span event.
    pub matched: bool,
    /// Condition errors that `ignore`/`silent` let pass, each counted as "does not hold".
    pub errors: usize,
}

impl SpanConditions {
    /// Compiles the conditions: `span` ones run on each span, `spanevent` ones on each event.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every condition that does not compile, at its key path
    /// (`span[1]`), or saying there is no condition at all: a policy without one could never
    /// select anything.
    pub fn new(error_mode: ErrorMode, span: &[String], spanevent: &[String]) -> Result<Self> {
        if span.is_empty() && spanevent.is_empty() {
            return Err(Error::InvalidConfig(vec![ConfigProblem::new(
                "",
                "needs at least one condition under `span` or `spanevent`",
            )]));
        }
        let mut problems = Vec::new();
        let mut compile = |key: &str, context: ContextKind, texts: &[String]| {
            let conditions = texts
                .iter()
                .enumerate()
                .filter_map(|(i, text)| {
                    compile_condition(context, text, true)
                        .map_err(|e| problems.extend(e.into_problems(&format!("{key}[{i}]"))))
                        .ok()
                })
                .collect();
            AnyOf::new(conditions)
        };
        let conditions = SpanConditions {
            error_mode,
            span: compile("span", ContextKind::Span, span),
            spanevent: compile("spanevent", ContextKind::SpanEvent, spanevent),
        };
        if problems.is_empty() {
            Ok(conditions)
        } else {
            Err(Error::InvalidConfig(problems))
        }
    }

    /// Whether a `span` condition holds for any span of `trace`, or a `spanevent` condition for
    /// any of their events. Stops at the first that holds; nothing is changed (the spans are
    /// borrowed mutably only because a [`TransformContext`] is built over them).
    ///
    /// # Errors
    ///
    /// The first condition error in `propagate` mode.
    pub fn any_match(&self, trace: &mut [ResourceSpans]) -> Result<SpanMatch> {
        let mut found = SpanMatch::default();
        let mut cache = Vec::new();
        for rs in trace {
            let mut resource = ResourceParts {
                resource: &mut rs.resource,
                schema_url: &mut rs.schema_url,
            };
            for ss in &mut rs.scope_spans {
                let mut scope = ScopeParts {
                    scope: &mut ss.scope,
                    schema_url: &mut ss.schema_url,
                };
                for span in &mut ss.spans {
                    if !self.span.is_empty() {
                        let holds = match self.span.decide_span(span) {
                            Some(holds) => holds,
                            None => {
                                cache.clear();
                                let ctx = TransformContext::for_span(
                                    resource.reborrow(),
                                    scope.reborrow(),
                                    span,
                                    &mut cache,
                                );
                                self.span
                                    .matches(&ctx, self.error_mode, &mut found.errors)?
                            }
                        };
                        if holds {
                            found.matched = true;
                            return Ok(found);
                        }
                    }
                    if !self.spanevent.is_empty() && !span.events.is_empty() {
                        // An event's context holds the span beside it, so the event leaves the
                        // span while it is judged and goes back after.
                        let mut events = std::mem::take(&mut span.events);
                        let mut held = Ok(false);
                        for (index, event) in events.iter_mut().enumerate() {
                            cache.clear();
                            let ctx = TransformContext::for_span_event(
                                resource.reborrow(),
                                scope.reborrow(),
                                span,
                                event,
                                index,
                                &mut cache,
                            );
                            held = self
                                .spanevent
                                .matches(&ctx, self.error_mode, &mut found.errors);
                            if !matches!(held, Ok(false)) {
                                break;
                            }
                        }
                        span.events = events;
                        if held? {
                            found.matched = true;
                            return Ok(found);
                        }
                    }
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};

    fn trace(spans: Vec<Span>) -> Vec<ResourceSpans> {
        vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }]
    }

    fn span(name: &str, events: &[&str]) -> Span {
        Span {
            name: name.to_owned(),
            events: events
                .iter()
                .map(|name| Event {
                    name: (*name).to_owned(),
                    ..Event::default()
                })
                .collect(),
            ..Span::default()
        }
    }

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|text| (*text).to_owned()).collect()
    }

    fn conditions(mode: ErrorMode, span: &[&str], spanevent: &[&str]) -> SpanConditions {
        SpanConditions::new(mode, &strings(span), &strings(spanevent)).unwrap()
    }

    #[test]
    fn a_span_condition_holds_for_any_span_of_the_trace() {
        let conditions = conditions(ErrorMode::Ignore, &[r#"name == "pay""#], &[]);
        let mut hit = trace(vec![span("browse", &[]), span("pay", &[])]);
        let mut miss = trace(vec![span("browse", &[]), span("cart", &[])]);
        assert!(conditions.any_match(&mut hit).unwrap().matched);
        assert!(!conditions.any_match(&mut miss).unwrap().matched);
    }

    #[test]
    fn an_event_condition_sees_the_event_and_leaves_the_span_whole() {
        let conditions = conditions(
            ErrorMode::Ignore,
            &[],
            &[r#"name == "exception" and span.name == "pay""#],
        );
        let mut elsewhere = trace(vec![span("browse", &["exception"])]);
        assert!(!conditions.any_match(&mut elsewhere).unwrap().matched);
        let mut hit = trace(vec![span("pay", &["retry", "exception", "done"])]);
        assert!(conditions.any_match(&mut hit).unwrap().matched);
        let events: Vec<_> = hit[0].scope_spans[0].spans[0]
            .events
            .iter()
            .map(|event| event.name.as_str())
            .collect();
        assert_eq!(events, ["retry", "exception", "done"]);
    }

    /// otelcol's `ottl_condition` semantics: `ignore` counts a failing condition as false and
    /// goes on to the next span; `propagate` stops at the error.
    #[test]
    fn error_modes_decide_whether_a_failing_condition_stops_the_search() {
        let texts = [r#"Substring(attributes["code"], 0, 4) == "keep""#];
        let with_code = |code: &str| Span {
            attributes: vec![crate::key_value("code", crate::string_value(code))],
            ..Span::default()
        };
        let spans = || trace(vec![span("no code", &[]), with_code("keep-this")]);
        for mode in [ErrorMode::Ignore, ErrorMode::Silent] {
            let found = conditions(mode, &texts, &[])
                .any_match(&mut spans())
                .unwrap();
            assert_eq!(
                found,
                SpanMatch {
                    matched: true,
                    errors: 1
                },
                "{mode:?}"
            );
        }
        let error = conditions(ErrorMode::Propagate, &texts, &[])
            .any_match(&mut spans())
            .unwrap_err();
        assert!(matches!(error, Error::Execution { .. }), "{error}");
    }

    #[test]
    fn every_bad_condition_is_named_by_its_key() {
        let error = SpanConditions::new(
            ErrorMode::Ignore,
            &strings(&["nmae == \"x\""]),
            &strings(&["name =="]),
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("span[0]: invalid OTTL"), "{message}");
        assert!(
            message.contains("; spanevent[0]: syntax error"),
            "{message}"
        );
        let none = SpanConditions::new(ErrorMode::Ignore, &[], &[]).unwrap_err();
        assert_eq!(
            none.to_string(),
            "needs at least one condition under `span` or `spanevent`"
        );
    }
}
