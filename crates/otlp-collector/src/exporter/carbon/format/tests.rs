use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

const T: u64 = 1_700_000_000_999_999_999;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metric(name: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

fn number(attributes: Vec<KeyValue>, value: number_data_point::Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: T,
        value: Some(value),
        ..Default::default()
    }
}

fn lines(request: &ExportMetricsServiceRequest, conversion: bool) -> Vec<String> {
    let settings = ResourceToTelemetry {
        enabled: conversion,
        exclude_service_attributes: false,
    };
    plaintext(request, &settings)
        .text
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn gauge_and_sum_points_are_one_line_each_with_their_tags() {
    let request = request(
        vec![string("service.name", "shop")],
        vec![
            metric(
                "cpu.load",
                metric::Data::Gauge(Gauge {
                    data_points: vec![
                        number(
                            vec![
                                string("host", "a"),
                                kv("core", any_value::Value::IntValue(3)),
                            ],
                            number_data_point::Value::AsDouble(0.25),
                        ),
                        number(Vec::new(), number_data_point::Value::AsInt(-7)),
                    ],
                }),
            ),
            metric(
                "requests",
                metric::Data::Sum(Sum {
                    data_points: vec![number(
                        vec![string("empty", "")],
                        number_data_point::Value::AsDouble(1e21),
                    )],
                    ..Default::default()
                }),
            ),
        ],
    );
    assert_eq!(
        lines(&request, false),
        [
            "cpu.load;host=a;core=3 0.25 1700000000",
            "cpu.load -7 1700000000",
            "requests;empty=<empty> 1000000000000000000000 1700000000",
        ]
    );
}

#[test]
fn resource_attributes_become_tags_over_the_points_when_asked() {
    let request = request(
        vec![string("host", "resource-host"), string("region", "eu")],
        vec![metric(
            "up",
            metric::Data::Gauge(Gauge {
                data_points: vec![number(
                    vec![string("host", "point-host"), string("job", "web")],
                    number_data_point::Value::AsInt(1),
                )],
            }),
        )],
    );
    assert_eq!(
        lines(&request, false),
        ["up;host=point-host;job=web 1 1700000000"]
    );
    assert_eq!(
        lines(&request, true),
        ["up;host=resource-host;job=web;region=eu 1 1700000000"]
    );
}

#[test]
fn a_histogram_is_its_count_its_sum_and_a_line_per_bucket() {
    let request = request(
        Vec::new(),
        vec![metric(
            "latency",
            metric::Data::Histogram(Histogram {
                data_points: vec![
                    opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint {
                        attributes: vec![string("route", "/a")],
                        time_unix_nano: T,
                        count: 6,
                        sum: Some(12.5),
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: vec![0.00001, 1_000_000.0],
                        ..Default::default()
                    },
                    opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint {
                        time_unix_nano: T,
                        count: 2,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
        )],
    );
    assert_eq!(
        lines(&request, false),
        [
            "latency.count;route=/a 6 1700000000",
            "latency;route=/a 12.5 1700000000",
            "latency.bucket;route=/a;upper_bound=1e-05 1 1700000000",
            "latency.bucket;route=/a;upper_bound=1e+06 2 1700000000",
            "latency.bucket;route=/a;upper_bound=inf 3 1700000000",
            "latency.count 2 1700000000",
            "latency 0 1700000000",
        ]
    );
}

#[test]
fn a_summary_is_its_count_its_sum_and_a_line_per_quantile_in_percent() {
    let request = request(
        Vec::new(),
        vec![metric(
            "rpc",
            metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    time_unix_nano: T,
                    count: 10,
                    sum: 4.0,
                    quantile_values: vec![
                        ValueAtQuantile {
                            quantile: 0.5,
                            value: 0.3,
                        },
                        ValueAtQuantile {
                            quantile: 0.99,
                            value: 1.25,
                        },
                    ],
                    ..Default::default()
                }],
            }),
        )],
    );
    assert_eq!(
        lines(&request, false),
        [
            "rpc.count 10 1700000000",
            "rpc 4 1700000000",
            "rpc.quantile;quantile=50 0.3 1700000000",
            "rpc.quantile;quantile=99 1.25 1700000000",
        ]
    );
}

#[test]
fn characters_that_would_cut_the_line_or_the_path_become_underscores() {
    let request = request(
        Vec::new(),
        vec![metric(
            "http server;duration",
            metric::Data::Gauge(Gauge {
                data_points: vec![number(
                    vec![
                        string("route key=x", "GET /users;v2"),
                        string("t!l^d", "~home~"),
                    ],
                    number_data_point::Value::AsInt(1),
                )],
            }),
        )],
    );
    assert_eq!(
        lines(&request, false),
        ["http_server_duration;route_key_x=GET_/users_v2;t_l_d=_home~ 1 1700000000"]
    );
}

#[test]
fn points_without_a_name_or_a_value_and_exponential_histograms_are_left_out() {
    let request = request(
        Vec::new(),
        vec![
            metric(
                "",
                metric::Data::Gauge(Gauge {
                    data_points: vec![number(Vec::new(), number_data_point::Value::AsInt(1))],
                }),
            ),
            metric(
                "no_value",
                metric::Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint::default()],
                }),
            ),
            metric(
                "exponential",
                metric::Data::ExponentialHistogram(Default::default()),
            ),
        ],
    );
    assert!(lines(&request, false).is_empty());
}

#[test]
fn special_floats_are_written_as_go_writes_them() {
    assert_eq!(go_f(f64::NAN), "NaN");
    assert_eq!(go_f(f64::INFINITY), "+Inf");
    assert_eq!(go_f(0.1), "0.1");
    assert_eq!(go_g(100_000.0), "100000");
    assert_eq!(go_g(123_456_789.0), "1.23456789e+08");
    assert_eq!(go_g(0.0001), "0.0001");
    assert_eq!(go_g(f64::INFINITY), "+Inf");
}
