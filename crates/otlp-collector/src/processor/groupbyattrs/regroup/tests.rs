use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Span;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn kv(key: &str, value: &str) -> KeyValue {
    otlp_ottl::key_value(key, otlp_ottl::string_value(value))
}

fn resource(attributes: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes,
        ..Default::default()
    })
}

fn scope(name: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        ..Default::default()
    })
}

fn span(name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        name: name.into(),
        attributes,
        ..Default::default()
    }
}

fn keys(keys: &[&str]) -> Keys {
    Keys::new(&keys.iter().map(|k| k.to_string()).collect::<Vec<_>>())
}

/// Each span's name with its resource's and its own attributes, as `key=value` sorted.
fn spans_by_resource(request: &ExportTraceServiceRequest) -> Vec<(Vec<String>, Vec<String>)> {
    let text = |attributes: &[KeyValue]| {
        let mut out: Vec<String> = attributes
            .iter()
            .map(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => format!("{}={s}", kv.key),
                    other => format!("{}={other:?}", kv.key),
                },
            )
            .collect();
        out.sort();
        out
    };
    request
        .resource_spans
        .iter()
        .map(|rs| {
            let spans = rs
                .scope_spans
                .iter()
                .flat_map(|ss| &ss.spans)
                .map(|s| format!("{} {}", s.name, text(&s.attributes).join(",")))
                .collect();
            (
                text(rs.resource.as_ref().map_or(&[][..], |r| &r.attributes)),
                spans,
            )
        })
        .collect()
}

