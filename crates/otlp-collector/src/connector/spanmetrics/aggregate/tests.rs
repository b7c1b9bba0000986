use super::super::SpanMetricsConfig;
use super::super::config::SCOPE_NAME;
use super::*;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

const MS: u64 = 1_000_000;

fn aggregator(yaml: &str) -> Aggregator {
    let config: SpanMetricsConfig = serde_norway::from_str(yaml).unwrap();
    Aggregator::new(config.compile().unwrap_or_else(|p| panic!("{p:?}")))
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    otlp_ottl::key_value(key, AnyValue { value: Some(value) })
}

fn string(key: &str, value: &str) -> KeyValue {
    otlp_ottl::key_value(key, otlp_ottl::string_value(value))
}

fn span(name: &str, kind: SpanKind, millis: u64, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![7; 16],
        span_id: vec![name.len() as u8; 8],
        name: name.to_string(),
        kind: kind as i32,
        start_time_unix_nano: 1_000 * MS,
        end_time_unix_nano: (1_000 + millis) * MS,
        attributes,
        ..Default::default()
    }
}

fn failed(mut span: Span) -> Span {
    span.status = Some(Status {
        code: StatusCode::Error as i32,
        ..Default::default()
    });
    span
}

fn request(resource: Vec<KeyValue>, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "http".to_string(),
                    version: "1.2".to_string(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn service(name: &str) -> Vec<KeyValue> {
    vec![string("service.name", name)]
}

fn attributes_text(attributes: &[KeyValue]) -> String {
    attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, text(kv.value.as_ref())))
        .collect::<Vec<_>>()
        .join(",")
}

/// (metric, attributes) → value: a sum's count, or a histogram's count and bucket counts.
fn points(request: &ExportMetricsServiceRequest) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for rm in &request.resource_metrics {
        assert_eq!(rm.scope_metrics[0].scope.as_ref().unwrap().name, SCOPE_NAME);
        for m in &rm.scope_metrics[0].metrics {
            match m.data.as_ref().unwrap() {
                metric::Data::Sum(sum) => {
                    assert!(sum.is_monotonic);
                    for p in &sum.data_points {
                        let Some(number_data_point::Value::AsInt(n)) = p.value else {
                            panic!("not an int")
                        };
                        out.insert(
                            (m.name.clone(), attributes_text(&p.attributes)),
                            n.to_string(),
                        );
                    }
                }
                metric::Data::Histogram(h) => {
                    for p in &h.data_points {
                        out.insert(
                            (m.name.clone(), attributes_text(&p.attributes)),
                            format!("{} {:?}", p.count, p.bucket_counts),
                        );
                    }
                }
                other => panic!("{other:?}"),
            }
        }
    }
    out
}

fn key(metric: &str, attributes: &str) -> (String, String) {
    (metric.to_string(), attributes.to_string())
}

#[test]
fn spans_are_counted_and_timed_per_service_name_kind_and_status() {
    let mut spans = aggregator("{}");
    let checkout = request(
        service("checkout"),
        vec![
            span("GET /cart", SpanKind::Server, 3, vec![]),
            span("GET /cart", SpanKind::Server, 30, vec![]),
            failed(span("GET /cart", SpanKind::Server, 3000, vec![])),
            span("SELECT", SpanKind::Client, 1, vec![]),
        ],
    );
    assert_eq!(spans.aggregate(&checkout, 10), 0);
    assert_eq!(
        spans.aggregate(
            &request(
                service("cart"),
                vec![span("GET /cart", SpanKind::Server, 2, vec![])]
            ),
            10
        ),
        0
    );
    let out = spans.take_metrics(20).unwrap();
    assert_eq!(out.resource_metrics.len(), 2);
    let points = points(&out);
    let ok = "service.name=checkout,span.name=GET /cart,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_UNSET";
    let error = "service.name=checkout,span.name=GET /cart,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_ERROR";
    assert_eq!(points[&key("traces.span.metrics.calls", ok)], "2");
    assert_eq!(points[&key("traces.span.metrics.calls", error)], "1");
    // Default bounds in ms: 3 in (2, 4], 30 in (10, 50], 3000 in (2000, 5000].
    assert_eq!(
        points[&key("traces.span.metrics.duration", ok)],
        "2 [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
    );
    assert_eq!(
        points[&key("traces.span.metrics.duration", error)],
        "1 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]"
    );
    assert_eq!(points.len(), 8);
    let checkout = &out.resource_metrics[1];
    assert_eq!(
        attributes_text(&checkout.resource.as_ref().unwrap().attributes),
        "service.name=checkout"
    );
    let duration = &checkout.scope_metrics[0].metrics[1];
    assert_eq!(duration.unit, "ms");
    let metric::Data::Histogram(histogram) = duration.data.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(
        histogram.aggregation_temporality,
        Temporality::Cumulative.proto()
    );
    let point = &histogram.data_points[0];
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (10, 20));
}

