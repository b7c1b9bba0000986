use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "shop".into(),
                    version: "1.2".into(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn service() -> Vec<KeyValue> {
    vec![
        kv("service.name", "cart"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", "cart-1"),
        kv("host.name", "node-7"),
    ]
}

fn point(time: u64, value: f64, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: 1,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn sum(
    name: &str,
    unit: &str,
    monotonic: bool,
    temporality: AggregationTemporality,
    points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        })),
        ..Default::default()
    }
}

fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

fn registry(yaml: &str) -> Registry {
    let settings: PrometheusExporterConfig = serde_norway::from_str(yaml).unwrap();
    Registry::new(&settings)
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut labels: Labels = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    labels
}

fn value(registry: &Registry, family: &str, labels: &Labels) -> Option<Sample> {
    registry
        .families
        .get(family)?
        .series
        .get(labels)
        .map(|s| s.sample.clone())
}

#[test]
fn points_become_series_labelled_with_scope_job_and_instance() {
    let mut registry = registry("endpoint: x");
    let now = Instant::now();
    let refused = registry.accumulate(
        &request(
            service(),
            vec![
                sum(
                    "http.requests",
                    "{request}",
                    true,
                    AggregationTemporality::Cumulative,
                    vec![point(10, 5.0, vec![kv("route", "/cart")])],
                ),
                sum(
                    "queue.depth",
                    "",
                    false,
                    AggregationTemporality::Cumulative,
                    vec![point(10, 3.0, vec![])],
                ),
                gauge("cpu.utilization", vec![point(10, 0.5, vec![])]),
            ],
        ),
        now,
    );
    assert_eq!(refused, Refused::default());
    let common = [
        ("job", "shop/cart"),
        ("instance", "cart-1"),
        ("otel_scope_name", "shop"),
        ("otel_scope_version", "1.2"),
    ];
    let mut with_route = common.to_vec();
    with_route.push(("route", "/cart"));
    assert_eq!(
        value(&registry, "http_requests_total", &labels(&with_route)),
        Some(Sample::Number(5.0, None))
    );
    assert_eq!(registry.families["http_requests_total"].kind, Type::Counter);
    assert_eq!(
        registry.families["http_requests_total"].help,
        "http.requests help"
    );
    assert_eq!(registry.families["queue_depth"].kind, Type::Gauge);
    assert_eq!(
        value(&registry, "cpu_utilization", &labels(&common)),
        Some(Sample::Number(0.5, None))
    );
    let targets: Vec<&Labels> = registry.targets.keys().collect();
    assert_eq!(
        targets,
        [&labels(&[
            ("host_name", "node-7"),
            ("job", "shop/cart"),
            ("instance", "cart-1")
        ])]
    );
}

#[test]
fn deltas_are_served_as_running_totals() {
    let mut registry = registry("{ endpoint: x, without_scope_info: true }");
    let now = Instant::now();
    let delta = |start: u64, time: u64, v: f64| {
        let mut p = point(time, v, vec![]);
        p.start_time_unix_nano = start;
        request(
            vec![kv("service.name", "cart")],
            vec![sum(
                "orders",
                "",
                true,
                AggregationTemporality::Delta,
                vec![p],
            )],
        )
    };
    let series = labels(&[("job", "cart")]);
    for (request, total) in [
        (delta(0, 10, 5.0), 5.0),
        (delta(10, 20, 7.0), 12.0),
        (delta(20, 30, 1.0), 13.0),
    ] {
        assert_eq!(registry.accumulate(&request, now), Refused::default());
        assert_eq!(
            value(&registry, "orders_total", &series),
            Some(Sample::Number(total, None))
        );
    }
    // A delivery of the second delta again does not count twice.
    let refused = registry.accumulate(&delta(10, 20, 7.0), now);
    assert_eq!(refused.points, 1);
    assert_eq!(
        value(&registry, "orders_total", &series),
        Some(Sample::Number(13.0, None))
    );
}

