//! The filter engine over realistic requests (processor/filterprocessor README): an item matching
//! any condition of its context is dropped, empty parents go too, the counts are returned, and
//! every other item comes out unchanged.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};
use otlp_ottl::{Error, Filter, FilterConfig, Signal};
use otlp_testkit::{Generator, data_point_count, log_record_count, span_count};

fn filter(yaml: &str) -> Filter {
    let config: FilterConfig = serde_norway::from_str(yaml).unwrap();
    Filter::new(&config).unwrap_or_else(|e| panic!("{e}"))
}

fn spans(request: &ExportTraceServiceRequest) -> Vec<Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| ss.spans.clone())
        .collect()
}

/// Generated traces plus a health-check span in every scope of the first resource, and one
/// scope holding only health checks (which must disappear whole).
fn with_health_checks(seed: u64) -> (ExportTraceServiceRequest, usize) {
    let mut request = Generator::new(seed).traces(1_000);
    let health = |n: u8| Span {
        trace_id: vec![n; 16],
        span_id: vec![n; 8],
        name: "GET /healthz".to_owned(),
        kind: 2,
        attributes: kvs(vec![("http.route", s("/healthz"))]),
        ..Default::default()
    };
    let mut added = 0;
    let first = &mut request.resource_spans[0];
    for (i, ss) in first.scope_spans.iter_mut().enumerate() {
        ss.spans.push(health(i as u8 + 1));
        added += 1;
    }
    let mut only_health = first.scope_spans[0].clone();
    only_health.spans = vec![health(200), health(201)];
    first.scope_spans.push(only_health);
    added += 2;
    (request, added)
}

#[test]
fn health_check_spans_are_dropped_and_the_rest_is_unchanged() {
    let f = filter(
        r#"
error_mode: ignore
traces:
  span:
    - 'attributes["http.route"] == "/healthz"'
    - 'name == "GET /readyz"'
"#,
    );
    let (mut request, added) = with_health_checks(4);
    let scopes_before = request.resource_spans[0].scope_spans.len();
    let expected: Vec<Span> = spans(&request)
        .into_iter()
        .filter(|s| s.name != "GET /healthz")
        .collect();
    let stats = f.filter_traces(&mut request).unwrap();
    assert_eq!(stats.spans, added);
    assert_eq!(stats.dropped_items(Signal::Traces), added);
    assert_eq!(spans(&request), expected);
    assert_eq!(
        request.resource_spans[0].scope_spans.len(),
        scopes_before - 1,
        "the scope left without spans is removed"
    );
}

#[test]
fn resource_conditions_drop_whole_resources() {
    let f = filter(
        r#"
traces:
  resource:
    - 'attributes["service.name"] == "checkout"'
"#,
    );
    let mut request = Generator::new(8).traces(1_000);
    let checkout_spans: usize = request
        .resource_spans
        .iter()
        .filter(|rs| {
            attr(&rs.resource.as_ref().unwrap().attributes, "service.name") == Some(&s("checkout"))
        })
        .map(|rs| {
            rs.scope_spans
                .iter()
                .map(|ss| ss.spans.len())
                .sum::<usize>()
        })
        .sum();
    assert!(checkout_spans > 0);
    let stats = f.filter_traces(&mut request).unwrap();
    assert_eq!(stats.spans, checkout_spans);
    assert_eq!(span_count(&request), 1_000 - checkout_spans);
    assert!(request.resource_spans.iter().all(|rs| attr(
        &rs.resource.as_ref().unwrap().attributes,
        "service.name"
    ) != Some(&s("checkout"))));
}

#[test]
fn span_events_are_dropped_without_their_spans() {
    let f = filter(
        r#"
traces:
  spanevent:
    - 'name == "exception"'
"#,
    );
    let mut request = Generator::new(6).with_error_rate(1.0).unwrap().traces(500);
    let exceptions: usize = spans(&request)
        .iter()
        .map(|s| s.events.iter().filter(|e| e.name == "exception").count())
        .sum();
    assert!(exceptions > 0);
    let stats = f.filter_traces(&mut request).unwrap();
    assert_eq!(stats.span_events, exceptions);
    assert_eq!(stats.spans, 0);
    assert_eq!(span_count(&request), 500);
    assert!(
        spans(&request)
            .iter()
            .all(|s| s.events.iter().all(|e| e.name != "exception"))
    );
}

