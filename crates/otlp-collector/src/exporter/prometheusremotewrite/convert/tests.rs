use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, Gauge, HistogramDataPoint, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, exemplar, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

const SECOND: u64 = 1_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn converter(yaml: &str) -> Converter {
    let config: RemoteWriteExporterConfig = serde_norway::from_str(yaml).unwrap();
    Converter::new(&config)
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
                    name: "cart".to_owned(),
                    version: "1.2".to_owned(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
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
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn counter(
    name: &str,
    temporality: AggregationTemporality,
    points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

/// Each series as `name{label="value",...}` (labels but `__name__`, in order) with its samples.
fn by_name(converted: &Converted) -> BTreeMap<String, Vec<(i64, f64)>> {
    converted
        .series
        .iter()
        .map(|series| {
            let name = series
                .labels
                .iter()
                .find(|l| l.name == "__name__")
                .map(|l| l.value.clone())
                .unwrap_or_default();
            let labels: Vec<String> = series
                .labels
                .iter()
                .filter(|l| l.name != "__name__")
                .map(|l| format!("{}=\"{}\"", l.name, l.value))
                .collect();
            let samples = series
                .samples
                .iter()
                .map(|s| (s.timestamp, s.value))
                .collect();
            (format!("{name}{{{}}}", labels.join(",")), samples)
        })
        .collect()
}

#[test]
fn points_become_series_labelled_as_the_prometheus_exporter_labels_them() {
    let converter = converter(
        "{ endpoint: \"http://p:9090/api/v1/write\", external_labels: { cluster: eu-1, method: never } }",
    );
    let orders = counter(
        "orders",
        AggregationTemporality::Cumulative,
        vec![point(
            10 * SECOND + 123_456_789,
            5.0,
            vec![kv("method", "GET")],
        )],
    );
    let converted = converter.convert(&request(service(), vec![orders]));
    let series = by_name(&converted);
    let scope = "otel_scope_name=\"cart\",otel_scope_schema_url=\"\",otel_scope_version=\"1.2\"";
    let scope = scope.replace(",otel_scope_schema_url=\"\"", "");
    assert_eq!(
        series[&format!(
            "orders_total{{cluster=\"eu-1\",instance=\"cart-1\",job=\"shop/cart\",method=\"GET\",{scope}}}"
        )],
        vec![(10_123, 5.0)],
        "{series:#?}"
    );
    assert_eq!(
        series["target_info{cluster=\"eu-1\",host_name=\"node-7\",instance=\"cart-1\",job=\"shop/cart\",method=\"never\"}"],
        vec![(10_123, 1.0)],
        "{series:#?}"
    );
    for one in &converted.series {
        let names: Vec<&str> = one.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "remote write wants labels sorted by name");
    }
    assert_eq!(converted.refused.points, 0);
    assert!(
        converted.metadata.is_empty(),
        "send_metadata is off by default"
    );
}

#[test]
fn target_info_needs_a_described_resource_and_can_be_turned_off() {
    let metric = || gauge("g", vec![point(SECOND, 1.0, vec![])]);
    let only_service = vec![kv("service.name", "cart")];
    let converted =
        converter("{ endpoint: \"http://p/w\" }").convert(&request(only_service, vec![metric()]));
    assert!(
        !by_name(&converted)
            .keys()
            .any(|name| name.starts_with("target_info"))
    );
    let off = converter("{ endpoint: \"http://p/w\", target_info: { enabled: false } }");
    let converted = off.convert(&request(service(), vec![metric()]));
    assert!(
        !by_name(&converted)
            .keys()
            .any(|name| name.starts_with("target_info"))
    );
}

#[test]
fn a_series_samples_are_sent_in_time_order_one_per_time() {
    let converted = converter("{ endpoint: \"http://p/w\", target_info: { enabled: false } }")
        .convert(&request(
            vec![],
            vec![gauge(
                "temperature",
                vec![
                    point(3 * SECOND, 30.0, vec![]),
                    point(SECOND, 10.0, vec![]),
                    point(3 * SECOND, 31.0, vec![]),
                    point(2 * SECOND, 20.0, vec![]),
                ],
            )],
        ));
    let series = by_name(&converted);
    let samples = series.values().next().unwrap();
    assert_eq!(samples, &vec![(1000, 10.0), (2000, 20.0), (3000, 31.0)]);
}

#[test]
fn a_point_without_a_recorded_value_is_a_staleness_marker() {
    let mut gone = point(2 * SECOND, 0.0, vec![]);
    gone.flags = NO_RECORDED_VALUE;
    gone.value = None;
    let mut empty = point(3 * SECOND, 0.0, vec![kv("k", "v")]);
    empty.value = None;
    let converted = converter("{ endpoint: \"http://p/w\", target_info: { enabled: false } }")
        .convert(&request(
            vec![],
            vec![gauge("g", vec![point(SECOND, 1.0, vec![]), gone, empty])],
        ));
    let samples = &converted.series[0].samples;
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[1].value.to_bits(), STALE_NAN.to_bits());
    assert_eq!(converted.series.len(), 1);
    assert_eq!(converted.refused.points, 1);
    assert_eq!(converted.refused.message(), "1 points without a value");
}

#[test]
fn deltas_are_sent_as_running_totals() {
    let converter = converter("{ endpoint: \"http://p/w\", target_info: { enabled: false } }");
    let delta = |time: u64, value: f64| {
        let mut p = point(time, value, vec![]);
        p.start_time_unix_nano = time - SECOND;
        request(
            vec![],
            vec![counter("hits", AggregationTemporality::Delta, vec![p])],
        )
    };
    let first = by_name(&converter.convert(&delta(2 * SECOND, 3.0)));
    let second = by_name(&converter.convert(&delta(3 * SECOND, 4.0)));
    let name = "hits_total{otel_scope_name=\"cart\",otel_scope_version=\"1.2\"}";
    assert_eq!(first[name], vec![(2000, 3.0)]);
    assert_eq!(second[name], vec![(3000, 7.0)]);
}

#[test]
fn explicit_histograms_are_classic_buckets_with_exemplars_on_theirs() {
    let trace = |value: f64| opentelemetry_proto::tonic::metrics::v1::Exemplar {
        time_unix_nano: SECOND,
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        value: Some(exemplar::Value::AsDouble(value)),
        ..Default::default()
    };
    let histogram = Metric {
        name: "http.server.request.duration".to_owned(),
        unit: "s".to_owned(),
        data: Some(Data::Histogram(
            opentelemetry_proto::tonic::metrics::v1::Histogram {
                data_points: vec![HistogramDataPoint {
                    time_unix_nano: 5 * SECOND,
                    count: 6,
                    sum: Some(2.5),
                    explicit_bounds: vec![0.005, 0.1, 1.0],
                    bucket_counts: vec![1, 2, 2, 1],
                    exemplars: vec![trace(0.05), trace(7.0)],
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            },
        )),
        ..Default::default()
    };
    let converted = converter(
        "{ endpoint: \"http://p/w\", target_info: { enabled: false }, send_metadata: true }",
    )
    .convert(&request(vec![], vec![histogram]));
    let series = by_name(&converted);
    let name = "http_server_request_duration_seconds";
    let scope = "otel_scope_name=\"cart\",otel_scope_version=\"1.2\"";
    let bucket = |le: &str| series[&format!("{name}_bucket{{le=\"{le}\",{scope}}}")][0].1;
    assert_eq!(
        [bucket("0.005"), bucket("0.1"), bucket("1"), bucket("+Inf")],
        [1.0, 3.0, 5.0, 6.0]
    );
    assert_eq!(
        series[&format!("{name}_count{{{scope}}}")],
        vec![(5000, 6.0)]
    );
    assert_eq!(series[&format!("{name}_sum{{{scope}}}")], vec![(5000, 2.5)]);
    let exemplar_of = |le: &str| {
        converted
            .series
            .iter()
            .find(|s| s.labels.iter().any(|l| l.name == "le" && l.value == le))
            .map(|s| s.exemplars.iter().map(|e| e.value).collect::<Vec<_>>())
    };
    assert_eq!(exemplar_of("0.1"), Some(vec![0.05]));
    assert_eq!(exemplar_of("+Inf"), Some(vec![7.0]));
    assert_eq!(exemplar_of("1"), Some(vec![]));
    assert_eq!(converted.metadata.len(), 1);
    assert_eq!(converted.metadata[0].metric_family_name, name);
    assert_eq!(converted.metadata[0].r#type, MetricType::Histogram as i32);
    assert_eq!(converted.metadata[0].unit, "s");
}

#[test]
fn summaries_are_quantile_series_with_count_and_sum() {
    let summary = Metric {
        name: "rpc.latency".to_owned(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: SECOND,
                count: 10,
                sum: 4.0,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.5,
                        value: 0.3,
                    },
                    ValueAtQuantile {
                        quantile: 0.99,
                        value: 0.9,
                    },
                ],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let converted = converter("{ endpoint: \"http://p/w\", target_info: { enabled: false } }")
        .convert(&request(vec![], vec![summary]));
    let series = by_name(&converted);
    let scope = "otel_scope_name=\"cart\",otel_scope_version=\"1.2\"";
    assert_eq!(
        series[&format!("rpc_latency{{{scope},quantile=\"0.99\"}}")],
        vec![(1000, 0.9)]
    );
    assert_eq!(
        series[&format!("rpc_latency{{{scope},quantile=\"0.5\"}}")],
        vec![(1000, 0.3)]
    );
    assert_eq!(
        series[&format!("rpc_latency_count{{{scope}}}")],
        vec![(1000, 10.0)]
    );
    assert_eq!(
        series[&format!("rpc_latency_sum{{{scope}}}")],
        vec![(1000, 4.0)]
    );
}

fn exponential(scale: i32, offset: i32, counts: Vec<u64>) -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        time_unix_nano: SECOND,
        count: counts.iter().sum::<u64>() + 1,
        sum: Some(12.5),
        scale,
        zero_count: 1,
        zero_threshold: 1e-9,
        positive: Some(Buckets {
            offset,
            bucket_counts: counts,
        }),
        ..Default::default()
    }
}

#[test]
fn exponential_buckets_become_native_spans_one_index_up() {
    // OTLP indexes -1..=6 hold 1, 0, 0, 2, 0, 0, 0, 3: Prometheus indexes 0..=7. A gap of two zero buckets stays
    // inside the span, a gap of three starts a new one.
    let native = native(&exponential(0, -1, vec![1, 0, 0, 2, 0, 0, 0, 3])).unwrap();
    assert_eq!(native.schema, 0);
    assert_eq!(
        native.positive_spans,
        vec![
            BucketSpan {
                offset: 0,
                length: 4
            },
            BucketSpan {
                offset: 3,
                length: 1
            }
        ]
    );
    assert_eq!(native.positive_deltas, vec![1, -1, 0, 2, 1]);
    assert!(native.negative_spans.is_empty());
    assert_eq!(native.count_int, Some(7));
    assert_eq!(native.zero_count_int, Some(1));
    assert_eq!(native.zero_threshold, 1e-9);
    assert_eq!(native.sum, 12.5);
    assert_eq!(native.timestamp, 1000);
}

#[test]
fn native_histograms_are_at_most_scale_8_and_at_least_scale_minus_4() {
    // Scale 10 to 8: four OTLP buckets become one.
    let native = native(&exponential(10, 0, vec![1, 1, 1, 1, 5])).unwrap();
    assert_eq!(native.schema, 8);
    assert_eq!(native.positive_deltas, vec![4, 1]);
    assert_eq!(native.positive_spans[0].offset, 1);
    assert!(super::native(&exponential(-5, 0, vec![1])).is_none());
    let converted = converter("{ endpoint: \"http://p/w\" }").convert(&request(
        vec![],
        vec![Metric {
            name: "h".to_owned(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![exponential(-5, 0, vec![1]), exponential(2, 0, vec![1])],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            ..Default::default()
        }],
    ));
    assert_eq!(converted.refused.points, 1);
    assert_eq!(converted.series.len(), 1);
    assert_eq!(converted.series[0].histograms.len(), 1);
}

#[test]
fn names_follow_the_settings() {
    let converted = converter(
        "{ endpoint: \"http://p/w\", namespace: shop, add_metric_suffixes: false, \
           resource_to_telemetry_conversion: { enabled: true }, target_info: { enabled: false } }",
    )
    .convert(&request(
        service(),
        vec![counter(
            "orders",
            AggregationTemporality::Cumulative,
            vec![point(SECOND, 1.0, vec![])],
        )],
    ));
    let series = by_name(&converted);
    let name = series.keys().next().unwrap();
    assert!(name.starts_with("shop_orders{"), "{name}");
    assert!(name.contains("host_name=\"node-7\""), "{name}");
    assert!(name.contains("service_name=\"cart\""), "{name}");
}
