use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum, Summary,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "cart"), kv("host", "resource")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "meter".to_owned(),
                    ..Default::default()
                }),
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

fn text(request: &ExportMetricsServiceRequest, schema: Schema) -> (Vec<String>, usize) {
    let (lines, refused) = lines(request, schema);
    let text = lines
        .iter()
        .map(|line| {
            let mut out = String::new();
            line.write(&mut out);
            out.trim_end().to_owned()
        })
        .collect();
    (text, refused)
}

fn numbers() -> ExportMetricsServiceRequest {
    let point = |value, time| NumberDataPoint {
        attributes: vec![kv("host", "point"), kv("region", "eu")],
        start_time_unix_nano: 5,
        time_unix_nano: time,
        value: Some(value),
        ..Default::default()
    };
    request(vec![
        metric(
            "temperature",
            metric::Data::Gauge(Gauge {
                data_points: vec![point(number_data_point::Value::AsDouble(21.5), 10)],
            }),
        ),
        metric(
            "orders",
            metric::Data::Sum(Sum {
                is_monotonic: true,
                data_points: vec![
                    point(number_data_point::Value::AsInt(7), 10),
                    point(number_data_point::Value::AsInt(1), 0),
                ],
                ..Default::default()
            }),
        ),
        metric(
            "queue",
            metric::Data::Sum(Sum {
                data_points: vec![point(number_data_point::Value::AsInt(-2), 10)],
                ..Default::default()
            }),
        ),
    ])
}

#[test]
fn number_points_in_v1_are_a_measurement_each_with_gauge_or_counter() {
    let (lines, refused) = text(&numbers(), Schema::TelegrafPrometheusV1);
    let tags = "host=resource,otel.library.name=meter,region=eu,service.name=cart";
    assert_eq!(
        lines,
        [
            format!("temperature,{tags} gauge=21.5,start_time_unix_nano=5i 10"),
            format!("orders,{tags} counter=7i,start_time_unix_nano=5i 10"),
            format!("queue,{tags} gauge=-2i,start_time_unix_nano=5i 10"),
        ]
    );
    assert_eq!(refused, 1, "the point without a time");
}

#[test]
fn number_points_in_v2_are_fields_of_prometheus_named_after_the_metric() {
    let (lines, _) = text(&numbers(), Schema::TelegrafPrometheusV2);
    assert!(
        lines[0].starts_with("prometheus,host=resource,"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with(" start_time_unix_nano=5i,temperature=21.5 10"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains(" orders=7i,"), "{}", lines[1]);
}

fn histogram() -> ExportMetricsServiceRequest {
    request(vec![
        metric(
            "latency",
            metric::Data::Histogram(Histogram {
                data_points: vec![
                    HistogramDataPoint {
                        time_unix_nano: 10,
                        count: 6,
                        sum: Some(12.5),
                        min: Some(0.01),
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: vec![0.1, 1.0],
                        ..Default::default()
                    },
                    HistogramDataPoint {
                        time_unix_nano: 10,
                        bucket_counts: vec![1, 2, 3, 4],
                        explicit_bounds: vec![0.1],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
        ),
        metric(
            "rpc",
            metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    time_unix_nano: 10,
                    count: 4,
                    sum: 2.0,
                    quantile_values: vec![ValueAtQuantile {
                        quantile: 0.99,
                        value: 1.5,
                    }],
                    ..Default::default()
                }],
            }),
        ),
        metric(
            "exponential",
            metric::Data::ExponentialHistogram(
                opentelemetry_proto::tonic::metrics::v1::ExponentialHistogram {
                    data_points: vec![Default::default()],
                    ..Default::default()
                },
            ),
        ),
    ])
}

#[test]
fn histograms_and_summaries_in_v1_carry_cumulative_bounds_and_quantiles_as_fields() {
    let (lines, refused) = text(&histogram(), Schema::TelegrafPrometheusV1);
    let tags = "host=resource,otel.library.name=meter,service.name=cart";
    assert_eq!(
        lines,
        [
            format!("latency,{tags} 0.1=1.0,1=3.0,count=6.0,min=0.01,sum=12.5 10"),
            format!("rpc,{tags} 0.99=1.5,count=4.0,sum=2.0 10"),
        ]
    );
    assert_eq!(
        refused, 2,
        "bucket counts that do not fit, and the exponential histogram"
    );
}

#[test]
fn histograms_and_summaries_in_v2_are_a_line_per_bound_or_quantile() {
    let (lines, _) = text(&histogram(), Schema::TelegrafPrometheusV2);
    let tags = "host=resource,otel.library.name=meter,service.name=cart";
    assert_eq!(
        lines,
        [
            "prometheus,host=resource,le=0.1,otel.library.name=meter,service.name=cart latency_bucket=1.0 10",
            "prometheus,host=resource,le=1,otel.library.name=meter,service.name=cart latency_bucket=3.0 10",
            &format!("prometheus,{tags} latency_count=6.0,latency_min=0.01,latency_sum=12.5 10"),
            "prometheus,host=resource,otel.library.name=meter,quantile=0.99,service.name=cart rpc=1.5 10",
            &format!("prometheus,{tags} rpc_count=4.0,rpc_sum=2.0 10"),
        ]
    );
}