#[test]
fn metrics_and_data_points() {
    let mut request = Generator::new(3).metrics(1_000);
    let gauges: usize = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| matches!(m.data, Some(Data::Gauge(_))))
        .count();
    let f = filter(
        r#"
metrics:
  metric:
    - 'type == METRIC_DATA_TYPE_GAUGE'
  datapoint:
    - 'metric.type == METRIC_DATA_TYPE_SUMMARY'
"#,
    );
    let total = data_point_count(&request);
    let stats = f.filter_metrics(&mut request).unwrap();
    assert!(gauges > 0);
    // Every summary point goes, so every summary metric goes with its points.
    assert!(stats.metrics > gauges);
    assert_eq!(data_point_count(&request), total - stats.data_points);
    assert!(
        request
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .all(|m| !matches!(m.data, Some(Data::Gauge(_)) | Some(Data::Summary(_))))
    );
}

#[test]
fn log_records() {
    let f = filter(
        r#"
logs:
  log_record:
    - 'severity_number < SEVERITY_NUMBER_WARN'
"#,
    );
    let mut request = Generator::new(2).logs(1_000);
    let quiet = request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .filter(|l| l.severity_number < 13)
        .count();
    let stats = f.filter_logs(&mut request).unwrap();
    assert_eq!(stats.log_records, quiet);
    assert_eq!(log_record_count(&request), 1_000 - quiet);
    assert!(
        request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .all(|s| !s.log_records.is_empty()
                && s.log_records.iter().all(|l| l.severity_number >= 13))
    );
}

// error_mode: with ignore (and silent) a failing condition counts as "no match"; with propagate
// the error is returned.
#[test]
fn error_modes() {
    let conditions = r#"
traces:
  span:
    - 'attributes["app.cart.items"] + 1 > 2'
"#;
    let original = Generator::new(12).traces(800);
    let without_items = spans(&original)
        .iter()
        .filter(|s| attr(&s.attributes, "app.cart.items").is_none())
        .count();
    for mode in ["ignore", "silent"] {
        let f = filter(&format!("error_mode: {mode}{conditions}"));
        let mut request = original.clone();
        let stats = f.filter_traces(&mut request).unwrap();
        assert_eq!(stats.errors, without_items, "{mode}");
        assert!(spans(&request).iter().all(|s| {
            match attr(&s.attributes, "app.cart.items").and_then(|v| v.value.clone()) {
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(n)) => {
                    n < 2
                }
                _ => true,
            }
        }));
    }
    let f = filter(&format!("error_mode: propagate{conditions}"));
    let mut request = original.clone();
    assert!(matches!(
        f.filter_traces(&mut request),
        Err(Error::Execution { .. })
    ));
}

/// In `propagate` mode the first error stops the pass: what was dropped before it stays dropped,
/// the failing item and everything after it are kept, whether or not a condition would match.
#[test]
fn propagate_keeps_the_failing_item_and_all_after_it() {
    let f = filter(
        r#"
error_mode: propagate
traces:
  span:
    - 'name == "drop"'
    - 'attributes["app.cart.items"] + 1 > 2'
"#,
    );
    let span = |name: &str| Span {
        name: name.into(),
        ..Default::default()
    };
    let mut request = Generator::new(5).traces(1);
    let scope = &mut request.resource_spans[0].scope_spans[0];
    scope.spans = vec![span("drop"), span("keep"), span("bad"), span("drop")];
    scope.spans[1].attributes = kvs(vec![("app.cart.items", i(1))]);
    let mut later = request.resource_spans[0].clone();
    later.scope_spans[0].spans = vec![span("drop")];
    let empty_scope = later.scope_spans[0].clone();
    later.scope_spans.push(ScopeSpans {
        spans: Vec::new(),
        ..empty_scope
    });
    request.resource_spans.truncate(1);
    request.resource_spans[0].scope_spans.truncate(1);
    request.resource_spans.push(later);

    assert!(matches!(
        f.filter_traces(&mut request),
        Err(Error::Execution { .. })
    ));
    let names: Vec<String> = spans(&request).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["keep", "bad", "drop", "drop"]);
    assert_eq!(request.resource_spans[1].scope_spans.len(), 2);
}

#[test]
fn a_filter_without_conditions_for_a_signal_leaves_it_alone() {
    let f = filter("logs:\n  log_record: ['true']\n");
    assert!(!f.handles(Signal::Traces));
    let mut request = Generator::new(1).traces(50);
    let before = request.clone();
    assert_eq!(f.filter_traces(&mut request).unwrap().spans, 0);
    assert_eq!(request, before);
}

#[test]
fn bad_conditions_are_reported_with_their_paths() {
    let config: FilterConfig = serde_norway::from_str(
        r#"
traces:
  span:
    - 'name == "a"'
    - 'nmae == "a"'
  spanevent:
    - 'name =='
"#,
    )
    .unwrap();
    let Error::InvalidConfig(problems) = Filter::new(&config).unwrap_err() else {
        panic!("expected InvalidConfig");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["traces.span[1]", "traces.spanevent[0]"]);
    assert!(problems[0].message.contains("did you mean `span.name`?"));
}