#[test]
fn spans_go_under_the_resource_their_attributes_name() {
    let mut request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(vec![
                kv("service.name", "checkout"),
                kv("host.name", "collector-host"),
            ]),
            scope_spans: vec![ScopeSpans {
                scope: scope("http"),
                spans: vec![
                    span(
                        "a",
                        vec![kv("host.name", "pod-1"), kv("http.route", "/cart")],
                    ),
                    span("b", vec![kv("http.route", "/pay")]),
                    span(
                        "c",
                        vec![kv("host.name", "pod-2"), kv("host.name", "duplicate")],
                    ),
                    span("d", vec![kv("host.name", "pod-1")]),
                ],
                schema_url: String::new(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
    };
    let stats = traces(&keys(&["host.name"]), &mut request);
    assert_eq!(
        stats,
        Regrouped {
            grouped: 3,
            not_grouped: 1,
            resources: 3
        }
    );
    assert_eq!(
        spans_by_resource(&request),
        [
            (
                vec!["host.name=pod-1".into(), "service.name=checkout".into()],
                vec!["a http.route=/cart".into(), "d ".into()]
            ),
            (
                vec![
                    "host.name=collector-host".into(),
                    "service.name=checkout".into()
                ],
                vec!["b http.route=/pay".into()]
            ),
            (
                vec!["host.name=pod-2".into(), "service.name=checkout".into()],
                vec!["c ".into()]
            ),
        ]
    );
    for rs in &request.resource_spans {
        assert_eq!(rs.schema_url, "https://opentelemetry.io/schemas/1.26.0");
        assert_eq!(rs.scope_spans.len(), 1);
        assert_eq!(rs.scope_spans[0].scope, scope("http"));
        // The moved value takes the resource's own place, not a second entry.
        let resource = rs.resource.as_ref().unwrap();
        assert_eq!(resource.attributes[1].key, "host.name");
        assert_eq!(resource.attributes.len(), 2);
    }
}

#[test]
fn without_keys_equal_resources_and_scopes_become_one_and_unequal_ones_do_not() {
    let resource_spans =
        |attributes: Vec<KeyValue>, schema_url: &str, scopes: Vec<ScopeSpans>| ResourceSpans {
            resource: resource(attributes),
            scope_spans: scopes,
            schema_url: schema_url.into(),
        };
    let scope_spans = |name: &str, spans: Vec<Span>| ScopeSpans {
        scope: scope(name),
        spans,
        schema_url: String::new(),
    };
    let mut request = ExportTraceServiceRequest {
        resource_spans: vec![
            resource_spans(
                vec![kv("service.name", "a"), kv("k8s.pod.name", "p")],
                "",
                vec![scope_spans("x", vec![span("1", vec![])])],
            ),
            resource_spans(
                vec![kv("k8s.pod.name", "p"), kv("service.name", "a")],
                "",
                vec![
                    scope_spans("x", vec![span("2", vec![])]),
                    scope_spans("y", vec![span("3", vec![])]),
                ],
            ),
            resource_spans(
                vec![kv("service.name", "a"), kv("k8s.pod.name", "p")],
                "https://opentelemetry.io/schemas/1.26.0",
                vec![scope_spans("x", vec![span("4", vec![])])],
            ),
        ],
    };
    let stats = traces(&keys(&[]), &mut request);
    assert_eq!(stats.resources, 2);
    assert_eq!(stats.not_grouped, 4);
    let first = &request.resource_spans[0];
    let names: Vec<Vec<&str>> = first
        .scope_spans
        .iter()
        .map(|ss| ss.spans.iter().map(|s| s.name.as_str()).collect())
        .collect();
    assert_eq!(names, [vec!["1", "2"], vec!["3"]]);
    assert_eq!(
        request.resource_spans[1].schema_url,
        "https://opentelemetry.io/schemas/1.26.0"
    );
}

#[test]
fn a_metric_s_points_are_split_between_resources_and_keep_how_they_aggregate() {
    let point = |host: &str, value: f64| NumberDataPoint {
        attributes: vec![kv("host.name", host), kv("state", "used")],
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    };
    let sum = Metric {
        name: "system.memory.usage".into(),
        unit: "By".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![point("a", 1.0), point("b", 2.0), point("a", 3.0)],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: false,
        })),
        ..Default::default()
    };
    let gauge = Metric {
        name: "system.memory.usage".into(),
        unit: "By".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![point("a", 4.0)],
        })),
        ..Default::default()
    };
    let mut request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(vec![kv("service.name", "agent")]),
            scope_metrics: vec![ScopeMetrics {
                scope: scope("hostmetrics"),
                metrics: vec![sum, gauge],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let stats = metrics(&keys(&["host.name"]), &mut request);
    assert_eq!(
        stats,
        Regrouped {
            grouped: 4,
            not_grouped: 0,
            resources: 2
        }
    );
    let hosts: Vec<&str> = request
        .resource_metrics
        .iter()
        .map(|rm| {
            match rm.resource.as_ref().unwrap().attributes[1]
                .value
                .as_ref()
                .unwrap()
                .value
                .as_ref()
            {
                Some(any_value::Value::StringValue(s)) => s.as_str(),
                _ => "",
            }
        })
        .collect();
    assert_eq!(hosts, ["a", "b"]);
    let host_a = &request.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(
        host_a.len(),
        2,
        "the sum and the gauge of the same name stay two metrics"
    );
    let Some(Data::Sum(sum)) = &host_a[0].data else {
        panic!("{host_a:?}");
    };
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    assert_eq!(sum.data_points.len(), 2);
    assert!(
        sum.data_points
            .iter()
            .all(|p| p.attributes == vec![kv("state", "used")])
    );
    assert_eq!(host_a[0].unit, "By");
    let host_b = &request.resource_metrics[1].scope_metrics[0].metrics;
    assert_eq!(host_b.len(), 1);
    assert_eq!(
        request.resource_metrics[1].scope_metrics[0].scope,
        scope("hostmetrics")
    );
}

#[test]
fn log_records_are_grouped_as_spans_are() {
    let record = |body: &str, attributes: Vec<KeyValue>| LogRecord {
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body.into())),
        }),
        attributes,
        ..Default::default()
    };
    let mut request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: None,
            scope_logs: vec![ScopeLogs {
                scope: None,
                log_records: vec![
                    record(
                        "1",
                        vec![kv("service.name", "fluent"), kv("log.file.name", "a.log")],
                    ),
                    record("2", vec![kv("log.file.name", "b.log")]),
                    record("3", vec![kv("service.name", "fluent")]),
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let stats = logs(&keys(&["service.name"]), &mut request);
    assert_eq!(stats.resources, 2);
    assert_eq!(
        request.resource_logs[0].resource,
        resource(vec![kv("service.name", "fluent")])
    );
    assert_eq!(request.resource_logs[0].scope_logs[0].log_records.len(), 2);
    assert_eq!(
        request.resource_logs[1].resource, None,
        "records without the key keep having no resource"
    );
}

/// A span's resource and own attributes merged (encoded values by key), its scope, and the span without its
/// attributes.
type SpanFacts = (BTreeMap<String, Vec<u8>>, String, Span);

/// Every span's [`SpanFacts`] by span id: what grouping must keep.
fn facts(request: &ExportTraceServiceRequest) -> BTreeMap<Vec<u8>, SpanFacts> {
    let mut out = BTreeMap::new();
    for rs in &request.resource_spans {
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                let mut merged = BTreeMap::new();
                for kv in rs.resource.iter().flat_map(|r| &r.attributes) {
                    merged.entry(kv.key.clone()).or_insert_with(|| {
                        kv.value
                            .as_ref()
                            .map(Message::encode_to_vec)
                            .unwrap_or_default()
                    });
                }
                let mut own = s.clone();
                for kv in &s.attributes {
                    merged.insert(
                        kv.key.clone(),
                        kv.value
                            .as_ref()
                            .map(Message::encode_to_vec)
                            .unwrap_or_default(),
                    );
                }
                own.attributes.clear();
                let scope = format!("{:?}{}", ss.scope, ss.schema_url);
                out.insert(s.span_id.clone(), (merged, scope, own));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On generated traffic, grouping by any of the keys it carries moves attributes between a span and its
    /// resource and nothing else: every span is still there with the same merged attributes, scope and fields, and
    /// no two resources are the same.
    #[test]
    fn grouping_moves_attributes_and_loses_nothing(
        seed in 0u64..1000,
        spans in 1usize..300,
        chosen in proptest::sample::subsequence(
            vec!["http.route", "app.user.id", "rpc.service", "service.name", "db.system.name", "absent"], 0..4),
    ) {
        let request = otlp_testkit::Generator::new(seed).traces(spans);
        let mut regrouped = request.clone();
        let stats = traces(&keys(&chosen), &mut regrouped);
        prop_assert_eq!(stats.grouped + stats.not_grouped, spans as u64);
        prop_assert_eq!(facts(&regrouped), facts(&request));
        let mut seen = std::collections::HashSet::new();
        for rs in &regrouped.resource_spans {
            prop_assert!(seen.insert(identity(rs.resource.as_ref(), &rs.schema_url)));
            for ss in &rs.scope_spans {
                prop_assert!(!ss.spans.is_empty());
                for s in &ss.spans {
                    prop_assert!(s.attributes.iter().all(|kv| !chosen.contains(&kv.key.as_str())));
                }
            }
        }
    }
}
