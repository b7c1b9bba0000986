use super::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span::SpanKind};
use otlp_ottl::{key_value, string_value};

fn connector(yaml: &str, section: &str) -> SignalToMetrics {
    let config: SignalToMetricsConfig = serde_norway::from_str(yaml).unwrap();
    assert!(config.problems().is_empty(), "{:?}", config.problems());
    SignalToMetrics {
        id: "signaltometrics".into(),
        definitions: config.definitions(section).unwrap_or_default(),
        collector: vec![
            key_value("service.name", string_value("otlp-suite")),
            key_value("service.instance.id", string_value("c-1")),
        ],
        targets: Targets::new(Vec::new()),
    }
}

fn span(route: Option<&str>, kind: SpanKind, millis: u64) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: "GET".into(),
        kind: kind as i32,
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_000_000_000 + millis * 1_000_000,
        attributes: route
            .map(|r| vec![key_value("http.route", string_value(r))])
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn traces(spans: Vec<Span>) -> AnyRequest {
    AnyRequest::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    key_value("service.name", string_value("shop")),
                    key_value("host.name", string_value("web-1")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn metrics_of(batch: Batch) -> ExportMetricsServiceRequest {
    match batch.into_request() {
        AnyRequest::Metrics(request) => request,
        _ => panic!("not metrics"),
    }
}

const SPANS: &str = r#"
spans:
  - name: server.duration
    unit: ms
    conditions: ['kind == SPAN_KIND_SERVER']
    attributes:
      - key: http.route
        default_value: unknown
    include_resource_attributes:
      - key: service.name
    histogram:
      buckets: [10, 100]
      value: Milliseconds(end_time - start_time)
  - name: span.count
    sum:
      value: "1"
  - name: routed.duration.exp
    attributes:
      - key: http.route
    exponential_histogram:
      max_size: 20
      count: "2"
      value: Double(Milliseconds(end_time - start_time))
"#;

#[test]
fn spans_make_histograms_and_sums_by_their_attributes_under_the_kept_resource() {
    let connector = connector(SPANS, "spans");
    let made = metrics_of(connector.made(traces(vec![
        span(Some("/cart"), SpanKind::Server, 5),
        span(Some("/cart"), SpanKind::Server, 50),
        span(None, SpanKind::Server, 500),
        span(Some("/pay"), SpanKind::Client, 7),
    ])));
    // The histogram keeps service.name only; the others keep the whole resource: two resources.
    assert_eq!(made.resource_metrics.len(), 2);
    let kept = &made.resource_metrics[0];
    let keys: Vec<&str> = kept
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "service.name",
            "signaltometrics.service.name",
            "signaltometrics.service.instance.id"
        ]
    );
    let histogram = &kept.scope_metrics[0].metrics[0];
    assert_eq!(
        (histogram.name.as_str(), histogram.unit.as_str()),
        ("server.duration", "ms")
    );
    let Some(metric::Data::Histogram(h)) = &histogram.data else {
        panic!()
    };
    let by_route: Vec<(String, u64, Vec<u64>)> = h
        .data_points
        .iter()
        .map(|p| {
            let route = match &p.attributes[0].value.as_ref().unwrap().value {
                Some(Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            };
            (route, p.count, p.bucket_counts.clone())
        })
        .collect();
    assert_eq!(
        by_route,
        [
            ("/cart".to_owned(), 2, vec![1, 1, 0]),
            ("unknown".to_owned(), 1, vec![0, 0, 1])
        ]
    );

    let whole = &made.resource_metrics[1];
    assert_eq!(whole.resource.as_ref().unwrap().attributes.len(), 4);
    let count = &whole.scope_metrics[0].metrics[0];
    let Some(metric::Data::Sum(sum)) = &count.data else {
        panic!()
    };
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(4))
    );
    let exponential = &whole.scope_metrics[0].metrics[1];
    let Some(metric::Data::ExponentialHistogram(e)) = &exponential.data else {
        panic!()
    };
    // Spans without http.route are not counted there; each counts twice.
    let counts: Vec<u64> = e.data_points.iter().map(|p| p.count).collect();
    assert_eq!(counts, [4, 2]);
}

#[test]
fn log_records_make_gauges_and_double_sums() {
    let connector = connector(
        r#"
logs:
  - name: bytes
    attributes: [{key: path, optional: true}]
    sum: {value: 'Double(attributes["bytes"])'}
  - name: last.level
    gauge: {value: severity_number}
"#,
        "logs",
    );
    let record = |bytes: &str, path: Option<&str>, severity: i32| LogRecord {
        time_unix_nano: 5,
        severity_number: severity,
        attributes: std::iter::once(key_value("bytes", string_value(bytes)))
            .chain(path.map(|p| key_value("path", string_value(p))))
            .collect(),
        ..Default::default()
    };
    let made = metrics_of(connector.made(AnyRequest::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    record("10.5", Some("/a"), 9),
                    record("2", None, 17),
                    record("x", None, 13),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })));
    let metrics = &made.resource_metrics[0].scope_metrics[0].metrics;
    let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
        panic!()
    };
    let values: Vec<_> = sum
        .data_points
        .iter()
        .map(|p| (p.attributes.len(), p.value))
        .collect();
    assert_eq!(
        values,
        [
            (1, Some(number_data_point::Value::AsDouble(10.5))),
            (0, Some(number_data_point::Value::AsDouble(2.0)))
        ],
        "the optional key is left out where absent; `x` is not a number and adds nothing"
    );
    let Some(metric::Data::Gauge(gauge)) = &metrics[1].data else {
        panic!()
    };
    assert_eq!(
        gauge.data_points[0].value,
        Some(number_data_point::Value::AsInt(13))
    );
}

#[test]
fn mistakes_are_named_where_they_are() {
    let problems = |yaml: &str| -> Vec<String> {
        let config: SignalToMetricsConfig = serde_norway::from_str(yaml).unwrap();
        config
            .problems()
            .into_iter()
            .flat_map(|p| p.at_path("connectors.signaltometrics"))
            .map(|(path, message)| format!("{path}: {message}"))
            .collect()
    };
    let found = problems(
        r#"
spans:
  - name: a
    sum: {value: "1"}
    histogram: {value: "1"}
  - name: b
    sum: {value: 'Nope(1)'}
  - name: c
    attributes: [{key: k, optional: true, default_value: 1}]
    gauge: {value: "1"}
profiles: []
"#,
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("spans[0]") && p.contains("exactly one")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("spans[1].sum.value")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("spans[2].attributes[0]") && p.contains("not both")),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p.contains("profiles")), "{found:?}");
}

#[test]
fn sampled_spans_count_as_the_spans_they_stand_for() {
    let connector = connector(
        r#"
spans:
  - name: spans.before.sampling
    sum: {value: Int(AdjustedCount())}
"#,
        "spans",
    );
    let mut quarter = span(None, SpanKind::Server, 1);
    quarter.trace_state = "ot=th:c".into();
    let made = metrics_of(connector.made(traces(vec![quarter, span(None, SpanKind::Client, 1)])));
    let metric = &made.resource_metrics[0].scope_metrics[0].metrics[0];
    let Some(metric::Data::Sum(sum)) = &metric.data else {
        panic!()
    };
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(5))
    );
}