#[test]
fn cumulative_series_keep_counting_from_their_start() {
    let mut spans = aggregator("{}");
    let one = request(service("a"), vec![span("x", SpanKind::Internal, 1, vec![])]);
    spans.aggregate(&one, 10);
    spans.take_metrics(20);
    spans.aggregate(&one, 30);
    let out = spans.take_metrics(40).unwrap();
    let metric::Data::Sum(sum) = out.resource_metrics[0].scope_metrics[0].metrics[0]
        .data
        .as_ref()
        .unwrap()
    else {
        panic!()
    };
    let point = &sum.data_points[0];
    assert_eq!(point.value, Some(number_data_point::Value::AsInt(2)));
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (10, 40));
    // Nothing new: the same totals again.
    assert!(spans.take_metrics(50).is_some());
}

#[test]
fn delta_points_hold_what_came_since_the_last_flush_and_start_where_it_ended() {
    let mut spans = aggregator("aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA");
    let one = request(service("a"), vec![span("x", SpanKind::Internal, 1, vec![])]);
    spans.aggregate(&one, 10);
    spans.aggregate(&one, 11);
    let first = spans.take_metrics(20).unwrap();
    spans.aggregate(&one, 30);
    let second = spans.take_metrics(40).unwrap();
    assert!(
        spans.take_metrics(50).is_none(),
        "nothing new, nothing sent"
    );
    let calls = |out: &ExportMetricsServiceRequest| {
        let metric::Data::Sum(sum) = out.resource_metrics[0].scope_metrics[0].metrics[0]
            .data
            .clone()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(sum.aggregation_temporality, Temporality::Delta.proto());
        let point = &sum.data_points[0];
        (
            point.value,
            point.start_time_unix_nano,
            point.time_unix_nano,
        )
    };
    assert_eq!(
        calls(&first),
        (Some(number_data_point::Value::AsInt(2)), 10, 20)
    );
    assert_eq!(
        calls(&second),
        (Some(number_data_point::Value::AsInt(1)), 20, 40)
    );
}

#[test]
fn dimensions_come_from_the_span_then_the_resource_then_the_default() {
    let mut spans = aggregator(
        r#"
dimensions:
  - {name: http.route}
  - {name: region, default: unknown}
  - {name: http.status_code}
exclude_dimensions: [span.kind]
"#,
    );
    let mut resource = service("web");
    resource.push(string("http.route", "/from-resource"));
    let out = {
        spans.aggregate(
            &request(
                resource,
                vec![
                    span(
                        "a",
                        SpanKind::Server,
                        1,
                        vec![
                            string("http.route", "/span"),
                            kv("http.status_code", any_value::Value::IntValue(200)),
                        ],
                    ),
                    span(
                        "a",
                        SpanKind::Server,
                        1,
                        vec![string("http.status_code", "200")],
                    ),
                    span("a", SpanKind::Server, 1, vec![string("region", "eu")]),
                ],
            ),
            1,
        );
        spans.take_metrics(2).unwrap()
    };
    let calls: Vec<String> = points(&out)
        .into_iter()
        .filter(|((metric, _), _)| metric.ends_with("calls"))
        .map(|((_, attributes), n)| format!("{attributes} -> {n}"))
        .collect();
    assert_eq!(
        calls,
        [
            "service.name=web,span.name=a,status.code=STATUS_CODE_UNSET,http.route=/from-resource,region=eu -> 1",
            "service.name=web,span.name=a,status.code=STATUS_CODE_UNSET,http.route=/from-resource,region=unknown,http.status_code=200 -> 1",
            "service.name=web,span.name=a,status.code=STATUS_CODE_UNSET,http.route=/span,region=unknown,http.status_code=200 -> 1",
        ]
    );
    // The int 200 and the string "200" are different series, with values of their own type.
    let typed: Vec<_> = out.resource_metrics[0].scope_metrics[0].metrics[0]
        .data
        .as_ref()
        .map(|data| match data {
            metric::Data::Sum(sum) => sum
                .data_points
                .iter()
                .filter_map(|p| p.attributes.iter().find(|kv| kv.key == "http.status_code"))
                .map(|kv| kv.value.clone().unwrap().value.unwrap())
                .collect(),
            _ => Vec::new(),
        })
        .unwrap();
    assert_eq!(typed.len(), 2);
    assert!(typed.contains(&any_value::Value::IntValue(200)));
    assert!(typed.contains(&any_value::Value::StringValue("200".to_string())));
}