#[test]
fn an_older_point_is_ignored_and_a_point_without_a_value_ends_its_series() {
    let mut registry = registry("{ endpoint: x, without_scope_info: true }");
    let now = Instant::now();
    let at = |time: u64, v: f64, flags: u32| {
        let mut p = point(time, v, vec![]);
        p.flags = flags;
        request(vec![], vec![gauge("temperature", vec![p])])
    };
    registry.accumulate(&at(20, 21.5, 0), now);
    registry.accumulate(&at(10, 19.0, 0), now);
    assert_eq!(
        value(&registry, "temperature", &Vec::new()),
        Some(Sample::Number(21.5, None))
    );
    registry.accumulate(&at(30, 0.0, NO_RECORDED_VALUE), now);
    assert_eq!(value(&registry, "temperature", &Vec::new()), None);
}

#[test]
fn series_and_targets_expire_after_metric_expiration() {
    let mut registry = registry("{ endpoint: x, metric_expiration: 1m }");
    let start = Instant::now();
    registry.accumulate(
        &request(service(), vec![gauge("a", vec![point(1, 1.0, vec![])])]),
        start,
    );
    registry.accumulate(
        &request(vec![], vec![gauge("b", vec![point(1, 1.0, vec![])])]),
        start + Duration::from_secs(40),
    );
    registry.expire(start + Duration::from_secs(59));
    assert_eq!(registry.families.len(), 2);
    assert_eq!(registry.targets.len(), 1);
    registry.expire(start + Duration::from_secs(61));
    assert_eq!(registry.families.keys().collect::<Vec<_>>(), ["b"]);
    assert!(registry.targets.is_empty());
}

#[test]
fn what_cannot_be_served_is_refused_with_the_reason() {
    let mut registry = registry("endpoint: x");
    let now = Instant::now();
    let refused = registry.accumulate(
        &request(
            vec![],
            vec![
                sum(
                    "x",
                    "",
                    true,
                    AggregationTemporality::Unspecified,
                    vec![point(1, 1.0, vec![]), point(1, 2.0, vec![])],
                ),
                gauge("requests_total", vec![point(1, 1.0, vec![])]),
                sum(
                    "requests",
                    "",
                    true,
                    AggregationTemporality::Cumulative,
                    vec![point(1, 1.0, vec![])],
                ),
                gauge("...", vec![point(1, 1.0, vec![])]),
            ],
        ),
        now,
    );
    assert_eq!(refused.points, 4);
    assert_eq!(
        refused.message(),
        "1 points of a metric whose name another metric of another type has, \
         1 points of a metric whose name has no valid character, \
         2 points without an aggregation temporality"
    );
    assert_eq!(registry.families["requests_total"].kind, Type::Gauge);
}

#[test]
fn point_attributes_win_and_colliding_names_are_joined() {
    let mut registry = registry(
        r#"{ endpoint: x, without_scope_info: true, const_labels: { region: eu, tier: gold },
             resource_to_telemetry_conversion: { enabled: true } }"#,
    );
    let now = Instant::now();
    registry.accumulate(
        &request(
            vec![
                kv("host.name", "node-7"),
                kv("tier", "silver"),
                kv("empty", ""),
            ],
            vec![gauge(
                "g",
                vec![point(
                    1,
                    1.0,
                    vec![kv("a.b", "1"), kv("a_b", "2"), kv("region", "us")],
                )],
            )],
        ),
        now,
    );
    let series: Vec<&Labels> = registry.families["g"].series.keys().collect();
    assert_eq!(
        series,
        [&labels(&[
            ("a_b", "1;2"),
            ("host_name", "node-7"),
            ("region", "us"),
            ("tier", "silver")
        ])]
    );
}

#[test]
fn explicit_histograms_become_cumulative_buckets_in_bound_order() {
    let point = HistogramDataPoint {
        time_unix_nano: 5,
        count: 10,
        sum: Some(12.5),
        explicit_bounds: vec![5.0, 1.0, 1.0],
        bucket_counts: vec![4, 1, 2, 3],
        ..Default::default()
    };
    let Sample::Histogram {
        buckets,
        count,
        sum,
        ..
    } = explicit(&point)
    else {
        panic!("not a histogram");
    };
    assert_eq!(buckets, [(1.0, 3), (5.0, 7)]);
    assert_eq!((count, sum), (10, Some(12.5)));
}

#[test]
fn exponential_histograms_become_buckets_at_their_upper_bounds() {
    let point = ExponentialHistogramDataPoint {
        scale: 0,
        count: 7,
        zero_count: 1,
        zero_threshold: 0.001,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![1, 2],
        }),
        negative: Some(Buckets {
            offset: 1,
            bucket_counts: vec![3],
        }),
        sum: Some(1.0),
        ..Default::default()
    };
    let Sample::Histogram { buckets, count, .. } = exponential(&point) else {
        panic!("not a histogram");
    };
    assert_eq!(buckets, [(-2.0, 3), (0.001, 4), (2.0, 5), (4.0, 7)]);
    assert_eq!(count, 7);
}

#[test]
fn each_bucket_keeps_its_latest_exemplar() {
    let exemplar = |value: f64, time: u64| opentelemetry_proto::tonic::metrics::v1::Exemplar {
        time_unix_nano: time,
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        value: Some(exemplar::Value::AsDouble(value)),
        ..Default::default()
    };
    let point = HistogramDataPoint {
        count: 3,
        explicit_bounds: vec![1.0],
        bucket_counts: vec![2, 1],
        exemplars: vec![exemplar(0.5, 1), exemplar(0.7, 3), exemplar(9.0, 2)],
        ..Default::default()
    };
    let Sample::Histogram { exemplars, .. } = explicit(&point) else {
        panic!("not a histogram");
    };
    assert_eq!(exemplars.len(), 2);
    assert_eq!(exemplars[&0].value, 0.7);
    assert_eq!(exemplars[&1].value, 9.0);
    assert_eq!(
        exemplars[&0].labels,
        labels(&[
            ("span_id", "0202020202020202"),
            ("trace_id", "01010101010101010101010101010101")
        ])
    );
}

#[test]
fn a_delta_histogram_is_summed_before_it_is_served() {
    let mut registry = registry("{ endpoint: x, without_scope_info: true }");
    let now = Instant::now();
    let delta = |start: u64, time: u64, counts: Vec<u64>| {
        let metric = Metric {
            name: "latency".into(),
            unit: "s".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count: counts.iter().sum(),
                    sum: Some(1.0),
                    explicit_bounds: vec![0.1],
                    bucket_counts: counts,
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            })),
            ..Default::default()
        };
        request(vec![], vec![metric])
    };
    registry.accumulate(&delta(0, 10, vec![1, 1]), now);
    registry.accumulate(&delta(10, 20, vec![2, 0]), now);
    let Some(Sample::Histogram {
        buckets,
        count,
        sum,
        ..
    }) = value(&registry, "latency_seconds", &Vec::new())
    else {
        panic!("no histogram");
    };
    assert_eq!((buckets, count, sum), (vec![(0.1, 3)], 4, Some(2.0)));
}

#[test]
fn exponential_histograms_finer_than_the_served_scale_are_served_at_it() {
    // Scale 5: 32 buckets per power of two. Buckets 64..=95 are (2, 4], 96..=127 are (4, 8].
    let point = ExponentialHistogramDataPoint {
        scale: 5,
        count: 6,
        positive: Some(Buckets {
            offset: 70,
            bucket_counts: vec![
                1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,
            ],
        }),
        ..Default::default()
    };
    let Sample::Histogram { buckets, .. } = exponential(&point) else {
        panic!("not a histogram");
    };
    // At scale 3 the buckets are 2^(k/8): 70 >> 2 = 17, 74 >> 2 = 18, 97 >> 2 = 24.
    let expected: Vec<(f64, u64)> = vec![
        ((18.0f64 / 8.0).exp2(), 1),
        ((19.0f64 / 8.0).exp2(), 3),
        ((25.0f64 / 8.0).exp2(), 6),
    ];
    assert_eq!(buckets.len(), 3);
    for ((bound, count), (want_bound, want_count)) in buckets.iter().zip(expected) {
        assert!((bound - want_bound).abs() < 1e-12, "{bound} {want_bound}");
        assert_eq!(*count, want_count);
    }
}