#[test]
fn calls_and_histogram_have_their_own_extra_dimensions_and_scopes_can_be_dimensions() {
    let mut spans = aggregator(
        r#"
calls_dimensions: [{name: http.method}]
histogram: {unit: s, explicit: {buckets: [10ms, 1s]}, dimensions: [{name: peer}]}
include_instrumentation_scope: [http]
namespace: ""
"#,
    );
    spans.aggregate(
        &request(
            service("s"),
            vec![span(
                "a",
                SpanKind::Client,
                20,
                vec![string("http.method", "GET"), string("peer", "db")],
            )],
        ),
        1,
    );
    let out = spans.take_metrics(2).unwrap();
    let points = points(&out);
    let common = "service.name=s,span.name=a,span.kind=SPAN_KIND_CLIENT,status.code=STATUS_CODE_UNSET,\
                  span.instrumentation.scope.name=http,span.instrumentation.scope.version=1.2";
    assert_eq!(
        points[&key("calls", &format!("{common},http.method=GET"))],
        "1"
    );
    assert_eq!(
        points[&key("duration", &format!("{common},peer=db"))],
        "1 [0, 1, 0]"
    );
    assert_eq!(
        out.resource_metrics[0].scope_metrics[0].metrics[1].unit,
        "s"
    );
}

#[test]
fn past_the_cardinality_limit_new_series_go_to_the_overflow_series() {
    let mut spans = aggregator("aggregation_cardinality_limit: 2\nhistogram: {disable: true}");
    let names = ["a", "b", "c", "d", "a"];
    spans.aggregate(
        &request(
            service("s"),
            names
                .iter()
                .map(|n| span(n, SpanKind::Server, 1, vec![]))
                .collect(),
        ),
        1,
    );
    let out = spans.take_metrics(2).unwrap();
    assert_eq!(
        out.resource_metrics[0].scope_metrics[0].metrics.len(),
        1,
        "no histogram"
    );
    let points = points(&out);
    assert_eq!(points.len(), 3);
    assert_eq!(
        points[&key("traces.span.metrics.calls", "otel.metric.overflow=true")],
        "2"
    );
    assert_eq!(
        points[&key(
            "traces.span.metrics.calls",
            "service.name=s,span.name=a,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_UNSET"
        )],
        "2"
    );
}

#[test]
fn span_events_are_counted_by_their_attributes_when_asked() {
    let mut spans = aggregator(
        "events: {enabled: true, dimensions: [{name: exception.type}]}\nhistogram: {disable: true}",
    );
    let mut with_events = failed(span("pay", SpanKind::Server, 5, vec![]));
    with_events.events = vec![
        span::Event {
            name: "exception".to_string(),
            attributes: vec![string("exception.type", "Timeout")],
            ..Default::default()
        },
        span::Event {
            name: "exception".to_string(),
            attributes: vec![string("exception.type", "Timeout")],
            ..Default::default()
        },
        span::Event {
            name: "log".to_string(),
            ..Default::default()
        },
    ];
    spans.aggregate(&request(service("s"), vec![with_events]), 1);
    let points = points(&spans.take_metrics(2).unwrap());
    let common =
        "service.name=s,span.name=pay,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_ERROR";
    assert_eq!(
        points[&key(
            "traces.span.metrics.events",
            &format!("{common},exception.type=Timeout")
        )],
        "2"
    );
    assert_eq!(points[&key("traces.span.metrics.events", common)], "1");
}

#[test]
fn exemplars_are_kept_up_to_the_limit_per_point_and_per_flush() {
    let mut spans = aggregator("exemplars: {enabled: true, max_per_data_point: 2}");
    let one = request(
        service("s"),
        (0..3)
            .map(|_| span("a", SpanKind::Server, 4, vec![]))
            .collect(),
    );
    spans.aggregate(&one, 1);
    let out = spans.take_metrics(2).unwrap();
    let metrics = &out.resource_metrics[0].scope_metrics[0].metrics;
    let metric::Data::Histogram(histogram) = metrics[1].data.as_ref().unwrap() else {
        panic!()
    };
    let exemplars = &histogram.data_points[0].exemplars;
    assert_eq!(exemplars.len(), 2);
    assert_eq!(exemplars[0].trace_id, vec![7; 16]);
    assert_eq!(exemplars[0].value, Some(exemplar::Value::AsDouble(4.0)));
    // The next flush carries only the spans counted since.
    let out = spans.take_metrics(3).unwrap();
    let metric::Data::Histogram(histogram) = out.resource_metrics[0].scope_metrics[0].metrics[1]
        .data
        .as_ref()
        .unwrap()
    else {
        panic!()
    };
    assert!(histogram.data_points[0].exemplars.is_empty());
}

#[test]
fn resources_expire_when_unseen_and_the_least_recently_seen_are_evicted_past_the_cache_size() {
    let mut spans = aggregator("metrics_expiration: 10ns\nresource_metrics_cache_size: 2");
    for (name, at) in [("a", 1), ("b", 2), ("c", 3)] {
        spans.aggregate(
            &request(service(name), vec![span("x", SpanKind::Server, 1, vec![])]),
            at,
        );
    }
    // All three are sent once, then the oldest goes.
    assert_eq!(spans.take_metrics(5).unwrap().resource_metrics.len(), 3);
    assert_eq!(spans.take_metrics(6).unwrap().resource_metrics.len(), 2);
    // A resource is sent a last time by the flush that finds it expired: `b` (seen at 2) at 12, `c` at 13.
    assert_eq!(spans.take_metrics(12).unwrap().resource_metrics.len(), 2);
    assert_eq!(spans.take_metrics(13).unwrap().resource_metrics.len(), 1);
    assert!(spans.take_metrics(14).is_none());
}

#[test]
fn resources_are_told_apart_by_the_key_attributes_only_when_given() {
    let mut spans = aggregator("resource_metrics_key_attributes: [service.name]");
    for pid in [1, 2] {
        let mut resource = service("a");
        resource.push(kv("process.pid", any_value::Value::IntValue(pid)));
        spans.aggregate(
            &request(resource, vec![span("x", SpanKind::Server, 1, vec![])]),
            1,
        );
    }
    let out = spans.take_metrics(2).unwrap();
    assert_eq!(out.resource_metrics.len(), 1);
    assert_eq!(points(&out).values().next().map(String::as_str), Some("2"));
}

#[test]
fn spans_of_a_resource_without_service_name_are_not_counted() {
    let mut spans = aggregator("{}");
    let unnamed = request(
        vec![string("host.name", "h")],
        vec![span("x", SpanKind::Server, 1, vec![])],
    );
    assert_eq!(spans.aggregate(&unnamed, 1), 1);
    assert!(spans.take_metrics(2).is_none());
}

#[test]
fn mistakes_in_the_settings_are_named_at_their_keys() {
    let problems = |yaml: &str| -> Vec<String> {
        let config: SpanMetricsConfig = serde_norway::from_str(yaml).unwrap();
        config
            .compile()
            .err()
            .unwrap_or_default()
            .iter()
            .flat_map(|p| p.at_path("connectors.spanmetrics"))
            .map(|(path, message)| format!("{path}: {message}"))
            .collect()
    };
    let all = problems(
        r#"
aggregation_temporality: DELTA
exclude_dimensions: [status_code]
dimensions: [{name: http.method}, {name: http.method}, {name: span.name}]
histogram: {unit: us, explicit: {buckets: [10ms, 5ms]}}
events: {enabled: true}
metrics_flush_interval: 0s
"#,
    );
    let expect = [
        "aggregation_temporality: `DELTA` is neither",
        "histogram.unit: `us` is neither `ms` nor `s`",
        "histogram.explicit.buckets: the bounds must increase",
        "exclude_dimensions[0]: `status_code` is not one of the default dimensions",
        "dimensions[1].name: duplicate dimension `http.method`",
        "dimensions[2].name: `span.name` is a default dimension already",
        "events.dimensions: the events metric needs at least one dimension",
        "metrics_flush_interval: must be more than zero",
    ];
    for expected in expect {
        assert!(
            all.iter()
                .any(|p| p.starts_with(&format!("connectors.spanmetrics.{expected}"))),
            "{expected} not in {all:#?}"
        );
    }
    assert_eq!(all.len(), expect.len(), "{all:#?}");
    assert!(
        problems("histogram: {explicit: {}, exponential: {}}")[0]
            .contains("either `explicit` or `exponential`")
    );
}
